"""Fixtures of the observability tests: the operator serving metrics on a free port of 127.0.0.1.

Prometheus and promtool come from Debian (`make tools`: apt-get install prometheus). Without them the
tests that need them are skipped locally and fail in CI (where `CI` is set), so the proof cannot
silently go missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "controller"))

from obs_kit import start_metrics_operator
from operator_kit import Api, RunningOperator

from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster


@pytest.fixture(scope="session")
def observability_crds(devcluster: DevCluster) -> None:
    devcluster.sync(install_crds, devcluster)


@pytest.fixture
def metrics_operator(
    kubeconfig: Path, observability_crds: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], tuple[RunningOperator, int]]]:
    """Start `baton operator` for a namespace; returns it and its metrics port."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started: list[RunningOperator] = []

    def start(namespace: str) -> tuple[RunningOperator, int]:
        operator, port = start_metrics_operator(namespace, monkeypatch)
        started.append(operator)
        return operator, port

    yield start
    for operator in started:
        if operator._thread.is_alive():
            operator.stop()


@pytest.fixture
def api(devcluster: DevCluster, namespace: str) -> Api:
    return Api(devcluster, namespace)
