from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase
from baton.core.events import Event, EventType
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import Plan, plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState
from baton.core.tasks import JOB_LOST_AFTER

NOW = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)
META = RunMeta(namespace="data", name="run-1", uid="uid-1", generation=1)

ETL: dict[str, Any] = {
    "taskDefaults": {"image": "python:3.12-slim"},
    "tasks": [
        {"name": "extract"},
        {"name": "transform-a", "dependsOn": ["extract"]},
        {"name": "transform-b", "dependsOn": ["extract"]},
        {"name": "load", "dependsOn": ["transform-a", "transform-b"]},
        {"name": "report", "dependsOn": ["load"]},
    ],
}


def start(spec: dict[str, Any] = ETL, **changes: Any) -> PipelineRunStatus:
    result = start_run(META, {"pipelineSpec": {**spec, **changes}}, None, NOW)
    assert result.started, result.status
    return result.status


def job(task: str, state: JobState = JobState.ACTIVE, attempt: int = 1, **extra: Any) -> ObservedJob:
    return ObservedJob(task, attempt, f"run-1-{task}-{attempt}", state, start_time=NOW, **extra)


def phases(status: PipelineRunStatus) -> dict[str, str]:
    return {t.name: t.phase.value for t in status.tasks}


def step(
    status: PipelineRunStatus, jobs: list[ObservedJob], now: datetime = NOW, meta: RunMeta = META
) -> Plan:
    return plan(RunState(meta, status), jobs, now)


def test_a_started_run_creates_its_roots() -> None:
    status = start()
    assert status.phase is RunPhase.PENDING and status.progress == "0/5"
    p = step(status, [])
    assert [(c.task, c.attempt, c.name) for c in p.create_jobs] == [("extract", 1, "run-1-extract-1")]
    assert p.create_jobs[0].body["metadata"]["name"] == "run-1-extract-1"
    assert p.status is not None and p.status.phase is RunPhase.RUNNING
    extract = p.status.tasks[0]
    assert (extract.phase, extract.attempts, extract.job_name, extract.start_time) == (
        TaskPhase.RUNNING,
        1,
        "run-1-extract-1",
        "2025-01-31T10:00:00Z",
    )
    assert p.events == (
        Event(EventType.NORMAL, "TaskStarted", 'task "extract" started: Job run-1-extract-1'),
    )
    assert p.wake_at == NOW + JOB_LOST_AFTER  # the Job is not observed yet


def test_replanning_what_is_already_recorded_changes_nothing() -> None:
    status = step(start(), []).status
    assert status is not None
    p = step(status, [job("extract")], NOW + timedelta(seconds=5))
    assert p == Plan() and p.idle


def test_dependents_start_when_all_dependencies_succeeded() -> None:
    status = step(start(), []).status
    assert status is not None
    p = step(status, [job("extract", JobState.SUCCEEDED, completion_time=NOW + timedelta(seconds=30))])
    assert [c.task for c in p.create_jobs] == ["transform-a", "transform-b"]
    assert p.status is not None and p.status.progress == "1/5"
    assert phases(p.status)["extract"] == "Succeeded"
    assert p.status.tasks[0].completion_time == "2025-01-31T10:00:30Z"
    assert [e.reason for e in p.events] == ["TaskSucceeded", "TaskStarted", "TaskStarted"]


def test_parallelism_counts_running_jobs() -> None:
    status = step(start(parallelism=1), []).status
    assert status is not None
    p = step(status, [job("extract", JobState.SUCCEEDED)])
    assert [c.task for c in p.create_jobs] == ["transform-a"]
    assert p.status is not None
    p = step(p.status, [job("extract", JobState.SUCCEEDED), job("transform-a")])
    assert p.create_jobs == ()
    assert p.status is None


def test_a_failure_skips_everything_downstream_and_fails_the_run_once_nothing_can_proceed() -> None:
    status = step(step(start(), []).status or start(), [job("extract", JobState.SUCCEEDED)]).status
    assert status is not None
    failed = job(
        "transform-a", JobState.FAILED, exit_code=1, reason="Error", message="Traceback\nValueError: boom"
    )
    p = step(status, [job("extract", JobState.SUCCEEDED), failed, job("transform-b")])
    assert p.status is not None and p.create_jobs == ()
    assert phases(p.status) == {
        "extract": "Succeeded",
        "transform-a": "Failed",
        "transform-b": "Running",
        "load": "Skipped",
        "report": "Skipped",
    }
    assert p.status.phase is RunPhase.RUNNING  # transform-b is left to finish
    a, load, report = p.status.tasks[1], p.status.tasks[3], p.status.tasks[4]
    assert (a.exit_code, a.message) == (1, "exit code 1: Traceback\nValueError: boom")
    assert load.message == report.message == 'upstream task "transform-a" failed'
    assert [e.reason for e in p.events] == ["TaskFailed", "TasksSkipped"]
    assert p.events[0] == Event(
        EventType.WARNING, "TaskFailed", 'task "transform-a" failed: ValueError: boom'
    )

    done = job("transform-b", JobState.SUCCEEDED, completion_time=NOW + timedelta(minutes=1, seconds=23))
    p = step(p.status, [job("extract", JobState.SUCCEEDED), failed, done])
    assert p.status is not None and p.status.phase is RunPhase.FAILED
    assert p.status.progress == "5/5" and p.status.duration == "1m23s"
    (condition,) = p.status.conditions
    assert (condition.status.value, condition.reason) == ("False", "Failed")
    assert condition.message == 'task "transform-a" failed: exit code 1: ValueError: boom; 2 skipped'
    assert p.events[-1] == Event(EventType.WARNING, "RunFailed", f"run failed: {condition.message}")


