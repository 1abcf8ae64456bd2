"""The real operator, in its own thread and event loop, against the session's dev cluster."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baton import GROUP, VERSION
from baton.api.crdgen import pipeline_crd, pipelinerun_crd
from baton.controller.operator import run_operator
from baton.devcluster.cluster import DevCluster
from operator_kit import Api



class RunningOperator:
    """`baton operator` for one namespace; `stop()` ends it the way SIGTERM does."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._main, name=f"operator-{namespace}", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def run() -> None:
            self._stop = asyncio.Event()
            ready = asyncio.Event()
            waiter = asyncio.create_task(ready.wait())
            waiter.add_done_callback(lambda _: self._ready.set())
            try:
                await run_operator(namespaces=[self.namespace], stop_flag=self._stop, ready_flag=ready)
            finally:
                waiter.cancel()
                self._ready.set()

        try:
            self._loop.run_until_complete(run())
        except BaseException as error:  # surfaced by stop()
            self._error.append(error)
        finally:
            self._loop.close()

    def start(self) -> RunningOperator:
        self._thread.start()
        assert self._ready.wait(30), "operator did not become ready"
        return self

    def stop(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "operator did not stop"
        if self._error:
            raise self._error[0]


def install_crds(cluster: DevCluster) -> None:
    rt = cluster.registry.storage("apiextensions.k8s.io", "customresourcedefinitions")
    assert rt is not None
    for crd in (pipeline_crd(), pipelinerun_crd()):
        if cluster.store.find(rt.group_resource, "", crd["metadata"]["name"]) is None:
            cluster.store.create(rt, "", crd)


@pytest.fixture(scope="session")
def crds_installed(devcluster: DevCluster) -> None:
    devcluster.sync(install_crds, devcluster)


@pytest.fixture
def start_operator(devcluster: DevCluster, kubeconfig: Path, crds_installed: None,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], RunningOperator]]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started: list[RunningOperator] = []

    def start(namespace: str) -> RunningOperator:
        operator = RunningOperator(namespace).start()
        started.append(operator)
        return operator

    yield start
    for operator in started:
        if operator._thread.is_alive():
            operator.stop()


@pytest.fixture
def api(devcluster: DevCluster, namespace: str) -> Api:
    return Api(devcluster, namespace)


