"""Deleting a Pipeline (what Argo CD's or Flux's prune does when it leaves git, and half of a rename) is
the safe choice: the runs created on its behalf are not owned by it, so garbage collection takes none of
them; a run in flight finishes from the spec it froze, and its history stays, found by its label."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from operator_kit import Api, RunningOperator, phase_of, tasks_of, when
from test_failure_scenarios import pipeline, sh

from baton import GROUP
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