def test_independent_branches_keep_going_after_a_failure() -> None:
    spec = {
        "taskDefaults": {"image": "x"},
        "tasks": [
            {"name": "prepare"},
            {"name": "validate", "dependsOn": ["prepare"]},
            {"name": "publish", "dependsOn": ["validate"]},
            {"name": "audit", "dependsOn": ["prepare", "slow"]},
            {"name": "slow"},
        ],
    }
    status = step(start(spec), []).status
    assert status is not None
    jobs = [job("prepare", JobState.SUCCEEDED), job("slow"), job("validate", JobState.FAILED, exit_code=3)]
    p = step(status, jobs)
    assert p.status is not None
    assert phases(p.status)["publish"] == "Skipped" and p.status.phase is RunPhase.RUNNING
    p2 = step(p.status, [*jobs[:1], job("slow", JobState.SUCCEEDED), jobs[2]])
    assert [c.task for c in p2.create_jobs] == ["audit"]


def test_a_job_created_before_a_crash_is_adopted_not_created_again() -> None:
    status = start()  # the operator created extract's Job, then crashed before patching the status
    p = step(status, [job("extract")])
    assert p.create_jobs == ()
    assert p.status is not None and phases(p.status)["extract"] == "Running"
    assert p.status.tasks[0].job_name == "run-1-extract-1"
    assert p.wake_at is None


def test_an_adopted_finished_job_counts() -> None:
    p = step(start(), [job("extract", JobState.SUCCEEDED)])
    assert p.status is not None and phases(p.status)["extract"] == "Succeeded"
    assert [c.task for c in p.create_jobs] == ["transform-a", "transform-b"]
    assert [e.reason for e in p.events] == ["TaskSucceeded", "TaskStarted", "TaskStarted"]


def test_finished_records_are_kept_when_their_jobs_are_gone() -> None:
    status = step(start(), [job("extract", JobState.SUCCEEDED)]).status
    assert status is not None
    p = step(status, [job("transform-a"), job("transform-b")], NOW + timedelta(hours=2))
    assert p.status is None and p.create_jobs == ()


def test_a_running_task_whose_job_disappears_fails_after_a_grace_period() -> None:
    status = step(start(), []).status
    assert status is not None
    p = step(status, [], NOW + timedelta(seconds=30))
    assert p.status is None and p.wake_at == NOW + JOB_LOST_AFTER
    p = step(status, [], NOW + JOB_LOST_AFTER)
    assert p.status is not None
    extract = p.status.tasks[0]
    assert extract.phase is TaskPhase.FAILED
    assert extract.message == "Job run-1-extract-1 disappeared before it finished"
    assert p.status.phase is RunPhase.FAILED and p.wake_at is None


def test_jobs_of_unknown_tasks_are_ignored() -> None:
    p = step(start(), [job("not-in-spec")])
    assert [c.task for c in p.create_jobs] == ["extract"]


def test_finished_runs_do_nothing_but_track_the_generation() -> None:
    finished = step(
        start({"taskDefaults": {"image": "x"}, "tasks": [{"name": "a"}]}), [job("a", JobState.SUCCEEDED)]
    )
    status = finished.status
    assert status is not None and status.phase is RunPhase.SUCCEEDED
    assert step(status, [job("a", JobState.SUCCEEDED)]) == Plan()
    bumped = step(status, [], meta=replace(META, generation=2))
    assert bumped.status is not None and bumped.status.observed_generation == 2 and bumped.create_jobs == ()


def test_the_condition_transition_time_moves_only_on_transitions() -> None:
    first = step(start(), []).status
    assert first is not None
    later = NOW + timedelta(minutes=5)
    second = step(first, [job("extract", JobState.SUCCEEDED)], later).status
    assert second is not None
    assert second.conditions[0].reason == "Running"
    assert second.conditions[0].last_transition_time == first.conditions[0].last_transition_time
    assert second.conditions[0].message == "2 running: transform-a, transform-b"


def test_many_starts_make_one_event() -> None:
    spec = {"taskDefaults": {"image": "x"}, "tasks": [{"name": f"shard-{i:02d}"} for i in range(20)]}
    p = step(start(spec), [])
    assert len(p.create_jobs) == 20
    assert p.events == (
        Event(EventType.NORMAL, "TaskStarted", "started 20 tasks: shard-00, shard-01, shard-02, … (+17)"),
    )


def test_plans_are_deterministic() -> None:
    status = step(start(), []).status
    assert status is not None
    jobs = [job("extract", JobState.SUCCEEDED)]
    assert step(status, jobs) == step(status, jobs)


def test_a_run_must_be_started_first() -> None:
    with pytest.raises(ValueError, match="not been started"):
        RunState(META, PipelineRunStatus())


def test_succeeded_run_event_and_condition() -> None:
    status = start({"taskDefaults": {"image": "x"}, "tasks": [{"name": "a"}]})
    p = step(status, [job("a", JobState.SUCCEEDED, completion_time=NOW + timedelta(seconds=42))])
    assert p.status is not None
    (condition,) = p.status.conditions
    assert (condition.status.value, condition.reason, condition.message) == (
        "True",
        "Succeeded",
        "the task succeeded",
    )
    assert p.events[-1] == Event(EventType.NORMAL, "RunSucceeded", "run succeeded in 42s: the task succeeded")
