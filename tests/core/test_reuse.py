"""Retry from the point of failure: a run with spec.retryOf reuses what succeeded in the old run."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import META, T0, Sim, spec, task

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState

RETRY = RunMeta(namespace="data", name="run-1-retry-x", uid="uid-2", generation=1)
ETL = spec(
    task("extract"),
    task("clean", "extract"),
    task("load", "clean"),
    task("audit", "extract"),
    task("report", "load", "audit"),
    params=[{"name": "date", "default": "2025-01-01"}],
    **{"finally": [task("notify")]},
)


def failed_run() -> PipelineRunStatus:
    """extract, clean and audit succeeded; load failed; report was skipped; notify ran."""
    sim = Sim.start(ETL, params={"date": "2025-01-31"})
    sim.step()
    sim.finish("extract").step()
    sim.finish("clean").finish("audit").step()
    sim.finish("load", 1).step()
    sim.finish("notify").step()
    assert sim.phase is RunPhase.FAILED
    return sim.status


def retry(old: PipelineRunStatus | None, **run_spec: Any) -> Any:
    return start_run(RETRY, {"retryOf": META.name, **run_spec}, None, T0, retry_of=old)


def test_a_retry_reuses_what_succeeded_and_runs_the_rest() -> None:
    old = failed_run()
    result = retry(old)
    assert result.started
    status = result.status
    assert status.params == {"date": "2025-01-31"} and status.pipeline_spec == old.pipeline_spec
    phases = {t.name: t.phase.value for t in status.tasks}
    assert phases == {
        "extract": "Succeeded",
        "clean": "Succeeded",
        "load": "Pending",
        "audit": "Succeeded",
        "report": "Pending",
        "notify": "Pending",  # finally tasks report on this run: they always run again
    }
    extract = status.tasks[0]
    assert (extract.reason, extract.reused_from, extract.message) == (
        "Reused",
        "run-1",
        'reused: succeeded in run "run-1"',
    )
    assert extract.job_name == "run-1-extract-1" and extract.attempts == 0
    assert status.progress == "3/6"
    (event,) = result.events
    assert event.reason == "RetryStarted"
    assert (
        event.message == 'retrying run "run-1": reused 3 task(s) that succeeded there (extract, clean, audit)'
    )
    p = plan(RunState(RETRY, status), [], T0)
    assert [c.name for c in p.create_jobs] == ["run-1-retry-x-load-1"]  # no Job for reused tasks


def test_retry_from_reruns_a_sub_dag_even_if_it_succeeded() -> None:
    result = retry(failed_run(), retryFrom=["clean"])
    phases = {t.name: t.phase for t in result.status.tasks}
    assert [name for name, phase in phases.items() if phase is TaskPhase.SUCCEEDED] == ["extract", "audit"]


def test_a_retry_of_a_retry_points_at_the_run_that_really_ran_the_task() -> None:
    first = retry(failed_run()).status
    again = start_run(
        RunMeta("data", "second", "uid-3"),
        {"retryOf": RETRY.name},
        None,
        T0,
        retry_of=first.model_copy(update={"phase": RunPhase.FAILED}),
    )
    assert again.status.tasks[0].reused_from == "run-1"


@pytest.mark.parametrize(
    ("old", "run_spec", "reason", "message"),
    [
        (None, {}, "RetryOfNotFound", 'run "run-1" to retry (retryOf) not found in namespace "data"'),
        (
            PipelineRunStatus(phase=RunPhase.RUNNING),
            {},
            "RetryOfNotFinished",
            'run "run-1" has not finished (it is Running): retry it once it has ended, '
            "or cancel it first (kubectl baton cancel run-1)",
        ),
        (
            PipelineRunStatus(phase=RunPhase.FAILED),
            {},
            "Invalid",
            'run "run-1" never started: there is nothing to retry; start a new run',
        ),
        (
            "failed",
            {"retryFrom": ["laod"]},
            "Invalid",
            'retryFrom names unknown task "laod" (did you mean "load"?)',
        ),
        ("failed", {"params": {"date": "x"}}, "Invalid", "spec: Value error, a retry (retryOf) runs with"),
    ],
)
def test_a_retry_that_cannot_start_fails_at_once_with_a_warning(
    old: Any, run_spec: dict[str, Any], reason: str, message: str
) -> None:
    result = retry(failed_run() if old == "failed" else old, **run_spec)
    assert not result.started and result.status.phase is RunPhase.FAILED
    (condition,) = result.status.conditions
    assert condition.reason == reason and condition.message.startswith(message.replace("Value error, ", ""))
    assert result.events[0].type.value == "Warning"


def test_a_retry_with_nothing_left_to_run_succeeds_at_once_without_going_back_in_time() -> None:
    sim = Sim.start(spec(task("a"), task("b", "a")))
    sim.step()
    sim.finish("a").step()
    sim.finish("b", 1).step()
    old = sim.status
    later = T0.replace(hour=12)
    result = start_run(RETRY, {"retryOf": META.name, "retryFrom": ["b"]}, None, later, retry_of=old)
    p = plan(RunState(RETRY, result.status), [], later)
    assert [c.name for c in p.create_jobs] == ["run-1-retry-x-b-1"]
    succeeded = Sim.start(spec(task("a")))
    succeeded.step()
    succeeded.finish("a").step()
    done = start_run(RETRY, {"retryOf": META.name}, None, later, retry_of=succeeded.status)
    finished = plan(RunState(RETRY, done.status), [], later).status
    assert finished is not None and finished.phase is RunPhase.SUCCEEDED
    assert finished.completion_time == finished.start_time == "2025-01-31T12:00:00Z"
    assert finished.duration == "0s"
