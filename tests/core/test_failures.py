"""Failures are first-class: retries, timeouts, trigger rules, finally, FailFast, cancel and suspend,
each decided by ``plan`` alone (see failure_kit.Sim for the harness)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from failure_kit import T0, Sim, spec, task

from baton.api.run import RunPhase
from baton.core.plan import Plan
from baton.core.tasks import DEADLINE_GRACE, JOB_LOST_AFTER
from baton.kube.labels import ATTEMPT

FLAKY = task("flaky", retries={"limit": 3, "backoff": {"initialSeconds": 1, "factor": 2}})

# -- retries ---------------------------------------------------------------------------------------


def test_a_flaky_task_succeeds_on_its_third_attempt_after_the_backoff() -> None:
    sim = Sim.start(spec(FLAKY, task("after", "flaky")))
    sim.step()
    assert sim.created() == ["run-1-flaky-1"]
    sim.at(10).finish("flaky", exit_code=1).step()
    waiting = sim.task("flaky")
    assert (waiting.phase.value, waiting.attempts, waiting.reason, waiting.exit_code) == (
        "Pending",
        1,
        "Failed",
        1,
    )
    assert waiting.next_attempt_at == "2025-01-31T10:00:11Z" and sim.last.wake_at == T0 + timedelta(
        seconds=11
    )
    assert [e.reason for e in sim.last.events] == ["TaskRetrying"]
    assert sim.phase is RunPhase.RUNNING and "1 waiting to retry: flaky" in sim.condition()[2]
    assert sim.at(10.5).step() == Plan(wake_at=T0 + timedelta(seconds=11))  # not yet
    sim.at(11).step()
    assert sim.created() == ["run-1-flaky-2"]
    assert sim.bodies[("flaky", 2)]["metadata"]["labels"][ATTEMPT] == "2"
    retried = sim.task("flaky")
    assert (retried.phase.value, retried.attempts, retried.reason, retried.next_attempt_at) == (
        "Running",
        2,
        None,
        None,
    )
    sim.at(12).finish("flaky", exit_code=1).step()
    assert sim.task("flaky").next_attempt_at == "2025-01-31T10:00:14Z"  # 1 s, then 2 s
    sim.at(14).step()
    assert sim.created() == ["run-1-flaky-3"]
    sim.at(15).finish("flaky").step()
    assert sim.phases() == {"flaky": "Succeeded", "after": "Running"}
    assert sim.task("flaky").attempts == 3


def test_retries_run_out_and_the_task_fails_for_good() -> None:
    sim = Sim.start(
        spec(task("once", retries={"limit": 1, "backoff": {"initialSeconds": 1}}), task("next", "once"))
    )
    sim.step()
    sim.finish("once", exit_code=2).step()
    sim.at(1).step()
    sim.finish("once", exit_code=2).step()
    assert sim.phases() == {"once": "Failed", "next": "Skipped"}
    failed = sim.task("once")
    assert (failed.attempts, failed.reason, failed.exit_code, failed.message) == (
        2,
        "Failed",
        2,
        "attempt 2 of 2 failed: exit code 2",
    )
    assert sim.phase is RunPhase.FAILED


def test_task_defaults_give_every_task_retries() -> None:
    pipeline = spec(task("a"), task("b"))
    pipeline["taskDefaults"]["retries"] = {"limit": 1, "backoff": {"initialSeconds": 0.25}}
    sim = Sim.start(pipeline)
    sim.step()
    sim.finish("a", exit_code=1).finish("b", exit_code=1).step()
    assert {t.next_attempt_at for t in sim.status.tasks} == {"2025-01-31T10:00:00.250000Z"}


def test_the_retry_schedule_survives_a_restart() -> None:
    sim = Sim.start(spec(FLAKY))
    sim.step()
    sim.at(5).finish("flaky", exit_code=1).step()
    sim.restart()  # a new operator reads the status back from the API server
    assert sim.at(5.5).step() == Plan(wake_at=T0 + timedelta(seconds=6))
    sim.at(6).step()
    assert sim.created() == ["run-1-flaky-2"]


def test_a_late_operator_starts_an_overdue_retry_at_once() -> None:
    sim = Sim.start(spec(FLAKY))
    sim.step()
    sim.finish("flaky", exit_code=1).step()
    sim.restart().at(3600).step()
    assert sim.created() == ["run-1-flaky-2"]


def test_retries_count_against_parallelism() -> None:
    sim = Sim.start(spec(FLAKY, task("other"), parallelism=1))
    sim.step()
    assert sim.created() == ["run-1-flaky-1"]
    sim.finish("flaky", exit_code=1).step()
    assert sim.created() == ["run-1-other-1"]  # the slot is free while flaky waits
    sim.at(1).step()
    assert sim.created() == []  # flaky's retry is due, but other runs
    sim.finish("other").step()
    assert sim.created() == ["run-1-flaky-2"]


# -- timeouts --------------------------------------------------------------------------------------


def test_a_task_timeout_is_the_pods_active_deadline() -> None:
    pipeline = spec(task("own", timeoutSeconds=30), task("default"))
    pipeline["taskDefaults"]["timeoutSeconds"] = 600
    sim = Sim.start(pipeline)
    sim.step()
    for name, seconds in (("own", 30), ("default", 600)):
        body = sim.bodies[(name, 1)]
        assert body["spec"]["template"]["spec"]["activeDeadlineSeconds"] == seconds
        assert "activeDeadlineSeconds" not in body["spec"]  # a Job's deadline would count quota waits
    sim.step()  # the Jobs' Pods are seen started
    assert sim.last.wake_at == T0 + timedelta(seconds=30) + DEADLINE_GRACE


def test_a_task_timeout_does_not_count_the_time_its_pod_could_not_be_created() -> None:
    sim = Sim.start(spec(task("slow", timeoutSeconds=5)))
    sim.no_pods = True  # a ResourceQuota refuses the Pod for a minute
    sim.step()
    sim.at(60).step()
    assert sim.task("slow").phase.value == "Running" and not sim.last.delete_jobs
    sim.pod_starts("slow").step()
    assert sim.last.wake_at == T0 + timedelta(seconds=65) + DEADLINE_GRACE
    sim.at(64).step()
    assert sim.task("slow").phase.value == "Running"
    sim.at(65 + DEADLINE_GRACE.total_seconds()).step()
    assert sim.last.delete_jobs == ("run-1-slow-1",)
    assert (sim.task("slow").phase.value, sim.task("slow").reason) == ("Failed", "DeadlineExceeded")


def test_the_operator_enforces_a_task_timeout_the_cluster_ignores() -> None:
    sim = Sim.start(
        spec(
            task(
                "slow",
                timeoutSeconds=5,
                retries={"limit": 1, "retryOn": ["DeadlineExceeded"], "backoff": {"initialSeconds": 1}},
            )
        )
    )
    sim.step()
    deadline = (timedelta(seconds=5) + DEADLINE_GRACE).total_seconds()
    sim.at(deadline).step()
    assert sim.last.delete_jobs == ("run-1-slow-1",)
    assert (sim.task("slow").phase.value, sim.task("slow").reason) == ("Pending", "DeadlineExceeded")
    sim.at(deadline + 1).step()
    assert sim.created() == ["run-1-slow-2"]
    sim.at(2 * deadline + 1).step()
    assert sim.last.delete_jobs == ("run-1-slow-2",)
    assert (sim.task("slow").phase.value, sim.phase) == ("Failed", RunPhase.FAILED)


RUN_WITH_FINALLY = spec(
    task("extract"),
    task("load", "extract"),
    task("side"),
    timeoutSeconds=60,
    **{"finally": [task("notify", command=["echo", "$(run.status)"])]},
)


def test_the_run_timeout_stops_the_tasks_runs_finally_and_fails_the_run_with_reason_timeout() -> None:
    sim = Sim.start(RUN_WITH_FINALLY)
    sim.step()
    assert sim.last.wake_at == T0 + timedelta(seconds=60)
    sim.at(10).finish("side").step()
    assert sim.last.wake_at == T0 + timedelta(seconds=60)
    sim.at(60).step()
    assert sorted(sim.last.delete_jobs) == ["run-1-extract-1"]
    assert sim.created() == ["run-1-notify-1"]  # cleanup runs on exactly the night it matters
    assert sim.command("notify") == ["echo", "Failed"]
    assert sim.phases() == {
        "extract": "Cancelled",
        "load": "Skipped",
        "side": "Succeeded",
        "notify": "Running",
    }
    assert sim.phase is RunPhase.RUNNING and sim.condition()[1] == "TimingOut"
    assert sim.status.finally_start_time == "2025-01-31T10:01:00Z"  # their own budget counts from here
    sim.at(70).finish("notify").step()
    assert set(sim.reasons().values()) == {"RunTimeout", None}
    assert sim.phase is RunPhase.FAILED and sim.last.wake_at is None
    status, reason, message = sim.condition()
    assert (status, reason) == ("False", "Timeout")
    assert message.startswith("timed out: the run's timeout of 60s passed; finally: notify Succeeded")
    assert sim.task("extract").message == "stopped: the run's timeout of 60s passed"
    assert sim.last.events[-1].reason == "RunFailed"


def test_the_runs_own_timeout_overrides_the_pipelines() -> None:
    sim = Sim.start(RUN_WITH_FINALLY)
    sim.step(timeout_seconds=3600)
    assert sim.last.wake_at == T0 + JOB_LOST_AFTER  # the Jobs' watch grace, long before the deadline
    sim.at(60).step()
    assert sim.phase is RunPhase.RUNNING
    sim.at(3600).step()
    assert sim.condition()[1] == "TimingOut"  # notify runs
    sim.finish("notify").step()
    assert sim.condition()[1] == "Timeout"


def test_a_run_that_finished_before_its_deadline_is_not_timed_out() -> None:
    sim = Sim.start(spec(task("a"), timeoutSeconds=5))
    sim.step()
    sim.at(4).finish("a")
    sim.at(6).step()  # observed after the deadline, but it ended in time
    assert sim.phase is RunPhase.SUCCEEDED


def test_a_task_waiting_for_a_retry_fails_when_the_run_times_out() -> None:
    sim = Sim.start(
        spec(task("flaky", retries={"limit": 3, "backoff": {"initialSeconds": 100}}), timeoutSeconds=30)
    )
    sim.step()
    sim.finish("flaky", exit_code=1).step()
    assert sim.last.wake_at == T0 + timedelta(seconds=30)  # the deadline comes before the retry
    sim.at(30).step()
    flaky = sim.task("flaky")
    assert (flaky.phase.value, flaky.reason, flaky.exit_code) == ("Failed", "RunTimeout", 1)
    assert "not retried: the run's timeout of 30s passed" in (flaky.message or "")
    assert sim.condition()[1] == "Timeout"


# -- trigger rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "exits", "expected", "reason"),
    [
        (None, (0, 0), "Running", None),
        (None, (0, 1), "Skipped", "UpstreamFailed"),
        ("allSucceeded", (1, 1), "Skipped", "UpstreamFailed"),
        ("allDone", (0, 0), "Running", None),
        ("allDone", (1, 1), "Running", None),
        ("anyFailed", (0, 1), "Running", None),
        ("anyFailed", (0, 0), "Skipped", "WhenNotMet"),
        ("allFailed", (1, 1), "Running", None),
        ("allFailed", (0, 1), "Skipped", "WhenNotMet"),
        ("noneFailed", (0, 0), "Running", None),
        ("noneFailed", (1, 0), "Skipped", "WhenNotMet"),
        ("always", (1, 0), "Running", None),
    ],
)
def test_trigger_rules(when: str | None, exits: tuple[int, int], expected: str, reason: str | None) -> None:
    rule = {"when": when} if when else {}
    sim = Sim.start(spec(task("a"), task("b"), task("c", "a", "b", **rule)))
    sim.step()
    sim.finish("a", exits[0]).finish("b", exits[1]).step()
    assert (sim.task("c").phase.value, sim.task("c").reason) == (expected, reason)


def test_a_rule_waits_for_every_dependency_before_starting() -> None:
    sim = Sim.start(spec(task("a"), task("b"), task("on-failure", "a", "b", when="anyFailed")))
    sim.step()
    sim.finish("a", 1).step()
    assert sim.phases()["on-failure"] == "Pending" and sim.created() == []
    sim.finish("b").step()
    assert sim.created() == ["run-1-on-failure-1"]


def test_skips_propagate_with_the_reason_that_started_them() -> None:
    sim = Sim.start(
        spec(
            task("a"),
            task("cleanup", "a", when="anyFailed"),
            task("after-cleanup", "cleanup"),
            task("report", "after-cleanup", when="allDone"),
        )
    )
    sim.step()
    sim.finish("a").step()
    assert sim.phases() == {
        "a": "Succeeded",
        "cleanup": "Skipped",
        "after-cleanup": "Skipped",
        "report": "Running",
    }
    assert sim.task("cleanup").message == "when: anyFailed is not met: none of a failed"
    assert sim.task("after-cleanup").reason == "UpstreamSkipped"
    assert sim.task("after-cleanup").message == 'upstream task "cleanup" was skipped'
    sim.finish("report").step()
    assert sim.phase is RunPhase.SUCCEEDED  # a skip whose rule did not hold is no failure
    assert sim.condition()[2] == "2 skipped; 2 of 4 tasks succeeded, none failed"


def test_a_handled_failure_still_fails_the_run() -> None:
    sim = Sim.start(spec(task("a"), task("alert", "a", when="anyFailed")))
    sim.step()
    sim.finish("a", 1).step()
    sim.finish("alert").step()
    assert sim.phases() == {"a": "Failed", "alert": "Succeeded"} and sim.phase is RunPhase.FAILED


# -- finally ---------------------------------------------------------------------------------------

NOTIFY = task("notify", command=["notify", "$(run.status)", "load=$(tasks.load.status)", "$$(run.status)"])


def finally_spec(**extra: Any) -> dict[str, Any]:
    return spec(task("extract"), task("load", "extract"), task("audit"), **{"finally": [NOTIFY], **extra})


def test_finally_runs_after_success_and_reads_the_outcome() -> None:
    sim = Sim.start(finally_spec())
    sim.step()
    sim.finish("extract").step()
    sim.finish("load").step()
    assert sim.created() == []  # audit still runs
    sim.finish("audit").step()
    assert sim.created() == ["run-1-notify-1"]
    assert sim.command("notify") == ["notify", "Succeeded", "load=Succeeded", "$$(run.status)"]
    assert sim.phase is RunPhase.RUNNING and sim.status.progress == "3/4"
    sim.finish("notify").step()
    assert sim.phase is RunPhase.SUCCEEDED


def test_finally_runs_after_failure_and_sees_it() -> None:
    sim = Sim.start(finally_spec())
    sim.step()
    sim.finish("extract").finish("audit").step()
    sim.finish("load", 1).step()
    assert sim.command("notify") == ["notify", "Failed", "load=Failed", "$$(run.status)"]
    sim.finish("notify").step()
    assert sim.phase is RunPhase.FAILED


def test_a_failed_finally_task_fails_the_run() -> None:
    sim = Sim.start(spec(task("a"), **{"finally": [task("n")]}))
    sim.step()
    sim.finish("a").step()
    sim.finish("n", 1).step()
    assert sim.phase is RunPhase.FAILED


def test_finally_tasks_with_rules_and_dependencies_among_them() -> None:
    pipeline = spec(
        task("a"),
        task("b", "a"),
        **{
            "finally": [
                task("on-error", when="anyFailed"),
                task("on-success", when="noneFailed"),
                task("cleanup", "on-error", "on-success"),
                task("after-b", "b", command=["echo", "$(tasks.b.status)"]),
            ]
        },
    )
    sim = Sim.start(pipeline)
    sim.step()
    sim.finish("a", 1).step()
    assert sorted(sim.created()) == ["run-1-after-b-1", "run-1-on-error-1"]
    assert sim.command("after-b") == ["echo", "Skipped"]
    assert (sim.task("on-success").phase.value, sim.task("on-success").reason) == ("Skipped", "WhenNotMet")
    assert sim.task("on-success").message == "when: noneFailed is not met: 1 of the run's tasks failed"
    sim.finish("on-error").finish("after-b").step()
    assert sim.created() == ["run-1-cleanup-1"]  # allDone: on-success was skipped, fine


# -- failurePolicy ---------------------------------------------------------------------------------


def fail_fast_spec(policy: str) -> dict[str, Any]:
    return spec(
        task("a"),
        task("slow"),
        task("after-a", "a"),
        task("after-slow", "slow"),
        task("always", "slow", when="always"),
        failurePolicy=policy,
        **{"finally": [task("notify")]},
    )


def test_fail_fast_starts_nothing_new_after_a_failure() -> None:
    sim = Sim.start(fail_fast_spec("FailFast"))
    sim.step()
    sim.finish("a", 1).step()
    assert sim.phases()["after-slow"] == "Skipped" and sim.reasons()["after-slow"] == "FailFast"
    assert sim.task("after-slow").message == 'not started: task "a" failed and failurePolicy is FailFast'
    assert sim.phases()["slow"] == "Running"  # running tasks finish
    sim.finish("slow").step()
    assert sorted(sim.created()) == ["run-1-always-1"]  # when: always is not held back
    sim.finish("always").step()
    assert sim.created() == ["run-1-notify-1"]  # finally tasks still run
    sim.finish("notify").step()
    assert sim.phase is RunPhase.FAILED


def test_continue_runs_every_task_whose_rule_holds() -> None:
    sim = Sim.start(fail_fast_spec("Continue"))
    sim.step()
    sim.finish("a", 1).step()
    sim.finish("slow").step()
    assert sorted(sim.created()) == ["run-1-after-slow-1", "run-1-always-1"]


def test_fail_fast_gives_up_a_pending_retry() -> None:
    sim = Sim.start(spec(FLAKY, task("fatal"), failurePolicy="FailFast"))
    sim.step()
    sim.finish("flaky", 1).step()
    sim.finish("fatal", 1).step()
    flaky = sim.task("flaky")
    assert (flaky.phase.value, flaky.next_attempt_at) == ("Failed", None)
    assert (flaky.message or "").endswith(
        'no further attempt: task "fatal" failed and failurePolicy is FailFast'
    )
    assert sim.phase is RunPhase.FAILED


# -- cancel and suspend ----------------------------------------------------------------------------


def test_cancel_stops_running_jobs_skips_the_rest_and_still_runs_finally() -> None:
    sim = Sim.start(finally_spec())
    sim.step()
    sim.finish("extract").step()
    sim.at(5).step(cancel=True, cancel_message="wrong date")
    assert sorted(sim.last.delete_jobs) == ["run-1-audit-1", "run-1-load-1"]
    assert sim.phases() == {
        "extract": "Succeeded",
        "load": "Cancelled",
        "audit": "Cancelled",
        "notify": "Running",
    }
    assert sim.task("load").message == "stopped: the run was cancelled: wrong date"
    assert sim.command("notify") == ["notify", "Cancelled", "load=Cancelled", "$$(run.status)"]
    assert sim.phase is RunPhase.RUNNING and sim.condition()[1] == "Cancelling"
    assert sim.condition()[2].startswith("cancelled: wrong date")
    sim.finish("notify").step()
    assert sim.phase is RunPhase.CANCELLED
    assert sim.condition()[:2] == ("False", "Cancelled")
    assert sim.last.events[-1].reason == "RunCancelled"


def test_cancel_without_finally() -> None:
    sim = Sim.start(finally_spec())
    sim.step()
    sim.finish("extract").finish("audit").step()
    sim.finish("load").step()
    assert sim.phases()["notify"] == "Running"
    sim.step(cancel=True, cancel_finally=True)
    assert sim.last.delete_jobs == ("run-1-notify-1",)
    assert sim.phases()["notify"] == "Cancelled" and sim.phase is RunPhase.CANCELLED


def test_cancel_before_anything_started_skips_everything() -> None:
    sim = Sim.start(spec(task("a"), task("b", "a")))
    sim.step(cancel=True, cancel_finally=True)
    assert sim.created() == [] and sim.phases() == {"a": "Skipped", "b": "Skipped"}
    assert sim.reasons() == {"a": "Cancelled", "b": "Cancelled"} and sim.phase is RunPhase.CANCELLED


def test_cancel_cancels_a_pending_retry() -> None:
    sim = Sim.start(spec(FLAKY))
    sim.step()
    sim.finish("flaky", 1).step()
    sim.step(cancel=True)
    assert (sim.task("flaky").phase.value, sim.phase) == ("Cancelled", RunPhase.CANCELLED)


def test_a_cancel_after_the_end_changes_nothing_but_the_observed_generation() -> None:
    sim = Sim.start(spec(task("a")))
    sim.step()
    sim.finish("a").step()
    assert sim.step(cancel=True) == Plan()
    sim.meta = replace(sim.meta, generation=2)  # the cancel's spec change
    sim.step(cancel=True)
    assert sim.phase is RunPhase.SUCCEEDED and sim.status.observed_generation == 2
    assert sim.last.create_jobs == () and sim.last.delete_jobs == ()


def test_suspend_holds_new_tasks_and_resume_continues() -> None:
    sim = Sim.start(spec(task("a"), task("b", "a"), task("c")))
    sim.step()
    sim.step(suspend=True)
    assert sim.phase is RunPhase.SUSPENDED and sim.last.events[-1].reason == "RunSuspended"
    sim.finish("a").finish("c").step()
    assert sim.created() == [] and sim.phases() == {"a": "Succeeded", "b": "Pending", "c": "Succeeded"}
    assert sim.phase is RunPhase.SUSPENDED
    sim.step(suspend=False)
    assert sim.created() == ["run-1-b-1"] and sim.phase is RunPhase.RUNNING
    assert sim.last.events[-1].reason == "RunResumed"


def test_a_run_created_suspended_starts_nothing() -> None:
    sim = Sim.start(spec(task("a")))
    sim.step(suspend=True)
    assert sim.created() == [] and sim.phase is RunPhase.SUSPENDED


def test_suspend_holds_a_due_retry() -> None:
    sim = Sim.start(spec(FLAKY))
    sim.step()
    sim.finish("flaky", 1).step(suspend=True)
    assert sim.last.wake_at is None  # resuming changes the spec, which brings the run back
    sim.at(100).step()
    assert sim.created() == []
    sim.step(suspend=False)
    assert sim.created() == ["run-1-flaky-2"]


def test_a_cancel_that_comes_after_everything_ended_does_not_make_the_run_cancelled() -> None:
    sim = Sim.start(finally_spec())
    sim.step()
    sim.finish("extract").finish("audit").step()
    sim.finish("load").step()
    sim.step(cancel=True)  # only the finally task runs, and finally tasks still run
    assert sim.phases()["notify"] == "Running" and sim.condition()[1] == "Running"
    sim.finish("notify").step(cancel=True)
    assert sim.phase is RunPhase.SUCCEEDED and "cancelled" not in sim.condition()[2]


def test_the_new_task_fields_survive_compression_and_stay_out_when_absent() -> None:
    from baton.api.codec import dump_run_status, load_run_status

    sim = Sim.start(spec(FLAKY, task("after", "flaky")))
    sim.step()
    sim.finish("flaky", 1).step()
    compressed = dump_run_status(sim.status, compress_above=0)
    assert "compressedTasks" in compressed and "tasks" not in compressed
    assert load_run_status(compressed) == load_run_status(dump_run_status(sim.status))
    assert load_run_status(compressed).tasks == sim.status.tasks
    plain = dump_run_status(sim.status)["tasks"]
    assert plain[1] == {"name": "after", "phase": "Pending"}
    assert set(plain[0]) == {
        "name",
        "phase",
        "reason",
        "jobName",
        "attempts",
        "startTime",
        "exitCode",
        "message",
        "nextAttemptAt",
        "attemptHistory",
    }


def test_a_failure_seen_before_its_pods_details_is_judged_when_they_come() -> None:
    from baton.core.tasks import POD_DETAILS_GRACE

    sim = Sim.start(spec(task("a")))
    sim.step()
    sim.at(1).finish("a", exit_code=1)
    key = ("a", 1)
    sim.jobs[key] = replace(sim.jobs[key], exit_code=None, pod_pending=True)
    assert sim.step() == Plan(wake_at=T0 + timedelta(seconds=1) + POD_DETAILS_GRACE)
    sim.jobs[key] = replace(sim.jobs[key], exit_code=1, pod_pending=False)  # the Pod's event
    sim.at(2).step()
    assert (sim.task("a").phase.value, sim.task("a").exit_code, sim.phase) == ("Failed", 1, RunPhase.FAILED)
