"""The real operator, in its own thread and event loop, against the session's dev cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, RunningOperator

from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster


@pytest.fixture(scope="session")
def crds_installed(devcluster: DevCluster) -> None:
    devcluster.sync(install_crds, devcluster)


@pytest.fixture
def start_operator(
    devcluster: DevCluster, kubeconfig: Path, crds_installed: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., RunningOperator]]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started: list[RunningOperator] = []

    def start(namespace: str, **options: Any) -> RunningOperator:
        operator = RunningOperator(namespace, **options).start()
        started.append(operator)
        return operator

    yield start
    for operator in started:
        if operator._thread.is_alive():
            operator.stop()


@pytest.fixture
def api(devcluster: DevCluster, namespace: str) -> Api:
    return Api(devcluster, namespace)
