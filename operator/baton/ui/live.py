"""Live run pages: server-sent events fed by a watch on the one run, and a running attempt's log as it is
written.

A run page's `<main>` names `/runs/NS/NAME/live?since=RV`: the server watches that run from RV and, on
each change, renders the page's `<main>` again (the same escaped HTML as a load) and sends it as an
`update`; `/static/live.js` swaps it in. Renders are at most one a second, and never more often than
five times what the last one took, so a 1,000-task run's page (a fifth of a second to render) costs a
viewer at most a fifth of a core. When the run ends, a last `update` and an `end`.

`/runs/NS/NAME/log?task=T&attempt=N` sends the attempt's log lines (`log` events) from its last 5,000 on,
following the Pod's log until the container ends, then `end`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from baton.api.run import FINISHED_PHASES
from baton.controller.client import ApiFailure, KubeClient
from baton.controller.paths import runs_path

from .identity import CLIENT
from .logs import followed
from .run_page import run_main

if TYPE_CHECKING:
    from .server import Ui

SCRIPT_PATH = "/static/live.js"
MIN_INTERVAL = 1.0
KEEPALIVE = 15.0
"""Seconds between comments on a quiet stream: a viewer gone is noticed by the write that fails."""
WATCH_SECONDS = 300
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before watching again after the n-th failure in a row."""
MAX_STREAMS = 200
"""Open live streams (watches and followed logs) per UI process; more are answered 503."""
EVENT_STREAM = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def add_routes(app: web.Application, ui: Ui) -> None:
    live = _Live(ui)
    app.router.add_get("/runs/{namespace}/{name}/live", live.run_updates)
    app.router.add_get("/runs/{namespace}/{name}/log", live.log_lines)
    app.router.add_get(SCRIPT_PATH, script)
    app.on_shutdown.append(live.close)


