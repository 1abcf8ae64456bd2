"""The shell of a Pipeline's triggers: find the upstream runs that ended, ask the core, create the runs.

Order, as with the schedule: create the downstream runs (a 409 means one is there already), then the
caller records `triggeredThrough`. A crash in between makes the next reconcile decide the same upstream
runs again, and their creates answer 409.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.api.run import FINISHED_PHASES
from baton.core.events import Event, EventType
from baton.core.status import format_time, time_or_none
from baton.core.triggers import (
    DatasetUpdate,
    TriggeredRun,
    UpstreamRun,
    allowed,
    dataset_trigger_edges,
    decide_triggers,
    trigger_loops,
    upstream_of,
)
from baton.kube.slotruns import TRIGGERED_BY, TRIGGERED_BY_DATASET, created_run

from .cache import ClusterCache, Key, Obj
from .client import KubeClient
from .recorder import EventRecorder
from .scheduler import EXISTS, create_run

log = logging.getLogger(__name__)


@dataclass
class Triggered:
    through: str | None
    handled: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    retry: bool = False
    """A create failed: nothing was recorded, reconcile again soon."""


def _upstream_run(run: Obj, pipeline: str) -> UpstreamRun | None:
    status = run.get("status") or {}
    phase, done = status.get("phase"), time_or_none(status.get("completionTime"))
    if phase not in FINISHED_PHASES or done is None:
        return None
    meta = run["metadata"]
    raw = status.get("params")
    params = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    results = {
        str(r.get("name")): str(r.get("value", ""))
        for r in status.get("results") or ()
        if isinstance(r, dict) and r.get("name")
    }
    return UpstreamRun(
        str(meta.get("namespace") or ""),
        str(meta["name"]),
        pipeline,
        str(phase),
        done,
        params,
        results,
    )


def dataset_updates(
    datasets: Mapping[Key, Obj], namespace: str, patterns: Sequence[str]
) -> list[UpstreamRun]:
    """The recent writes of the namespace's Datasets whose URI matches one of ``patterns`` (each Dataset
    keeps its latest producers). Only those: a write elsewhere must not move the Pipeline's watermark, or
    every write in the namespace would cost a status write of every Pipeline with a dataset trigger."""
    found: list[UpstreamRun] = []
    for (ns, _), dataset in datasets.items():
        uri = (dataset.get("spec") or {}).get("uri")
        if ns != namespace or not isinstance(uri, str) or not any(fnmatchcase(uri, p) for p in patterns):
            continue
        for producer in (dataset.get("status") or {}).get("producers") or ():
            # Ordered by when the operator recorded the write, not when its task ended: a write recorded
            # late (after a restart, say) must not fall behind the watermark of writes recorded before it.
            done = (
                time_or_none(producer.get("recorded") or producer.get("time"))
                if isinstance(producer, Mapping)
                else None
            )
            if done is None or not producer.get("run") or not producer.get("task"):
                continue
            update = DatasetUpdate(uri, producer.get("partition"), str(producer["task"]))
            pipeline = str(producer.get("pipeline") or "")
            found.append(UpstreamRun(ns, str(producer["run"]), pipeline, "Succeeded", done, dataset=update))
    return found


class PipelineTriggers:
    def __init__(
        self, cache: ClusterCache, client: KubeClient, recorder: EventRecorder, watched: Sequence[str] = ()
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.watched = tuple(watched)
        """The namespaces the operator watches; all when empty."""
        self._edges: dict[str, tuple[int, dict[Key, list[Key]]]] = {}

    def problems(self, key: Key, spec: PipelineSpec) -> list[str]:
        """What stops the triggers that the spec alone cannot tell: loops through other Pipelines,
        namespaces the operator does not watch, upstream Pipelines that do not allow this namespace."""
        errors: list[str] = []
        edges: dict[Key, list[Key]] = dict(self.cache.trigger_edges)
        if self.cache.dataset_triggered:
            for downstream, sources in self._dataset_edges(key[0]).items():
                edges[downstream] = [*edges.get(downstream, []), *sources]
        loop = trigger_loops(edges).get(key)
        if loop is not None:
            errors.append(f"trigger loop: {loop} (each run would start the next forever)")
        for index, trigger in enumerate(spec.triggers):
            upstream = upstream_of(trigger, key[0])
            if upstream is None or upstream[0] == key[0]:
                continue
            if self.watched and upstream[0] not in self.watched:
                errors.append(f'triggers[{index}]: the operator does not watch namespace "{upstream[0]}"')
            found = self.cache.pipelines.get(upstream)
            if found is not None and not allowed(found.get("spec"), key[0], upstream[0]):
                errors.append(
                    f"triggers[{index}]: pipeline {upstream[0]}/{upstream[1]} does not allow triggers from "
                    f'namespace "{key[0]}" (its spec.allowTriggersFrom)'
                )
        return errors

    def _dataset_edges(self, namespace: str) -> dict[Key, list[Key]]:
        """The namespace's trigger edges through datasets, derived again only when a spec there changed."""
        version = self.cache.spec_versions.get(namespace, 0)
        known = self._edges.get(namespace)
        if known is None or known[0] != version:
            specs = {k: p.get("spec") or {} for k, p in self.cache.pipelines.items() if k[0] == namespace}
            known = self._edges[namespace] = (version, dataset_trigger_edges(specs))
        return known[1]

    async def fire(
        self, key: Key, pipeline: Obj, spec: PipelineSpec, status: PipelineStatus, now: datetime
    ) -> Triggered:
        meta = pipeline["metadata"]
        recorded, created = (
            time_or_none(status.triggered_through),
            time_or_none(meta.get("creationTimestamp")),
        )
        if recorded is not None:
            since = recorded
        elif int(meta.get("generation") or 1) <= 1 and created is not None:
            since = min(created, now)  # triggered since it exists
        else:
            # Triggers added later fire for what ends from now on, not for the past. Completion times have
            # second precision: from the next whole second, so that what ended this second stays past.
            since = now.replace(microsecond=0) + timedelta(seconds=1) if now.microsecond else now
        upstream = [
            found
            for trigger in spec.triggers
            if (pipeline_key := upstream_of(trigger, key[0])) is not None
            for run_key in self.cache.runs_of_pipeline(pipeline_key)
            if (run := self.cache.runs.get(run_key)) is not None
            and (found := _upstream_run(run, pipeline_key[1])) is not None
        ]
        patterns = [trigger.dataset for trigger in spec.triggers if trigger.dataset is not None]
        if patterns:
            upstream += dataset_updates(self.cache.datasets, key[0], patterns)
        handled = status.triggered_runs if recorded is not None else None
        decision = decide_triggers(key[1], key[0], spec, since, upstream, handled)
        made = await asyncio.gather(*(self._create(pipeline, run) for run in decision.create))
        if not all(made):
            return Triggered(status.triggered_through, list(status.triggered_runs), retry=True)
        through = max(decision.through or since, since)
        # Runs that existed already (another operator, or a reconcile before a restart): said before.
        events = [e for e in decision.events if e.reason != "Triggered" or "created" in made]
        return Triggered(format_time(through), list(decision.handled), events)

    async def _create(self, pipeline: Obj, run: TriggeredRun) -> str | None:
        namespace = pipeline["metadata"].get("namespace") or ""
        upstream = f"{run.upstream.namespace}/{run.upstream.name}"
        update = run.upstream.dataset
        if update is None:
            why = {TRIGGERED_BY: upstream}
            ended = f"pipeline {run.upstream.pipeline} ended {run.upstream.phase}"
            message = f"started because run {upstream} of {ended}"
        else:
            slice_ = f"#{update.partition}" if update.partition else ""
            why = {TRIGGERED_BY: upstream, TRIGGERED_BY_DATASET: f"{update.uri}{slice_}"}
            written = f" partition {update.partition}" if update.partition else ""
            message = (
                f"started because task {update.task} of run {run.upstream.name} wrote {update.uri}{written}"
            )
        body = created_run(pipeline, run.name, run.params, why, "pipeline" if update is None else "dataset")
        created = await create_run(self.client, self.cache, namespace, body, "triggered")
        if created is None or created is EXISTS:
            return None if created is None else "exists"
        await self.recorder.record(created, [Event(EventType.NORMAL, "TriggeredBy", message)])
        return "created"
