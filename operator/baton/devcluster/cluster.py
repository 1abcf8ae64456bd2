"""`DevCluster`: the API server, its controllers and the kubelet, in one process.

Use it from asyncio (`async with DevCluster() as cluster:`), or from synchronous code and tests in a
background thread (`with DevCluster().running() as cluster:`), and point clients at the kubeconfig it
writes. It listens on 127.0.0.1 only and every request needs its bearer token.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml
from aiohttp import web

from .audit import AuditLog
from .crds import CRD_RESOURCE, CrdController, admit_crd
from .defaults import default_object
from .faults import FaultPlan, Faults
from .gc import GarbageCollector
from .jobs import JobController
from .kubelet import Kubelet
from .quota import check_quota
from .resources import Registry, ResourceType
from .rest import Rest
from .scheduler import Scheduler
from .server import build_app
from .store import Obj, Store
from .tls import issue
from .volumecontroller import VolumeController
from .watching import WatchServer

T = TypeVar("T")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def _admit(rt: ResourceType, obj: Obj, old: Obj | None) -> Obj:
    if rt.group_resource == CRD_RESOURCE:
        obj = admit_crd(obj, old)
        if old is None:
            finalizers = obj["metadata"].setdefault("finalizers", [])
            if CRD_CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CRD_CLEANUP_FINALIZER)
        return obj
    if rt.custom:
        return obj
    return default_object(rt, obj, old)


HISTORY_LIMIT = 5_000
"""Watch events kept for resuming watches, like a real API server's watch cache (per resource there; here
for all): a client that falls further behind gets 410 Gone and must list again, as it must on a real one."""


class DevCluster:
    def __init__(
        self,
        *,
        port: int = 0,
        token: str | None = None,
        workdir: Path | None = None,
        instant: bool = False,
        hold_jobs: bool = False,
        history_limit: int = HISTORY_LIMIT,
        bookmark_interval: float = 5.0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.requested_port = port
        self.port = 0
        self.token = token or secrets.token_urlsafe(32)
        self.instant = instant
        self.hold_jobs = hold_jobs  # instant mode: Jobs start but finish only at release_jobs()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="baton-devcluster-"))
        self.registry = Registry.with_builtins()
        self.audit = AuditLog()

        def admit(rt: ResourceType, obj: Obj, old: Obj | None) -> Obj:
            admitted = _admit(rt, obj, old)
            if old is None:
                check_quota(self.store, rt, admitted)
            return admitted

        self.store = Store(self.registry, history_limit=history_limit, admit=admit)
        self.crds = CrdController(self.store)
        self.rest = Rest(self.store)
        self.watches = WatchServer(self.store, bookmark_interval)
        self.faults = Faults(faults) if faults is not None else None
        if faults is not None:
            self.watches.max_events, self.watches.max_seconds = faults.watch_events, faults.watch_seconds
        self._site: web.TCPSite | None = None
        self._outage: asyncio.Task[None] | None = None
        self.down = False
        """Fault injection: the API server does not answer (see `go_down`)."""
        self.certificate = issue()
        self._runner: web.AppRunner | None = None
        self.gc: GarbageCollector | None = None
        self.volumes: VolumeController | None = None
        self.scheduler: Scheduler | None = None
        self.kubelet: Kubelet
        self.jobs: JobController | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> DevCluster:
        self.loop = asyncio.get_running_loop()
        ns_type = self.registry.storage("", "namespaces")
        assert ns_type is not None
        for name in SYSTEM_NAMESPACES:
            if self.store.find(("", "namespaces"), "", name) is None:
                self.store.create(
                    ns_type, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                )
        self.gc = GarbageCollector(self.store)
        self.gc.start()
        self.volumes = VolumeController(self.store, self.workdir, instant=self.instant)
        self.volumes.start()
        self.kubelet = Kubelet(self.store, self.audit, self.workdir)
        if not self.instant:
            self.scheduler = Scheduler(self.store)
            self.scheduler.start()
            self.kubelet.start()
        self.jobs = JobController(self.store, self.audit, instant=self.instant, hold=self.hold_jobs)
        self.jobs.start()
        # handler_cancellation: a watch whose client went away is cancelled (and its watcher released) at
        # once, not at its next write. Writes are not at risk: handlers only await before they change state.
        self._runner = web.AppRunner(
            build_app(self),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            "127.0.0.1",
            self.requested_port,
            ssl_context=self.certificate.server_context(self.workdir / "pki"),
        )
        await site.start()
        self._site = site
        addresses = self._runner.addresses  # [(host, port)] of the one listening socket
        assert addresses, "the dev cluster is not listening"
        self.port = int(addresses[0][1])
        plan = self.faults.plan if self.faults is not None else None
        if plan is not None and plan.down_after is not None and plan.down_for > 0:
            self._outage = asyncio.create_task(self._down_later(plan.down_after, plan.down_for))
        return self

    async def _down_later(self, after: float, seconds: float) -> None:
        await asyncio.sleep(after)
        await self.go_down(seconds)

    async def go_down(self, seconds: float) -> None:
        """Fault injection: stop answering for ``seconds`` (the listener closed, every connection and
        watch dropped, as when an API server restarts), then come back on the same port with all data."""
        if self._runner is None or self._site is None or self.down:
            return
        self.down = True
        self.store.close_watches()
        await self._site.stop()
        server = self._runner.server
        for handler in list(server.connections) if server is not None else ():
            handler.force_close()
            if handler.transport is not None:
                handler.transport.close()
        try:
            await asyncio.sleep(seconds)
        finally:
            if self._runner is not None:
                site = web.TCPSite(
                    self._runner,
                    "127.0.0.1",
                    self.port,
                    ssl_context=self.certificate.server_context(self.workdir / "pki"),
                    reuse_address=True,
                )
                await site.start()
                self._site = site
            self.down = False

    async def stop(self) -> None:
        if self._outage is not None:
            self._outage.cancel()
        self.store.close_watches()
        if self.jobs is not None:
            await self.jobs.stop()
        if hasattr(self, "kubelet"):
            await self.kubelet.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.volumes is not None:
            await self.volumes.stop()
        if self.gc is not None:
            await self.gc.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> DevCluster:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- client configuration ---------------------------------------------------------------------

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "baton-dev",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.certificate.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": "baton-dev", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "baton-dev",
                    "context": {"cluster": "baton-dev", "user": "baton-dev", "namespace": namespace},
                }
            ],
            "current-context": "baton-dev",
            "preferences": {},
        }

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        # It holds the bearer token: created 0600, never readable by others even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
        with os.fdopen(fd, "w") as out:
            out.write(yaml.safe_dump(self.kubeconfig(namespace), sort_keys=False))
        return path

    # -- running in a background thread (synchronous callers, pytest fixtures) ----------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[DevCluster]:
        started = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:
                failure.append(error)
                loop.run_until_complete(self.stop())
                loop.close()
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="baton-devcluster", daemon=True)
        thread.start()
        started.wait()
        if failure:
            raise failure[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)

    def release_jobs(self) -> None:
        """Let held instant Jobs finish (see `hold_jobs`); callable from any thread."""
        assert self.jobs is not None
        self.hold_jobs = False
        self.sync(self.jobs.release)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the cluster's loop from another thread (to inspect or change state safely)."""
        assert self.loop is not None
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def sync(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a plain function on the cluster's loop and return its result."""

        async def run() -> Any:
            return fn(*args, **kwargs)

        return self.call(run())
