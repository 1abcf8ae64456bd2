"""Planning stays linear for big runs: a 10,000-task layered DAG and a 1 -> 1,000 -> 1 fan-out.

The benchmark's target is 50 ms per reconcile; the bounds here are loose (shared CI machines are noisy,
and the garbage collector may pause any one call), they catch quadratic behaviour, not milliseconds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

import pytest

from baton.api.codec import dump_run_status, encoded_size
from baton.api.pipeline import PipelineSpec
from baton.api.run import RunPhase
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState

META = RunMeta(namespace="bench", name="bench-x7k2p", uid="uid", generation=1)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def layered(layers: int, width: int) -> dict[str, Any]:
    tasks = [
        {
            "name": f"t{layer:03d}-{w:03d}",
            "command": ["true"],
            "dependsOn": [f"t{layer - 1:03d}-{(w + k) % width:03d}" for k in (0, 1)] if layer else [],
        }
        for layer in range(layers)
        for w in range(width)
    ]
    return {"taskDefaults": {"image": "busybox:1.36"}, "tasks": tasks}


def fan(n: int) -> dict[str, Any]:
    shards = [f"shard-{i:04d}" for i in range(n)]
    tasks = [{"name": "split"}, *({"name": s, "dependsOn": ["split"]} for s in shards)]
    return {
        "taskDefaults": {"image": "busybox:1.36"},
        "tasks": [*tasks, {"name": "merge", "dependsOn": shards}],
    }


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run(raw: dict[str, Any]) -> tuple[list[float], Any]:
    spec = PipelineSpec.model_validate(raw)
    status = start_run(META, {"pipelineRef": {"name": "bench"}}, spec, T0).status
    jobs: dict[str, ObservedJob] = {}
    timings, now = [], T0
    while status.phase is not None and not status.phase.finished:
        started = time.perf_counter()
        p = plan(RunState(META, status), list(jobs.values()), now)
        timings.append(time.perf_counter() - started)
        status = p.status or status
        for job in jobs.values():  # everything that ran completes at once
            if job.state is JobState.ACTIVE:
                jobs[job.name] = ObservedJob(
                    job.task, 1, job.name, JobState.SUCCEEDED, start_time=now, completion_time=now
                )
        for create in p.create_jobs:
            jobs[create.name] = ObservedJob(create.task, 1, create.name, JobState.ACTIVE, start_time=now)
        now += timedelta(seconds=1)
    return timings, status


@pytest.mark.slow
def test_a_ten_thousand_task_run(no_gc: None) -> None:
    timings, status = run(layered(100, 100))
    assert status.phase is RunPhase.SUCCEEDED and status.progress == "10000/10000"
    assert median(timings) < 0.15, f"median plan {median(timings) * 1000:.1f} ms"
    assert encoded_size(dump_run_status(status)) < 1024 * 1024


@pytest.mark.slow
def test_a_thousand_wide_fan_out(no_gc: None) -> None:
    timings, status = run(fan(1000))
    assert status.phase is RunPhase.SUCCEEDED and len(timings) <= 8
    assert max(timings) < 0.5, [f"{t * 1000:.1f} ms" for t in timings]  # includes rendering 1,000 Jobs
