"""A task that runs another Pipeline: its child PipelineRun, rendered and observed as a Job is.

The child is named, labelled and owned exactly as the attempt's Job would be (run, task, attempt), so
the planner treats it as the attempt: created once (a 409 is adoption), its phase is the attempt's
outcome, its run-level results are the results the task reports. Deleting the parent deletes it
(ownerReference); stopping the task cancels it (the shell patches its spec.cancel, so its own finally
tasks still run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from baton import GROUP, VERSION
from baton.api.pipeline import TaskSpec
from baton.core.observed import JobState, ObservedJob
from baton.core.params import substitute
from baton.core.start import has_frozen_spec
from baton.core.state import ANCESTRY, RunMeta
from baton.core.status import time_or_none
from baton.core.variables import substitute_runtime
from baton.kube.labels import ATTEMPT, PIPELINE, TASK, job_labels
from baton.kube.names import job_name, label_value
from baton.kube.owners import run_owner

MAX_DEPTH = 10
"""Sub-pipelines nest at most this deep (a recursion that slipped past the Pipelines' check stops here)."""


def render_child_run(
    run: RunMeta,
    pipeline: str | None,
    task: TaskSpec,
    params: Mapping[str, str],
    attempt: int,
    *,
    context: Mapping[str, str] | None = None,
    timeout_seconds: int | None = None,
) -> dict[str, Any]:
    """The child PipelineRun of ``attempt`` of ``task``, running the sub-pipeline afresh (see
    `retry_child` for a retry of an earlier child)."""
    assert task.pipeline_ref is not None
    child = task.pipeline_ref.name

    def expand(text: str) -> str:
        text = substitute(text, params)
        text = substitute_runtime(text, context) if context else text
        return text.replace("$$", "$")  # the kubelet's escaping does not apply: nobody expands it again

    labels = job_labels(pipeline, run.name, task.name, attempt)
    labels[PIPELINE] = label_value(child)  # as on every run of that Pipeline
    spec: dict[str, Any] = {
        "pipelineRef": {"name": child},
        "params": {k: expand(v) for k, v in task.params.items()},
    }
    if timeout_seconds is not None:
        spec["timeoutSeconds"] = timeout_seconds
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {
            "name": job_name(run.name, task.name, attempt),
            "namespace": run.namespace,
            "labels": labels,
            "annotations": {ANCESTRY: ",".join([*run.ancestry, pipeline or run.name])},
            "ownerReferences": [run_owner(run, controller=True)],
        },
        "spec": spec,
    }


def retry_child(body: Mapping[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
    """The child run `body`, made a retry of the earlier child `old` when that one can be retried: it
    started (a child whose Pipeline was missing never did) and it ended (one cancelled by its parent may
    still run its finally tasks). Otherwise `body` as it is: the sub-pipeline runs afresh."""
    status = (old or {}).get("status") or {}
    if old is None or not has_frozen_spec(status) or status.get("phase") not in ("Failed", "Cancelled"):
        return dict(body)
    spec: dict[str, Any] = {"retryOf": str(old["metadata"]["name"])}
    if "timeoutSeconds" in body["spec"]:
        spec["timeoutSeconds"] = body["spec"]["timeoutSeconds"]
    return {**body, "spec": spec}


def parent_of(child: Mapping[str, Any]) -> str | None:
    """The run a child run belongs to (its controlling PipelineRun owner), if it is one."""
    for ref in (child.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == "PipelineRun" and ref.get("controller"):
            return str(ref.get("name"))
    return None


def recursion(ancestry: Sequence[str], pipeline: str) -> str | None:
    """Why a child run of `pipeline` below `ancestry` must not start: it runs itself, or too deep."""
    if pipeline in ancestry:
        chain = " -> ".join([*ancestry[ancestry.index(pipeline) :], pipeline])
        return f"sub-pipeline recursion: {chain}"
    if len(ancestry) >= MAX_DEPTH:
        return f"sub-pipelines nest at most {MAX_DEPTH} deep: {' -> '.join([*ancestry, pipeline])}"
    return None


def observe_child_run(child: Mapping[str, Any]) -> ObservedJob | None:
    """The child run as the planner sees an attempt's Job; None when it is no child of a task."""
    meta = child.get("metadata") or {}
    labels = meta.get("labels") or {}
    try:
        attempt = int(labels.get(ATTEMPT, ""))
    except ValueError:
        return None
    task = labels.get(TASK)
    if not task or parent_of(child) is None:
        return None
    status = child.get("status") or {}
    phase = status.get("phase")
    condition: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Succeeded"), {}
    )
    state, reason, message = JobState.ACTIVE, None, None
    if phase == "Succeeded":
        state = JobState.SUCCEEDED
        results = {str(r["name"]): r.get("value", "") for r in status.get("results") or () if r.get("name")}
        message = json.dumps(results, separators=(",", ":")) if results else None
    elif phase in ("Failed", "Cancelled"):
        why = str(condition.get("reason") or phase)
        # "Failed" adds nothing; the child's own timeout (the task's) is the task's deadline passing.
        state, reason = JobState.FAILED, {"Failed": None, "Timeout": "DeadlineExceeded"}.get(why, why)
        message = f'run {meta.get("name")} {phase.lower()}: {condition.get("message") or ""}'.strip(": ")
    return ObservedJob(
        task=str(task),
        attempt=attempt,
        name=str(meta.get("name")),
        state=state,
        reason=reason,
        message=message,
        start_time=time_or_none(meta.get("creationTimestamp")),
        completion_time=time_or_none(status.get("completionTime")),
        # The task's timeout counts from the child's start, not its time in a queue (as a Pod's does).
        pod_started=time_or_none(status.get("startTime")) if has_frozen_spec(status) else None,
        child=True,
    )
