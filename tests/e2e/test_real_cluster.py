"""Opt-in: the examples on a real cluster (kind, k3d) named by KUBECONFIG, with real images.

    KUBECONFIG=~/.kube/kind .venv/bin/python -m pytest -m e2e

The operator runs in this process (as `baton dev` does) against that cluster; the CRDs are applied
with kubectl; every run is created with `kubectl create` and followed with `kubectl wait`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from operator_kit import RunningOperator

from support import Kubectl

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster_kubectl(tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        pytest.fail("the e2e tests need KUBECONFIG to point at a real cluster (kind, k3d)")
    return Kubectl(Path(kubeconfig), tmp_path_factory.mktemp("e2e-home"))


@pytest.fixture(scope="module")
def e2e_namespace(cluster_kubectl: Kubectl) -> Iterator[str]:
    cluster_kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    for crd in ("pipelines.baton.dev", "pipelineruns.baton.dev"):
        cluster_kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    name = f"baton-e2e-{uuid.uuid4().hex[:6]}"
    cluster_kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    operator = RunningOperator(name).start()
    try:
        yield name
    finally:
        operator.stop()
        cluster_kubectl("delete", "namespace", name, "--wait=false")


def run_to_the_end(kubectl: Kubectl, namespace: str, pipeline_file: str, pipeline: str) -> dict[str, object]:
    kubectl("apply", "-n", namespace, "-f", str(ROOT / "examples" / pipeline_file))
    run = {
        "apiVersion": "baton.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"generateName": f"{pipeline}-"},
        "spec": {"pipelineRef": {"name": pipeline}},
    }
    name = kubectl("create", "-n", namespace, "-o", "name", "-f", "-", input=json.dumps(run)).stdout.strip()
    kubectl(
        "wait",
        "-n",
        namespace,
        name,
        "--for=jsonpath={.status.completionTime}",
        "--timeout=900s",
        timeout=960,
    )
    got: dict[str, object] = json.loads(kubectl("get", "-n", namespace, name, "-o", "json").stdout)
    return got


def test_daily_sales_succeeds_on_a_real_cluster(cluster_kubectl: Kubectl, e2e_namespace: str) -> None:
    run = run_to_the_end(cluster_kubectl, e2e_namespace, "daily-sales.yaml", "daily-sales")
    status = run["status"]
    assert isinstance(status, dict) and status["phase"] == "Succeeded", status
    # Data really flowed: the report (a result of the last task) read files the extracts wrote on the
    # run's claim, which the cluster's default StorageClass provisioned and which stayed on one node.
    results = {r["name"]: r["value"] for r in status["results"]}
    assert results["report"].startswith("Daily sales report for 2025-01-31"), results
    (workspace,) = status["workspaces"]
    assert workspace["node"], workspace
    jobs = json.loads(cluster_kubectl("get", "jobs", "-n", e2e_namespace, "-o", "json").stdout)["items"]
    for job in jobs:  # restricted Pod Security on a real API server's admission, not only in our tests
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_failing_example_fails_on_a_real_cluster(cluster_kubectl: Kubectl, e2e_namespace: str) -> None:
    run = run_to_the_end(cluster_kubectl, e2e_namespace, "failing.yaml", "failing")
    status = run["status"]
    assert isinstance(status, dict) and status["phase"] == "Failed", status
