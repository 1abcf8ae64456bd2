"""Which starts a plan prepares, and what a parent's Job means for them (`baton.core.prepared`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus, TaskPhase
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import Plan, plan
from baton.core.prepared import MAX_AWAITED, MAX_PREPARED, Awaited, awaited_outcome
from baton.core.start import start_run
from baton.core.state import RunControl, RunMeta, RunState
from baton.core.tasks import NO_RETRIES, attempts_table

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
META = RunMeta(namespace="ns", name="r", uid="uid", generation=1)


def spec(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"taskDefaults": {"image": "busybox"}, "tasks": list(tasks), **extra}


def t(name: str, *after: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "dependsOn": list(after), **fields}


def job(task: str, state: JobState = JobState.ACTIVE, **extra: Any) -> ObservedJob:
    return ObservedJob(task, 1, f"r-{task}-1", state, start_time=NOW, **extra)


def done(task: str, **extra: Any) -> ObservedJob:
    return job(task, JobState.SUCCEEDED, **{"completion_time": NOW + timedelta(seconds=1), **extra})


def stored(raw: dict[str, Any]) -> PipelineRunStatus:
    """The status after the run's first plan (its roots started), as stored."""
    started = start_run(META, {"pipelineSpec": raw}, None, NOW)
    assert started.started, started.status
    return plan(RunState(META, started.status), [], NOW).status or started.status


def planned(raw: dict[str, Any], jobs: list[ObservedJob], control: RunControl | None = None) -> Plan:
    """The plan made once `jobs` are observed, from the status stored after the first plan (as a
    lagging stored status is)."""
    return plan(RunState(META, stored(raw), control or RunControl()), jobs, NOW + timedelta(seconds=2))


def prepared(p: Plan) -> dict[str, list[str]]:
    return {s.task: sorted(a.job_name for a in s.awaits) for s in p.prepared.starts}


CHAIN = spec(t("a"), t("b", "a"), t("c", "b"))
JOIN = spec(t("split"), t("w1", "split"), t("w2", "split"), t("w3", "split"), t("join", "w1", "w2", "w3"))


@pytest.mark.parametrize(
    ("raw", "jobs", "expected"),
    [
        (CHAIN, [job("a")], {"b": ["r-a-1"]}),
        (CHAIN, [done("a"), job("b")], {"c": ["r-b-1"]}),
        (JOIN, [job("split")], {"w1": ["r-split-1"], "w2": ["r-split-1"], "w3": ["r-split-1"]}),
        (JOIN, [done("split"), job("w1"), job("w2"), job("w3")], {"join": ["r-w1-1", "r-w2-1", "r-w3-1"]}),
        (JOIN, [done("split"), done("w1"), job("w2"), done("w3")], {"join": ["r-w2-1"]}),
        # A parent not started yet: the child waits for more than running parents.
        (spec(t("a"), t("b"), t("c", "a", "b"), parallelism=1), [job("a")], {}),
    ],
)
def test_what_is_prepared(
    raw: dict[str, Any], jobs: list[ObservedJob], expected: dict[str, list[str]]
) -> None:
    assert prepared(planned(raw, jobs)) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (spec(t("a"), t("b", "a"), parallelism=2), "a parallelism limit decides what starts next"),
        (spec(t("a"), t("b", "a", when="allDone")), "a rule other than the default"),
        (spec(t("a"), t("b", "a", forEach={"items": ["x", "y"]})), "a forEach child expands, it has no Job"),
        (spec(t("a"), t("b", "a", command=["echo", "$(tasks.a.status)"])), "a child reading run-time values"),
        (spec(t("a", results=[{"name": "n"}]), t("b", "a")), "a parent whose success waits for results"),
        (spec(t("a", sensor={}), t("b", "a")), "a sensor's success may be a poke"),
        (spec(t("a"), t("b", "a", cache={})), "a child the cache may serve"),
        (spec(t("a", retries={"limit": 1}), t("b", "a", timeoutSeconds=60)), "(control: these are fine)"),
    ],
)
def test_what_is_never_prepared(raw: dict[str, Any], why: str) -> None:
    got = prepared(planned(raw, [job("a")]))
    assert (got == {"b": ["r-a-1"]}) is why.startswith("(control"), why


def test_nothing_is_prepared_for_a_finally_task_or_a_run_that_is_stopping() -> None:
    raw = spec(t("a"))
    raw["finally"] = [t("notify")]
    assert prepared(planned(raw, [job("a")])) == {}
    assert prepared(planned(CHAIN, [job("a")], RunControl(suspend=True))) == {}
    assert prepared(planned(CHAIN, [job("a")], RunControl(cancel=True))) == {}


def test_fail_fast_after_a_failure_prepares_nothing() -> None:
    raw = spec(t("a"), t("x"), t("b", "a"), failurePolicy="FailFast")
    failed = job("x", JobState.FAILED, exit_code=1, completion_time=NOW)
    assert prepared(planned(raw, [job("a"), failed])) == {}
    assert prepared(planned(raw, [job("a"), job("x")])) == {"b": ["r-a-1"]}


