"""What a task's status keeps of its attempts once their Pods are gone: the exit code of every attempt
of a retried task, the newest failed tail, never stored twice; and a results file is no log tail."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import Sim, spec, task

from baton.api.run import AttemptRecord, InstanceStatus, TaskPhase, TaskStatus
from baton.core.attempt_history import (
    MAX_RECORDED_ATTEMPTS,
    exit_codes,
    history_after_end,
    kept_attempt,
    log_tail,
    newest_tail,
)
from baton.core.tasks import NO_TAIL, wrote_results

RETRIED = {"limit": 3, "backoff": {"initialSeconds": 1}}


def history(sim: Sim, name: str) -> list[tuple[int, int | None, str | None, str | None]]:
    return [(r.attempt, r.exit_code, r.reason, r.tail) for r in sim.task(name).attempt_history]


def test_a_task_that_ran_once_records_no_history() -> None:
    sim = Sim.start(spec(task("a"), task("b")))
    sim.step()
    sim.at(1).finish("a").finish("b", 2, message="boom").step()
    assert sim.task("a").attempt_history == [] and sim.task("b").attempt_history == []
    assert exit_codes(sim.task("a")) == "0" and exit_codes(sim.task("b")) == "2"
    assert kept_attempt(sim.task("b"), 1) is not None


def test_a_retried_task_keeps_every_exit_code_and_only_the_newest_tail() -> None:
    sim = Sim.start(spec(task("flaky", retries=RETRIED)))
    sim.step()
    sim.at(1).finish("flaky", 1, message="first\nConnectionError").step()
    assert history(sim, "flaky") == [(1, 1, "Failed", "first\nConnectionError")]
    sim.at(2).step()  # attempt 2 starts: the task's message is cleared, the record keeps the tail
    assert sim.task("flaky").message is None and sim.task("flaky").attempts == 2
    sim.at(3).finish("flaky", 137, reason="OOMKilled", message="loading 40 GiB").step()
    sim.at(10).step()
    sim.at(11).finish("flaky").step()
    assert history(sim, "flaky") == [
        (1, 1, "Failed", None),
        (2, 137, "OOMKilled", "loading 40 GiB"),
        (3, 0, None, None),
    ]
    flaky = sim.task("flaky")
    assert flaky.phase is TaskPhase.SUCCEEDED
    assert exit_codes(flaky) == "1, 137 (OOMKilled), 0"
    tail = newest_tail(flaky)
    assert tail is not None and (tail.attempt, tail.tail) == (2, "loading 40 GiB")
    sim.restart()  # what a new operator, or kubectl, reads back
    assert exit_codes(sim.task("flaky")) == "1, 137 (OOMKilled), 0"


def test_a_task_that_fails_for_good_keeps_its_tail_in_its_message_only() -> None:
    sim = Sim.start(spec(task("bad", retries={"limit": 1, "backoff": {"initialSeconds": 1}})))
    sim.step()
    sim.at(1).finish("bad", 1, message="one").step()
    sim.at(2).step()
    sim.at(3).finish("bad", 3, message="two").step()
    bad = sim.task("bad")
    assert bad.phase is TaskPhase.FAILED
    assert history(sim, "bad") == [(1, 1, "Failed", None), (2, 3, "Failed", None)]
    assert bad.message == "attempt 2 of 2 failed: exit code 3: two"
    kept = newest_tail(bad)
    assert kept is not None and (kept.attempt, kept.exit_code, kept.tail) == (2, 3, "two")
    assert kept_attempt(bad, 1) is not None and kept_attempt(bad, 1).tail is None  # type: ignore[union-attr]


def test_an_attempt_the_run_stops_is_recorded_with_its_reason() -> None:
    sim = Sim.start(spec(task("flaky", retries=RETRIED)))
    sim.step()
    sim.at(1).finish("flaky", 1).step()
    sim.at(2).step()
    sim.at(3).step(cancel=True)
    assert history(sim, "flaky")[-1] == (2, None, "Cancelled", None)
    assert exit_codes(sim.task("flaky")) == "1, Cancelled"


def unit(**fields: Any) -> InstanceStatus:
    return InstanceStatus.model_validate({"name": "t", "phase": "Running", **fields})


@pytest.mark.parametrize(
    ("fields", "attempt", "reason", "expected"),
    [
        ({}, 1, None, []),  # no history: nothing to add to
        ({"attempts": 2, "attemptHistory": [{"attempt": 1, "exitCode": 1}]}, 2, None, [(1, 1), (2, 0)]),
        ({"attempts": 2, "attemptHistory": [{"attempt": 2, "exitCode": 1}]}, 2, None, [(2, 1)]),  # once
        (
            {"attempts": 3, "attemptHistory": [{"attempt": 2, "exitCode": 1}]},
            3,
            "RunTimeout",
            [(2, 1), (3, None)],
        ),
    ],
)
def test_history_after_end(
    fields: dict[str, Any], attempt: int, reason: str | None, expected: list[tuple[int, int | None]]
) -> None:
    records = history_after_end(unit(**fields), attempt, reason)
    assert [(r.attempt, r.exit_code) for r in records] == expected


def test_the_history_is_bounded_and_says_what_it_left_out() -> None:
    records = [{"attempt": a, "exitCode": 1} for a in range(1, 40)]
    task = unit(attempts=40, attemptHistory=records)
    ended = history_after_end(task, 40, None)
    assert len(ended) == MAX_RECORDED_ATTEMPTS and ended[0].attempt == 31
    shown = exit_codes(unit(attempts=40, phase="Succeeded", attemptHistory=[r.model_dump() for r in ended]))
    assert shown.startswith("attempts 1 to 30 not kept, 1, ") and shown.endswith(", 0")


@pytest.mark.parametrize(
    ("message", "is_results"),
    [
        ('{"rows": 12}', True),
        ('  {"rows": [1, 2]}\n', True),
        ("Traceback …\nValueError: x", False),
        ('{"rows": 12', False),  # cut by the kubelet, or a log line that starts with a brace
        ("[1, 2]", False),
        (None, False),
        ('{"level": "error", "msg": "password rejected"}', False),  # a JSON log line: its keys are no results
        ("{}", False),
    ],
)
def test_wrote_results(message: str | None, is_results: bool) -> None:
    assert wrote_results(message, ("rows",)) is is_results


def test_a_task_that_wrote_its_results_and_then_failed_says_no_tail_was_kept() -> None:
    sim = Sim.start(spec(task("count", results=[{"name": "rows"}])))
    sim.step()
    sim.at(1).finish("count", 2, message='{"rows": 12}').step()
    count = sim.task("count")
    assert (count.phase, count.exit_code) == (TaskPhase.FAILED, 2)
    assert count.message == f"exit code 2: {NO_TAIL}"
    assert '"rows"' not in sim.condition()[2]


def test_a_record_is_small() -> None:
    record = AttemptRecord(attempt=2, exit_code=137, reason="OOMKilled")
    assert len(record.model_dump_json(by_alias=True, exclude_none=True)) < 60


@pytest.mark.parametrize(
    ("message", "tail"),
    [
        ("exit code 1: Traceback\nValueError: x", "Traceback\nValueError: x"),
        ("attempt 3 of 3 failed: OOMKilled (exit code 137): loading", "loading"),
        ("attempt 2 of 2 failed: DeadlineExceeded (exit code 143): waiting for lock", "waiting for lock"),
        ("exit code 2: boom (not retried: retries.retryOn does not list Failed)", "boom"),
        ("exit code 1", None),
        ("OOMKilled (exit code 137)", None),
        (f"exit code 2: {NO_TAIL}", None),
        ("stopped: the run's timeout of 60s passed", None),
        (None, None),
    ],
)
def test_log_tail(message: str | None, tail: str | None) -> None:
    assert log_tail(message) == tail


def test_a_stopped_attempt_shows_no_tail_and_an_invalid_result_its_reason() -> None:
    sim = Sim.start(spec(task("slow"), timeoutSeconds=5))
    sim.step()
    sim.at(5).step()
    assert kept_attempt(sim.task("slow"), 1) is None  # Cancelled by the timeout: no attempt outcome kept
    sim = Sim.start(spec(task("count", results=[{"name": "rows"}], retries=RETRIED)))
    sim.step()
    sim.at(1).finish("count", 1, message="flaky").step()
    sim.at(3).step()
    sim.at(4).finish("count", message="not json").step()
    count = sim.task("count")
    assert (count.phase, count.reason) == (TaskPhase.FAILED, "InvalidResults")
    assert history(sim, "count")[-1][:3] == (2, 0, "InvalidResults")


def test_a_foreach_instance_that_succeeded_drops_its_tail_but_a_task_keeps_it() -> None:
    failed = [AttemptRecord(attempt=1, exit_code=1, reason="Failed", tail="boom")]
    running = {"phase": "Running", "attempts": 2, "attemptHistory": [r.model_dump() for r in failed]}
    instance = InstanceStatus.model_validate({"name": "t[0]", **running})
    whole = TaskStatus.model_validate({"name": "t", **running})
    assert [r.tail for r in history_after_end(instance, 2, None)] == [None, None]
    assert [r.tail for r in history_after_end(whole, 2, None)] == ["boom", None]
