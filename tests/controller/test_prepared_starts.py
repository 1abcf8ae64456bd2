"""Prepared starts held by the shell (`controller/prepared.py`): a start fired on a parent's success is
exactly a Job the full plan creates, a quiet success leaves the full plan nothing to do but record it,
and any other change drops what was prepared."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from baton.api.run import PipelineRunStatus
from baton.controller.cache import ClusterCache
from baton.controller.prepared import DEFER, MAX_IN_FLIGHT, PreparedStarts
from baton.core.launch import JobToCreate
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import Plan, plan
from baton.core.progress import progress_only
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState

KEY = ("ns", "r")
META = RunMeta(namespace="ns", name="r", uid="uid", generation=1)
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def tracker(cache: ClusterCache | None = None) -> PreparedStarts:
    async def create(jobs: Sequence[JobToCreate]) -> tuple[bool, dict[str, str]]:
        return True, {}

    return PreparedStarts(cache or ClusterCache(), create, lambda: T0)


def started(raw: dict[str, Any]) -> PipelineRunStatus:
    result = start_run(META, {"pipelineSpec": raw}, None, T0)
    assert result.started, result.status
    return result.status


def active(name: str, task: str, now: datetime) -> ObservedJob:
    return ObservedJob(task, 1, name, JobState.ACTIVE, start_time=now)


JOIN = {
    "taskDefaults": {"image": "x"},
    "tasks": [{"name": "w1"}, {"name": "w2"}, {"name": "join", "dependsOn": ["w1", "w2"]}, {"name": "other"}],
}


def join_prepared() -> tuple[PreparedStarts, Plan]:
    p = plan(RunState(META, started(JOIN)), [], T0)
    prepared = tracker()
    prepared.install(KEY, p.prepared, p.wake_at)
    return prepared, p


def succeeded(job: ObservedJob) -> ObservedJob:
    return replace(job, state=JobState.SUCCEEDED, completion_time=T0 + timedelta(seconds=1))


def test_the_last_awaited_success_fires_the_start_and_the_first_is_quiet() -> None:
    prepared, p = join_prepared()
    w1, w2 = (active(c.name, c.task, T0) for c in p.create_jobs[:2])
    first = prepared.judge(KEY, w1.name, succeeded(w1), T0)
    assert first.due == () and first.quiet
    again = prepared.judge(KEY, w1.name, replace(succeeded(w1), node="n1"), T0)  # its Pod's last event
    assert again.due == () and again.quiet and KEY in prepared
    last = prepared.judge(KEY, w2.name, succeeded(w2), T0)
    assert [j.task for j in last.due] == ["join"] and not last.quiet


def test_anything_else_drops_what_was_prepared() -> None:
    prepared, p = join_prepared()
    w1 = active(p.create_jobs[0].name, "w1", T0)
    assert prepared.judge(KEY, w1.name, w1, T0).due == () and KEY in prepared  # still running
    assert prepared.judge(KEY, "r-other-1", active("r-other-1", "other", T0), T0).due == ()
    assert KEY not in prepared  # another Job of the run moved
    for seen in (replace(w1, state=JobState.FAILED, exit_code=1, completion_time=T0), None):
        prepared, _ = join_prepared()
        assert prepared.judge(KEY, w1.name, seen, T0).due == () and KEY not in prepared
    prepared, _ = join_prepared()
    late = T0 + timedelta(days=1)  # past the plan's wake-up: a plan must look first
    assert prepared.judge(KEY, w1.name, succeeded(w1), late).due == () and KEY not in prepared


def test_a_deferred_plan_is_scheduled_once_until_it_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    prepared, p = join_prepared()
    assert prepared.defer(KEY) and not prepared.defer(KEY)
    prepared.install(KEY, p.prepared, p.wake_at)  # a plan meanwhile: the wake-up to come still serves
    assert not prepared.defer(KEY)
    clock[0] += DEFER
    assert prepared.defer(KEY)
    prepared.forget(KEY)
    assert KEY not in prepared and prepared.defer(KEY)


def test_moved_creates_the_due_jobs_and_settled_waits_for_them() -> None:
    async def scenario() -> list[str]:
        cache = ClusterCache()
        created: list[str] = []

        async def create(jobs: Sequence[JobToCreate]) -> tuple[bool, dict[str, str]]:
            await asyncio.sleep(0.01)
            created.extend(j.name for j in jobs)
            return True, {}

        cache.runs[KEY] = {"metadata": {"name": "r", "namespace": "ns", "generation": 1}}
        prepared = PreparedStarts(cache, create, lambda: T0)
        p = plan(RunState(META, started(JOIN)), [], T0)
        prepared.install(KEY, p.prepared, p.wake_at)
        w1, w2 = (succeeded(active(c.name, c.task, T0)) for c in p.create_jobs[:2])
        cache.observations[KEY] = {w1.name: w1, w2.name: w2}
        assert prepared.moved(KEY, w1.name)  # quiet: the run's plan may wait
        assert not prepared.moved(KEY, w2.name)  # the join is due: created now, planned at once
        assert created == []
        await prepared.settled(KEY)
        return created

    assert asyncio.run(scenario()) == ["r-join-1"]


def test_nothing_fires_for_a_run_changed_or_gone_without_the_watch_telling() -> None:
    for run in (None, {"generation": 2}, {"generation": 1, "deletionTimestamp": "2026-12-07T08:00:00Z"}):
        cache = ClusterCache()
        if run is not None:
            cache.runs[KEY] = {"metadata": {"name": "r", "namespace": "ns", **run}}
        prepared = tracker(cache)
        p = plan(RunState(META, started(JOIN)), [], T0)
        prepared.install(KEY, p.prepared, p.wake_at)
        w1, w2 = (succeeded(active(c.name, c.task, T0)) for c in p.create_jobs[:2])
        cache.observations[KEY] = {w1.name: w1, w2.name: w2}
        assert not prepared.moved(KEY, w1.name) and KEY not in prepared, run


def test_a_run_with_finally_tasks_defers_no_plan() -> None:
    raw = {**JOIN, "finally": [{"name": "notify", "when": "allFailed"}]}
    p = plan(RunState(META, started(raw)), [], T0)
    assert [s.task for s in p.prepared.starts] == ["join"] and p.prepared.quiet == frozenset()


def test_nothing_fires_while_the_operator_does_not_act() -> None:
    prepared, p = join_prepared()
    prepared.acting = lambda: False
    assert not prepared.moved(KEY, p.create_jobs[0].name) and KEY not in prepared


# -- the property ------------------------------------------------------------------------------------


@st.composite
def pipelines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=2, max_value=9))
    names = [f"t{i}" for i in range(n)]
    tasks: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        task: dict[str, Any] = {
            "name": name,
            "dependsOn": sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=3))) if i else [],
        }
        feature = draw(st.sampled_from(["", "", "", "retries", "timeout", "results", "reads", "when"]))
        if feature == "retries":
            task["retries"] = {"limit": 1, "backoff": {"initialSeconds": 1}}
        elif feature == "timeout":
            task["timeoutSeconds"] = draw(st.integers(2, 30))
        elif feature == "results":
            task["results"] = [{"name": "n"}]
        elif feature == "reads" and task["dependsOn"]:
            task["command"] = ["echo", f"$(tasks.{task['dependsOn'][0]}.status)"]
        elif feature == "when" and task["dependsOn"]:
            task["when"] = draw(st.sampled_from(["allDone", "anyFailed", "noneFailed"]))
        tasks.append(task)
    raw: dict[str, Any] = {"taskDefaults": {"image": "x"}, "tasks": tasks}
    if draw(st.integers(0, 2)):
        raw["failurePolicy"] = "FailFast"
    if draw(st.integers(0, 4)) == 0:
        raw["finally"] = [{"name": "last", **({"when": "allFailed"} if draw(st.booleans()) else {})}]
    return raw


def outcome(job: ObservedJob, kind: str, now: datetime) -> ObservedJob:
    if kind == "succeeded":
        return replace(job, state=JobState.SUCCEEDED, exit_code=0, completion_time=now, message='{"n": 1}')
    if kind == "failed":
        return replace(job, state=JobState.FAILED, exit_code=1, completion_time=now)
    if kind == "pod-started":
        return replace(job, pod_started=now, node="n1")
    return replace(job, state=JobState.SUCCEEDED, completion_time=now, pod_pending=True)


@settings(max_examples=200, deadline=None)
@given(pipelines(), st.data())
def test_a_fired_start_is_what_the_full_plan_creates(raw: dict[str, Any], data: st.DataObject) -> None:
    stored = started(raw)
    jobs: dict[str, ObservedJob] = {}
    now = T0
    kinds = st.sampled_from(["succeeded"] * 3 + ["failed"] * 2 + ["pod-started", "pod-pending"])
    for _ in range(16):
        p = plan(RunState(META, stored), list(jobs.values()), now)
        for create in p.create_jobs:
            jobs.setdefault(create.name, active(create.name, create.task, now))
        base = stored
        if p.status is not None and data.draw(st.booleans(), label="the plan's status is stored"):
            stored = p.status
        if stored.phase is not None and stored.phase.finished:
            return
        prepared = tracker()
        prepared.install(KEY, p.prepared, p.wake_at)
        running = sorted(n for n, j in jobs.items() if j.state is JobState.ACTIVE)
        if not running:
            return
        for name in data.draw(st.lists(st.sampled_from(running), min_size=1, max_size=4), label="moved"):
            now += timedelta(milliseconds=data.draw(st.integers(0, 3000), label="ms later"))
            jobs[name] = outcome(jobs[name], data.draw(kinds, label=f"{name} then"), now)
            verdict = prepared.judge(KEY, name, jobs[name], now)
            if not verdict.due and not verdict.quiet:
                continue
            event("a start fired" if verdict.due else "a quiet success")
            for status in {id(base): base, id(stored): stored, id(p.status): p.status}.values():
                if status is None:
                    continue
                full = plan(RunState(META, status), list(jobs.values()), now)
                if verdict.due:
                    assert all(job in full.create_jobs for job in verdict.due), (verdict, full)
                else:
                    assert full.create_jobs == () and full.delete_jobs == (), (name, full)
                    if status is p.status and full.status is not None:  # what this success adds
                        assert progress_only(status, full.status, False), (name, full.status)
            for job in verdict.due:
                jobs[job.name] = active(job.name, job.task, now)


def test_a_burst_of_due_starts_goes_through_the_plans() -> None:
    async def scenario() -> tuple[bool, bool]:
        cache = ClusterCache()

        async def create(jobs: Sequence[JobToCreate]) -> tuple[bool, dict[str, str]]:
            return True, {}

        cache.runs[KEY] = {"metadata": {"name": "r", "namespace": "ns"}}
        prepared = PreparedStarts(cache, create, lambda: T0)
        p = plan(RunState(META, started(JOIN)), [], T0)
        prepared.install(KEY, p.prepared, p.wake_at)
        w1, w2 = (succeeded(active(c.name, c.task, T0)) for c in p.create_jobs[:2])
        cache.observations[KEY] = {w1.name: w1, w2.name: w2}
        assert prepared.moved(KEY, w1.name)
        prepared.in_flight = MAX_IN_FLIGHT  # as many creates fired and not answered yet
        waits = prepared.moved(KEY, w2.name)
        return waits or prepared.in_flight > MAX_IN_FLIGHT, KEY in prepared

    assert asyncio.run(scenario()) == (False, False)  # nothing fired, and the run's plan decides
