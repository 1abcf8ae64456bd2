"""Which Jobs may go: a wide forEach task's instances whose success the stored status records."""

from __future__ import annotations

import pytest

from baton.api.instances import COMPACT_FROM
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskPhase, TaskStatus
from baton.core.collect import PER_REQUEST, JobsToCollect, collectable
from baton.core.observed import JobState, ObservedJob

S, R, F = TaskPhase.SUCCEEDED, TaskPhase.RUNNING, TaskPhase.FAILED


def status(phases: list[TaskPhase], task: str = "fan") -> PipelineRunStatus:
    instances = [InstanceStatus(name=f"{task}[{k}]", phase=p, attempts=1) for k, p in enumerate(phases)]
    fan = TaskStatus(name=task, phase=R, items=len(phases), instances=instances)
    return PipelineRunStatus(tasks=[TaskStatus(name="split", phase=S), fan])


def job(k: int, state: JobState = JobState.SUCCEEDED, task: str = "fan", attempt: int = 1) -> ObservedJob:
    return ObservedJob(task, attempt, f"r-{task}-{k}-{attempt}", state, instance=k)


WIDE = COMPACT_FROM


@pytest.mark.parametrize(
    ("phases", "jobs", "expected"),
    [
        # recorded as succeeded, Job finished: it may go
        ([S] * WIDE, [job(0), job(5)], [("fan", (0, 5))]),
        # the stored status does not record it yet (the plan may, but that is not written): it stays
        ([R] * WIDE, [job(0)], []),
        # failed instances keep their Jobs, so their logs say why
        ([F] * WIDE, [job(3, JobState.FAILED)], []),
        # a retried instance that succeeded: all its attempts' Jobs go
        ([S] * WIDE, [job(2, JobState.FAILED, attempt=1), job(2, attempt=2)], [("fan", (2,))]),
        # a narrow forEach keeps its Jobs like any task
        ([S] * (WIDE - 1), [job(0)], []),
        # a Job the watch still shows active (its completion not seen yet) waits
        ([S] * WIDE, [job(1, JobState.ACTIVE)], []),
        # a plain task's Job is never collected
        ([S] * WIDE, [ObservedJob("split", 1, "r-split-1", JobState.SUCCEEDED)], []),
    ],
)
def test_collectable(
    phases: list[TaskPhase], jobs: list[ObservedJob], expected: list[tuple[str, tuple[int, ...]]]
) -> None:
    assert [(b.task, b.instances) for b in collectable(status(phases), jobs)] == expected


def test_what_was_asked_for_already_is_not_asked_again() -> None:
    assert collectable(status([S] * WIDE), [job(0), job(1)], pending={("fan", 0)}) == [
        JobsToCollect("fan", (1,))
    ]


def test_batches_hold_at_most_per_request_instances_in_order() -> None:
    width = 2 * PER_REQUEST + 7
    batches = collectable(status([S] * width), [job(k) for k in reversed(range(width))])
    assert [len(b.instances) for b in batches] == [PER_REQUEST, PER_REQUEST, 7]
    assert [k for b in batches for k in b.instances] == list(range(width))
