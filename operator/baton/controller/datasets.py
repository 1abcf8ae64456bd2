"""Dataset objects: record what runs wrote, read and checked, and keep each one's Fresh condition.

Recording happens before the run's status that says a task succeeded is stored (``runwriter``): after a
crash in between, the next operator finds the same transition and records it again, which changes nothing
(``baton.core.dataset_status.record`` is idempotent). Every status write carries the resourceVersion it
was computed from; a conflict re-reads the Dataset and computes again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from baton.api.common import from_wire, to_dict
from baton.api.dataset import DatasetSpec, DatasetStatus
from baton.core.api_retry import worth_retrying
from baton.core.dataset_status import FRESH, STALE, Role, Touch, fresh_condition, freshness, record
from baton.core.events import Event, EventType
from baton.core.status import format_time, set_condition, time_or_none
from baton.kube.datasets import dataset_body

from . import metrics
from .cache import ClusterCache, Key, Obj
from .client import ApiFailure, KubeClient
from .paths import datasets_path
from .recorder import EventRecorder

log = logging.getLogger(__name__)

RESOURCE = "datasets.baton.dev"
ATTEMPTS = 5
"""Writes of one Dataset tried before giving up (each conflict means someone else just wrote it)."""


class DatasetKeeper:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        recorder: EventRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        requeue: Callable[[Key, float], None] = lambda key, delay: None,
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.requeue = requeue
        """Reconcile the Dataset again after a delay (seconds): when it turns stale."""
        self._locks: dict[Key, asyncio.Lock] = {}

    async def record(self, namespace: str, touches: Sequence[Touch]) -> None:
        """Record ``touches`` on their Datasets, creating those that do not exist yet."""
        by_uri: dict[str, list[Touch]] = {}
        for touch in touches:
            by_uri.setdefault(touch.uri, []).append(touch)
        await asyncio.gather(*(self._record_safely(namespace, uri, found) for uri, found in by_uri.items()))

    async def _record_safely(self, namespace: str, uri: str, touches: list[Touch]) -> None:
        try:
            await self._record_one(namespace, uri, touches)
        except ApiFailure as failure:
            if worth_retrying(failure.code):
                raise  # the run's status waits: its reconcile is retried, and records this again
            # Refused for good (RBAC without datasets, an admission policy): the run must not wait for
            # lineage forever. Say so loudly; the run goes on.
            log.error("cannot record on the Dataset of %s in %s: %s", uri, namespace, str(failure)[:300])

    async def _record_one(self, namespace: str, uri: str, touches: list[Touch]) -> None:
        key = self.cache.dataset_for(namespace, uri)
        # One write at a time per Dataset in this operator: runs finishing together would otherwise race
        # each other through conflicts (the precondition stays, for writers outside this process).
        async with self._locks.setdefault(key, asyncio.Lock()):
            await self._record_locked(key, namespace, uri, touches)

    async def _record_locked(self, key: Key, namespace: str, uri: str, touches: list[Touch]) -> None:
        obj = self.cache.datasets.get(key) or await self._create(namespace, uri)
        for _ in range(ATTEMPTS):
            if (obj.get("spec") or {}).get("uri") != uri:
                log.warning("Dataset %s/%s is for another URI than %s: not recording on it", *key, uri)
                return
            old = _status(obj)
            new = record(old, touches, format_time(self.clock()))
            if new == old:
                return
            patch = {
                "metadata": {"resourceVersion": obj["metadata"].get("resourceVersion")},
                "status": to_dict(new),
            }
            try:
                written = await self.client.merge_patch(
                    datasets_path(*key, status=True), patch, resource=RESOURCE
                )
            except ApiFailure as failure:
                if failure.code not in (404, 409):
                    raise
                obj = (
                    await self._fresh(namespace, uri)
                    if failure.code == 409
                    else await self._create(namespace, uri)
                )
                continue
            self.cache.observe_dataset("MODIFIED", written)
            _count(namespace, key[1], old, new, touches)
            self.requeue(key, 0.0)  # its freshness may have changed
            return
        # Someone else keeps writing it: let the run's status write wait, and its reconcile try again.
        raise ApiFailure(
            409, "Conflict", f"Dataset {key[0]}/{key[1]}: still conflicting after {ATTEMPTS} writes"
        )

    async def _create(self, namespace: str, uri: str) -> Obj:
        try:
            created = await self.client.create(
                datasets_path(namespace), dataset_body(namespace, uri), resource=RESOURCE
            )
        except ApiFailure as failure:
            if failure.code != 409:
                raise
            return await self._fresh(namespace, uri)
        self.cache.observe_dataset("ADDED", created)
        return created

    async def _fresh(self, namespace: str, uri: str) -> Obj:
        found = await self.client.get(
            datasets_path(*self.cache.dataset_for(namespace, uri)), resource=RESOURCE
        )
        self.cache.observe_dataset("MODIFIED", found)
        return found

    async def reconcile(self, key: Key) -> None:
        """Keep the Dataset's Fresh condition true to its spec, and wake when it will turn stale."""
        obj = self.cache.datasets.get(key)
        if obj is None:
            return
        try:
            spec = from_wire(DatasetSpec, obj.get("spec") or {})
            status = _status(obj)
        except ValidationError as error:
            log.warning("Dataset %s/%s cannot be read: %s", *key, str(error).splitlines()[0])
            return
        now = self.clock()
        meta = obj["metadata"]
        generation = int(meta.get("generation") or 1)
        found = freshness(spec, status, time_or_none(meta.get("creationTimestamp")), now)
        previous = next((c for c in status.conditions if c.type == FRESH), None)
        if found is None:
            if previous is None:
                return
            conditions = [c for c in status.conditions if c.type != FRESH]
        else:
            if found.stale_at is not None:
                self.requeue(key, max(0.0, (found.stale_at - now).total_seconds()) + 0.01)
            condition = fresh_condition(found, previous, generation, now)
            if previous is not None and previous.model_copy(update={"last_transition_time": ""}) == (
                condition.model_copy(update={"last_transition_time": ""})
            ):
                return
            conditions = set_condition(status.conditions, condition)
        new = status.model_copy(update={"conditions": conditions, "observed_generation": generation})
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": to_dict(new)}
        try:
            written = await self.client.merge_patch(
                datasets_path(*key, status=True), patch, resource=RESOURCE
            )
        except ApiFailure as failure:
            if failure.code in (404, 409):
                self.requeue(key, 0.5)  # it changed meanwhile: look again at what is there now
                return
            raise
        self.cache.observe_dataset("MODIFIED", written)
        if found is not None and (previous is None or previous.status != new.conditions[-1].status):
            stale = not found.fresh
            if stale or previous is not None:
                event = Event(
                    EventType.WARNING if stale else EventType.NORMAL, STALE if stale else FRESH, found.message
                )
                await self.recorder.record(written, [event])

    def gauges(self) -> list[tuple[str, str, str, float | None, bool | None]]:
        """(namespace, dataset, uri, age in seconds, fresh) of every Dataset, for the metrics."""
        now = self.clock()
        found = []
        for (namespace, name), obj in list(self.cache.datasets.items()):  # the scrape's thread: a snapshot
            raw = obj.get("status") or {}
            updated = time_or_none(raw.get("lastUpdated"))
            partitions = raw.get("partitions") or []
            if partitions and isinstance(partitions[0], dict):
                updated = time_or_none(partitions[0].get("lastUpdated")) or updated
            age = (now - updated).total_seconds() if updated else None
            fresh = next(
                (c.get("status") for c in raw.get("conditions") or () if c.get("type") == FRESH), None
            )
            found.append(
                (
                    namespace,
                    name,
                    str((obj.get("spec") or {}).get("uri", "")),
                    age,
                    None if fresh is None else fresh == "True",
                )
            )
        return found


def _status(obj: Obj) -> DatasetStatus:
    return DatasetStatus.model_validate(obj.get("status") or {})


def _count(
    namespace: str, name: str, old: DatasetStatus, new: DatasetStatus, touches: Sequence[Touch]
) -> None:
    if new.updates > old.updates:
        metrics.DATASET_UPDATES.labels(namespace=namespace, dataset=name).inc(new.updates - old.updates)
    known = {(c.run, c.task, c.partition) for c in old.checks}
    for touch in touches:
        if touch.role is Role.CHECKED and (touch.ref.run, touch.ref.task, touch.ref.partition) not in known:
            result = "passed" if touch.passed else "failed"
            severity = touch.severity.value if touch.severity else "Error"
            metrics.DATASET_CHECKS.labels(
                namespace=namespace, dataset=name, severity=severity, result=result
            ).inc()
