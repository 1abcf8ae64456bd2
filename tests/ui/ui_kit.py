"""What the UI's tests against the dev cluster share: the cluster's objects read and written directly,
a Pipeline whose first task waits for a file (so a test decides when a run moves on), and the UI served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from baton import GROUP, VERSION
from baton.cli.dev import install_crds
from baton.controller.client import KubeClient, connection_info
from baton.devcluster.cluster import DevCluster
from baton.ui.server import Ui
from support import RunningOperator


class Cluster:
    def __init__(self, devcluster: DevCluster, namespace: str) -> None:
        self.devcluster, self.namespace = devcluster, namespace

    def create(self, doc: dict[str, Any]) -> dict[str, Any]:
        rt = self.devcluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None
        return dict(self.devcluster.sync(self.devcluster.store.create, rt, self.namespace, doc))

    def run(self, name: str) -> dict[str, Any]:
        return dict(
            self.devcluster.sync(self.devcluster.store.find, (GROUP, "pipelineruns"), self.namespace, name)
        )

    def start(self, name: str, gate: Path) -> None:
        """A run of the `gated` Pipeline whose first task waits for ``gate`` to exist."""
        self.create(
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "PipelineRun",
                "metadata": {"name": name},
                "spec": {"pipelineRef": {"name": "gated"}, "params": {"gate": str(gate)}},
            }
        )

    def told(self) -> str:
        """The namespace's Event messages, in one text (an Event may tell several transitions)."""
        rt = self.devcluster.registry.storage("", "events")
        return " | ".join(
            e["message"] for e in self.devcluster.sync(self.devcluster.store.list, rt, self.namespace)
        )

    def runs(self) -> list[dict[str, Any]]:
        rt = self.devcluster.registry.storage(GROUP, "pipelineruns")
        return list(self.devcluster.sync(self.devcluster.store.list, rt, self.namespace))

    async def until(self, name: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Wait (without blocking the UI's event loop) up to a minute until the run passes ``check``."""
        for _ in range(600):
            run = self.run(name)
            if run and check(run):
                return run
            await asyncio.sleep(0.1)
        raise AssertionError(f"run {name}: {self.run(name).get('status')}")


def phase(run: dict[str, Any]) -> str | None:
    return (run.get("status") or {}).get("phase")


def task_phase(run: dict[str, Any], task: str) -> str | None:
    return next(
        (t.get("phase") for t in (run.get("status") or {}).get("tasks") or () if t["name"] == task), None
    )


def gated_cluster(
    devcluster: DevCluster, kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Cluster]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    devcluster.sync(install_crds, devcluster)
    here = Cluster(devcluster, namespace)
    gate = tmp_path / "go"
    here.create(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Pipeline",
            "metadata": {"name": "gated"},
            "spec": {
                "params": [{"name": "gate"}, {"name": "label", "default": "x"}],
                "taskDefaults": {"image": "busybox:1.36"},
                "tasks": [
                    {
                        "name": "wait",
                        "command": [
                            "sh",
                            "-c",
                            "echo waiting; while [ ! -f $(params.gate) ]; do sleep 0.05; done",
                        ],
                    },
                    {"name": "check", "command": ["sh", "-c", f"test -f {gate}.ok"], "dependsOn": ["wait"]},
                ],
            },
        }
    )
    operator = RunningOperator(namespace).start()
    try:
        yield here
    finally:
        operator.stop()


async def ui_client() -> AsyncIterator[KubeClient]:
    client = KubeClient(connection_info(), user_agent="baton-ui")
    yield client
    await client.close()


async def serve(ui: Ui) -> TestClient[Any, Any]:
    http = TestClient(TestServer(ui.app()))
    await http.start_server()
    return http
