"""Fixtures of the UI's tests against the dev cluster (`ui_kit`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ui_kit import Cluster, gated_cluster, ui_client

from baton.controller.client import KubeClient
from baton.devcluster.cluster import DevCluster


@pytest.fixture
def cluster(
    devcluster: DevCluster, kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Cluster]:
    """The test's namespace with the `gated` Pipeline and the operator running."""
    yield from gated_cluster(devcluster, kubeconfig, namespace, monkeypatch, tmp_path)


@pytest.fixture
async def kube() -> AsyncIterator[KubeClient]:
    """The UI's client, with the kubeconfig's credentials (KUBECONFIG, set by `cluster`)."""
    async for client in ui_client():
        yield client
