"""Kubernetes Events on runs and Pipelines: few, meaningful, and cheap.

Every Event is an API request, and the budget is two or three requests per task. So, like client-go's
event correlator, the recorder rate-limits per object: what one object's reconciles report within
`interval` is posted as one Event, filed under the most significant transition, whose message tells
all of them. The outcome of a run (or an invalid spec) is posted at once. Events are best-effort in
Kubernetes too: a crash may drop the last second's worth, never any state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from baton.core.events import Event, EventType
from baton.core.status import format_time, shorten

from .client import ApiFailure, KubeClient

log = logging.getLogger(__name__)

COMPONENT = "baton-operator"
INTERVAL = 1.0
"""Seconds between two Events on one object, unless the later one reports an outcome."""
# Outcomes and answers to a user's action are posted at once; progress waits for the interval.
_IMMEDIATE = frozenset(
    {
        "RunFailed",
        "RunSucceeded",
        "RunCancelled",
        "RunTimeout",
        "RunSuspended",
        "RunResumed",
        "Invalid",
        "PipelineNotFound",
        "RetryStarted",
        "RetryOfNotFound",
        "RetryOfNotFinished",
    }
)
MAX_MESSAGE = 1024
# Most significant first: the reason a combined Event is filed under.
_PRECEDENCE = (
    "RunFailed",
    "RunTimeout",
    "RunCancelled",
    "RunSucceeded",
    "Invalid",
    "PipelineNotFound",
    "RetryOfNotFound",
    "RetryOfNotFinished",
    "RunSuspended",
    "RunResumed",
    "RetryStarted",
    "TaskFailed",
    "TaskRetrying",
    "ExceededQuota",
    "TasksStopped",
    "TasksSkipped",
    "TaskSucceeded",
    "TaskStarted",
)


def combine(events: Sequence[Event]) -> Event | None:
    """One Event standing for all of `events` (None for none), filed under the most significant reason;
    its message tells them in the order they happened."""
    if not events:
        return None
    if len(events) == 1:
        return events[0]
    ranked = sorted(
        events, key=lambda e: _PRECEDENCE.index(e.reason) if e.reason in _PRECEDENCE else len(_PRECEDENCE)
    )
    kind = EventType.WARNING if any(e.type is EventType.WARNING for e in events) else EventType.NORMAL
    # The story in the order it happened (what started before what ended), each line once.
    message = shorten("; ".join(dict.fromkeys(e.message for e in events)), MAX_MESSAGE)
    return Event(kind, ranked[0].reason, message)


class EventRecorder:
    def __init__(self, client: KubeClient, clock: Any = None, interval: float = INTERVAL) -> None:
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))
        self.interval = interval
        self.instance = os.environ.get("POD_NAME") or socket.gethostname()
        self.own_namespace = "default"
        """Where Events about cluster-scoped objects go (the operator sets its own namespace)."""
        # Per involved object (uid): what waits to be posted, the object as last seen, last post time.
        self._pending: dict[str, tuple[Mapping[str, Any], list[Event]]] = {}
        self._last_post: dict[str, float] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}

    async def record(self, involved: Mapping[str, Any], events: Sequence[Event]) -> None:
        if not events:
            return
        uid = str(involved["metadata"].get("uid", ""))
        _, pending = self._pending.get(uid, (involved, []))
        self._pending[uid] = (involved, [*pending, *events])
        now = asyncio.get_running_loop().time()
        wait = self._last_post.get(uid, -self.interval) + self.interval - now
        if wait <= 0 or any(e.reason in _IMMEDIATE for e in events):
            await self._flush(uid)
        elif uid not in self._flushers:
            self._flushers[uid] = asyncio.create_task(self._flush_later(uid, wait))

    async def _flush_later(self, uid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flushers.pop(uid, None)
        await self._flush(uid)

    async def _flush(self, uid: str) -> None:
        flusher = self._flushers.pop(uid, None)
        if flusher is not None and flusher is not asyncio.current_task():
            flusher.cancel()
        involved, events = self._pending.pop(uid, ({}, []))
        if not events:
            return
        self._last_post[uid] = asyncio.get_running_loop().time()
        if len(self._last_post) > 10_000:  # forget objects not heard of for a long time
            oldest = sorted(self._last_post, key=self._last_post.__getitem__)[:5_000]
            for key in oldest:
                self._last_post.pop(key, None)
        await self._post(involved, events)

    async def close(self) -> None:
        """Post what is pending (called when the operator stops)."""
        for uid in list(self._pending):
            with contextlib.suppress(Exception):
                await self._flush(uid)

    async def _post(self, involved: Mapping[str, Any], events: Sequence[Event]) -> None:
        event = combine(events)
        if event is None:
            return
        meta = involved["metadata"]
        # An Event about a cluster-scoped object (a CRD) lives in the operator's own namespace, the one
        # namespace it may always post in; its involvedObject has no namespace, as Kubernetes' own.
        namespace = meta.get("namespace") or self.own_namespace
        now = format_time(self.clock())
        involved_object = {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if meta.get("namespace"):
            involved_object["namespace"] = namespace
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
            "involvedObject": involved_object,
            "reason": event.reason,
            "message": event.message,
            "type": event.type.value,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.client.create(f"/api/v1/namespaces/{namespace}/events", body, resource="events")
        except ApiFailure as failure:
            # An Event is a courtesy; failing to post one must never fail the reconcile.
            log.warning(
                "could not post Event %s on %s/%s: %s", event.reason, namespace, meta["name"], failure
            )
