"""The real operator on the session's dev cluster, for the GitOps tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster
from support import RunningOperator


@pytest.fixture
def operator_in(
    devcluster: DevCluster, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], RunningOperator]]:
    devcluster.sync(install_crds, devcluster)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started: list[RunningOperator] = []

    def start(namespace: str) -> RunningOperator:
        started.append(RunningOperator(namespace).start())
        return started[-1]

    yield start
    for operator in started:
        operator.stop()
