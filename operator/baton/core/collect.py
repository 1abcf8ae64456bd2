"""Which Jobs may go: those of a wide forEach task's instances whose success the stored status records.

A 100,000-instance run should not leave 100,000 Jobs (and Pods) in etcd. Once the run's *stored*
status says an instance succeeded, its Jobs are no longer the record of anything: a restarted
operator reads the instance's outcome from the status, never from the Job. Deleting them before that
would be unsafe (an operator restarted in between would find the instance Running without a Job and
run it again), so the decision reads the status as stored, not the one being planned.

Only tasks of `COMPACT_FROM` instances or more are collected, the same tasks whose successes the
status keeps as index ranges: a narrow forEach keeps its Jobs (and their logs) like any task, and a
failed instance keeps its Jobs in every task, so its logs can say why. Each request deletes up to
`PER_REQUEST` instances' Jobs of one task by label selector (`baton.dev/instance in (…)`), so the
cost is a fraction of a request per instance, not one each.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from baton.api.instances import COMPACT_FROM
from baton.api.run import PipelineRunStatus, TaskPhase, TaskStatus
from baton.core.observed import ObservedJob

PER_REQUEST = 200
"""Instances per delete request (their indices make the label selector; URLs stay well under 8 KB)."""


@dataclass(frozen=True, slots=True)
class JobsToCollect:
    task: str
    instances: tuple[int, ...]


def wide_tasks(status: PipelineRunStatus) -> dict[str, TaskStatus]:
    """The forEach tasks whose succeeded instances' Jobs are collected, by name."""
    return {t.name: t for t in status.tasks if t.items is not None and len(t.instances) >= COMPACT_FROM}


def collectable(
    stored: PipelineRunStatus, jobs: Sequence[ObservedJob], pending: Collection[tuple[str, int]] = ()
) -> list[JobsToCollect]:
    """The instances whose Jobs may be deleted now, by task, in batches of at most `PER_REQUEST`.

    `jobs` are the run's observed Jobs; `pending` are (task, instance) pairs whose deletion was asked
    for already and has not been seen yet (not asked for again)."""
    wide = wide_tasks(stored)
    if not wide:
        return []
    found: dict[str, set[int]] = {}
    for job in jobs:
        task = wide.get(job.task)
        k = job.instance
        if task is None or k is None or k >= len(task.instances) or not job.finished:
            continue
        if task.instances[k].phase is TaskPhase.SUCCEEDED and (job.task, k) not in pending:
            found.setdefault(job.task, set()).add(k)
    batches = []
    for name, indices in found.items():
        ordered = sorted(indices)
        for start in range(0, len(ordered), PER_REQUEST):
            batches.append(JobsToCollect(name, tuple(ordered[start : start + PER_REQUEST])))
    return batches
