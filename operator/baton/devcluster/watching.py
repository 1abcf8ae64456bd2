"""Watch streams: JSON frames, one event a line, as kubectl, client-go, the Python client and kopf read them.

Resuming from a resourceVersion replays the retained history; one older than that gets a 410 Expired
ERROR event, after which clients re-list. Bookmarks keep idle clients' resourceVersion fresh, and
`sendInitialEvents=true` (kopf's and client-go's watch-list) ends the initial state with the
`k8s.io/initial-events-end` bookmark.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from . import errors, tables
from .rest import Target, as_version, integer_param, selectors
from .selectors import parse_field_selector
from .store import Obj, Store

BOOKMARK_INTERVAL = 5.0
MAX_BATCH = 256
"""Events sent in one write at most."""


def _frame(event_type: str, obj: Any) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


class WatchServer:
    def __init__(self, store: Store, bookmark_interval: float = BOOKMARK_INTERVAL) -> None:
        self.store = store
        self.bookmark_interval = bookmark_interval
        self.max_events: int | None = None
        """Fault injection: end every stream after this many events (the client must resume)."""
        self.max_seconds: float | None = None
        """Fault injection: end every stream after this long."""

    async def serve(
        self, request: web.Request, target: Target, query: MultiMapping[str]
    ) -> web.StreamResponse:
        rt = target.rt
        labels, fields = selectors(rt, query)
        if target.name:  # the legacy /watch/.../{name} form
            fields = parse_field_selector(f"metadata.name={target.name}", ("metadata.name",))
        since_param = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") == "true"
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")
        timeout = integer_param(query, "timeoutSeconds")
        deadline = time.monotonic() + timeout if timeout > 0 else None
        if self.max_seconds is not None:
            cut = time.monotonic() + self.max_seconds
            deadline = cut if deadline is None else min(deadline, cut)
        namespace = target.namespace or None

        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
        )
        initial: list[Obj] = []
        since: int | None = None
        if send_initial or since_param in ("", "0"):
            initial = [
                o
                for o in self.store.list(rt, namespace)
                if (labels is None or labels.matches(o["metadata"].get("labels") or {}))
                and (fields is None or fields.matches(o))
            ]
        else:
            try:
                since = int(since_param)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{since_param}"') from None
        try:
            watcher, backlog = self.store.watch(rt, namespace, since, labels, fields)
        except errors.ApiError as error:
            await response.prepare(request)
            await response.write(_frame("ERROR", error.status()))
            return response
        start_rv = self.store.resource_version
        first = True

        def render(obj: Obj) -> Any:
            nonlocal first
            if not as_table:
                return as_version(rt, obj)
            rendered = tables.table(
                rt,
                [obj],
                resource_version=obj["metadata"].get("resourceVersion", ""),
                include=include,
                now=self.store.clock(),
                with_columns=first,
            )
            first = False
            return rendered

        try:
            await response.prepare(request)
            for obj in initial:
                await response.write(_frame("ADDED", render(obj)))
            if send_initial:
                await response.write(
                    _frame("BOOKMARK", self._bookmark(rt.api_version, rt.kind, start_rv, initial_end=True))
                )
            for event_type, obj in backlog:
                await response.write(_frame(event_type, render(obj)))
            sent = len(initial) + len(backlog)
            last_rv = start_rv
            while self.max_events is None or sent < self.max_events:
                wait = self.bookmark_interval if bookmarks else None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    wait = remaining if wait is None else min(wait, remaining)
                try:
                    event = (
                        await asyncio.wait_for(watcher.queue.get(), wait)
                        if wait
                        else await watcher.queue.get()
                    )
                except TimeoutError:
                    if bookmarks and (deadline is None or time.monotonic() < deadline):
                        last_rv = max(last_rv, self.store.resource_version)
                        await response.write(
                            _frame("BOOKMARK", self._bookmark(rt.api_version, rt.kind, last_rv))
                        )
                    continue
                if event is None:
                    break
                # Everything already queued goes out in one write: a burst of events (a wide run's
                # Jobs completing) costs one send, not one each.
                frames = [_frame(event.type, render(event.obj))]
                last_rv = event.rv
                ended = False
                while len(frames) < MAX_BATCH and not watcher.queue.empty():
                    more = watcher.queue.get_nowait()
                    if more is None:
                        ended = True
                        break
                    frames.append(_frame(more.type, render(more.obj)))
                    last_rv = more.rv
                await response.write(b"".join(frames))
                sent += len(frames)
                if ended:
                    break
        except ConnectionResetError:
            pass  # the client went away; nothing to tell it
        finally:
            self.store.unwatch(watcher)
        return response

    @staticmethod
    def _bookmark(api_version: str, kind: str, rv: int, *, initial_end: bool = False) -> Obj:
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": kind, "apiVersion": api_version, "metadata": metadata}