def test_a_join_waiting_for_more_parents_than_the_bound_is_not_prepared() -> None:
    workers = [t(f"w{i}") for i in range(MAX_AWAITED + 1)]
    raw = spec(*workers, t("join", *(w["name"] for w in workers)))
    assert prepared(planned(raw, [job(w["name"]) for w in workers])) == {}
    assert prepared(planned(raw, [done("w0"), *(job(w["name"]) for w in workers[1:])])) == {
        "join": [f"r-w{i}-1" for i in sorted(range(1, MAX_AWAITED + 1), key=str)]
    }


def test_at_most_so_many_starts_are_prepared_and_only_covered_parents_are_quiet() -> None:
    width = MAX_PREPARED + 2
    raw = spec(t("a"), *(t(f"c{i:02}", "a") for i in range(width)))
    p = planned(raw, [job("a")])
    assert [s.task for s in p.prepared.starts] == [f"c{i:02}" for i in range(MAX_PREPARED)]
    assert p.prepared.quiet == frozenset()  # a's success makes ready two children nobody prepared
    p = planned(JOIN, [done("split"), job("w1"), job("w2"), job("w3")])
    assert p.prepared.quiet == {"r-w1-1", "r-w2-1", "r-w3-1"}


def test_a_prepared_job_is_the_one_the_plan_after_the_success_creates() -> None:
    p = planned(JOIN, [done("split"), done("w1"), job("w2"), done("w3")])
    (start,) = p.prepared.starts
    assert p.status is not None
    after = plan(RunState(META, p.status), [done("split"), done("w1"), done("w2"), done("w3")], NOW)
    assert after.create_jobs == (start.job(),)


RUNNING = (
    start_run(META, {"pipelineSpec": CHAIN}, None, NOW)
    .status.tasks[0]
    .model_copy(
        update={
            "phase": TaskPhase.RUNNING,
            "attempts": 1,
            "job_name": "r-a-1",
            "start_time": "2026-12-07T08:00Z",
        }
    )
)
AWAITED = Awaited("r-a-1", RUNNING, NO_RETRIES)


@pytest.mark.parametrize(
    ("seen", "outcome"),
    [
        (job("a"), None),
        (done("a"), True),
        (done("a", pod_pending=True), True),  # no results to wait for: the Job's word is enough
        (done("a", completion_time=None), True),
        (job("a", JobState.FAILED, exit_code=1, completion_time=NOW), False),
        (job("a", JobState.ACTIVE, reason="ImagePullBackOff", message="no such image"), None),
        (replace(done("a"), name="r-a-2", attempt=2), False),  # not the Job awaited
        (None, False),  # gone
    ],
)
def test_what_a_parents_job_means(seen: ObservedJob | None, outcome: bool | None) -> None:
    assert awaited_outcome(AWAITED, seen, NOW + timedelta(seconds=5)) is outcome


def test_a_parent_past_its_timeout_is_no_success() -> None:
    raw = spec(t("a", timeoutSeconds=5), t("b", "a"))
    attempts = attempts_table(PipelineSpec.model_validate(raw), "uid")[0]
    awaited = Awaited("r-a-1", RUNNING, attempts)
    assert awaited_outcome(awaited, job("a", pod_started=NOW), NOW + timedelta(seconds=60)) is False
    assert awaited_outcome(awaited, done("a"), NOW + timedelta(seconds=60)) is True


def test_a_child_that_mounts_a_shared_workspace_is_prepared_with_its_claims() -> None:
    shared = {"spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}
    raw = spec(
        t("a", workspaces=[{"name": "shared"}]), t("b", "a", workspaces=[{"name": "shared"}, {"name": "ref"}])
    )
    raw["workspaces"] = [
        {"name": "shared", "volumeClaimTemplate": shared},
        {"name": "ref", "persistentVolumeClaim": {"claimName": "reference"}},
    ]
    p = planned(raw, [job("a")])
    (start,) = p.prepared.starts
    after = plan(RunState(META, stored(raw)), [done("a")], NOW + timedelta(seconds=3))
    assert after.create_jobs == (start.job(),)
    volumes = start.job().body["spec"]["template"]["spec"]["volumes"]
    assert {v["persistentVolumeClaim"]["claimName"] for v in volumes} == {"r-shared", "reference"}


def test_a_readwriteonce_workspace_prepares_nothing() -> None:
    once = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    raw = spec(t("a", workspaces=[{"name": "data"}]), t("b", "a", workspaces=[{"name": "data"}]))
    raw["workspaces"] = [{"name": "data", "volumeClaimTemplate": once}]
    assert prepared(planned(raw, [job("a")])) == {}  # b must run where a's Pod put the claim


def test_a_run_waiting_for_quota_prepares_nothing() -> None:
    raw = spec(t("a"), t("x", "a"), t("y", "a"), t("b", "x"))
    status = stored(raw)
    jobs = [done("a")]
    refused = {"y": 'jobs "r-y-1" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1'}
    held = plan(RunState(META, status), jobs, NOW + timedelta(seconds=2), refused)
    assert held.prepared.starts == () and [c.task for c in held.create_jobs] == []
    free = plan(RunState(META, status), [*jobs, job("x")], NOW + timedelta(seconds=2))
    assert prepared(free) == {"b": ["r-x-1"]}
