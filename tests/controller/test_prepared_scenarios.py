"""Prepared starts on the dev cluster with real processes: a chain's next step and a join are created the
moment their last parent's Job succeeds, once each, and the run still records everything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from operator_kit import Api, phase_of, tasks_of, when
from prometheus_client import REGISTRY

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from baton.kube.labels import TASK
from support import wait_for


def fired() -> float:
    return REGISTRY.get_sample_value("baton_prepared_starts_total") or 0.0


def task(name: str, *after: str) -> dict[str, Any]:
    return {"name": name, "command": ["python3", "-c", "pass"], "dependsOn": list(after)}


def test_a_chain_and_a_join_start_ahead_of_their_plans_without_a_second_create(
    api: Api, start_operator: Callable[[str], Any], devcluster: DevCluster
) -> None:
    tasks = [
        task("split"),
        *(task(f"part-{i}", "split") for i in range(3)),
        task("join", *(f"part-{i}" for i in range(3))),
        task("report", "join"),
    ]
    api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Pipeline",
            "metadata": {"name": "ahead"},
            "spec": {"taskDefaults": {"image": "python:3.12-slim"}, "tasks": tasks},
        }
    )
    before = fired()
    start_operator(api.namespace)
    name = api.start_run("ahead")
    run = wait_for(
        lambda: when(api.run(name), lambda r: phase_of(r) in ("Succeeded", "Failed")),
        timeout=90,
        message=f"run {name} to finish",
    )
    assert phase_of(run) == "Succeeded", run["status"]
    assert {t["phase"] for t in tasks_of(run).values()} == {"Succeeded"}
    assert run["status"]["progress"] == "6/6"
    # Each of the parts, the join and the report waited for one Job to succeed: at least some of them
    # were created ahead (a plan that came first, on a slow machine, creates the others as before).
    assert fired() - before >= 1
    per_task = Counter(j["metadata"]["labels"][TASK] for j in api.jobs())
    assert per_task == {t["name"]: 1 for t in tasks}, per_task
    creates = [
        r
        for r in devcluster.audit.requests("baton-operator")
        if r.verb == "create" and r.resource == "jobs.batch" and r.namespace == api.namespace
    ]
    assert [r.code for r in creates] == [201] * len(tasks), "no create was made twice (409)"
