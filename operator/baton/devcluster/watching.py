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
from collections.abc import Callable
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from . import errors, tables
from .rest import Target, as_version, integer_param, selectors
from .selectors import parse_field_selector
from .store import Obj, Store, Watcher, WatchEvent

BOOKMARK_INTERVAL = 5.0
MAX_BATCH = 256
"""Events sent in one write at most."""
DIRECT_BUFFER_LIMIT = 64 * 1024
"""Bytes the client may leave unread before events wait in the watch's queue (and its writes wait)."""

Render = Callable[[Obj], Any]


def _frame(event_type: str, obj: Any) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _chunk(data: bytes) -> bytes:
    """`data` as one chunk of an HTTP/1.1 chunked body (aiohttp frames its own writes the same way)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class _DirectSend:
    """Sends a watch event from the store's commit, as the write that made it is stored.

    Through the watch's own task, an event waited behind whatever the loop had queued: when a dozen real
    processes ended together, their Pods' and Jobs' updates, and the last completion reached the operator
    milliseconds after it was stored (a real API server's watch cache sends on its own goroutines). The
    send is direct only while the task has nothing in hand (events stay in order) and the socket keeps up
    (otherwise the task's writes wait for the client, as before). Each such event is one send, or, inside
    a controller's `Store.batch`, all of them one send at its end.
    """

    def __init__(
        self,
        transport: asyncio.Transport | None,
        framed: bool,
        watcher: Watcher,
        render: Render,
        store: Store | None = None,
    ) -> None:
        self.transport = transport
        self.framed = framed
        """Whether the body is chunked and not compressed (HTTP/1.1, as clients speak): chunks are framed
        here."""
        self.watcher = watcher
        self.render = render
        self.idle = False
        """Whether the watch's task waits on an empty queue (it holds no event to write)."""
        self.store = store
        """Inside its `batch`, events wait in `_held` and go out in one send at the batch's end."""
        self._held: list[bytes] = []
        self._held_bytes = 0
        self.sent = 0
        self.last_rv = 0

    def __call__(self, event: WatchEvent) -> bool:
        transport = self.transport
        if (
            not (self.idle and self.framed)
            or not self.watcher.queue.empty()
            or transport is None
            or transport.is_closing()
            or transport.get_write_buffer_size() + self._held_bytes > DIRECT_BUFFER_LIMIT
        ):
            return False
        try:
            data = _frame(event.type, self.render(event.obj))
        except Exception:  # the task's path meets it again and reports it; a commit must not fail
            return False
        if self.store is not None and self.store.batching:
            if not self._held:
                self.store.after_batch(self.flush)
            self._held.append(data)
            self._held_bytes += len(data)
        else:
            transport.write(_chunk(data))
        self.sent += 1
        self.last_rv = event.rv
        return True

    def flush(self) -> None:
        """Send what a batch held (the watch's task cannot have run meanwhile: a batch never awaits)."""
        data, self._held, self._held_bytes = b"".join(self._held), [], 0
        transport = self.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(_chunk(data))


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
            framed = response.headers.get("Transfer-Encoding") == "chunked" and not response.compression
            direct = _DirectSend(request.transport, framed, watcher, render, self.store)
            direct.sent, direct.last_rv = len(initial) + len(backlog), start_rv
            if self.max_events is None:  # fault injection counts every event in this loop
                watcher.sink = direct
            while self.max_events is None or direct.sent < self.max_events:
                wait = self.bookmark_interval if bookmarks else None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    wait = remaining if wait is None else min(wait, remaining)
                direct.idle = True
                try:
                    event = (
                        await asyncio.wait_for(watcher.queue.get(), wait)
                        if wait
                        else await watcher.queue.get()
                    )
                except TimeoutError:
                    direct.idle = False
                    if bookmarks and (deadline is None or time.monotonic() < deadline):
                        direct.last_rv = max(direct.last_rv, self.store.resource_version)
                        await response.write(
                            _frame("BOOKMARK", self._bookmark(rt.api_version, rt.kind, direct.last_rv))
                        )
                    continue
                direct.idle = False
                if event is None:
                    break
                # Everything already queued goes out in one write: a burst of events (a wide run's
                # Jobs completing) costs one send, not one each.
                frames = [_frame(event.type, render(event.obj))]
                direct.last_rv = event.rv
                ended = False
                while len(frames) < MAX_BATCH and not watcher.queue.empty():
                    more = watcher.queue.get_nowait()
                    if more is None:
                        ended = True
                        break
                    frames.append(_frame(more.type, render(more.obj)))
                    direct.last_rv = more.rv
                await response.write(b"".join(frames))
                direct.sent += len(frames)
                if ended:
                    break
        except ConnectionResetError:
            pass  # the client went away; nothing to tell it
        finally:
            watcher.sink = None
            self.store.unwatch(watcher)
        return response

    @staticmethod
    def _bookmark(api_version: str, kind: str, rv: int, *, initial_end: bool = False) -> Obj:
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"kind": kind, "apiVersion": api_version, "metadata": metadata}
