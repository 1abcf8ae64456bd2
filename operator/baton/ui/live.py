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
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from baton import GROUP, VERSION
from baton.controller.client import ApiFailure, KubeClient
from baton.core.run_actions import FINISHED

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
EVENT_STREAM = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def add_routes(app: web.Application, ui: Ui) -> None:
    live = _Live(ui)
    app.router.add_get("/runs/{namespace}/{name}/live", live.run_updates)
    app.router.add_get("/runs/{namespace}/{name}/log", live.log_lines)
    app.router.add_get(SCRIPT_PATH, script)


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
    """The newest version of one run, from a watch that resumes where it ended."""

    def __init__(self, client: KubeClient, run: dict[str, Any]) -> None:
        self.client = client
        self.run = run
        self.changed = asyncio.Event()
        meta = run["metadata"]
        self.path = f"/apis/{GROUP}/{VERSION}/namespaces/{meta['namespace']}/pipelineruns"
        self.name = meta["name"]

    async def follow(self) -> None:
        while True:
            params = {
                "watch": "true",
                "fieldSelector": f"metadata.name={self.name}",
                "resourceVersion": self.run["metadata"].get("resourceVersion", ""),
                "timeoutSeconds": str(WATCH_SECONDS),
            }
            try:
                async for line in self.client.stream(
                    self.path, params, resource="pipelineruns", seconds=WATCH_SECONDS
                ):
                    event = json.loads(line)
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        self.run = event["object"]
                        self.changed.set()
                    elif event.get("type") == "ERROR":  # its version is too old (410): read it again
                        self.run = await self.client.get(f"{self.path}/{self.name}", resource="pipelineruns")
                        self.changed.set()
                        break
            except (ApiFailure, ValueError):
                await asyncio.sleep(MIN_INTERVAL)  # deleted, or not allowed any more: the page stays


class _Live:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def run_updates(self, request: web.Request) -> web.StreamResponse:
        _, _, run = await self.ui.required(request, "pipelineruns")
        client: KubeClient = request[CLIENT]
        actions = self.ui.acting_as(request)
        response = web.StreamResponse(headers=EVENT_STREAM)
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        watch = _Watch(client, run)
        if run["metadata"].get("resourceVersion") != request.query.get("since"):
            watch.changed.set()  # it changed since the page was rendered
        follower = asyncio.create_task(watch.follow())
        interval = MIN_INTERVAL
        try:
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE):
                        await watch.changed.wait()
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                watch.changed.clear()
                current = watch.run
                pipeline, events = await self.ui.run_parts(client, current)
                began = time.monotonic()
                main = await asyncio.to_thread(run_main, current, pipeline, events, self.ui.clock(), actions)
                interval = max(MIN_INTERVAL, 5 * (time.monotonic() - began))
                await response.write(sse("update", main))
                if (current.get("status") or {}).get("phase") in FINISHED:
                    await response.write(sse("end", ""))
                    return response
                await asyncio.sleep(interval)
        except ConnectionResetError:
            return response  # the viewer went away
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    async def log_lines(self, request: web.Request) -> web.StreamResponse:
        _, _, run = await self.ui.required(request, "pipelineruns")
        task = request.query.get("task", "")
        if not task:
            raise web.HTTPBadRequest(text="which task's log? (?task=NAME&attempt=N)")
        lines = await followed(request[CLIENT], run, task, request.query.get("attempt"))
        response = web.StreamResponse(headers=EVENT_STREAM)
        await response.prepare(request)
        try:
            async for line in lines or _nothing():
                await response.write(sse("log", line.decode("utf-8", errors="replace")))
            await response.write(sse("end", ""))
        except ConnectionResetError:
            pass  # the viewer went away
        except ApiFailure as failure:
            await response.write(sse("end", f"the log could not be read: {failure.message[:200]}"))
        return response


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an empty async iterator
