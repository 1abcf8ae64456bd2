"""Wide runs end to end: a wide forEach's status stays compact and its succeeded instances' Jobs go,
and an operator stopped in the middle of a 10,000-wide fan-out leaves nothing duplicated behind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from operator_kit import Api, RunningOperator, phase_of, tasks_of
from test_failure_scenarios import StartOperator, finished, pipeline, sh

from baton.api.codec import load_run_status
from baton.cli.dev import install_crds
from baton.devcluster.audit import RequestRecord, TransitionRecord
from baton.devcluster.cluster import DevCluster
from baton.kube.labels import INSTANCE
from support import wait_for


def test_a_wide_foreach_keeps_a_compact_status_and_only_its_failed_instances_jobs(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    fan = sh("fan", 'test "$(item)" != 7')  # instance 7 fails, the other 119 succeed
    fan["forEach"] = {"items": list(range(120))}
    api.apply(pipeline("wide", [fan]))
    name = api.start_run("wide")
    run = finished(api, name, timeout=120)
    assert phase_of(run) == "Failed"
    (task,) = tasks_of(run).values()
    assert task["succeededInstances"] == "0-6,8-119"
    assert [i["name"] for i in task["instances"]] == ["fan[7]"]
    loaded = load_run_status(run["status"])
    assert [i.phase.value for i in loaded.tasks[0].instances].count("Succeeded") == 119
    left = wait_for(
        lambda: (lambda jobs: jobs if len(jobs) == 1 else None)(api.jobs()),
        timeout=30,
        message="the succeeded instances' Jobs to be deleted",
    )
    assert left[0]["metadata"]["labels"][INSTANCE] == "7"  # the failure keeps its Job, for its logs


@pytest.fixture(scope="module")
def instant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevCluster, Path]]:
    cluster = DevCluster(instant=True, workdir=tmp_path_factory.mktemp("instant"))
    with cluster.running():
        cluster.sync(install_crds, cluster)
        kubeconfig = cluster.write_kubeconfig(tmp_path_factory.mktemp("instant-kube") / "config")
        yield cluster, kubeconfig


def in_namespace(
    instant: tuple[DevCluster, Path], monkeypatch: pytest.MonkeyPatch, namespace: str
) -> tuple[DevCluster, Api]:
    """The instant dev cluster with a new namespace, the operator's KUBECONFIG pointing at it."""
    cluster, kubeconfig = instant
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    namespaces = cluster.registry.storage("", "namespaces")
    cluster.sync(cluster.store.create, namespaces, "", {"metadata": {"name": namespace}})
    return cluster, Api(cluster, namespace)


def test_an_operator_stopped_in_the_middle_of_a_10000_wide_fan_out_leaves_no_duplicate(
    instant: tuple[DevCluster, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, api = in_namespace(instant, monkeypatch, "wide")
    namespace = api.namespace
    width = 10_000
    fan = sh("fan", "true", "split")
    fan["forEach"] = {"from": "$(params.items)", "maxItems": width}
    api.apply(pipeline("huge", [sh("split"), fan, sh("join", "true", "fan")], params=[{"name": "items"}]))

    first = RunningOperator(namespace).start()
    name = api.start_run("huge", {"items": json.dumps(list(range(width)))})

    def created() -> int:
        return sum(
            1
            for r in cluster.sync(cluster.audit.transitions, "Job")
            if r.transition == "Created" and r.namespace == namespace
        )

    wait_for(lambda: created() >= 3000, timeout=120, message="a third of the fan-out's Jobs")
    first.stop()  # in the middle of creating them (and of collecting those that succeeded)
    at_stop = created()
    assert at_stop < width + 2, "the fan-out was over before the stop: nothing was tested"
    second = RunningOperator(namespace).start()
    try:
        run = finished(api, name, timeout=600)
        wait_for(lambda: len(api.jobs()) == 2, timeout=120, message="the instances' Jobs to go")
    finally:
        second.stop()
    assert phase_of(run) == "Succeeded", run["status"].get("conditions")
    records = cluster.sync(cluster.audit.records)
    creates = Counter(
        r.name
        for r in records
        if isinstance(r, TransitionRecord)
        and r.kind == "Job"
        and r.namespace == namespace
        and r.transition == "Created"
    )
    assert len(creates) == width + 2 and max(creates.values()) == 1  # every Job once, none twice
    status = load_run_status(run["status"])
    assert all(i.attempts == 1 for i in status.tasks[1].instances)  # no instance ran a second time
    assert tasks_of(run)["fan"]["succeededInstances"] == "0-9999"
    assert len(json.dumps(run["status"])) < 100_000  # most of it the params: the 10,000 items themselves
    errors = [
        r for r in records if isinstance(r, RequestRecord) and r.namespace == namespace and r.code >= 500
    ]
    assert not errors
    assert sorted(j["metadata"]["name"] for j in api.jobs()) == [f"{name}-join-1", f"{name}-split-1"]


def test_a_wide_burst_cut_before_its_last_eighth_creates_every_job_once(
    instant: tuple[DevCluster, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1 → 300 → 1: the 300 creates are cut (core.bursts) into two reconciles with a plan between them;
    the second creates only what the first did not, and the join follows its last worker."""
    cluster, api = in_namespace(instant, monkeypatch, "burst")
    namespace = api.namespace
    width = 300
    workers = [sh(f"w{i:03}", "true", "split") for i in range(width)]
    api.apply(pipeline("burst", [sh("split"), *workers, sh("join", "true", *(w["name"] for w in workers))]))
    operator = RunningOperator(namespace).start()
    try:
        name = api.start_run("burst")
        run = finished(api, name, timeout=120)
    finally:
        operator.stop()
    assert phase_of(run) == "Succeeded", run["status"].get("conditions")
    records = cluster.sync(cluster.audit.records)
    creates = [
        r
        for r in records
        if isinstance(r, RequestRecord)
        and r.namespace == namespace
        and r.verb == "create"
        and r.resource == "jobs.batch"
    ]
    assert len(creates) == width + 2 and all(r.code == 201 for r in creates)  # none asked for twice
    times = {
        r.name: r.ts_ms
        for r in records
        if isinstance(r, TransitionRecord) and r.namespace == namespace and r.transition == "Created"
    }
    assert times[f"{name}-join-1"] >= max(t for n, t in times.items() if "-w" in n)
