"""List-then-watch of Baton's Jobs and Pods, as client-go's reflector does it, without kopf's per-event cost.

A wide run brings several Job and Pod events per task. kopf turns every event into a worker task,
a body wrapper, a patch, three loggers and a handler lookup, which made it the operator's largest cost
in a 1,000-wide fan-out; the runs and Pipelines (few events each) stay with kopf. Here an event is a
line of JSON: decoded, trimmed to what the planner reads (`baton.kube.trim`), handed to the cache.

What keeps it correct over hours (the reflector's rules):
- the first list pages through the objects (limit/continue) and delivers them as event type None,
  as kopf does for what it lists at start-up; a re-list also delivers DELETED for what vanished
  meanwhile, so a deletion missed while disconnected is not missed for good;
- the watch resumes from the last resourceVersion seen (bookmarks keep it fresh when nothing
  changes), so a dropped connection replays what it missed;
- a 410 Gone (the history no longer reaches back that far) re-lists; any other failure waits with
  a growing backoff and tries again: the informer never gives up while the operator runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from .client import ApiFailure, KubeClient

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
Handler = Callable[[str | None, dict[str, Any]], None]
Transform = Callable[[dict[str, Any]], dict[str, Any]]

PAGE = 500
WATCH_SECONDS = 300
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)
MIN_WATCH_SECONDS = 0.2
QUIET_TURNS = 3
"""Turns of the event loop with nothing delivered after which received events count as handled: bytes on
the socket take one turn to reach the HTTP parser, one for the informer's task to wake, one to run it."""
MAX_TURNS = 16
"""A steady stream of events does not hold a reconcile back longer than this many turns."""


class Expired(Exception):
    """The watch's resourceVersion is older than the server's history: list again."""


class Informer:
    """Keeps `handler` told of every object of one resource at `path` that matches `selector`."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        resource: str,
        selector: str,
        handler: Handler,
        transform: Transform = lambda obj: obj,
    ) -> None:
        self.client = client
        self.path = path
        self.resource = resource
        self.selector = selector
        self.handler = handler
        self.transform = transform
        self.synced = asyncio.Event()
        """Set once the first list has been delivered."""
        self._known: dict[tuple[str, str], dict[str, Any]] = {}  # what the handler was last told, by key
        self._failures = 0
        self.delivered = 0
        """Events handed to the handler so far (see `catch_up`)."""

    async def run(self) -> None:
        resource_version: str | None = None
        while True:
            try:
                if resource_version is None:
                    resource_version = await self._list()
                    self.synced.set()
                began = asyncio.get_running_loop().time()
                resource_version = await self._watch(resource_version)
                self._failures = 0
                if asyncio.get_running_loop().time() - began < MIN_WATCH_SECONDS:
                    await asyncio.sleep(MIN_WATCH_SECONDS)  # a server that ends every watch at once
            except asyncio.CancelledError:
                raise
            except Expired:
                log.info("watch of %s expired; listing again", self.resource)
                resource_version = None
            except (ApiFailure, aiohttp.ClientError, TimeoutError, ValueError, OSError) as error:
                if isinstance(error, ApiFailure) and error.code == 410:  # Gone as the watch's own status
                    log.info("watch of %s expired (410); listing again", self.resource)
                    resource_version = None
                    continue
                delay = BACKOFF[min(self._failures, len(BACKOFF) - 1)]
                self._failures += 1
                log.warning("watching %s failed (%s); again in %gs", self.resource, error, delay)
                await asyncio.sleep(delay)

    # -- list ---------------------------------------------------------------------------------------

    async def _list(self) -> str:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        params = {"labelSelector": self.selector, "limit": str(PAGE)}
        while True:
            page = await self.client.request(
                "GET", self.path, params=params, verb="list", resource=self.resource
            )
            for item in page.get("items") or ():
                obj = self.transform(item)
                seen[_key(obj)] = obj
                self._tell(None, obj)
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
            params = {**params, "continue": token}
        for key, obj in self._known.items():
            if key not in seen:  # deleted while nobody watched
                self._tell("DELETED", obj)
        self._known = seen
        return str(metadata.get("resourceVersion") or "")

    # -- watch --------------------------------------------------------------------------------------

    async def _watch(self, resource_version: str) -> str:
        params = {
            "watch": "true",
            "labelSelector": self.selector,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        stream = self.client.stream(self.path, params, resource=self.resource, seconds=WATCH_SECONDS)
        async for line in stream:
            resource_version = self._event(line) or resource_version
        return resource_version

    def _event(self, line: bytes) -> str | None:
        """Deliver one watch event; the resourceVersion to resume from after it."""
        frame = json.loads(line)
        event_type, raw = frame.get("type"), frame.get("object") or {}
        if event_type == "ERROR":
            if raw.get("code") == 410:
                raise Expired()
            code, reason = int(raw.get("code") or 500), str(raw.get("reason") or "")
            raise ApiFailure(code, reason, str(raw.get("message") or "the watch ended with an error"))
        version = (raw.get("metadata") or {}).get("resourceVersion")
        if event_type == "BOOKMARK":
            return str(version) if version else None
        obj = self.transform(raw)
        key = _key(obj)
        if event_type == "DELETED":
            self._known.pop(key, None)
        else:
            self._known[key] = obj
        self._tell(event_type, obj)
        return str(version) if version else None

    def _tell(self, event_type: str | None, obj: dict[str, Any]) -> None:
        self.delivered += 1
        try:
            self.handler(event_type, obj)
        except Exception:  # one object the handler chokes on must not stop the stream for all others
            log.exception("handling a %s event of %s failed", event_type or "listed", self.resource)


async def catch_up(informers: Sequence[Informer]) -> None:
    """Return once the watch events already received have been handed on, so that a plan made next sees
    them. A reconcile that begins right after a busy one would otherwise plan from the cache as it was
    while the event loop was busy, though the bytes of the newer events sat on the socket: after a
    1,000-wide fan-out that made the join wait for one whole stale plan (tens of ms) before the plan
    that saw the last completion. Costs a few turns of the loop when nothing is pending."""
    seen, quiet = -1, 0
    for _ in range(MAX_TURNS):
        delivered = sum(informer.delivered for informer in informers)
        quiet = quiet + 1 if delivered == seen else 0
        if quiet >= QUIET_TURNS:
            return
        seen = delivered
        await asyncio.sleep(0)


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
