"""Scenario 15: the web UI on a wide run (issue 18). A 1 → `ui_width` → 1 run finishes in instant mode;
then `baton ui`'s server, in this process and over HTTP, serves the run's page `ui_loads` times: the time
from request to the last byte (reading the run and its Events from the API server, laying out the DAG,
rendering), the page's size, and the layout and rendering alone. The target: under 1 s for 1,000 tasks.

Then the live page: a second run of the same width is held (`suspend`) before any task starts, its page's
update stream is opened, and the run is changed `ui_loads` times, a second apart (the stream's own
pace): the time from the change (a merge patch) to the update at the viewer (the watch event, reading
the Events, rendering the page's `<main>` again, sending it)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.cli.output import run_view
from baton.core.dag_layout import layout

from . import shapes
from .browser import Chromium
from .harness import free_port, world
from .measures import percentile
from .report import ScenarioResult, Target
from .scenarios import _common, _first, _round, _wait_finished
from .sizes import Sizes


@dataclass
class _Timings:
    loads: list[float] = field(default_factory=list)
    """Milliseconds per run page, request → last byte (the server's share)."""
    size: int = 0
    updates: list[float] = field(default_factory=list)
    """Milliseconds per change of the held run → its update on the stream."""
    browser_loads: list[float] = field(default_factory=list)
    """Milliseconds per run page in Chromium, navigation → load event; empty without Chromium."""
    browser_updates: list[float] = field(default_factory=list)
    """Milliseconds per change of the held run → its page's DOM updated in Chromium."""


def ui(sizes: Sizes, logs: Path) -> ScenarioResult:
    width = sizes.ui_width
    result = ScenarioResult("ui", f"15. Web UI: the page of a 1 → {width:,} → 1 run")
    with world("ui", logs) as w, tempfile.TemporaryDirectory(prefix="baton-bench-ui-") as tmp:
        w.create(shapes.pipeline("wide", shapes.fan_out_in(width)))
        w.begin_workload()
        w.create(shapes.run("wide", "wide-1"))
        _wait_finished(w, ["wide-1"], sizes.timeout)
        _common(w, result, ["wide-1"], width + 2)  # the operator's figures, before the UI reads
        kubeconfig = w.cluster.write_kubeconfig(Path(tmp) / "kubeconfig", w.namespace)
        held = shapes.run("wide", "wide-2")
        held["spec"]["suspend"] = True
        w.create(held)
        timings = asyncio.run(_measure(kubeconfig, w.namespace, "wide-1", "wide-2", sizes.ui_loads))
        stored = w.run("wide-1") or {}
    view = run_view(stored)
    deps = {t["name"]: list(t.get("dependsOn") or ()) for t in (view.spec or {}).get("tasks") or ()}
    started = time.perf_counter()
    layout(deps)
    layout_ms = (time.perf_counter() - started) * 1000
    result.details.update(
        {
            name: [round(x, 1) for x in values]
            for name, values in vars(timings).items()
            if isinstance(values, list)
        }
    )
    result.details.update(page_bytes=timings.size, browser=bool(timings.browser_loads))
    result.completed = result.completed and bool(timings.loads) and bool(timings.updates)
    tasks = f"{width + 2:,} tasks"
    figures = [
        ("run_page_p50_ms", f"run page of {tasks}, request → last byte, p50", timings.loads, 50, True),
        ("run_page_max_ms", "same, slowest", timings.loads, 100, False),
        ("browser_load_p50_ms", "in Chromium: navigation → load event, p50", timings.browser_loads, 50, True),
        ("live_update_p50_ms", "live page: a change of the run → its update sent, p50",
         timings.updates, 50, True),
        ("browser_update_p50_ms", "in Chromium: a change of the run → the page's DOM updated, p50",
         timings.browser_updates, 50, True),
    ]  # fmt: skip
    for key, label, values, rank, target in figures:
        value = _round(percentile(values, rank), 1) if values else None
        result.add(key, label, value, "ms", Target("<", 1000, "ms") if target else None)
    result.add("run_page_kib", "page size", _round(timings.size / 1024, 1), "KiB")
    result.add("layout_ms", "DAG layout alone", _round(layout_ms, 1), "ms")
    _first(result, *(key for key, *_ in figures), "run_page_kib", "layout_ms")
    return result


async def _measure(kubeconfig: Path, namespace: str, run: str, held: str, times: int) -> _Timings:
    import aiohttp
    from aiohttp import web

    from baton.controller.client import KubeClient, connection_info
    from baton.ui.server import Ui

    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    try:
        client = KubeClient(connection_info(), user_agent="baton-ui")
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
    runner = web.AppRunner(Ui(client, [namespace]).app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    timings = _Timings()
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(times):
                started = time.perf_counter()
                async with session.get(f"{base}/runs/{namespace}/{run}") as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"the run page answered {response.status}: {body[:300]!r}")
                timings.loads.append((time.perf_counter() - started) * 1000)
                timings.size = len(body)
            changes = _Changes(client, namespace, held)
            since = await changes.held()
            async with session.get(f"{base}/runs/{namespace}/{held}/live?since={since}") as stream:
                timings.updates = await changes.timed(times, lambda: _update_sent(stream))
        async with Chromium.launch() as browser:
            if browser is not None:
                for _ in range(times):
                    await browser.open(f"{base}/runs/{namespace}/{run}")
                    timings.browser_loads.append(await browser.evaluate(LOAD_EVENT_END))
                await browser.open(f"{base}/runs/{namespace}/{held}")
                timings.browser_updates = await changes.timed(times, lambda: _dom_updated(browser))
    finally:
        await runner.cleanup()
        await client.close()
    return timings


LOAD_EVENT_END = "performance.getEntriesByType('navigation')[0].loadEventEnd"
"""Milliseconds from the navigation's start to the end of its load event (parsed, laid out, drawn)."""


class _Changes:
    """Changes of the held run (an annotation each), timed until ``seen`` says they arrived."""

    def __init__(self, client: Any, namespace: str, run: str) -> None:
        from baton.controller.paths import runs_path

        self.client = client
        self.path = runs_path(namespace, run)
        self.count = 0

    async def held(self) -> str:
        """Its resourceVersion once the operator holds it (Suspended, its spec frozen)."""
        for _ in range(600):
            stored = await self.client.get(self.path, resource="pipelineruns")
            if (stored.get("status") or {}).get("phase") == "Suspended":
                return str(stored["metadata"]["resourceVersion"])
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.path} was not held: {stored.get('status')}")

    async def timed(self, times: int, arm: Callable[[], Awaitable[Awaitable[Any]]]) -> list[float]:
        """``arm()`` is called before each change and gives what to wait for after it."""
        took: list[float] = []
        for _ in range(times):
            await asyncio.sleep(1.1)  # a live page renders at most once a second
            self.count += 1
            touch = {"metadata": {"annotations": {"bench.baton.dev/change": str(self.count)}}}
            seen = await arm()
            started = time.perf_counter()
            await self.client.merge_patch(self.path, touch, resource="pipelineruns")
            async with asyncio.timeout(60):
                await seen
            took.append((time.perf_counter() - started) * 1000)
        return took


async def _update_sent(stream: Any) -> Awaitable[None]:
    async def sent() -> None:
        """The next update event, whole: its data is a page's <main>, one line of up to megabytes."""
        buffer = b""
        while b"event: update\n" not in buffer or not buffer.endswith(b"\n\n"):
            buffer += await stream.content.readany()

    return sent()


UPDATES = "Number(document.body.dataset.updates || 0)"
"""live.js counts the updates it swapped in."""
NEXT_UPDATE = """new Promise((resolve) => {
  const done = () => UPDATES >= WANT;
  if (done()) return resolve(true);
  new MutationObserver((_, observer) => { if (done()) { observer.disconnect(); resolve(true); } })
    .observe(document.body, {attributes: true});
})"""


async def _dom_updated(browser: Chromium) -> Awaitable[Any]:
    """The page's next update swapped into its DOM (counted before the change is made)."""
    want = int(await browser.evaluate(UPDATES)) + 1
    return browser.evaluate(NEXT_UPDATE.replace("UPDATES", UPDATES).replace("WANT", str(want)))
