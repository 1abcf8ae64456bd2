"""Nothing the operator writes fights a GitOps sync: after the examples' Pipelines were applied server-side
(as Argo CD with ServerSideApply and Flux apply them) and runs of them ran, a server-side-apply dry-run of
the same files finds nothing to change: the operator wrote only status, never a spec, label or
annotation git owns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from support import Kubectl, RunningOperator, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PIPELINES = ["daily-sales.yaml", "resilient.yaml", "failing.yaml", "fan-out.yaml", "sales-quality.yaml"]
MANAGER = ("--server-side", "--field-manager", "argocd-controller")


def test_a_server_side_apply_dry_run_after_the_runs_finds_nothing_to_change(
    devcluster: DevCluster, namespace: str, operator_in: Callable[[str], RunningOperator], kubectl: Kubectl
) -> None:
    operator_in(namespace)
    files = [str(EXAMPLES / name) for name in PIPELINES]
    for file in files:
        kubectl("apply", *MANAGER, "-n", namespace, "-f", file)
    runs_type = devcluster.registry.storage(GROUP, "pipelineruns")
    ran = []
    for name in ("daily-sales", "failing", "resilient"):  # as `kubectl baton run` starts them
        run: dict[str, Any] = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PipelineRun"}
        run |= {"metadata": {"generateName": f"{name}-"}, "spec": {"pipelineRef": {"name": name}}}
        ran.append(devcluster.sync(devcluster.store.create, runs_type, namespace, run)["metadata"]["name"])

    def phase(run: str) -> str | None:
        found = devcluster.sync(devcluster.store.find, (GROUP, "pipelineruns"), namespace, run)
        return ((found or {}).get("status") or {}).get("phase")

    for name in ran:
        wait_for(
            lambda name=name: phase(name) in ("Succeeded", "Failed"), timeout=120, message=f"{name} to end"
        )
    for file in files:
        diff = kubectl("diff", *MANAGER, "-n", namespace, "-f", file, check=False)
        assert diff.returncode == 0, (file, diff.stdout[-2000:], diff.stderr[-500:])
    docs = [
        d for f in files for d in yaml.safe_load_all(Path(f).read_text()) if d and d["kind"] == "Pipeline"
    ]
    for doc in docs:
        live = devcluster.sync(
            devcluster.store.find, (GROUP, "pipelines"), namespace, doc["metadata"]["name"]
        )
        assert live is not None and live["status"]["conditions"]  # the operator did write: its status
        assert (live["metadata"].get("labels") or {}) == (doc["metadata"].get("labels") or {})
        extra = set(live["metadata"].get("annotations") or {}) - set(doc["metadata"].get("annotations") or {})
        assert not extra, extra
