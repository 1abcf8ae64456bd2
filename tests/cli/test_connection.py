"""The plugin connects like kubectl: --kubeconfig, --context, --namespace, the context's namespace; and it
works as `kubectl baton`, exit codes included."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from plugin_kit import Plugin

from baton.devcluster.cluster import DevCluster
from support import Kubectl

BIN = Path(sys.executable).parent


def test_the_namespace_defaults_to_the_contexts(
    baton: Plugin, devcluster: DevCluster, tmp_path: Path
) -> None:
    config = devcluster.write_kubeconfig(tmp_path / "config", baton.namespace)
    result = baton("graph", "daily-sales", "--kubeconfig", str(config), namespaced=False)
    assert result.code == 0, result
    # The default kubeconfig's context names "default", where there is no such Pipeline.
    elsewhere = baton("graph", "daily-sales", namespaced=False)
    assert elsewhere.code == 1 and 'in namespace "default"' in elsewhere.err


def test_context_and_kubeconfig_errors_are_clear(baton: Plugin, tmp_path: Path) -> None:
    unknown = baton("graph", "daily-sales", "--context", "prod")
    assert unknown.code == 1
    assert unknown.err == f'error: context "prod" not found in {baton.kubeconfig} (contexts: baton-dev)\n'
    assert baton("graph", "daily-sales", "--context", "baton-dev").code == 0
    missing = baton("graph", "daily-sales", "--kubeconfig", str(tmp_path / "nope"))
    assert missing.code == 1 and missing.err.startswith(f"error: cannot load kubeconfig {tmp_path / 'nope'}")


def test_it_is_a_kubectl_plugin(baton: Plugin, tmp_path: Path) -> None:
    kubectl = Kubectl(baton.kubeconfig, tmp_path)
    kubectl.env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # where kubectl-baton is
    graph = kubectl("baton", "graph", "daily-sales", "-n", baton.namespace)
    assert graph.stdout.startswith("pipeline/daily-sales  6 tasks"), graph.stdout
    failed = kubectl("baton", "run", "failing", "--watch", "-n", baton.namespace, check=False, timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr  # the run's result, through kubectl
    assert "✗ Failed" in failed.stdout.splitlines()[-1]
    usage = kubectl("baton", "logs", check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr
