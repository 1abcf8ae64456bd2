"""Deleting a Pipeline (what Argo CD's or Flux's prune does when it leaves git, and half of a rename) is
the safe choice: the runs created on its behalf are not owned by it, so garbage collection takes none of
them; a run in flight finishes from the spec it froze, and its history stays, found by its label."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from operator_kit import Api, RunningOperator, phase_of, tasks_of, when
from test_failure_scenarios import pipeline, sh

from baton import GROUP
from baton.controller import reconciler
from baton.kube.slotruns import run_body
from support import wait_for


def test_deleting_a_pipeline_keeps_its_runs_and_lets_the_running_one_finish(
    api: Api, start_operator: type[RunningOperator], tmp_path: Path
) -> None:
    gate = tmp_path / "go-on"
    api.apply(pipeline("nightly", [sh("a"), sh("b", f"while [ ! -e {gate} ]; do sleep 0.05; done", "a")]))
    created = api.pipeline("nightly")
    assert created is not None
    # Exactly what the schedule creates for a slot (a backfill and a trigger create the same kind of run).
    slot = api.apply(run_body(created, "nightly-slot", datetime(2026, 12, 6, 2, tzinfo=UTC), {}))
    assert not slot["metadata"].get("ownerReferences")
    name = slot["metadata"]["name"]
    start_operator(api.namespace)
    wait_for(lambda: tasks_of(api.run(name)).get("b", {}).get("phase") == "Running", timeout=30)

    pipelines = api.cluster.registry.storage(GROUP, "pipelines")
    api.cluster.sync(api.cluster.store.delete, pipelines, api.namespace, "nightly", propagation="Background")
    wait_for(lambda: api.pipeline("nightly") is None, message="the Pipeline to go")
    gate.touch()
    run = wait_for(lambda: when(api.run(name), lambda r: phase_of(r) == "Succeeded"), timeout=30)
    assert run["status"]["pipeline"] == "nightly"
    assert run["metadata"]["labels"]["baton.dev/pipeline"] == "nightly"
    assert {j["metadata"]["name"] for j in api.jobs() if j["metadata"]["labels"]["baton.dev/run"] == name}


def test_a_run_queued_behind_it_fails_pipeline_not_found_when_the_pipeline_goes(
    api: Api, start_operator: type[RunningOperator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "go-on"
    wait = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    api.apply(pipeline("one-at-a-time", [sh("a", wait)], maxActiveRuns=1))
    start_operator(api.namespace)
    runs = [api.start_run("one-at-a-time"), api.start_run("one-at-a-time")]

    def running() -> str | None:  # whichever the queue let go first
        return next((n for n in runs if tasks_of(api.run(n)).get("a", {}).get("phase") == "Running"), None)

    first = wait_for(running, timeout=30, message="one run to start")
    (second,) = [n for n in runs if n != first]
    wait_for(lambda: phase_of(api.run(second)) == "Pending", timeout=30, message="the other to queue")

    monkeypatch.setattr(reconciler, "PIPELINE_GRACE_SECONDS", 0.5)  # (GitOps' grace: not the point here)
    pipelines = api.cluster.registry.storage(GROUP, "pipelines")
    api.cluster.sync(api.cluster.store.delete, pipelines, api.namespace, "one-at-a-time")
    gate.touch()
    # Nothing else happens to the queued run: the Pipeline's deletion alone must end its wait.
    # (Without that, only its periodic requeue, 15 s or more later, or a touch of it would end it.)
    failed = wait_for(lambda: when(api.run(second), lambda r: phase_of(r) == "Failed"), timeout=10)
    (condition,) = [c for c in failed["status"]["conditions"] if c["type"] == "Succeeded"]
    assert condition["reason"] == "PipelineNotFound", condition
    assert (
        phase_of(wait_for(lambda: when(api.run(first), lambda r: phase_of(r) == "Succeeded"))) == "Succeeded"
    )
