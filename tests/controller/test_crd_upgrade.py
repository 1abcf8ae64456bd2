"""Safe upgrades: an operator meeting CRDs other than its build's acts on nothing, says so once (log,
Event, metric) and goes on without a restart once `baton crds apply` upgraded them; and a run in flight
while the operator is replaced by a newer build, with a CRD change between them, finishes with no Job
created twice. Each test has a dev cluster of its own: CRDs are cluster-wide."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, phase_of, tasks_of, when
from test_failure_scenarios import pipeline, sh

from baton.api import crdgen
from baton.cli.main import main as baton
from baton.controller import crdcheck, metrics
from baton.devcluster.audit import RequestRecord
from baton.devcluster.cluster import DevCluster
from support import RunningOperator, own_cluster, wait_for

NAMESPACE = "upgrades"
RUNS_CRD = f"pipelineruns.{crdgen.GROUP}"
OLD = "sha256:0ld0ld0ld0ld0ld0"


def older_runs_crd() -> dict[str, Any]:
    """The PipelineRun CRD as an older Baton made it: without `status.progress`, annotated as 0.0.9."""
    crd = crdgen.pipelinerun_crd()
    crd["metadata"]["annotations"] = {crdgen.SCHEMA_ANNOTATION: OLD, crdgen.VERSION_ANNOTATION: "0.0.9"}
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    del schema["properties"]["status"]["properties"]["progress"]
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
        c for c in crd["spec"]["versions"][0]["additionalPrinterColumns"] if c["name"] != "Progress"
    ]
    return crd


def install(cluster: DevCluster, crd: dict[str, Any]) -> None:
    rt = cluster.registry.storage("apiextensions.k8s.io", "customresourcedefinitions")
    assert rt is not None

    def replace() -> None:
        current = cluster.store.get(rt, "", crd["metadata"]["name"])
        body = copy.deepcopy(crd)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        cluster.store.update(rt, "", crd["metadata"]["name"], body)

    cluster.sync(replace)


def succeeded(api: Api, name: str) -> dict[str, Any]:
    return dict(
        wait_for(lambda: when(api.run(name), lambda r: phase_of(r) == "Succeeded"), timeout=30, message=name)
    )


def crd_events(api: Api) -> list[dict[str, Any]]:
    return [e for e in api.events() if e.get("reason") == "CRDsOutOfDate"]


def job_creations(cluster: DevCluster) -> Counter[str]:
    return Counter(
        r.name
        for r in cluster.sync(cluster.audit.records)
        if isinstance(r, RequestRecord)
        and r.verb == "create"
        and r.resource == "jobs.batch"
        and r.code == 201
    )


@pytest.fixture
def upgrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(crdcheck, "RETRY", 0.2)
    monkeypatch.setattr(crdcheck, "RECHECK", 0.2)
    with own_cluster(tmp_path, NAMESPACE) as (cluster, kubeconfig):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        install(cluster, older_runs_crd())
        yield Api(cluster, NAMESPACE), kubeconfig


def test_an_operator_acts_on_nothing_until_the_crds_are_its_own_and_says_so_once(upgrades: Any) -> None:
    api, kubeconfig = upgrades
    api.apply(pipeline("two", [sh("a"), sh("b", "true", "a")]))
    name = api.start_run("two")
    running = RunningOperator(NAMESPACE).start()
    try:
        (event,) = wait_for(lambda: crd_events(api), timeout=30, message="the CRDsOutOfDate Event")
        assert event["type"] == "Warning"
        assert event["involvedObject"]["kind"] == "CustomResourceDefinition"
        assert event["involvedObject"]["name"] == RUNS_CRD and "namespace" not in event["involvedObject"]
        assert f"{RUNS_CRD} is from Baton 0.0.9 (schema {OLD}" in event["message"]
        assert "baton crds apply" in event["message"]
        assert running.call(lambda: running.operator.queue.paused)
        assert metrics.CRDS_COMPATIBLE._value.get() == 0
        # The first look at the CRDs comes before any reconcile: nothing was acted on.
        assert not api.jobs() and not api.run(name).get("status")
        assert baton(["crds", "check", "--kubeconfig", str(kubeconfig)]) == 1

        assert baton(["crds", "apply", "--kubeconfig", str(kubeconfig)]) == 0
        run = succeeded(api, name)
        assert run["status"]["progress"] == "2/2"  # the upgraded schema keeps what the operator writes
        assert metrics.CRDS_COMPATIBLE._value.get() == 1
        assert len(crd_events(api)) == 1  # said once, not at every look

        # Older CRDs put back under the running operator (a sync of an older chart): it holds again.
        install(api.cluster, older_runs_crd())
        wait_for(lambda: running.call(lambda: running.operator.queue.paused), timeout=30)
        wait_for(lambda: len(crd_events(api)) == 2, timeout=30, message="a second CRDsOutOfDate Event")
    finally:
        running.stop()


def test_a_run_in_flight_finishes_across_an_operator_upgrade_with_a_crd_change(
    upgrades: Any, tmp_path: Path
) -> None:
    api, kubeconfig = upgrades
    gate = tmp_path / "go-on"
    wait = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    api.apply(pipeline("chain", [sh("a"), sh("b", wait, "a"), sh("c", "true", "b")]))
    name = api.start_run("chain")
    older_build = {**crdgen.built_fingerprints(), RUNS_CRD: OLD}
    old = RunningOperator(NAMESPACE, expected_crds=older_build).start()
    try:
        wait_for(
            lambda: tasks_of(api.run(name)).get("b", {}).get("phase") == "Running",
            timeout=30,
            message="task b to run under the older operator",
        )
        assert "progress" not in api.run(name)["status"]  # what the older schema prunes
    finally:
        old.stop()  # the Deployment's rollout: SIGTERM to the old Pod

    assert baton(["crds", "apply", "--kubeconfig", str(kubeconfig)]) == 0  # the chart's upgrade Job
    new = RunningOperator(NAMESPACE).start()
    try:
        gate.touch()
        run = succeeded(api, name)
    finally:
        new.stop()
    assert run["status"]["progress"] == "3/3"
    assert {task: status["attempts"] for task, status in tasks_of(run).items()} == {"a": 1, "b": 1, "c": 1}
    created = job_creations(api.cluster)
    assert len(created) == 3 and set(created.values()) == {1}, created
    assert not crd_events(api)  # each operator met the CRDs it was built with


class FlakyApi:
    """Answers the CRD reads with an error the client does not wrap, then with this build's CRDs."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.crds = {crd["metadata"]["name"]: crd for crd in crdgen.all_crds()}

    async def get(self, path: str, *, resource: str) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise OSError("connection reset")
        return self.crds[path.rsplit("/", 1)[1]]


async def test_the_check_outlives_errors_and_lets_the_operator_act_once_the_api_answers() -> None:
    released: list[str] = []
    acting = asyncio.Event()

    def release() -> None:
        released.append("crds")
        acting.set()

    gate = crdcheck.CrdGate(
        FlakyApi(failures=2),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        on_compatible=release,
        on_incompatible=lambda: released.append("held"),
        retry=0.01,
    )
    looking = asyncio.create_task(gate.run())
    try:
        await asyncio.wait_for(acting.wait(), 5)
    finally:
        looking.cancel()
    assert released == ["crds"] and gate.verdict is not None and gate.verdict.compatible
