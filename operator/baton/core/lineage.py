"""What a run's status transition did to datasets: the writes, reads and checks to record on them.

Derived from the transition (old status → new status), like the run's Events, so that each is found once
per transition; recording is idempotent besides (``baton.core.dataset_status``), so finding one again
after a restart changes nothing.

- A task that succeeded wrote its outputs and read its inputs.
- A quality check that ended (succeeded, or failed for good) checked its dataset: passed or not.
- A task reused from an earlier run or served from the cache wrote nothing new: it records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from baton.api.dataset import TaskRef
from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus, TaskPhase, TaskStatus
from baton.core.dataset_status import Role, Touch
from baton.core.datasets import declares_datasets
from baton.core.gates import check_passed, is_verdict
from baton.core.status import last_line

NOT_NEW = frozenset({"Reused", "Cached"})
"""Reasons of a succeeded task that did not run in this run."""


def task_pairs(
    before: PipelineRunStatus | None, after: PipelineRunStatus
) -> Iterator[tuple[int, TaskStatus | None, TaskStatus]]:
    """(index, the task as it was, as it is) of each task in ``after``; as it was is None for a status
    not written before (or one whose tasks do not line up, which the planner never makes)."""
    old = before.tasks if before is not None and len(before.tasks) == len(after.tasks) else None
    for index, task in enumerate(after.tasks):
        yield index, old[index] if old is not None else None, task


def dataset_touches(before: PipelineRunStatus | None, after: PipelineRunStatus, run: str) -> list[Touch]:
    """The touches of the tasks that ended between ``before`` and ``after``, in task order."""
    spec = after.pipeline_spec
    if spec is None or not after.tasks or not declares_datasets(spec):
        return []
    touches: list[Touch] = []
    for index, old, task in task_pairs(before, after):
        if old is not None and old.phase is task.phase:
            continue
        if not task.inputs and not task.outputs:
            continue
        touches += _task_touches(spec, index, task, after.pipeline, run)
    return touches


def _task_touches(
    spec: PipelineSpec, index: int, task: TaskStatus, pipeline: str | None, run: str
) -> list[Touch]:
    if task.reason in NOT_NEW:
        return []
    check = spec.task_at(index).check
    answered = task.phase is TaskPhase.SUCCEEDED or is_verdict(task)  # a timeout says nothing of the data
    if check is not None and task.inputs and answered:
        passed = check_passed(task)
        checked = task.inputs[0]  # a check's dataset comes first (``baton.core.dataset_io.resolved_io``)
        touch = Touch(
            checked.uri,
            Role.CHECKED,
            _ref(run, task, pipeline, checked.partition),
            severity=check.severity,
            passed=passed,
            message=None if passed else last_line(task.message or task.reason or "failed"),
        )
        return [touch]
    if task.phase is not TaskPhase.SUCCEEDED:
        return []
    written = [Touch(d.uri, Role.PRODUCED, _ref(run, task, pipeline, d.partition)) for d in task.outputs]
    read = [Touch(d.uri, Role.CONSUMED, _ref(run, task, pipeline, d.partition)) for d in task.inputs]
    return written + read


def _ref(run: str, task: TaskStatus, pipeline: str | None, partition: str | None) -> TaskRef:
    return TaskRef(run=run, task=task.name, pipeline=pipeline, time=task.completion_time, partition=partition)
