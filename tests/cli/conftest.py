"""The kubectl plugin against the session's dev cluster, with the real operator in one namespace.

The operator helpers live with the operator tests (tests/controller/operator_kit.py); that folder is put
on the path here rather than moving shared fixtures.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "controller"))

from operator_kit import Api, RunningOperator, example
from plugin_kit import Plugin

from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster


@pytest.fixture(scope="module")
def plugin_namespace(devcluster: DevCluster, kubeconfig: Path) -> Iterator[tuple[str, Api]]:
    """One namespace for a test module, with the examples' Pipelines and a running operator."""
    devcluster.sync(install_crds, devcluster)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    ns_type = devcluster.registry.storage("", "namespaces")
    devcluster.sync(devcluster.store.create, ns_type, "", {"metadata": {"name": name}})
    api = Api(devcluster, name)
    for file in ("daily-sales.yaml", "failing.yaml"):
        for doc in example(file):
            if doc["kind"] == "Pipeline":
                api.apply(doc)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(kubeconfig))
        patch.setenv("NO_COLOR", "1")
        operator = RunningOperator(name).start()
        try:
            yield name, api
        finally:
            operator.stop()


@pytest.fixture
def baton(
    plugin_namespace: tuple[str, Api],
    kubeconfig: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Plugin:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("NO_COLOR", "1")
    namespace, api = plugin_namespace
    return Plugin(namespace, api, kubeconfig, capsys)


@pytest.fixture
def finished_run(baton: Plugin) -> Callable[[str], str]:
    """Start a run of PIPELINE with `run --watch` and return its name once it has finished."""

    def run(pipeline: str) -> str:
        result = baton("run", pipeline, "--watch", "--timeout", "120")
        assert result.code in (0, 1), result
        return result.out.splitlines()[0].split("/")[1].split()[0]

    return run
