"""core/v1 Events posted by the dev cluster's own components, so `kubectl describe` tells the story.

Kept deliberately cheap: one store write per Event, no aggregation of repeats (the real recorder
bumps `count` on an existing Event instead). A failed write is logged and dropped, as the real
recorder drops Events it cannot post.
"""

from __future__ import annotations

import logging
import time

from . import errors
from .store import Obj, Store, rfc3339

log = logging.getLogger(__name__)


class EventRecorder:
    def __init__(self, store: Store, component: str, host: str | None = None) -> None:
        self.store = store
        self.component = component
        self.host = host
        self._last_stamp = 0

    def record(
        self, obj: Obj, type_: str, reason: str, message: str, *, field_path: str | None = None
    ) -> None:
        """Post one Event about `obj` (type_ is Normal or Warning)."""
        rt = self.store.registry.storage("", "events")
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        if rt is None or not self.store.namespace_exists(namespace):
            return
        now = rfc3339(self.store.clock())
        # Named like the real recorder's Events: the object's name and a nanosecond timestamp in hex,
        # kept strictly increasing so that two Events in the same nanosecond do not collide.
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        involved: Obj = {
            "kind": obj.get("kind"),
            "namespace": namespace,
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{self._last_stamp:x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host or "",
        }
        try:
            self.store.create(rt, namespace, event)
        except errors.ApiError as error:
            log.debug("event %s about %s dropped: %s", reason, meta.get("name"), error.message)
