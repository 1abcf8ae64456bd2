"""`baton operator`: watches feed the cache and a keyed work queue; reconcilers apply plans.

kopf watches the runs and Pipelines, with only low-level handlers (`on.event`, `on.probe`): they keep
no progress annotations and add no finalizers, so kopf itself makes no request per event. The Jobs and
Pods, several events per task, come through Baton's own lean informers (`informer`). Every write is
Baton's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, cast

import kopf

from baton import GROUP, VERSION
from baton.core.api_retry import BURST, QPS
from baton.idle_gc import collected_when_idle
from baton.kube.labels import RUN as RUN_LABEL
from baton.kube.trim import trim_job, trim_pod
from baton.logs import log_context

from . import metrics
from .cache import ClusterCache, Key, key_of
from .client import KubeClient, connection_info
from .crdcheck import CrdGate
from .datasets import DatasetKeeper
from .deferred import Deferred
from .informer import Informer, catch_up
from .kopfsettings import operator_settings
from .leader import LeaderElection, LeaderElector, own_namespace
from .observers import RunObserver
from .openlineage import LineageEmitter
from .paths import jobs_path
from .prepared import DEFER
from .reconciler import RunReconciler
from .recorder import EventRecorder
from .scheduler import queued_runs
from .statuses import PipelineStatusWriter
from .workqueue import WorkQueue

log = logging.getLogger(__name__)

WorkKey = tuple[str, str, str]  # ("run" | "pipeline" | "dataset", namespace, name)


class Operator:
    def __init__(
        self,
        client: KubeClient,
        *,
        workers: int = 4,
        namespaces: Sequence[str] = (),
        schedule_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.cache = ClusterCache()
        # A run of a Pipeline started, ended or went: its schedule (Forbid), its history and its queue
        # (maxActiveRuns, the queued runs' places) move on.
        self.cache.on_run_moved = lambda pipeline, _: self._run_moved(pipeline)
        self.cache.on_child = self._child_changed  # a sub-pipeline task's attempt
        self.client = client
        self.recorder = EventRecorder(client)
        self.pipelines = PipelineStatusWriter(
            self.cache,
            client,
            self.recorder,
            schedule_clock=schedule_clock,
            requeue=lambda key, delay: self.queue.add_after(("pipeline", *key), delay),
            enqueue_run=self.enqueue_run,
            watched=namespaces,
        )
        self.queue: WorkQueue[WorkKey] = WorkQueue(self._dispatch, workers=workers)
        self.runs = RunReconciler(
            self.cache,
            client,
            self.recorder,
            requeue=lambda key, delay: self.queue.add_after(("run", *key), delay),
            quiet=self._quiet,
            backlog=lambda: self.queue.depth,
            catch_up=lambda: catch_up(self.informers),
        )
        self.datasets = DatasetKeeper(
            self.cache,
            client,
            self.recorder,
            requeue=lambda key, delay: self.queue.add_after(("dataset", *key), delay),
        )
        self.runs.writer.datasets = self.datasets
        self.runs.prepared.acting = lambda: not self._holds
        self.observer = RunObserver(self.runs.statuses.get)  # run and task metrics, from the watches
        self.counting = Deferred(lambda: self.queue.idle, self.observer.clock)  # what the observer counts
        self.informers = [
            Informer(client, path, resource=resource, selector=RUN_LABEL, handler=handler, transform=trim)
            for namespace in ([*namespaces] if namespaces else [None])
            for path, resource, handler, trim in (
                (jobs_path(namespace), "jobs.batch", self.on_job, trim_job),
                (_pods_path(namespace), "pods", self.on_pod, trim_pod),
            )
        ]
        self._informing: list[asyncio.Task[None]] = []
        self._job_events: dict[Key, float] = {}  # run → loop time of its Jobs' and Pods' last event
        self.elector: LeaderElector | None = None
        """With --leader-elect: only while it leads does this operator reconcile (it watches always)."""
        self._electing: asyncio.Task[None] | None = None
        self._holds: set[str] = {"crds"}
        """Why the operator may not act now; it acts while this is empty. Nothing, before the first look
        at the CRDs."""
        self.crds = CrdGate(
            client,
            self.recorder,
            on_compatible=lambda: self.release("crds"),
            on_incompatible=lambda: self.hold("crds"),
        )
        self._checking: asyncio.Task[None] | None = None

    async def _dispatch(self, key: WorkKey) -> None:
        kind, namespace, name = key
        started = asyncio.get_running_loop().time()
        context = {kind: name}
        try:
            with log_context(namespace=namespace, **context):
                if kind == "run":
                    await self.runs.reconcile((namespace, name))
                elif kind == "dataset":
                    await self.datasets.reconcile((namespace, name))
                else:
                    await self.pipelines.reconcile((namespace, name))
        except Exception:
            metrics.RECONCILE_ERRORS.labels(kind=kind).inc()
            raise
        finally:
            metrics.RECONCILE_SECONDS.labels(kind=kind).observe(asyncio.get_running_loop().time() - started)

    def _run_moved(self, pipeline: Key) -> None:
        self.queue.add(("pipeline", *pipeline))
        for downstream in self.cache.triggered_by(pipeline):
            self.queue.add(("pipeline", *downstream))  # its triggers may fire

    def enqueue_run(self, key: Key) -> None:
        self.queue.add(("run", *key))

    def hold(self, reason: str) -> None:
        """Act no more, at once, while `reason` holds ("standby": another replica leads; "crds": the
        installed CRDs are not this build's): no reconcile starts, those under way and the status writes
        going on are cancelled (whoever acts next takes them up from what is stored)."""
        if not self._holds:
            self.queue.pause(stop_running=True)
            self.runs.writer.abandon()
            self.runs.prepared.clear()
        self._holds.add(reason)

    def release(self, reason: str) -> None:
        """`reason` holds no more; with no other, start reconciling: everything it knows, once,
        level-triggered, since what happened meanwhile was done by another replica, or not at all."""
        if reason not in self._holds:
            return
        self._holds.discard(reason)
        if self._holds:
            return
        self.queue.resume()
        for key in list(self.cache.pipelines):
            self.queue.add(("pipeline", *key))
        for key in list(self.cache.runs):
            self.enqueue_run(key)
        for key in list(self.cache.datasets):
            self.queue.add(("dataset", *key))

    def _job_changed(self, run_key: Key) -> None:
        self._job_events[run_key] = asyncio.get_running_loop().time()
        self.enqueue_run(run_key)

    def _child_changed(self, parent: Key) -> None:
        self.runs.prepared.drop(parent)  # a sub-pipeline task moved: only a plan may say what follows
        self._job_changed(parent)

    def _prepared(self, run_key: Key, job_name: str) -> bool:
        """Tell the run's prepared starts that one of its Jobs moved; True when its plan waits."""
        try:
            if not self.runs.prepared.moved(run_key, job_name):
                return False
        except Exception:  # a shortcut must never cost the run its reconcile: plan as without it
            log.exception("judging what run %s/%s prepared failed", *run_key)
            self.runs.prepared.drop(run_key)
            return False
        self._job_events[run_key] = asyncio.get_running_loop().time()
        if self.runs.prepared.defer(run_key):
            self.queue.add_after(("run", *run_key), DEFER)
        return True

    def _quiet(self, key: Key) -> float:
        last = self._job_events.get(key)
        return float("inf") if last is None else asyncio.get_running_loop().time() - last

    # -- what the watches tell -------------------------------------------------------------------

    def on_run(self, event_type: str | None, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        # The status we wrote at this version, found now: by when the observer counts the event, later
        # writes may have pushed it out of the cache, and a 10,000-task status is costly to parse again.
        ours = self.runs.statuses.get(meta.get("uid", ""), meta.get("resourceVersion", ""))
        self.counting.add(self.observer.run_event, event_type, obj, self.observer.clock(), ours)
        key = self.cache.observe_run(event_type, obj)
        self.runs.task_cache.observe(key, None if event_type == "DELETED" else self.cache.runs.get(key))
        if event_type == "DELETED":
            self.runs.prepared.forget(key)
            self.runs.statuses.forget(obj["metadata"].get("uid", ""))
            self._job_events.pop(key, None)
            return
        if ours is not None:
            return  # the echo of our own status write: that reconcile already saw all it knew
        self.runs.prepared.drop(key)  # changed by someone else: only a plan may say what follows
        self.enqueue_run(key)

    def on_pipeline(self, event_type: str | None, obj: dict[str, Any]) -> None:
        self.counting.add(self.observer.pipeline_event, event_type, obj)
        edges = (self.cache.trigger_edges, self.cache.child_edges)
        before = [found.get(key_of(obj)) for found in edges]
        specs = self.cache.spec_versions.get(key_of(obj)[0])
        key = self.cache.observe_pipeline(event_type, obj)
        if self.cache.spec_versions.get(key[0]) != specs:  # a spec changed (not a status write)
            for triggered in self.cache.dataset_triggered:
                if triggered[0] == key[0] and triggered != key:
                    self.queue.add(("pipeline", *triggered))  # its outputs may close a loop through datasets
        if before != [found.get(key) for found in edges]:
            for nested in self.cache.child_edges:
                self.queue.add(("pipeline", *nested))  # a sub-pipeline recursion may have come or gone
            for triggered in self.cache.trigger_edges:
                self.queue.add(("pipeline", *triggered))  # a trigger loop may have come or gone
        for downstream in self.cache.triggered_by(key):
            self.queue.add(("pipeline", *downstream))  # whether it allows them (allowTriggersFrom) may change
        if event_type != "DELETED":
            self.queue.add(("pipeline", *key))
        for run_key in queued_runs(self.cache, key):
            # It waited for this Pipeline to appear, or for a free slot; or its Pipeline is gone, which
            # no reconcile of that Pipeline will tell it: it fails PipelineNotFound.
            self.enqueue_run(run_key)

    def on_dataset(self, event_type: str | None, obj: dict[str, Any]) -> None:
        key = self.cache.observe_dataset(event_type, obj)
        if event_type != "DELETED":
            self.queue.add(("dataset", *key))
        uri = (obj.get("spec") or {}).get("uri")
        for pipeline, patterns in self.cache.dataset_triggered.items():
            if pipeline[0] == key[0] and isinstance(uri, str) and any(fnmatchcase(uri, p) for p in patterns):
                self.queue.add(("pipeline", *pipeline))  # a dataset trigger of it may fire

    def on_job(self, event_type: str | None, obj: dict[str, Any]) -> None:
        self.counting.add(self.observer.job_event, event_type, obj, self.observer.clock())
        run_key = self.cache.observe_job(event_type, obj)
        name = obj["metadata"]["name"]
        if run_key is not None and not (self.cache.moved and self._prepared(run_key, name)):
            self._job_changed(run_key)

    def on_pod(self, event_type: str | None, obj: dict[str, Any]) -> None:
        job_key = self.cache.observe_pod(event_type, obj)
        if job_key is None:
            return
        if self.cache.moved and self.runs.prepared and (owner := self.cache.run_of_job(job_key)):
            if self._prepared(owner, job_key[1]):
                return
        if event_type == "DELETED":
            run_key = self.cache.run_of_job(job_key)
        elif (obj.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
            # A Pod ends just before its Job does: a plan now would find the Job still running, and the
            # Job's own event, a moment later, would wait for it.
            run_key = self.cache.run_of_ended_job(job_key)
        else:
            return
        if run_key is not None:
            self._job_changed(run_key)

    def register(self, registry: kopf.OperatorRegistry, info: kopf.ConnectionInfo) -> None:
        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return info

        @kopf.on.startup(registry=registry)
        async def startup(**_: Any) -> None:
            self.queue.pause()  # until the first look at the CRDs
            self.queue.start()
            if self.elector is not None:
                self._holds.add("standby")  # until it holds the Lease
                self._electing = asyncio.create_task(self.elector.run(), name="baton-leader-election")
            else:
                metrics.LEADER.set(1)
            self._checking = asyncio.create_task(self.crds.run(), name="baton-crd-check")
            metrics.ACTIVE.add(self.observer)
            metrics.DATASETS.add(self.datasets)
            self._informing = [
                *(asyncio.create_task(i.run(), name=f"baton-watch-{i.resource}") for i in self.informers),
                asyncio.create_task(self.counting.run(), name="baton-metrics-counting"),
            ]

        @kopf.on.cleanup(registry=registry)
        async def cleanup(**_: Any) -> None:
            metrics.ACTIVE.remove(self.observer)
            metrics.DATASETS.remove(self.datasets)
            background = [*self._informing, *filter(None, [self._electing, self._checking])]
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            self.counting.flush()
            await self.queue.stop()
            await self.runs.writer.close()
            await self.recorder.close()
            if self.elector is not None:
                await self.elector.release()  # after the last write: a standby takes over at once

        # Async on purpose: kopf runs synchronous handlers in a thread pool, and the cache and the work
        # queue below belong to the event loop.
        @kopf.on.event(GROUP, VERSION, "pipelineruns", registry=registry)
        async def run_event(event: kopf.RawEvent, **_: Any) -> None:
            self.on_run(_event_type(event), _object(event))

        @kopf.on.event(GROUP, VERSION, "pipelines", registry=registry)
        async def pipeline_event(event: kopf.RawEvent, **_: Any) -> None:
            self.on_pipeline(_event_type(event), _object(event))

        @kopf.on.event(GROUP, VERSION, "datasets", registry=registry)
        async def dataset_event(event: kopf.RawEvent, **_: Any) -> None:
            self.on_dataset(_event_type(event), _object(event))

        @kopf.on.probe(id="queue", registry=registry)
        async def queue_probe(**_: Any) -> dict[str, Any]:
            # Healthy even while held: a restart would not bring the right CRDs (the body says why).
            return {"queued": len(self.queue), "runs": len(self.cache.runs), "holds": sorted(self._holds)}


def _pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def _event_type(event: kopf.RawEvent) -> str | None:
    return event.get("type")  # None for objects kopf lists at start-up


def _object(event: kopf.RawEvent) -> dict[str, Any]:
    return cast(dict[str, Any], event["object"])


async def run_operator(
    *,
    namespaces: Sequence[str] = (),
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    liveness_endpoint: str | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    schedule_clock: Callable[[], datetime] | None = None,
    leader_election: LeaderElection | None = None,
    created: Callable[[Operator], None] | None = None,
    qps: float = QPS,
    burst: int = BURST,
    expected_crds: Mapping[str, str] | None = None,
) -> None:
    """Run until `stop_flag` is set (or forever). All namespaces unless `namespaces` names some.

    `schedule_clock` replaces the wall clock of schedules only (a test-only option: tests move it to just
    before a slot instead of waiting for one; runs keep the real clock, as their Jobs do). `created` is
    called with the Operator before it starts (tests look at its leader election through it).
    `expected_crds` (CRD name → schema fingerprint) stands in for another build's CRDs, in tests."""
    info = connection_info()
    client = KubeClient(info, observe=metrics.observe_request, qps=qps, burst=burst)
    operator = Operator(client, namespaces=namespaces, schedule_clock=schedule_clock)
    operator.recorder.own_namespace = own_namespace(info.default_namespace)
    if expected_crds is not None:
        operator.crds.expected = dict(expected_crds)
    if leader_election is not None:
        operator.elector = LeaderElector(
            client,
            leader_election.namespace or own_namespace(info.default_namespace),
            name=leader_election.name,
            timing=leader_election.timing,
            on_started=lambda: operator.release("standby"),
            on_stopped=lambda: operator.hold("standby"),
            recorder=operator.recorder,
        )
    if created is not None:
        created(operator)
    lineage = LineageEmitter.from_environment()
    operator.runs.writer.lineage = lineage
    registry = kopf.OperatorRegistry()
    operator.register(registry, info)
    server = metrics.serve(metrics_port, metrics_host) if metrics_port is not None else None
    try:
        with collected_when_idle(lambda: operator.queue.activity):
            await kopf.operator(
                registry=registry,
                settings=operator_settings(),
                clusterwide=not namespaces,
                namespaces=list(namespaces),
                standalone=True,
                liveness_endpoint=liveness_endpoint,
                stop_flag=stop_flag,
                ready_flag=ready_flag,
            )
    finally:
        metrics.ACTIVE.remove(operator.observer)  # also when kopf ended without its cleanup handlers
        metrics.DATASETS.remove(operator.datasets)
        if lineage is not None:
            await asyncio.to_thread(lineage.close)
        if server is not None:
            server.stop()
        await client.close()
