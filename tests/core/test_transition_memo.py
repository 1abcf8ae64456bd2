"""The transition memo never changes a plan: plans made with it, carried from plan to plan as the shell
carries it (one memo per stored status), equal plans made without it, over random DAGs, random Job
histories and a clock that jumps, while the stored status lags behind the Jobs as a wide run's does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.run import TaskPhase, TaskStatus
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState
from baton.core.tasks import NO_RETRIES, Attempts
from baton.core.transition_memo import MAX_ANSWERS, TransitionMemo, outcome_fixed

META = RunMeta(namespace="ns", name="memo", uid="uid", generation=1)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@st.composite
def pipelines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=10))
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        task: dict[str, Any] = {
            "name": f"t{i}",
            "dependsOn": sorted(draw(st.sets(st.sampled_from([f"t{k}" for k in range(i)]), max_size=3)))
            if i
            else [],
        }
        if draw(st.booleans()):
            task["retries"] = {"limit": draw(st.integers(1, 2)), "backoff": {"initialSeconds": 1}}
        if draw(st.booleans()):
            task["timeoutSeconds"] = draw(st.integers(5, 60))
        if draw(st.integers(0, 3)) == 0:
            task["results"] = [{"name": "rows"}]
        tasks.append(task)
    if draw(st.booleans()):  # a forEach task: its instances are planned (and remembered) one by one
        fan: dict[str, Any] = {"name": "fan", "forEach": {"items": list(range(draw(st.integers(1, 4))))}}
        if draw(st.booleans()):
            fan["retries"] = {"limit": 1, "backoff": {"initialSeconds": 1}}
        fan["dependsOn"] = [tasks[0]["name"]] if draw(st.booleans()) else []
        tasks.append(fan)
    return {"taskDefaults": {"image": "x"}, "tasks": tasks}


def job_changes(names: list[str]) -> st.SearchStrategy[tuple[str, str, bool, bool, bool, bool]]:
    """(task, new state, says when it started, says when it ended, Pod still pending, results written)."""
    return st.tuples(
        st.sampled_from(names),
        st.sampled_from(["Succeeded", "Succeeded", "Failed", "Active"]),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    )


def changed(job: ObservedJob, change: tuple[str, str, bool, bool, bool, bool], now: datetime) -> ObservedJob:
    _, state, started, ended, pending, wrote = change
    return replace(
        job,
        state=JobState(state),
        exit_code=None if state == "Active" else (0 if state == "Succeeded" else 1),
        message='{"rows": 3}' if wrote else None,
        start_time=job.start_time if started else None,
        completion_time=now if ended and state != "Active" else None,
        pod_pending=pending,
    )


@settings(max_examples=80, deadline=None)
@given(pipelines(), st.data())
def test_plans_with_the_memo_equal_plans_without_it(spec: dict[str, Any], data: st.DataObject) -> None:
    started = start_run(META, {"pipelineSpec": spec}, None, T0)
    assert started.started
    stored = started.status  # what the shell planned from: written only now and then
    memo, memo_of = TransitionMemo(), stored
    jobs: dict[str, ObservedJob] = {}
    now = T0
    for _ in range(40):
        if memo_of is not stored:  # a new stored status: a new memo, as the reconciler keeps them
            memo, memo_of = TransitionMemo(), stored
        state = RunState(META, stored)
        observed = list(jobs.values())
        without = plan(state, observed, now)
        with_memo = plan(state, observed, now, memo=memo)
        assert with_memo == without
        for create in without.create_jobs:
            labels = create.body["metadata"]["labels"]
            instance = labels.get("baton.dev/instance")
            jobs[create.task] = ObservedJob(
                labels["baton.dev/task"], create.attempt, create.name, JobState.ACTIVE, start_time=now,
                instance=int(instance) if instance is not None else None,
            )  # fmt: skip
        if without.status is not None and data.draw(st.integers(0, 3), label="write lands") == 0:
            stored = without.status
        if stored.phase is not None and stored.phase.finished:
            break
        if jobs:
            for change in data.draw(st.lists(job_changes(sorted(jobs)), max_size=4), label="Job changes"):
                if jobs[change[0]].state is JobState.ACTIVE:
                    jobs[change[0]] = changed(jobs[change[0]], change, now)
        now += timedelta(seconds=data.draw(st.sampled_from([0, 0, 1, 7, 90]), label="seconds pass"))


def test_a_stale_status_plans_a_wide_fan_out_from_memory_the_second_time() -> None:
    spec = {
        "taskDefaults": {"image": "x"},
        "tasks": [{"name": f"w{i}"} for i in range(300)] + [{"name": "join", "dependsOn": ["w0", "w299"]}],
    }
    started = start_run(META, {"pipelineSpec": spec}, None, T0)
    stored = started.status
    first = plan(RunState(META, stored), [], T0)
    done = [
        ObservedJob(c.task, c.attempt, c.name, JobState.SUCCEEDED, start_time=T0, completion_time=T0)
        for c in first.create_jobs
    ]
    memo = TransitionMemo()
    later = T0 + timedelta(seconds=5)
    warm = plan(RunState(META, stored), done, later, memo=memo)
    assert len(memo) == 300 and [c.task for c in warm.create_jobs] == ["join"]
    again = plan(RunState(META, stored), done, later + timedelta(seconds=1), memo=memo)
    assert again == plan(RunState(META, stored), done, later + timedelta(seconds=1))
    assert len(memo) == 300
    assert again.status is not None and warm.status is not None
    assert all(a is b for a, b in zip(again.status.tasks[:300], warm.status.tasks[:300], strict=True))


def task_status(phase: TaskPhase, attempts: int = 1) -> TaskStatus:
    return TaskStatus(
        name="t", phase=phase, attempts=attempts, job_name="run-t-1", start_time="2025-01-01T00:00:00Z"
    )


def job(state: JobState, attempt: int = 1, *, start: bool = True, end: bool = True) -> ObservedJob:
    return ObservedJob(
        "t",
        attempt,
        f"run-t-{attempt}",
        state,
        start_time=T0 if start else None,
        completion_time=T0 + timedelta(seconds=3) if end else None,
    )


WITH_RESULTS = Attempts(results=("rows",))


@pytest.mark.parametrize(
    ("task", "observed", "attempts", "fixed"),
    [
        (task_status(TaskPhase.RUNNING), job(JobState.SUCCEEDED), NO_RETRIES, True),
        (task_status(TaskPhase.PENDING, 0), job(JobState.SUCCEEDED), NO_RETRIES, True),  # adopted Job
        (task_status(TaskPhase.PENDING, 1), job(JobState.SUCCEEDED), NO_RETRIES, False),  # not followed
        (task_status(TaskPhase.RUNNING, 2), job(JobState.SUCCEEDED), NO_RETRIES, False),  # an older attempt
        (task_status(TaskPhase.RUNNING), job(JobState.SUCCEEDED, start=False), NO_RETRIES, False),
        (task_status(TaskPhase.RUNNING), job(JobState.SUCCEEDED, end=False), NO_RETRIES, False),
        (task_status(TaskPhase.RUNNING), job(JobState.SUCCEEDED), WITH_RESULTS, False),  # waits for its Pod
        (task_status(TaskPhase.RUNNING), job(JobState.FAILED), NO_RETRIES, False),  # a retry's time
        (task_status(TaskPhase.RUNNING), job(JobState.ACTIVE, end=False), NO_RETRIES, False),  # deadlines
    ],
)
def test_outcome_fixed_only_where_the_clock_plays_no_part(
    task: TaskStatus, observed: ObservedJob, attempts: Attempts, fixed: bool
) -> None:
    assert outcome_fixed(task, observed, attempts) is fixed


def test_an_answer_is_remembered_for_the_same_entry_and_job_only() -> None:
    memo = TransitionMemo()
    task, done = task_status(TaskPhase.RUNNING), job(JobState.SUCCEEDED)
    first, _ = memo.advance(task, done, T0, NO_RETRIES, None)
    assert first.phase is TaskPhase.SUCCEEDED and len(memo) == 1
    again, _ = memo.advance(task, done, T0 + timedelta(hours=1), NO_RETRIES, None)
    assert again is first  # the same object: an unchanged entry keeps its encoding (api.codec)
    equal_copy = task.model_copy()
    other, _ = memo.advance(equal_copy, done, T0, NO_RETRIES, None)
    assert other is not first and other == first and len(memo) == 2


def test_a_memo_past_its_bound_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("baton.core.transition_memo.MAX_ANSWERS", 2)
    memo = TransitionMemo()
    done = job(JobState.SUCCEEDED)
    tasks = [task_status(TaskPhase.RUNNING) for _ in range(3)]
    for task in tasks:
        memo.advance(task, done, T0, NO_RETRIES, None)
    assert len(memo) == 1
    assert MAX_ANSWERS >= 10_000  # one run's tasks fit


def test_a_step_is_recalled_for_the_same_entry_and_job_only() -> None:
    memo = TransitionMemo()
    task, done, ended = (
        task_status(TaskPhase.RUNNING),
        job(JobState.SUCCEEDED),
        task_status(TaskPhase.SUCCEEDED),
    )
    assert memo.recall(task, done) is None and memo.recall(task, None) is None
    memo.remember(task, done, ended, ("run-t-1",))
    assert memo.recall(task, done) == (ended, ("run-t-1",)) and len(memo) == 1
    assert memo.recall(task.model_copy(), done) is None  # an equal entry decoded again is another entry
    assert memo.recall(task, job(JobState.SUCCEEDED)) is None  # and an equal Job observed again


def test_remembered_steps_past_the_bound_start_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("baton.core.transition_memo.MAX_ANSWERS", 2)
    memo, done, ended = TransitionMemo(), job(JobState.SUCCEEDED), task_status(TaskPhase.SUCCEEDED)
    for _ in range(3):
        memo.remember(task_status(TaskPhase.RUNNING), done, ended, ())
    assert len(memo) == 1
