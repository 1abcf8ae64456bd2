"""Fixtures shared by every layer: the dev cluster, namespaces, real kubectl, the official client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.devcluster.cluster import DevCluster
from support import Kubectl, wait_for

__all__ = ["Kubectl", "wait_for"]


@pytest.fixture(scope="session")
def devcluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    cluster = DevCluster(workdir=tmp_path_factory.mktemp("devcluster"), bookmark_interval=1.0)
    with cluster.running():
        yield cluster


@pytest.fixture(scope="session")
def kubeconfig(devcluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return devcluster.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture
def namespace(devcluster: DevCluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    ns_type = devcluster.registry.storage("", "namespaces")
    assert ns_type is not None
    devcluster.sync(devcluster.store.create, ns_type, "", {"metadata": {"name": name}})
    yield name


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(kubeconfig, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def k8s_client(kubeconfig: Path) -> Iterator[Any]:
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    yield api_client
    api_client.close()
    del client
