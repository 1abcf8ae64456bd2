"""Live run pages against the dev cluster with the operator running: the run page's updates stream as
the run changes and end with it, and a running attempt's log streams its lines as they are written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import ClientResponse, web
from test_ui_pages import Dom
from ui_kit import Cluster, phase, serve, task_phase

from baton import GROUP
from baton.bench.harness import free_port
from baton.controller.client import KubeClient
from baton.devcluster.cluster import DevCluster
from baton.ui.live import sse
from baton.ui.server import Ui


async def next_event(response: ClientResponse) -> tuple[str, str]:
    """The next server-sent event (its name, its data), comments skipped; a minute at most."""
    async with asyncio.timeout(60):
        name, data = "message", []
        while True:
            raw = await response.content.readline()
            assert raw, "the stream ended"
            line = raw.decode().rstrip("\n")
            if line.startswith(":") or line.startswith("retry:"):
                continue
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line == "" and (data or name != "message"):
                return name, "\n".join(data)


def test_an_event_carries_every_line_of_its_data() -> None:
    assert (
        sse("update", "<main>\na\r\nb</main>") == b"event: update\ndata: <main>\ndata: a\ndata: b</main>\n\n"
    )


async def test_a_run_page_follows_its_run_and_its_log(
    cluster: Cluster, kube: KubeClient, namespace: str, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    (tmp_path / "go.ok").touch()
    cluster.start("live-1", gate)
    await cluster.until("live-1", lambda r: task_phase(r, "wait") == "Running")
    http = await serve(Ui(kube, [namespace]))
    try:
        page = Dom(await (await http.get(f"/runs/{namespace}/live-1?task=wait")).text())
        live = {attrs.get("data-live") for attrs in page.with_attr("data-live")}
        main_url = next(url for url in live if url and "/live?since=" in url)
        log_url = next(url for url in live if url and "/log?" in url)
        assert log_url == f"/runs/{namespace}/live-1/log?task=wait&attempt=1"

        log = await http.get(log_url)
        assert log.headers["Content-Type"] == "text/event-stream"
        assert await next_event(log) == ("log", "waiting")
        updates = await http.get(main_url)
        assert updates.headers["Content-Type"] == "text/event-stream"

        gate.touch()
        assert await next_event(log) == ("end", "")  # the container ended: so does its log
        seen = []
        while True:
            name, data = await next_event(updates)
            if name == "end":
                break
            assert name == "update"
            tag, attrs = Dom(data).tags[0]
            assert tag == "main"
            seen.append(attrs)
        # Each update is the page's <main> as a load renders it; the last one is the run's end, and
        # names no stream to follow any more.
        assert seen[-1].get("data-phase") == "Succeeded" and "data-live" not in seen[-1]
        assert phase(cluster.run("live-1")) == "Succeeded"
    finally:
        await http.close()


async def test_a_finished_runs_updates_end_at_once_and_a_log_without_a_pod_ends(
    cluster: Cluster, kube: KubeClient, namespace: str, tmp_path: Path
) -> None:
    (tmp_path / "go").touch()
    (tmp_path / "go.ok").touch()
    cluster.start("done-1", tmp_path / "go")
    await cluster.until("done-1", lambda r: phase(r) == "Succeeded")
    http = await serve(Ui(kube, [namespace]))
    try:
        updates = await http.get(f"/runs/{namespace}/done-1/live?since=0")
        name, data = await next_event(updates)
        assert name == "update" and 'data-phase="Succeeded"' in data
        assert await next_event(updates) == ("end", "")
        missing = await http.get(f"/runs/{namespace}/done-1/log?task=nope")
        assert missing.status == 404
        assert 'task "nope" is not in pipelinerun "done-1"' in "".join(Dom(await missing.text()).text)
    finally:
        await http.close()


async def test_a_deleted_runs_page_is_told_and_its_stream_ends(
    cluster: Cluster, kube: KubeClient, namespace: str, devcluster: DevCluster, tmp_path: Path
) -> None:
    cluster.start("gone-1", tmp_path / "never")
    run = await cluster.until("gone-1", lambda r: task_phase(r, "wait") == "Running")
    http = await serve(Ui(kube, [namespace]))
    try:
        since = run["metadata"]["resourceVersion"]
        updates = await http.get(f"/runs/{namespace}/gone-1/live?since={since}")
        rt = devcluster.registry.storage(GROUP, "pipelineruns")
        devcluster.sync(devcluster.store.delete, rt, namespace, "gone-1")
        name, data = await next_event(updates)
        while name == "update":  # what the deletion's own writes changed first (its finalizer, say)
            name, data = await next_event(updates)
        assert (name, data) == ("end", "the run was deleted")
        assert await updates.content.read() == b""  # and the stream is over
    finally:
        await http.close()


async def test_stopping_the_ui_ends_its_open_streams_at_once(
    cluster: Cluster, kube: KubeClient, namespace: str, tmp_path: Path
) -> None:
    """A stop (Ctrl-C: `baton ui` cleans its runner up) does not wait for each viewer to leave: the server
    waits up to a minute for handlers, and an open stream would hold it all that time."""
    cluster.start("open-1", tmp_path / "never")
    run = await cluster.until("open-1", lambda r: task_phase(r, "wait") == "Running")
    runner = web.AppRunner(Ui(kube, [namespace]).app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}/runs/{namespace}/open-1"
    async with aiohttp.ClientSession() as session:
        since = run["metadata"]["resourceVersion"]
        async with (
            session.get(f"{base}/live?since={since}") as updates,
            session.get(f"{base}/log?task=wait&attempt=1") as log,
        ):
            assert updates.headers["Content-Type"] == "text/event-stream"
            assert await next_event(log) == ("log", "waiting")
            async with asyncio.timeout(10):  # well under the keep-alive's 15 s and the server's 60 s
                await runner.cleanup()
            try:  # the stream is over: no more lines, the end of it, or its cut by the stop
                async with asyncio.timeout(5):
                    rest = await log.content.read()
            except aiohttp.ClientPayloadError:
                rest = b""
            assert rest == b""
