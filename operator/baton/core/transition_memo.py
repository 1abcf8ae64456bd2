"""What the plans of one run decided about its finished Jobs, remembered where it cannot change.

A wide run's plans start from its stored status, and that lags behind its Jobs on purpose (a large status
is written once its Jobs are quiet, see the reconciler). So each plan after a 1,000-wide fan-out found
the same 1,000 successes again, at about 20 µs each: the plan that starts the join, made after the last
worker's completion, spent 20 to 30 ms on work the plan before it had done. The shell keeps one memo per
run and stored status and hands it to `plan`. For a task it remembers the task's whole step of the
observe pass (its adoption, `advance_task`'s answer, the Jobs to delete: at 52 tasks, checking each
again cost as much as the rest of the plan), for a forEach instance `advance_task`'s answer. An answer is
reused only for the same task or instance entry and the same observed Job (both immutable, and shared
between plans: the status is decoded once per resourceVersion, a Job observed once per
resourceVersion), and only where it does not depend on the clock (`outcome_fixed`). A property test
proves plans with the memo equal plans without it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.observed import JobState, ObservedJob
from baton.core.tasks import Attempts, advance_task

T = TypeVar("T", bound=InstanceStatus)

MAX_ANSWERS = 100_000
"""A memo that grows past this is emptied (it keeps about one answer per task of one run)."""


def outcome_fixed(task: InstanceStatus, job: ObservedJob, attempts: Attempts) -> bool:
    """Whether `advance_task(task, job, now, ...)` is the same at every `now`: the task follows the Job of
    its current or a newer attempt, that Job succeeded and says when it started and completed (no clock
    stands in for either), and no results are read from its Pod (a success then waits for the Pod's
    termination message, until a deadline)."""
    followed = job.attempt > task.attempts or (
        job.attempt == task.attempts and task.phase is TaskPhase.RUNNING
    )
    return (
        followed
        and job.state is JobState.SUCCEEDED
        and job.start_time is not None
        and job.completion_time is not None
        and not attempts.results
    )


class TransitionMemo:
    __slots__ = ("_answers", "_steps")

    def __init__(self) -> None:
        self._answers: dict[tuple[int, int], tuple[InstanceStatus, ObservedJob, InstanceStatus, bool]] = {}
        self._steps: dict[tuple[int, int], tuple[TaskStatus, ObservedJob, TaskStatus, tuple[str, ...]]] = {}
        """A task's whole step of the plan's observe pass (its adoption, the answer, the Jobs to delete)."""

    def __len__(self) -> int:
        return len(self._answers) + len(self._steps)

    def recall(self, task: TaskStatus, job: ObservedJob | None) -> tuple[TaskStatus, tuple[str, ...]] | None:
        """What the observe pass made of `task` (as stored) and `job`, if it made it once already."""
        return None if job is None else _recalled(self._steps, task, job)

    def remember(self, task: TaskStatus, job: ObservedJob, new: TaskStatus, deletes: tuple[str, ...]) -> None:
        """Only for an outcome that `outcome_fixed` says is the same at every `now`."""
        _remember(self._steps, task, job, new, deletes)

    def advance(
        self,
        task: T,
        job: ObservedJob | None,
        now: datetime,
        attempts: Attempts,
        observing_since: datetime | None,
    ) -> tuple[T, bool]:
        """What `advance_task` answers, from memory where that answer cannot have changed."""
        if job is None or not outcome_fixed(task, job, attempts):
            return advance_task(task, job, now, attempts, observing_since)
        known = _recalled(self._answers, task, job)
        if known is not None:
            return cast(T, known[0]), known[1]
        new, delete = advance_task(task, job, now, attempts, observing_since)
        _remember(self._answers, task, job, new, delete)
        return new, delete


Memory = dict[tuple[int, int], tuple[Any, ObservedJob, Any, Any]]
"""(id of the entry, id of the Job) → (the entry, the Job, what was made of them, what goes with it)."""


def _recalled(memory: Memory, entry: object, job: ObservedJob) -> tuple[Any, Any] | None:
    known = memory.get((id(entry), id(job)))
    if known is not None and known[0] is entry and known[1] is job:  # ids of objects it keeps alive
        return known[2], known[3]
    return None


def _remember(memory: Memory, entry: object, job: ObservedJob, new: object, extra: object) -> None:
    if len(memory) >= MAX_ANSWERS:
        memory.clear()
    memory[(id(entry), id(job))] = (entry, job, new, extra)
