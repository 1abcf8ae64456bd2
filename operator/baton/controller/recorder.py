"""Kubernetes Events on runs and Pipelines: few, meaningful, and cheap.

Every Event is an API request, and the budget is two or three requests per task, so the Events one
reconcile produces (task k succeeded, task k+1 started) are posted as one Event whose reason is the
most significant transition and whose message tells all of them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from baton.core.events import Event, EventType
from baton.core.status import format_time

from .client import ApiFailure, KubeClient

log = logging.getLogger(__name__)

COMPONENT = "baton-operator"
MAX_MESSAGE = 1024
# Most significant first: the reason a combined Event is filed under.
_PRECEDENCE = ("RunFailed", "RunSucceeded", "Invalid", "PipelineNotFound", "TaskFailed", "TasksSkipped",
               "TaskSucceeded", "TaskStarted")


def combine(events: Sequence[Event]) -> Event | None:
    """One Event standing for all of `events` (None for none)."""
    if not events:
        return None
    if len(events) == 1:
        return events[0]
    ranked = sorted(events, key=lambda e: _PRECEDENCE.index(e.reason) if e.reason in _PRECEDENCE
                    else len(_PRECEDENCE))
    kind = EventType.WARNING if any(e.type is EventType.WARNING for e in events) else EventType.NORMAL
    message = "; ".join(e.message for e in ranked)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return Event(kind, ranked[0].reason, message)


class EventRecorder:
    def __init__(self, client: KubeClient, clock: Any = None) -> None:
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))
        self.instance = os.environ.get("POD_NAME") or socket.gethostname()

    async def record(self, involved: Mapping[str, Any], events: Sequence[Event]) -> None:
        event = combine(events)
        if event is None:
            return
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        now = format_time(self.clock())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", ""),
                "kind": involved.get("kind", ""),
                "name": meta["name"],
                "namespace": namespace,
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
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
            log.warning("could not post Event %s on %s/%s: %s", event.reason, namespace, meta["name"], failure)