async def script(_: web.Request) -> web.Response:
    text = resources.files("baton.ui").joinpath("live.js").read_text(encoding="utf-8")
    return web.Response(
        text=text,
        content_type="text/javascript",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def sse(event: str, data: str) -> bytes:
    """One server-sent event; each line of ``data`` is a `data:` field (the browser joins them)."""
    lines = "".join(f"data: {line}\n" for line in data.replace("\r", "").split("\n"))
    return f"event: {event}\n{lines}\n".encode()


class _Watch:
    """The newest version of one run, from a watch that resumes where it ended; ``gone`` once the run
    is deleted or may no longer be read (the page then says so and the stream ends)."""

    def __init__(self, client: KubeClient, run: dict[str, Any]) -> None:
        self.client = client
        self.run = run
        self.changed = asyncio.Event()
        self.gone = ""
        meta = run["metadata"]
        self.path = runs_path(meta["namespace"])
        self.name = meta["name"]

    async def follow(self) -> None:
        failures = 0
        while not self.gone:
            try:
                await self._watch()
                failures = 0
            except ApiFailure as failure:
                if failure.code == 410:  # its version is too old: read it again
                    await self._read()
                    continue
                if failure.code in (401, 403, 404):
                    self._end(f"the run can no longer be read ({failure.code} {failure.reason})")
                    return
                failures += 1
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
                failures += 1  # the API server restarted, a proxy cut the stream: watch again
            await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])

    async def _watch(self) -> None:
        params = {
            "watch": "true",
            "fieldSelector": f"metadata.name={self.name}",
            "resourceVersion": self.run["metadata"].get("resourceVersion", ""),
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        async for line in self.client.stream(
            self.path, params, resource="pipelineruns", seconds=WATCH_SECONDS
        ):
            event = json.loads(line)
            kind = event.get("type")
            if kind in ("ADDED", "MODIFIED"):
                self.run = event["object"]
                self.changed.set()
            elif kind == "DELETED":
                self._end("the run was deleted")
                return
            elif kind == "ERROR":  # Expired (410) as an event of the watch
                await self._read()
                return

    async def _read(self) -> None:
        try:
            self.run = await self.client.get(f"{self.path}/{self.name}", resource="pipelineruns")
        except ApiFailure as failure:
            if failure.code != 404:
                raise
            self._end("the run was deleted")
            return
        self.changed.set()

    def _end(self, why: str) -> None:
        self.gone = why
        self.changed.set()


class _Live:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.streams = asyncio.Semaphore(MAX_STREAMS)
        self.open: set[asyncio.Task[Any]] = set()
        """The handlers streaming now: a stop ends them (they would hold it until a viewer leaves)."""

    async def close(self, _: web.Application) -> None:
        for task in self.open:
            task.cancel()

    @contextlib.contextmanager
    def _streaming(self) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self.open.add(task)
        try:
            yield
        finally:
            self.open.discard(task)

    def _stream(self) -> None:
        """One more open stream, or 503: each holds a watch or a log on the API server."""
        if self.streams.locked():
            raise web.HTTPServiceUnavailable(text=f"{MAX_STREAMS} live pages are open already: reload later")

    async def run_updates(self, request: web.Request) -> web.StreamResponse:
        _, _, run = await self.ui.required(request, "pipelineruns")
        self._stream()
        async with self.streams:
            with self._streaming():
                return await self._run_updates(request, run)

    async def _run_updates(self, request: web.Request, run: dict[str, Any]) -> web.StreamResponse:
        client: KubeClient = request[CLIENT]
        actions = self.ui.acting_as(request)
        response = web.StreamResponse(headers=EVENT_STREAM)
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        watch = _Watch(client, run)
        if run["metadata"].get("resourceVersion") != request.query.get("since"):
            watch.changed.set()  # it changed since the page was rendered
        follower = asyncio.create_task(watch.follow())
        try:
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE):
                        await watch.changed.wait()
                except TimeoutError:
                    if follower.done() and not watch.gone:  # it failed in a way it did not expect
                        await response.write(sse("end", "live updates stopped: reload the page"))
                        return response
                    await response.write(b": still here\n\n")
                    continue
                watch.changed.clear()
                if watch.gone:
                    await response.write(sse("end", watch.gone))
                    return response
                current = watch.run
                pipeline, events = await self.ui.run_parts(client, current)
                began = time.monotonic()
                main = await asyncio.to_thread(run_main, current, pipeline, events, self.ui.clock(), actions)
                interval = max(MIN_INTERVAL, 5 * (time.monotonic() - began))
                await response.write(sse("update", main))
                if (current.get("status") or {}).get("phase") in FINISHED_PHASES:
                    await response.write(sse("end", ""))
                    return response
                await asyncio.sleep(interval)
        except (ConnectionResetError, ApiFailure, aiohttp.ClientError):
            return response  # the viewer went away, or the Events could not be read: it reconnects
        finally:
            follower.cancel()
            with contextlib.suppress(BaseException):
                await follower

    async def log_lines(self, request: web.Request) -> web.StreamResponse:
        _, _, run = await self.ui.required(request, "pipelineruns")
        task = request.query.get("task", "")
        if not task:
            raise web.HTTPBadRequest(text="which task's log? (?task=NAME&attempt=N)")
        self._stream()
        async with self.streams:
            with self._streaming():
                return await self._log_lines(request, run, task)

    async def _log_lines(self, request: web.Request, run: dict[str, Any], task: str) -> web.StreamResponse:
        lines = await followed(request[CLIENT], run, task, request.query.get("attempt"))
        response = web.StreamResponse(headers=EVENT_STREAM)
        await response.prepare(request)
        queue: asyncio.Queue[bytes | str] = asyncio.Queue(maxsize=1000)
        pump = asyncio.create_task(_pump(lines or _nothing(), queue))
        try:
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE):
                        line = await queue.get()
                except TimeoutError:
                    # A quiet Pod: the write that fails is how a closed tab is noticed.
                    await response.write(b": still here\n\n")
                    continue
                if isinstance(line, str):
                    await response.write(sse("end", line))
                    return response
                await response.write(sse("log", line.decode("utf-8", errors="replace")))
        except ConnectionResetError:
            return response  # the viewer went away
        finally:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump


async def _pump(lines: AsyncIterator[bytes], queue: asyncio.Queue[bytes | str]) -> None:
    """Move the log's lines to ``queue``, then why it ended (a str: "" when the container did)."""
    why = ""
    try:
        async for line in lines:
            await queue.put(line)
    except ApiFailure as failure:
        why = f"the log could not be read: {failure.message[:200]}"
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        why = f"the log stream broke ({type(error).__name__}): reload to follow it again"
    await queue.put(why)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an empty async iterator
