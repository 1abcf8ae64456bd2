"""Sensor tasks: poke timing, the timeout, no retry used by a not-ready answer, and the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.pipeline import Backoff, FailureKind, RetryPolicy, SensorSpec
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core.events import transition_events
from baton.core.observed import JobState, ObservedJob
from baton.core.tasks import NOT_READY, SENSOR_TIMEOUT, Attempts, advance_task, start_task

T = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def poke(attempt: int, state: JobState, ended: datetime, exit_code: int | None = None) -> ObservedJob:
    return ObservedJob(
        "wait", attempt, f"r-wait-{attempt}", state, exit_code=exit_code,
        reason=None if exit_code is None else "Error", start_time=ended - S,
        completion_time=ended if state is not JobState.ACTIVE else None,
        message="no file yet" if exit_code else None,
    )  # fmt: skip


def sensing(interval: int = 120, timeout: int = 600, retries: int | None = None) -> Attempts:
    policy = RetryPolicy(limit=retries, backoff=Backoff(initial_seconds=5)) if retries is not None else None
    return Attempts(policy=policy, sensor=SensorSpec(interval_seconds=interval, timeout_seconds=timeout))


def started(attempt: int, at: datetime, before: TaskStatus | None = None) -> TaskStatus:
    return start_task(
        before or TaskStatus(name="wait", phase=TaskPhase.PENDING), attempt, f"r-wait-{attempt}", at
    )


@pytest.mark.parametrize(
    ("interval", "timeout", "pokes_done", "phase", "reason", "next_poke"),
    [
        # The next poke comes `interval` after this one ended (the first poke started at T).
        (120, 600, 0, TaskPhase.PENDING, NOT_READY, T + 2 * S + 120 * S),
        (1, 600, 0, TaskPhase.PENDING, NOT_READY, T + 2 * S + S),
        # A next poke past the timeout (counted from the first poke's start) is not made.
        (120, 60, 0, TaskPhase.FAILED, SENSOR_TIMEOUT, None),
        (120, 122, 0, TaskPhase.PENDING, NOT_READY, T + 122 * S),
        (120, 121, 0, TaskPhase.FAILED, SENSOR_TIMEOUT, None),
    ],
)
def test_a_not_ready_poke_waits_for_the_next_or_times_out(
    interval: int, timeout: int, pokes_done: int, phase: TaskPhase, reason: str, next_poke: datetime | None
) -> None:
    task = started(1, T)
    after, delete = advance_task(
        task, poke(1, JobState.FAILED, T + 2 * S, 1), T + 2 * S, sensing(interval, timeout)
    )
    assert not delete
    assert (after.phase, after.reason, after.pokes) == (phase, reason, 1)
    assert after.sensing_since == "2026-01-01T06:00:00Z"
    assert after.last_answer == "not ready: exit code 1: no file yet"
    assert (after.next_attempt_at is None) == (next_poke is None)
    if next_poke is not None:
        assert after.next_attempt_at is not None and after.next_attempt_at.startswith(
            next_poke.strftime("%Y-%m-%dT%H:%M:%S")
        )
        assert after.message is not None and after.message.startswith("poke 1: not ready: exit code 1")
    else:
        assert (
            after.message
            == f"still not ready after 1 pokes in {timeout}s: not ready: exit code 1: no file yet"
        )


def test_pokes_go_on_until_ready_and_the_timeout_counts_from_the_first() -> None:
    attempts, task, now = sensing(interval=10, timeout=35), started(1, T), T
    for attempt in (1, 2, 3):
        now += S
        task, _ = advance_task(task, poke(attempt, JobState.FAILED, now, 1), now, attempts)
        assert task.phase is TaskPhase.PENDING and task.pokes == attempt
        now += 10 * S
        task = started(attempt + 1, now, task)
    assert task.sensing_since == "2026-01-01T06:00:00Z" and task.attempts == 4
    ready, _ = advance_task(task, poke(4, JobState.SUCCEEDED, now + S), now + S, attempts)
    assert (ready.phase, ready.pokes, ready.last_answer) == (TaskPhase.SUCCEEDED, 4, "ready")
    # The same history with one more not-ready answer runs past 35 s: SensorTimeout.
    late, _ = advance_task(task, poke(4, JobState.FAILED, now + S, 1), now + S, attempts)
    assert (late.phase, late.reason) == (TaskPhase.FAILED, SENSOR_TIMEOUT)


def test_not_ready_uses_no_retry_but_a_real_failure_does() -> None:
    attempts = sensing(interval=1, timeout=600, retries=1)
    task, now = started(1, T), T
    for attempt in (1, 2, 3):  # three not-ready answers: more than the one retry there is
        now += S
        task, _ = advance_task(task, poke(attempt, JobState.FAILED, now, 1), now, attempts)
        assert task.reason == NOT_READY
        task = started(attempt + 1, now + S, task)
    oom = ObservedJob("wait", 4, "r-wait-4", JobState.FAILED, reason="OOMKilled", exit_code=137,
                      start_time=now, completion_time=now + S)  # fmt: skip
    retried, _ = advance_task(task, oom, now + S, attempts)
    assert (retried.phase, retried.reason) == (TaskPhase.PENDING, FailureKind.OOM_KILLED.value)
    assert retried.message is not None and retried.message.startswith("attempt 1 of 2 failed")


def test_a_command_that_cannot_run_is_a_failure_not_a_poke() -> None:
    failed, _ = advance_task(started(1, T), poke(1, JobState.FAILED, T + S, 127), T + S, sensing())
    assert (failed.phase, failed.reason, failed.pokes) == (TaskPhase.FAILED, "Failed", 0)


def test_pokes_make_no_events_but_the_end_does() -> None:
    first = started(1, T)
    waiting, _ = advance_task(first, poke(1, JobState.FAILED, T + S, 1), T + S, sensing(1))
    again = started(2, T + 2 * S, waiting)
    done, _ = advance_task(again, poke(2, JobState.SUCCEEDED, T + 3 * S), T + 3 * S, sensing(1))
    run = PipelineRunStatus(phase=RunPhase.RUNNING)
    quiet = [
        *transition_events([(first, waiting)], run, run),
        *transition_events([(waiting, again)], run, run),
    ]
    assert quiet == []
    (event,) = transition_events([(again, done)], run, run)
    assert event.reason == "TaskSucceeded"
