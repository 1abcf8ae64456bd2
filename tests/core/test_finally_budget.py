"""The finally tasks' own budget: they run after a run timeout, within finallyTimeoutSeconds counted from
when the other tasks ended or were stopped; past it they are stopped with reason DeadlineExceeded. And a
cancel with runFinally: false stops finally tasks already running."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from failure_kit import T0, Sim, spec, task

from baton.api.pipeline import PipelineSpec
from baton.api.run import RunPhase
from baton.core.finally_budget import finally_budget_notes
from baton.core.steering import FINALLY_TIMEOUT_SECONDS


def pipeline(*finally_tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    tasks = [task("extract"), task("load", "extract")]
    return spec(*tasks, timeoutSeconds=60, **{"finally": list(finally_tasks) or [task("notify")]}, **extra)


def timed_out(sim: Sim) -> Sim:
    """extract still running when the run's 60 s pass."""
    sim.step()
    sim.at(60).step()
    return sim


def test_after_a_timeout_the_finally_tasks_run_and_the_run_says_timing_out() -> None:
    sim = timed_out(Sim.start(pipeline()))
    assert sim.last.delete_jobs == ("run-1-extract-1",)
    assert sim.created() == ["run-1-notify-1"]
    assert (sim.phase, sim.condition()[1]) == (RunPhase.RUNNING, "TimingOut")
    assert sim.last.events[-1].reason == "TaskStarted"
    sim.at(75).finish("notify").step()
    status, reason, message = sim.condition()
    assert (sim.phase, status, reason) == (RunPhase.FAILED, "False", "Timeout")
    assert message == (
        "timed out: the run's timeout of 60s passed; finally: notify Succeeded; 1 stopped; 1 skipped"
    )


@pytest.mark.parametrize(
    ("pipeline_budget", "run_budget", "budget"),
    [
        (None, None, FINALLY_TIMEOUT_SECONDS),
        (30, None, 30),
        (30, 90, 90),  # the run's own overrides the Pipeline's, as timeoutSeconds does
        (None, 45, 45),
    ],
)
def test_a_finally_task_past_its_budget_is_stopped_with_deadline_exceeded(
    pipeline_budget: int | None, run_budget: int | None, budget: int
) -> None:
    extra = {"finallyTimeoutSeconds": pipeline_budget} if pipeline_budget else {}
    sim = timed_out(Sim.start(pipeline(**extra)))
    sim.step(finally_timeout_seconds=run_budget)
    assert sim.status.finally_start_time == "2025-01-31T10:01:00Z"
    sim.at(60 + budget - 1).step()
    assert sim.task("notify").phase.value == "Running" and not sim.last.delete_jobs
    sim.at(60 + budget).step()
    notify = sim.task("notify")
    assert (notify.phase.value, notify.reason) == ("Failed", "DeadlineExceeded")
    assert notify.message == f"stopped: the finally tasks' budget of {budget}s passed"
    assert sim.last.delete_jobs == ("run-1-notify-1",)
    assert (sim.phase, sim.condition()[1]) == (RunPhase.FAILED, "Timeout")
    assert "finally: notify Failed (DeadlineExceeded)" in sim.condition()[2]


def test_the_pass_that_starts_the_budget_wakes_up_when_it_ends() -> None:
    sim = timed_out(Sim.start(pipeline(finallyTimeoutSeconds=20)))
    assert sim.last.wake_at == T0 + timedelta(seconds=80)
    sim.at(70).step()  # nothing changed: the wake-up still comes at the budget's end
    assert sim.last.wake_at == T0 + timedelta(seconds=80)


def test_the_budget_also_bounds_finally_tasks_after_an_ordinary_end() -> None:
    sim = Sim.start(pipeline(finallyTimeoutSeconds=30))
    sim.step()
    sim.at(5).finish("extract").step()
    sim.at(10).finish("load").step()
    assert sim.status.finally_start_time == "2025-01-31T10:00:10Z"
    sim.at(39).step()
    assert sim.task("notify").phase.value == "Running"
    sim.at(40).step()
    assert (sim.phase, sim.condition()[1]) == (RunPhase.FAILED, "Failed")
    assert sim.condition()[2].startswith('task "notify" failed: stopped: the finally tasks\' budget of 30s')


def test_the_run_timeout_passing_while_finally_tasks_run_does_not_stop_them() -> None:
    sim = Sim.start(pipeline())
    sim.step()
    sim.at(5).finish("extract").step()
    sim.at(50).finish("load").step()
    sim.at(61).step()
    assert sim.task("notify").phase.value == "Running" and not sim.last.delete_jobs
    sim.at(62).finish("notify").step()
    assert (sim.phase, sim.condition()[1]) == (RunPhase.SUCCEEDED, "Succeeded")


def test_finally_tasks_not_started_when_the_budget_ends_fail_too() -> None:
    first, then = task("release-lock"), task("page", "release-lock")
    sim = timed_out(Sim.start(pipeline(first, then, finallyTimeoutSeconds=30)))
    sim.at(90).step()
    assert sim.phases()["release-lock"] == "Failed"
    page = sim.task("page")
    assert (page.phase.value, page.reason) == ("Failed", "DeadlineExceeded")
    assert page.message == "not started: the finally tasks' budget of 30s passed"
    assert page.completion_time == "2025-01-31T10:01:30Z"
    assert (
        "finally: release-lock Failed (DeadlineExceeded), page Failed (DeadlineExceeded)"
        in (sim.condition()[2])
    )


