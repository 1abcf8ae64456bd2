"""Task caching: what is in the key and what is not, hits within the TTL, and what cannot be cached."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import Sim, spec, task

from baton.api.datasets import ResolvedDataset
from baton.api.pipeline import TaskSpec
from baton.api.run import TaskPhase, TaskStatus
from baton.core.cache import CACHED, CacheEntry, CacheView, cache_entries, cache_key
from baton.core.validation import check_pipeline_spec


def job(**container: Any) -> dict[str, Any]:
    base = {"image": "python:3.12", "command": ["load"], "args": ["2026-12-06"], "env": []}
    return {"spec": {"template": {"spec": {"containers": [{**base, **container}]}}}}


def key_of(
    task: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    inputs: list[ResolvedDataset] | None = None,
    updated: str | None = "2026-12-06T01:00:00Z",
) -> str:
    spec_task = TaskSpec.model_validate(task or {"name": "load", "cache": {}})
    status = TaskStatus(name="load", phase=TaskPhase.PENDING, inputs=inputs or [])
    return cache_key(spec_task, body or job(), status, lambda uri, partition: updated)


BASE = key_of()
SALES = ResolvedDataset(uri="s3://lake/sales", partition="2026-12-06")


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (key_of(), True),
        # what determines the output changes the key
        (key_of(body=job(image="python:3.13")), False),
        (key_of(body=job(args=["2026-12-07"])), False),  # a param or result value, substituted
        (key_of(body=job(env=[{"name": "MODE", "value": "full"}])), False),
        (key_of(task={"name": "load", "cache": {"version": "2"}}), False),
        (key_of(task={"name": "other", "cache": {}}), False),
        (key_of(inputs=[SALES]), False),
        (key_of(inputs=[SALES], updated="2026-12-06T02:00:00Z"), False),  # new data upstream
        # what does not: the run, the attempt, the TTL, resources
        (
            key_of(
                body=job(env=[{"name": "BATON_RUN", "value": "r2"}, {"name": "BATON_ATTEMPT", "value": "3"}])
            ),
            True,
        ),
        (key_of(task={"name": "load", "cache": {"ttlSeconds": 60}}), True),
        (key_of(task={"name": "load", "cache": {}, "resources": {"limits": {"memory": "1Gi"}}}), True),
    ],
)
def test_what_is_in_the_key(other: str, same: bool) -> None:
    assert (other == BASE) is same


def test_the_same_input_at_the_same_update_gives_the_same_key() -> None:
    assert key_of(inputs=[SALES]) == key_of(inputs=[SALES])


def pipeline(**cache: Any) -> dict[str, Any]:
    return spec(
        task("extract", results=[{"name": "rows"}], cache={"ttlSeconds": 3600, **cache}, command=["extract"]),
        task("load", args=["$(tasks.extract.results.rows)"]),
    )


def view(entries: dict[str, CacheEntry]) -> CacheView:
    return CacheView(entries, lambda uri, partition: None)


def first_key() -> str:
    sim = Sim.start(pipeline())
    sim.status = sim.status.model_copy(update={"pipeline": "etl"})
    sim.step(cache=view({}))
    key = sim.task("extract").cache_key
    assert key is not None
    return key


def test_a_hit_within_the_ttl_succeeds_without_a_job_and_passes_its_results_on() -> None:
    key = first_key()
    entry = CacheEntry("etl-old", "extract", "2025-01-31T09:30:00Z", {"rows": "42"})
    sim = Sim.start(pipeline())
    sim.status = sim.status.model_copy(update={"pipeline": "etl"})
    p = sim.step(cache=view({key: entry}))
    assert [c.task for c in p.create_jobs] == ["load"]  # extract needs no Job; load starts in the same plan
    extract = sim.task("extract")
    assert (extract.phase, extract.reason, extract.cached_from, extract.results) == (
        TaskPhase.SUCCEEDED,
        CACHED,
        "etl-old",
        {"rows": "42"},
    )
    assert sim.bodies[("load", 1)]["spec"]["template"]["spec"]["containers"][0]["args"] == ["42"]


@pytest.mark.parametrize(
    ("completed", "control", "pipeline_name"),
    [
        ("2025-01-31T08:59:59Z", {}, "etl"),  # older than the TTL
        ("2025-01-31T09:30:00Z", {"no_cache": True}, "etl"),  # the run said --no-cache
        ("2025-01-31T09:30:00Z", {}, None),  # an inline spec belongs to no Pipeline: no cache
    ],
)
def test_no_hit(completed: str, control: dict[str, Any], pipeline_name: str | None) -> None:
    key = first_key()
    sim = Sim.start(pipeline())
    sim.status = sim.status.model_copy(update={"pipeline": pipeline_name})
    p = sim.step(cache=view({key: CacheEntry("etl-old", "extract", completed, {"rows": "1"})}), **control)
    assert [c.task for c in p.create_jobs] == ["extract"]
    assert sim.task("extract").phase is TaskPhase.RUNNING
    # a run of a Pipeline records the key even when it may not use the cache: its result refreshes it
    assert sim.task("extract").cache_key == (key if pipeline_name else None)


def test_a_finished_run_offers_the_tasks_that_ran_and_succeeded_with_a_key() -> None:
    tasks = [
        {"name": "a", "phase": "Succeeded", "cacheKey": "k1", "completionTime": "t1", "results": {"r": "1"}},
        {"name": "b", "phase": "Failed", "cacheKey": "k2", "completionTime": "t2"},
        {"name": "c", "phase": "Succeeded", "cacheKey": "k3", "completionTime": "t3", "reason": "Cached"},
        {"name": "d", "phase": "Succeeded", "completionTime": "t4"},
        "not a task",
    ]
    assert cache_entries("r1", tasks) == {"k1": CacheEntry("r1", "a", "t1", {"r": "1"})}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"pipelineRef": {"name": "x"}}, "cache is for container tasks"),
        ({"sensor": {}}, "a sensor cannot be cached"),
        ({"forEach": {"items": [1]}}, "a forEach task cannot be cached"),
        ({"workspaces": [{"name": "scratch"}]}, 'writes into the per-run workspace "scratch"'),
    ],
)
def test_what_cannot_be_cached(extra: dict[str, Any], expected: str) -> None:
    claim = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    _, errors = check_pipeline_spec(
        spec(task("a", cache={}, **extra), workspaces=[{"name": "scratch", "volumeClaimTemplate": claim}])
    )
    assert any(expected in e for e in errors), errors


def test_a_read_only_per_run_workspace_may_be_cached() -> None:
    claim = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    _, errors = check_pipeline_spec(
        spec(
            task("a", cache={}, workspaces=[{"name": "scratch", "readOnly": True}]),
            workspaces=[{"name": "scratch", "volumeClaimTemplate": claim}],
        )
    )
    assert errors == []


def test_a_chain_through_a_dataset_is_served_whole_from_the_cache_the_second_time() -> None:
    lake = spec(
        task("extract", cache={}, outputs=[{"dataset": "s3://lake/sales", "partition": "d"}]),
        task("load", cache={}, inputs=[{"dataset": "s3://lake/sales", "partition": "d"}]),
    )
    first = Sim.start(lake)
    first.status = first.status.model_copy(update={"pipeline": "etl"})
    first.step(cache=view({}))
    first.finish("extract").step(cache=view({}))  # load is keyed with extract's write of this run
    first.finish("load").step(cache=view({}))
    extract, load = first.task("extract"), first.task("load")
    assert extract.cache_key and load.cache_key and extract.completion_time
    entries = {
        t.cache_key: CacheEntry("run-1", t.name, t.completion_time or "", {})
        for t in (extract, load)
        if t.cache_key
    }
    written = extract.completion_time  # what the Dataset object recorded for the partition
    second = Sim.start(lake)
    second.status = second.status.model_copy(update={"pipeline": "etl"})
    cached = CacheView(
        entries, lambda uri, partition: written if (uri, partition) == ("s3://lake/sales", "d") else None
    )
    assert second.step(cache=cached).create_jobs == ()  # the whole chain in one plan, without a Job
    assert {t.name: t.reason for t in second.status.tasks} == {"extract": CACHED, "load": CACHED}
    assert second.status.phase is not None and second.status.phase.value == "Succeeded"


def test_a_check_that_warned_is_not_offered_to_the_cache() -> None:
    tasks = [
        {
            "name": "rows",
            "phase": "Succeeded",
            "reason": "QualityWarning",
            "cacheKey": "k",
            "completionTime": "t",
        }
    ]
    assert cache_entries("r1", tasks) == {}


def test_a_cache_hit_needs_no_room_under_the_parallelism() -> None:
    sim = Sim.start(spec(task("busy"), task("extract", cache={}), parallelism=1))
    sim.status = sim.status.model_copy(update={"pipeline": "etl"})
    sim.step(cache=view({}))
    key = sim.task("extract").cache_key
    assert key is None and sim.phases() == {"busy": "Running", "extract": "Pending"}  # no room, no key yet
    probe = Sim.start(spec(task("extract", cache={})))
    probe.status = probe.status.model_copy(update={"pipeline": "etl"})
    probe.step(cache=view({}))
    entry = CacheEntry("etl-old", "extract", "2025-01-31T09:30:00Z", {})
    sim.step(cache=view({probe.task("extract").cache_key or "": entry}))
    assert sim.phases() == {"busy": "Running", "extract": "Succeeded"}  # served while busy holds the one slot
