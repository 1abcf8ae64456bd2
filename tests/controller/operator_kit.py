"""Helpers for operator tests: read and write Baton objects on the dev cluster, load examples."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from baton import GROUP, VERSION
from baton.controller.leader import LeaderElection
from baton.controller.operator import Operator, run_operator
from baton.devcluster.cluster import DevCluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class RunningOperator:
    """`baton operator` for one namespace; `stop()` ends it the way SIGTERM does."""

    def __init__(
        self,
        namespace: str,
        *,
        liveness_endpoint: str | None = None,
        schedule_clock: Callable[[], datetime] | None = None,
        leader_election: LeaderElection | None = None,
    ) -> None:
        self.namespace = namespace
        self.liveness_endpoint = liveness_endpoint
        self.schedule_clock = schedule_clock
        self.leader_election = leader_election
        self.operator: Operator | None = None
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
                await run_operator(
                    namespaces=[self.namespace],
                    stop_flag=self._stop,
                    ready_flag=ready,
                    liveness_endpoint=self.liveness_endpoint,
                    schedule_clock=self.schedule_clock,
                    leader_election=self.leader_election,
                    created=self._created,
                )
            finally:
                waiter.cancel()
                self._ready.set()

        try:
            self._loop.run_until_complete(run())
        except BaseException as error:  # surfaced by stop()
            self._error.append(error)
        finally:
            self._loop.close()

    def _created(self, operator: Operator) -> None:
        self.operator = operator

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the operator's event loop and return its result."""

        async def call() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

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


class Api:
    """Reads and writes Baton objects in one namespace, on the cluster's own loop."""

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        rt = self.cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None, doc["kind"]
        result: dict[str, Any] = self.cluster.sync(self.cluster.store.create, rt, self.namespace, doc)
        return result

    def run(self, name: str) -> dict[str, Any]:
        found = self.cluster.sync(self.cluster.store.find, (GROUP, "pipelineruns"), self.namespace, name)
        assert found is not None, f"no run {name}"
        return dict(found)

    def pipeline(self, name: str) -> dict[str, Any] | None:
        found = self.cluster.sync(self.cluster.store.find, (GROUP, "pipelines"), self.namespace, name)
        return dict(found) if found is not None else None

    def jobs(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage("batch", "jobs")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def events(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage("", "events")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def start_run(self, pipeline: str, params: dict[str, str] | None = None) -> str:
        run = self.apply(
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "PipelineRun",
                "metadata": {"generateName": f"{pipeline}-"},
                "spec": {"pipelineRef": {"name": pipeline}, "params": params or {}},
            }
        )
        return str(run["metadata"]["name"])


def example(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


def phase_of(run: dict[str, Any]) -> str | None:
    return (run.get("status") or {}).get("phase")


def tasks_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in (run.get("status") or {}).get("tasks") or ()}


def when(value: Any, predicate: Any) -> Any:
    """`value` if `predicate(value)` holds, else None: for `wait_for(lambda: when(read(), ok))`."""
    return value if predicate(value) else None
