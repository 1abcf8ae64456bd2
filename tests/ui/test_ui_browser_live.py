"""`baton ui` in a real browser while runs go on: the run page changes as its run progresses without a
reload (server-sent events and `live.js`), a running attempt's log grows, and the Retry button creates
the retry, which the operator runs (headless chromium through `cdp`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cdp import Browser, Page
from ui_kit import Cluster, phase, serve, task_phase

from baton.controller.client import KubeClient
from baton.core.actors import ACTION, ACTOR
from baton.ui.server import Ui

pytestmark = pytest.mark.browser


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with Browser.launch() as browser:
        yield await browser.new_page(1280, 800)


async def test_a_run_page_follows_its_run_live_and_its_log_grows(
    cluster: Cluster, kube: KubeClient, namespace: str, page: Page, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    (tmp_path / "go.ok").touch()
    cluster.start("live-b", gate)
    await cluster.until("live-b", lambda r: task_phase(r, "wait") == "Running")
    http = await serve(Ui(kube, [namespace]))
    try:
        base = str(http.make_url("")).rstrip("/")
        await page.goto(f"{base}/runs/{namespace}/live-b?task=wait")
        assert await page.evaluate("document.querySelector('main').dataset.phase") == "Running"
        # The log of the running attempt, streamed: what it wrote so far replaces the snapshot.
        await page.wait_for(
            "document.querySelector('pre.log').textContent.includes('waiting')", what="the log's first line"
        )
        gate.touch()
        # No reload: the same page, its <main> swapped in by the update stream, ends in the run's phase.
        await page.wait_for(
            "document.querySelector('main').dataset.phase === 'Succeeded'", what="the run's end, live"
        )
        assert len(page.navigations) == 1
        assert int(await page.evaluate("document.body.dataset.updates")) >= 1
        phases = await page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('svg.dag g.node')]"
            ".map((g) => [g.dataset.task, g.dataset.phase]))"
        )
        assert phases == {"wait": "Succeeded", "check": "Succeeded"}
        assert await page.evaluate("document.querySelector('main').dataset.live") is None  # stream ended
        assert page.problems == [] and page.csp_violations == []
    finally:
        await http.close()


async def test_the_retry_button_retries_the_run(
    cluster: Cluster, kube: KubeClient, namespace: str, page: Page, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    gate.touch()  # `wait` passes; `check` fails until go.ok exists
    cluster.start("flaky-b", gate)
    await cluster.until("flaky-b", lambda r: phase(r) == "Failed")
    http = await serve(Ui(kube, [namespace]))
    try:
        base = str(http.make_url("")).rstrip("/")
        await page.goto(f"{base}/runs/{namespace}/flaky-b")
        (tmp_path / "go.ok").touch()
        # A real click on a real form: the browser's own same-origin POST, the 303, the new run's page.
        went = await page.click("form.action button.primary")
        assert went is not None and went.method == "POST" and [r.status for r in went.redirects] == [303]
        retry = went.url.rsplit("/", 1)[1]
        assert retry.startswith("gated-retry-") and went.status == 200
        shown = await page.evaluate("document.querySelector('p.actor').textContent")
        assert shown.startswith("Retry of flaky-b; retry started by devcluster-admin at ")
        run = await cluster.until(retry, lambda r: phase(r) == "Succeeded")
        assert run["spec"]["retryOf"] == "flaky-b"
        assert run["metadata"]["annotations"][ACTION] == "retry"
        assert run["metadata"]["annotations"][ACTOR] == "devcluster-admin"
        reused = {t["name"]: t.get("reusedFrom") for t in run["status"]["tasks"]}
        assert reused == {"wait": "flaky-b", "check": None}  # what succeeded is reused, the rest ran again
        await page.wait_for(
            "document.querySelector('main').dataset.phase === 'Succeeded'", what="the retry's end, live"
        )
        assert page.problems == [] and page.csp_violations == []
    finally:
        await http.close()
