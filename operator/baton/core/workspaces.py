"""Workspaces of a run: the claim behind each, and keeping ReadWriteOnce claims on one node.

A workspace with a volumeClaimTemplate gets a PersistentVolumeClaim per run, named from the run
(``baton.kube.names.claim_name``) and owned by it, so it is created once (a 409 after a restart means it
is there) and deleted with the run. A retry (retryOf) mounts the claim of the run it retries, so that the
files of the tasks it reuses are there; the shell adds the retry as a second owner of that claim, and the
claim lives until both runs are gone. A workspace with persistentVolumeClaim mounts that claim as it is.

A ReadWriteOnce claim can be attached to one node at a time, and the scheduler does not look at finished
Pods, so pod affinity to earlier tasks cannot keep a run together. Baton pins instead: the node of the
first Pod that mounted the claim is recorded in the run's status (workspaces[].node), and every later
task that mounts the claim gets a required node affinity to that node. Until the node is known, a second
task that mounts the claim waits while the first runs, so that two Pods never race to different nodes.
Claims that are not created from a template are the user's to place (Baton does not read them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.api.dataflow import Workspace
from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus, WorkspaceStatus
from baton.core.events import Event, EventType
from baton.core.state import RunMeta
from baton.core.status import format_time, invalid_condition, truncate
from baton.kube.claims import render_claim
from baton.kube.names import claim_name

CLAIM_FAILED = "WorkspaceClaimFailed"
_ONE_NODE = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})


@dataclass(frozen=True, slots=True)
class ClaimToCreate:
    workspace: str
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimToAdopt:
    """A claim of the run a retry reuses: the retry becomes one more owner of it."""

    workspace: str
    name: str


def run_workspaces(spec: PipelineSpec, run: str, retried: PipelineRunStatus | None) -> list[WorkspaceStatus]:
    """The claim behind each workspace of a new run (``retried``: the status of the run it retries)."""
    before = {w.name: w for w in retried.workspaces} if retried is not None else {}
    out = []
    for workspace in spec.workspaces:
        if workspace.persistent_volume_claim is not None:
            out.append(
                WorkspaceStatus(name=workspace.name, claim_name=workspace.persistent_volume_claim.claim_name)
            )
        elif workspace.name in before:
            out.append(before[workspace.name])
        else:
            out.append(WorkspaceStatus(name=workspace.name, claim_name=claim_name(run, workspace.name)))
    return out


def claim_actions(
    spec: PipelineSpec, run: RunMeta, pipeline: str | None, workspaces: Sequence[WorkspaceStatus]
) -> list[ClaimToCreate | ClaimToAdopt]:
    """What the shell does before the run's first Job: create its own claims, adopt a retried run's."""
    by_name = {w.name: w for w in workspaces}
    actions: list[ClaimToCreate | ClaimToAdopt] = []
    for workspace in spec.workspaces:
        status = by_name.get(workspace.name)
        if workspace.volume_claim_template is None or status is None:
            continue
        if status.claim_name == claim_name(run.name, workspace.name):
            body = render_claim(run, pipeline, workspace, status.claim_name)
            actions.append(ClaimToCreate(workspace.name, status.claim_name, body))
        else:
            actions.append(ClaimToAdopt(workspace.name, status.claim_name))
    return actions


def claim_failed(
    status: PipelineRunStatus, claim: str, reason: str, message: str, generation: int, now: datetime
) -> tuple[PipelineRunStatus, Event]:
    """The run, failed before any Job because its claim could not be created or adopted."""
    text = truncate(f'workspace claim "{claim}": {reason}: {message}')
    condition = invalid_condition(CLAIM_FAILED, text, generation, now)
    skipped = [
        task.model_copy(update={"phase": TaskPhase.SKIPPED, "reason": CLAIM_FAILED, "message": "not started"})
        if not task.phase.finished
        else task
        for task in status.tasks
    ]
    failed = status.model_copy(
        update={
            "phase": RunPhase.FAILED,
            "tasks": skipped,
            "completion_time": format_time(now),
            "duration": "0s",
            "progress": f"{len(skipped)}/{len(skipped)}",
            "conditions": [condition],
        }
    )
    return failed, Event(EventType.WARNING, CLAIM_FAILED, text)


def one_node(workspace: Workspace) -> bool:
    """Whether the workspace's per-run claim can be attached to one node only."""
    template = workspace.volume_claim_template
    if template is None:
        return False
    return bool(_ONE_NODE.intersection(template.spec.access_modes))


def pinned_workspaces(spec: PipelineSpec) -> dict[str, list[int]]:
    """Workspaces whose tasks must share a node, with the indices of the tasks that mount them."""
    names = {w.name for w in spec.workspaces if one_node(w)}
    if not names:
        return {}
    mounters: dict[str, list[int]] = {name: [] for name in names}
    for index, task in enumerate(spec.all_tasks()):
        for mount in task.workspaces:
            if mount.name in mounters:
                mounters[mount.name].append(index)
    return mounters


def record_nodes(
    pinned: Mapping[str, list[int]], workspaces: list[WorkspaceStatus], nodes: Mapping[int, str]
) -> list[WorkspaceStatus]:
    """``workspaces`` with the node of each pinned claim, once a Pod that mounts it has one (``nodes``:
    task index → the node of a Pod of it), the same list when nothing is new."""
    out = workspaces
    for i, status in enumerate(workspaces):
        if status.node is not None or status.name not in pinned:
            continue
        node = next((nodes[t] for t in pinned[status.name] if t in nodes), None)
        if node is not None:
            if out is workspaces:
                out = list(workspaces)
            out[i] = status.model_copy(update={"node": node})
    return out


def placement(
    pinned: Mapping[str, list[int]],
    workspaces: Sequence[WorkspaceStatus],
    task: TaskSpec,
    index: int,
    tasks: Sequence[TaskStatus],
    siblings_running: bool = False,
) -> tuple[bool, str | None]:
    """(whether the task must wait, the node it must run on) for a task (or, with ``siblings_running``
    saying whether another instance of it runs, a forEach instance) about to start."""
    node: str | None = None
    by_name = {w.name: w for w in workspaces}
    for mount in task.workspaces:
        mounters = pinned.get(mount.name)
        status = by_name.get(mount.name)
        if mounters is None or status is None:
            continue
        if status.node is not None:
            node = node or status.node
        elif siblings_running or any(t != index and tasks[t].phase is TaskPhase.RUNNING for t in mounters):
            return True, None
    return False, node
