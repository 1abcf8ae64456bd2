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
from pathlib import Path
from typing import Any

from baton.cli.output import run_view
from baton.core.dag_layout import layout

from . import shapes
from .harness import free_port, world
from .measures import percentile
from .report import ScenarioResult, Target
from .scenarios import _common, _first, _round, _wait_finished
from .sizes import Sizes


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
        loads, size, updates = asyncio.run(_load(kubeconfig, w.namespace, "wide-1", "wide-2", sizes.ui_loads))
        stored = w.run("wide-1") or {}
    view = run_view(stored)
    deps = {t["name"]: list(t.get("dependsOn") or ()) for t in (view.spec or {}).get("tasks") or ()}
    started = time.perf_counter()
    layout(deps)
    layout_ms = (time.perf_counter() - started) * 1000
    result.details.update(
        loads_ms=[round(x, 1) for x in loads], page_bytes=size, updates_ms=[round(x, 1) for x in updates]
    )
    result.completed = result.completed and bool(loads) and bool(updates)
    result.add(
        "run_page_p50_ms",
        f"run page of {width + 2:,} tasks, request → last byte, p50",
        _round(percentile(loads, 50), 1),
        "ms",
        Target("<", 1000, "ms"),
    )
    result.add("run_page_max_ms", "same, slowest", _round(max(loads), 1), "ms")
    result.add("run_page_kib", "page size", _round(size / 1024, 1), "KiB")
    result.add("layout_ms", "DAG layout alone", _round(layout_ms, 1), "ms")
    result.add(
        "live_update_p50_ms",
        "live page: a change of the run → its update at the viewer, p50",
        _round(percentile(updates, 50), 1) if updates else None,
        "ms",
        Target("<", 1000, "ms"),
    )
    _first(result, "run_page_p50_ms", "run_page_max_ms", "run_page_kib", "layout_ms", "live_update_p50_ms")
    return result


async def _load(
    kubeconfig: Path, namespace: str, run: str, held: str, times: int
) -> tuple[list[float], int, list[float]]:
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
    loads: list[float] = []
    size = 0
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(times):
                started = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/runs/{namespace}/{run}") as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"the run page answered {response.status}: {body[:300]!r}")
                loads.append((time.perf_counter() - started) * 1000)
                size = len(body)
            updates = await _updates(session, client, f"http://127.0.0.1:{port}", namespace, held, times)
    finally:
        await runner.cleanup()
        await client.close()
    return loads, size, updates


async def _updates(session: Any, client: Any, base: str, namespace: str, run: str, times: int) -> list[float]:
    """Milliseconds from each change of the held run to its update on the run page's stream."""
    from baton import GROUP, VERSION

    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/pipelineruns/{run}"
    for _ in range(600):  # the operator holds it: Suspended, with its spec frozen
        stored = await client.get(path, resource="pipelineruns")
        if (stored.get("status") or {}).get("phase") == "Suspended":
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"run {run} was not held: {stored.get('status')}")
    since = stored["metadata"]["resourceVersion"]
    took: list[float] = []
    async with session.get(f"{base}/runs/{namespace}/{run}/live?since={since}") as stream:
        for change in range(times):
            await asyncio.sleep(1.1)  # the stream renders at most once a second
            started = time.perf_counter()
            touch = {"metadata": {"annotations": {"bench.baton.dev/change": str(change)}}}
            await client.merge_patch(path, touch, resource="pipelineruns")
            async with asyncio.timeout(60):
                # The update's whole event: its data is a page's <main>, one line of up to megabytes.
                buffer = b""
                while b"event: update\n" not in buffer or not buffer.endswith(b"\n\n"):
                    buffer += await stream.content.readany()
            took.append((time.perf_counter() - started) * 1000)
    return took
