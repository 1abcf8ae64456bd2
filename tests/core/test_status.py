from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from baton.api.common import Condition, ConditionStatus
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core.status import (
    format_duration,
    format_time,
    last_line,
    parse_time,
    run_message,
    set_condition,
    summarize_run,
    truncate,
)

NOW = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)


def test_times_are_utc_seconds_with_z() -> None:
    assert format_time(datetime(2025, 1, 31, 11, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))) == (
        "2025-01-31T10:00:00Z"
    )
    assert parse_time("2025-01-31T10:00:00Z") == NOW
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2025, 1, 31))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.9, "0s"),
        (45, "45s"),
        (60, "1m0s"),
        (83, "1m23s"),
        (3605, "1h0m5s"),
        (93784, "26h3m4s"),
        (-5, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_truncate_keeps_the_end() -> None:
    assert truncate("  short  ") == "short"
    cut = truncate("x" * 600 + "the end", limit=20)
    assert len(cut) == 20 and cut.startswith("…") and cut.endswith("the end")
    assert last_line("Traceback\n  File x\nValueError: bad\n\n") == "ValueError: bad"


def condition(status: ConditionStatus, reason: str, message: str, at: str) -> Condition:
    return Condition(type="Succeeded", status=status, reason=reason, message=message, last_transition_time=at)


def test_set_condition_moves_the_transition_time_only_on_status_or_reason_change() -> None:
    old = [condition(ConditionStatus.UNKNOWN, "Running", "1 running", "2025-01-01T00:00:00Z")]
    same = set_condition(
        old, condition(ConditionStatus.UNKNOWN, "Running", "2 running", "2025-01-02T00:00:00Z")
    )
    assert same[0].last_transition_time == "2025-01-01T00:00:00Z" and same[0].message == "2 running"
    moved = set_condition(old, condition(ConditionStatus.TRUE, "Succeeded", "", "2025-01-02T00:00:00Z"))
    assert moved[0].last_transition_time == "2025-01-02T00:00:00Z"
    other = Condition(type="Other", status=ConditionStatus.TRUE, reason="X", last_transition_time="t")
    assert set_condition([other], old[0]) == [other, old[0]]


def task(name: str, phase: TaskPhase, **extra: object) -> TaskStatus:
    return TaskStatus.model_validate({"name": name, "phase": phase, **extra})


@pytest.mark.parametrize(
    ("tasks", "phase", "progress", "reason", "message"),
    [
        (
            [task("a", TaskPhase.PENDING)],
            RunPhase.PENDING,
            "0/1",
            "Pending",
            "waiting for the first task to start",
        ),
        (
            [task("a", TaskPhase.RUNNING, attempts=1), task("b", TaskPhase.PENDING)],
            RunPhase.RUNNING,
            "0/2",
            "Running",
            "1 running: a",
        ),
        (
            [
                task("a", TaskPhase.SUCCEEDED, completionTime="2025-01-31T10:01:23Z"),
                task("b", TaskPhase.SUCCEEDED),
            ],
            RunPhase.SUCCEEDED,
            "2/2",
            "Succeeded",
            "all 2 tasks succeeded",
        ),
        (
            [
                task(
                    "a",
                    TaskPhase.FAILED,
                    message="Traceback\nValueError: bad",
                    completionTime="2025-01-31T10:00:30Z",
                ),
                task("b", TaskPhase.SKIPPED),
                task("c", TaskPhase.SUCCEEDED, completionTime="2025-01-31T10:00:40Z"),
            ],
            RunPhase.FAILED,
            "3/3",
            "Failed",
            'task "a" failed: ValueError: bad; 1 skipped',
        ),
        (
            [task(n, TaskPhase.FAILED, message=f"exit code {i}") for i, n in enumerate("abcde")]
            + [task("z", TaskPhase.RUNNING, attempts=1)],
            RunPhase.RUNNING,
            "5/6",
            "Running",
            '5 tasks failed (a, b, c, … (+2)); "a": exit code 0; 1 running: z',
        ),
    ],
)
def test_summarize_run(
    tasks: list[TaskStatus], phase: RunPhase, progress: str, reason: str, message: str
) -> None:
    previous = PipelineRunStatus(phase=RunPhase.PENDING, start_time="2025-01-31T10:00:00Z")
    status = summarize_run(previous, tasks, 3, NOW)
    assert (status.phase, status.progress, status.observed_generation) == (phase, progress, 3)
    (cond,) = status.conditions
    assert (cond.type, cond.reason, cond.message, cond.observed_generation) == (
        "Succeeded",
        reason,
        message,
        3,
    )
    expected_status = {RunPhase.SUCCEEDED: ConditionStatus.TRUE, RunPhase.FAILED: ConditionStatus.FALSE}.get(
        phase, ConditionStatus.UNKNOWN
    )
    assert cond.status is expected_status
    if phase.finished:
        # the run completes when its last task did, not when the operator noticed
        assert status.completion_time == max(t.completion_time or "" for t in tasks)
        assert status.duration in ("1m23s", "40s")
    else:
        assert status.completion_time is None and status.duration is None


def test_running_message_names_a_few_tasks() -> None:
    tasks = [task(f"t{i}", TaskPhase.RUNNING, attempts=1) for i in range(10)]
    assert run_message(RunPhase.RUNNING, tasks) == "10 running: t0, t1, t2, … (+7)"
