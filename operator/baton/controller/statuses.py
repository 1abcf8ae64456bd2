"""The Pipeline's status: Ready (is the spec valid), task count, its last run, and its schedule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from baton.api.common import to_dict
from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.core.events import Event, EventType
from baton.core.pipelines import RunSeen, last_run, pipeline_status
from baton.core.triggers import trigger_loops

from .cache import ClusterCache, Key
from .client import ApiFailure, KubeClient
from .paths import pipelines_path
from .recorder import EventRecorder
from .scheduler import PipelineScheduler, queued_runs, runs_view
from .triggering import PipelineTriggers

log = logging.getLogger(__name__)

WAKE_AFTER = 0.01
"""Seconds after a slot that its timer fires, so that the slot is due when the Pipeline is reconciled."""
WAKE_AGAIN_WITHIN = 1.0
"""A slot this close is always given a new timer (the last one may have fired a moment too early)."""
RETRY_SECONDS = 2.0
"""A create of the operator's own runs failed: try again after this long."""


class PipelineStatusWriter:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        recorder: EventRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        schedule_clock: Callable[[], datetime] | None = None,
        requeue: Callable[[Key, float], None] = lambda key, delay: None,
        enqueue_run: Callable[[Key], None] = lambda key: None,
        watched: Sequence[str] = (),
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.scheduler = PipelineScheduler(cache, client, schedule_clock or clock)
        self.triggers = PipelineTriggers(cache, client, recorder, watched)
        self.requeue = requeue
        """Reconcile the Pipeline again after a delay (seconds): its next slot."""
        self.enqueue_run = enqueue_run
        self._wakes: dict[Key, datetime] = {}

    def _current(self, key: Key) -> tuple[dict[str, Any] | None, PipelineStatus | None]:
        pipeline = self.cache.pipelines.get(key)
        if pipeline is None:
            return None, None
        try:
            return dict(pipeline), PipelineStatus.model_validate(pipeline.get("status") or {})
        except ValueError:
            return dict(pipeline), None  # a status someone else broke is rewritten from scratch

    async def reconcile(self, key: Key) -> None:
        pipeline, current = self._current(key)
        if pipeline is None:
            self._wakes.pop(key, None)
            return
        generation = int(pipeline["metadata"].get("generation") or 1)
        raw_spec = pipeline.get("spec") or {}
        parsed, errors = self.cache.specs.check(key, raw_spec)
        before = current or PipelineStatus()
        beyond = self.triggers.problems(key, parsed) if parsed is not None and parsed.triggers else []
        if key in self.cache.child_edges:
            nested = trigger_loops(self.cache.child_edges, " -> ").get(key)
            if nested is not None:
                beyond.append(f"sub-pipeline recursion: {nested} (each run would start the next forever)")
        checked = (parsed, errors)
        new = pipeline_status(raw_spec, generation, current, self.clock(), beyond, checked) or before
        new = last_run(new, self._runs_seen(key))
        events: list[Event] = []
        if parsed is not None and not errors and not beyond:
            new, events = await self._run_itself(key, pipeline, parsed, new)
        else:
            new = new.model_copy(update={"next_schedule_time": None})
        if new == before:
            return
        written = await self._patch(key, new, current)
        was_ready = next((c for c in before.conditions if c.type == "Ready"), None)
        ready = next((c for c in new.conditions if c.type == "Ready"), None)
        if (
            ready is not None
            and ready.reason == "Invalid"
            and (was_ready is None or was_ready.message != ready.message)
        ):
            events.append(Event(EventType.WARNING, "Invalid", ready.message))
        if written is not None and events:
            await self.recorder.record(written, events)

    async def _run_itself(
        self, key: Key, pipeline: dict[str, Any], spec: PipelineSpec, new: PipelineStatus
    ) -> tuple[PipelineStatus, list[Event]]:
        """Its schedule, its triggers, its history and its queue: the status to record, and Events."""
        scheduled = await self.scheduler.schedule(key, pipeline, spec, new)
        update: dict[str, object] = {
            "last_schedule_time": scheduled.last_schedule_time,
            "next_schedule_time": scheduled.next_schedule_time,
            "last_scheduled_run": scheduled.last_scheduled_run,
        }
        events = scheduled.events
        if scheduled.wake_at is not None:
            self._wake(key, scheduled.wake_at)
        if spec.triggers:
            triggered = await self.triggers.fire(key, pipeline, spec, new, self.clock())
            update["triggered_through"] = triggered.through
            update["triggered_runs"] = triggered.handled
            events += triggered.events
            if triggered.retry:
                self.requeue(key, RETRY_SECONDS)
        if spec.max_active_runs is not None:
            for run_key in queued_runs(self.cache, key):
                self.enqueue_run(run_key)  # a place may have become free
        return new.model_copy(update=update), events

    def _wake(self, key: Key, at: datetime) -> None:
        """One timer per slot, however often the Pipeline reconciles; a timer that fired a little early
        (the work queue's clock is not the wall clock) finds the slot not due yet and sets it again."""
        delay = (at - self.scheduler.clock()).total_seconds()
        if self._wakes.get(key) == at and delay > WAKE_AGAIN_WITHIN:
            return
        self._wakes[key] = at
        self.requeue(key, max(0.0, delay) + WAKE_AFTER)

    def _runs_seen(self, key: Key) -> list[RunSeen]:
        seen = []
        for run in runs_view(self.cache, key):
            meta, status = run.get("metadata") or {}, run.get("status") or {}
            created = str(meta.get("creationTimestamp") or "")
            seen.append(RunSeen(meta.get("name", ""), status.get("phase"), status.get("startTime"), created))
        return seen

    async def _patch(
        self, key: Key, status: PipelineStatus, before: PipelineStatus | None
    ) -> dict[str, Any] | None:
        """Write the fields that changed from `before` (all of them when there is none: a status someone
        broke). Only those: a run's reconcile recording its start and the Pipeline's own reconcile may write
        at once, each from its own snapshot, and neither may put back an older value of the other's."""
        body = to_dict(status)
        if before is None:
            for field in ("lastRun", "lastRunStatus", "taskCount", "nextScheduleTime"):
                body.setdefault(field, None)
        else:
            old = to_dict(before)
            gone = {k: None for k in old if k not in body}
            body = {k: v for k, v in body.items() if old.get(k) != v} | gone
        if not body:
            return None
        try:
            written = await self.client.merge_patch(
                pipelines_path(*key), {"status": body}, resource="pipelines.baton.dev"
            )
        except ApiFailure as failure:
            if failure.code != 404:
                log.warning("could not update the status of Pipeline %s/%s: %s", key[0], key[1], failure)
            return None
        self.cache.observe_pipeline("MODIFIED", written)
        return written
