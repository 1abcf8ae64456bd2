"""The Pipeline's status: Ready (is the spec valid), task count, and its last run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from baton import GROUP, VERSION
from baton.api.common import to_dict
from baton.api.pipeline import PipelineStatus
from baton.api.run import RunPhase
from baton.core.events import Event, EventType
from baton.core.pipelines import pipeline_status, record_run

from .cache import ClusterCache, Key
from .client import ApiFailure, KubeClient
from .recorder import EventRecorder

log = logging.getLogger(__name__)


def pipelines_path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/pipelines/{name}/status"


class PipelineStatusWriter:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        recorder: EventRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.clock = clock

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
            return
        generation = int(pipeline["metadata"].get("generation") or 1)
        new = pipeline_status(pipeline.get("spec") or {}, generation, current, self.clock())
        if new is None:
            return
        written = await self._patch(key, new)
        was_ready = next((c for c in current.conditions if c.type == "Ready"), None) if current else None
        ready = next((c for c in new.conditions if c.type == "Ready"), None)
        if (
            written is not None
            and ready is not None
            and ready.reason == "Invalid"
            and (was_ready is None or was_ready.message != ready.message)
        ):
            await self.recorder.record(written, [Event(EventType.WARNING, "Invalid", ready.message)])

    async def record_run(
        self, namespace: str, pipeline: str | None, run: str, phase: RunPhase, *, started: bool
    ) -> None:
        if not pipeline:
            return
        key = (namespace, pipeline)
        _, current = self._current(key)
        if current is None and key not in self.cache.pipelines:
            return
        new = record_run(current, run, phase, started=started)
        if new is not None:
            await self._patch(key, new)

    async def _patch(self, key: Key, status: PipelineStatus) -> dict[str, Any] | None:
        body = to_dict(status)
        for field in ("lastRun", "lastRunStatus", "taskCount"):
            body.setdefault(field, None)
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