def test_a_finally_task_held_until_the_budget_ends_fails_the_run() -> None:
    sim = Sim.start(pipeline(finallyTimeoutSeconds=30))
    sim.step()
    sim.at(5).finish("extract").step()
    sim.at(10).finish("load").step(suspend=True)  # suspended just as the finally task could start
    assert sim.task("notify").phase.value == "Pending"
    sim.at(40).step()
    assert (sim.task("notify").phase.value, sim.task("notify").reason) == ("Failed", "DeadlineExceeded")
    assert (sim.phase, sim.condition()[1]) == (RunPhase.FAILED, "Failed")
    assert sim.status.completion_time == "2025-01-31T10:00:40Z"


def test_a_finally_task_waiting_for_a_retry_when_the_budget_ends_fails() -> None:
    retried = task("notify", retries={"limit": 3, "backoff": {"initialSeconds": 60, "jitter": 0}})
    sim = timed_out(Sim.start(pipeline(retried, finallyTimeoutSeconds=30)))
    sim.at(65).finish("notify", exit_code=1, message="smtp down").step()
    assert sim.task("notify").next_attempt_at is not None
    sim.at(90).step()
    notify = sim.task("notify")
    assert (notify.phase.value, notify.reason) == ("Failed", "DeadlineExceeded")
    assert "not retried: the finally tasks' budget of 30s passed" in (notify.message or "")
    assert sim.phase is RunPhase.FAILED


def test_the_budget_survives_an_operator_restart() -> None:
    sim = timed_out(Sim.start(pipeline(finallyTimeoutSeconds=30)))
    sim.restart()
    sim.at(89).step()
    assert sim.task("notify").phase.value == "Running"
    sim.restart()
    sim.at(90).step()
    assert sim.task("notify").reason == "DeadlineExceeded"


@pytest.mark.parametrize(
    ("first", "outcome"),
    [
        ("timeout", (RunPhase.FAILED, "Timeout")),
        ("cancel", (RunPhase.CANCELLED, "Cancelled")),
    ],
)
def test_cancel_without_finally_stops_finally_tasks_already_running(
    first: str, outcome: tuple[RunPhase, str]
) -> None:
    sim = Sim.start(pipeline())
    sim.step()
    if first == "timeout":
        sim.at(60).step()
        assert sim.condition()[1] == "TimingOut"
    else:
        sim.at(10).step(cancel=True)
        assert sim.condition()[1] == "Cancelling"
    assert sim.task("notify").phase.value == "Running"
    sim.at(70).step(cancel=True, cancel_finally=True)
    notify = sim.task("notify")
    assert (notify.phase.value, notify.reason) == ("Cancelled", "Cancelled")
    assert sim.last.delete_jobs == ("run-1-notify-1",)
    assert (sim.phase, sim.condition()[1]) == outcome


@pytest.mark.parametrize(
    ("extra", "budget", "notes"),
    [
        ({"finally": [task("notify")]}, None, []),
        ({"finally": [task("notify", timeoutSeconds=600)]}, None, []),  # fits exactly into the default
        (
            {"finally": [task("notify", timeoutSeconds=601)]},
            None,
            ['finally task "notify" may take up to 601s'],
        ),
        (
            {
                "finally": [task("notify")],
                "taskDefaults": {"image": "x", "timeoutSeconds": 90},
                "finallyTimeoutSeconds": 60,
            },
            None,
            ['finally task "notify" may take up to 90s (timeoutSeconds, its own or taskDefaults\', times'],
        ),
        (  # retries multiply, and a chain adds up: 40 * 2 + 30 = 110 > 100
            {
                "finally": [
                    task("release", timeoutSeconds=40, retries={"limit": 1}),
                    task("page", "release", timeoutSeconds=30),
                    task("side", timeoutSeconds=50),
                ],
                "finallyTimeoutSeconds": 100,
            },
            None,
            ['finally tasks "release" → "page" may take up to 110s'],
        ),
        ({"finally": [task("notify", timeoutSeconds=90)]}, 60, ['finally task "notify" may take up to 90s']),
        ({"finally": [task("notify", timeoutSeconds=90)], "finallyTimeoutSeconds": 60}, 120, []),
        (
            {"finallyTimeoutSeconds": 60},
            None,
            ["finallyTimeoutSeconds is set but the Pipeline has no finally"],
        ),
        ({}, None, []),
    ],
)
def test_finally_budget_notes(extra: dict[str, Any], budget: int | None, notes: list[str]) -> None:
    parsed = PipelineSpec.model_validate(spec(task("load"), **extra))
    found = finally_budget_notes(parsed, budget)
    assert len(found) == len(notes), found
    for note, start in zip(found, notes, strict=True):
        assert note.startswith(start)


def test_a_cancelled_run_whose_deadline_passes_later_still_says_cancelled() -> None:
    sim = Sim.start(pipeline())
    sim.step()
    sim.at(10).step(cancel=True, cancel_message="wrong day")
    sim.at(61).step()  # the deadline passes while notify runs
    assert sim.condition()[1:] == (
        "Cancelling",
        "cancelled: wrong day; 1 stopped; 1 skipped; 1 running: notify",
    )
    sim.at(62).finish("notify").step()
    assert sim.phase is RunPhase.CANCELLED and sim.condition()[2].startswith("cancelled: wrong day; finally:")
