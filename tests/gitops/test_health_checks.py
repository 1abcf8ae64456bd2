"""Baton's Argo CD health checks (helm/argocd/resource_customizations/baton.dev), run with Lua 5.1 as Argo
CD runs them: on the checked-in cases of each health_test.yaml, and on objects the operator really wrote;
and kstatus (Flux) and `kubectl wait --for=condition=Ready` on the same runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from lua_kit import CHECKS, health

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from support import Kubectl, RunningOperator, wait_for

FINISHED = ("Succeeded", "Failed", "Cancelled", "Suspended")


@pytest.mark.parametrize("kind", ["Pipeline", "PipelineRun"])
def test_the_checked_in_cases_of_each_health_check(kind: str) -> None:
    cases = yaml.safe_load((CHECKS / kind / "health_test.yaml").read_text())["tests"]
    assert cases
    for case in cases:
        obj = yaml.safe_load((CHECKS / kind / case["inputPath"]).read_text())
        assert health(kind, obj) == case["healthStatus"], case["inputPath"]


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus' generic rules, as Flux applies them to a custom resource."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return "InProgress"
    conditions = {c["type"]: c.get("status") for c in status.get("conditions") or ()}
    return (
        "InProgress"
        if conditions.get("Reconciling") == "True"
        else ("Failed" if conditions.get("Stalled") == "True" else "Current")
    )


def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}


def sh(name: str, script: str = "true") -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script]}


EXPECTED = {  # run → (Argo CD health, kstatus)
    "ok-1": ("Healthy", "Current"),
    "bad-1": ("Degraded", "Failed"),
    "slow-cancelled": ("Degraded", "Failed"),
    "slow-running": ("Progressing", "InProgress"),
    "slow-suspended": ("Suspended", "Current"),
    "late-1": ("Progressing", "InProgress"),  # its Pipeline does not exist (yet)
}


def test_what_argo_cd_flux_and_kubectl_wait_make_of_real_runs(
    devcluster: DevCluster,
    namespace: str,
    operator_in: Callable[[str], RunningOperator],
    kubectl: Kubectl,
) -> None:
    operator_in(namespace)

    def create(obj: dict[str, Any]) -> None:
        rt = devcluster.registry.by_kind(obj["apiVersion"], obj["kind"])
        devcluster.sync(devcluster.store.create, rt, namespace, obj)

    def read(plural: str, name: str) -> dict[str, Any]:
        return dict(devcluster.sync(devcluster.store.find, (GROUP, plural), namespace, name) or {})

    def patch(name: str, spec: dict[str, Any]) -> None:
        kubectl(
            "patch", "pipelinerun", name, "-n", namespace, "--type", "merge", "-p", json.dumps({"spec": spec})
        )

    base = {"taskDefaults": {"image": "busybox"}}
    create(doc("Pipeline", "ok", {**base, "tasks": [sh("a")]}))
    create(doc("Pipeline", "bad", {**base, "tasks": [sh("a", "exit 3")], "finally": [sh("notify")]}))
    create(
        doc(
            "Pipeline",
            "slow",
            {**base, "tasks": [sh("wait", "sleep 30"), {**sh("after"), "dependsOn": ["wait"]}]},
        )
    )
    create(doc("Pipeline", "loop", {**base, "tasks": [{**sh("a"), "dependsOn": ["a"]}]}))
    for name, pipeline in (
        ("ok-1", "ok"), ("bad-1", "bad"), ("slow-cancelled", "slow"), ("slow-running", "slow"),
        ("slow-suspended", "slow"), ("late-1", "late"),
    ):  # fmt: skip
        create(doc("PipelineRun", name, {"pipelineRef": {"name": pipeline}}))
    kubectl("wait", "--for=condition=Ready", "pipelinerun/ok-1", "-n", namespace, "--timeout=60s")
    for name in ("slow-cancelled", "slow-running", "slow-suspended"):
        wait_for(lambda name=name: read("pipelineruns", name).get("status", {}).get("phase") == "Running")
    patch("slow-cancelled", {"cancel": {"message": "not tonight"}})
    patch("slow-suspended", {"suspend": True})
    kubectl(
        "wait",
        "--for=condition=Stalled",
        "pipelinerun/bad-1",
        "pipelinerun/slow-cancelled",
        "-n",
        namespace,
        "--timeout=60s",
    )
    wait_for(lambda: read("pipelineruns", "slow-suspended").get("status", {}).get("phase") == "Suspended")
    wait_for(lambda: read("pipelineruns", "late-1").get("status", {}).get("phase") == "Pending")
    wait_for(lambda: read("pipelines", "loop").get("status", {}).get("conditions"))

    live = {name: read("pipelineruns", name) for name in EXPECTED}
    for name, (argo, flux) in EXPECTED.items():
        run = live[name]
        succeeded = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
        assert health("PipelineRun", run) == {"status": argo, "message": succeeded["message"]}, name
        assert kstatus(run) == flux, (name, run["status"]["conditions"])
    assert health("Pipeline", read("pipelines", "ok"))["status"] == "Healthy"
    loop = read("pipelines", "loop")
    ready = next(c for c in loop["status"]["conditions"] if c["type"] == "Ready")
    assert health("Pipeline", loop) == {"status": "Degraded", "message": ready["message"]}
    assert kstatus(read("pipelines", "loop")) == "Failed" and kstatus(read("pipelines", "ok")) == "Current"

    if os.environ.get("BATON_WRITE_HEALTH_TESTDATA"):  # refresh the checked-in cases from these objects
        _write_testdata({**live, "ok": read("pipelines", "ok"), "loop": read("pipelines", "loop")})


def _write_testdata(objects: dict[str, dict[str, Any]]) -> None:
    keep = ("apiVersion", "kind", "metadata", "spec", "status")
    for name, obj in objects.items():
        kind = obj["kind"]
        meta = {k: obj["metadata"][k] for k in ("name", "generation") if k in obj["metadata"]}
        trimmed = {k: (meta if k == "metadata" else obj[k]) for k in keep if k in obj}
        path = CHECKS / kind / "testdata" / f"{name}.yaml"
        Path(path).write_text(yaml.safe_dump(trimmed, sort_keys=False))
