"""Kubernetes Events on runs and Pipelines: few, meaningful, and cheap.

Every Event is an API request, and the budget is two requests per task, Job included. So, like
client-go's event correlator, the recorder rate-limits per object, and what it holds back is posted as
one Event, filed under the most significant transition, whose message tells all of them in order:

- outcomes, failures, retries and answers to a user's action go at once (with what waited);
- other news at most once per `interval` (1 s) per object;
- progress (tasks starting and succeeding, which the run's status shows as it happens) waits up to
  `progress_interval` (30 s) for the next of those: a run of a few minutes tells its whole story in its
  outcome's Event, a long one in an Event every half minute.

Events are best-effort in Kubernetes too: a crash may drop what waited, never any state.
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
PROGRESS_INTERVAL = 30.0
"""Seconds progress may wait for an Event to ride with."""
PROGRESS = frozenset({"TaskStarted", "TaskSucceeded"})
# Outcomes, failures and answers to a user's action are posted at once.
_IMMEDIATE = frozenset(
    {
        "TaskFailed",
        "TaskRetrying",
        "LeaderElection",
        "CRDsOutOfDate",
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
        "RunRequested",
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
    "RunRequested",
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
    # Progress never names an Event that tells anything else (a reason new to this list, say).
    ranked = sorted(
        events,
        key=lambda e: (
            e.reason in PROGRESS,
            _PRECEDENCE.index(e.reason) if e.reason in _PRECEDENCE else len(_PRECEDENCE),
        ),
    )
    kind = EventType.WARNING if any(e.type is EventType.WARNING for e in events) else EventType.NORMAL
    # The story in the order it happened (what started before what ended), each line once.
    message = "; ".join(dict.fromkeys(e.message for e in events))
    if len(message) > MAX_MESSAGE:
        # Too long: what failed and how it ended outweigh what merely progressed (which the run's status
        # records anyway), so the progress is what gives way.
        news = [e.message for e in events if e.reason not in PROGRESS]
        progressed = len(events) - len(news)
        told = f"{progressed} task start(s) and success(es), in the run's status; " if progressed else ""
        message = told + "; ".join(dict.fromkeys(news))
    return Event(kind, ranked[0].reason, shorten(message, MAX_MESSAGE))


class EventRecorder:
    def __init__(
        self,
        client: KubeClient,
        clock: Any = None,
        interval: float = INTERVAL,
        progress_interval: float = PROGRESS_INTERVAL,
    ) -> None:
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))
        self.interval = interval
        self.progress_interval = progress_interval
        self.instance = os.environ.get("POD_NAME") or socket.gethostname()
        self.own_namespace = "default"
        """Where Events about cluster-scoped objects go (the operator sets its own namespace)."""
        # Per involved object (uid): what waits to be posted, the object as last seen, last post time.
        self._pending: dict[str, tuple[Mapping[str, Any], list[Event]]] = {}
        self._last_post: dict[str, float] = {}
        self._flushers: dict[str, tuple[float, asyncio.Task[None]]] = {}  # uid → (when, its flush)
        self._held_since: dict[str, float] = {}  # uid → when its oldest pending Event came

    async def record(self, involved: Mapping[str, Any], events: Sequence[Event]) -> None:
        if not events:
            return
        uid = str(involved["metadata"].get("uid", ""))
        _, pending = self._pending.get(uid, (involved, []))
        pending = [*pending, *events]
        self._pending[uid] = (involved, pending)
        now = asyncio.get_running_loop().time()
        held_since = self._held_since.setdefault(uid, now)
        if any(e.reason in _IMMEDIATE for e in pending):
            due = now
        elif all(e.reason in PROGRESS for e in pending):
            due = held_since + self.progress_interval
        else:
            due = self._last_post.get(uid, -self.interval) + self.interval
        if due <= now:
            await self._flush(uid)
            return
        scheduled = self._flushers.get(uid)
        if scheduled is not None and scheduled[0] <= due:
            return
        if scheduled is not None:
            scheduled[1].cancel()
        self._flushers[uid] = (due, asyncio.create_task(self._flush_later(uid, due - now)))

    async def _flush_later(self, uid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flushers.pop(uid, None)
        await self._flush(uid)

    async def _flush(self, uid: str) -> None:
        scheduled = self._flushers.pop(uid, None)
        if scheduled is not None and scheduled[1] is not asyncio.current_task():
            scheduled[1].cancel()
        self._held_since.pop(uid, None)
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
