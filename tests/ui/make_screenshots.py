"""The UI's screenshots (`make screenshots`, into examples/screenshots):

    python tests/ui/make_screenshots.py examples/screenshots

A dev cluster of its own (in-process, as the tests start it) runs examples/daily-sales.yaml twice and
examples/failing.yaml once with the operator, so that the overview shows a failed run; `baton ui` serves
them as a user starts it; headless chromium (cdp.py) saves

    overview.png     the overview, 1280x800
    run.png          a daily-sales run, the whole page, with the report task's log
    run-failed.png   the failing run, the whole page, with the log of its failed task

A page that reports an error (console, CSP) fails the script: a picture of a broken page is no picture.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # cdp (tests/ui) and support (tests), as pytest puts them

from cdp import Browser, Page  # noqa: E402

from baton import GROUP, VERSION  # noqa: E402
from baton.bench.harness import free_port  # noqa: E402
from baton.devcluster.cluster import DevCluster  # noqa: E402
from support import RunningOperator, own_cluster, wait_for  # noqa: E402

EXAMPLES = HERE.parents[1] / "examples"
NAMESPACE = "analytics"
WIDTH, HEIGHT = 1280, 800
FINISHED = ("Succeeded", "Failed", "Cancelled")


def start_runs(cluster: DevCluster) -> dict[str, str]:
    """The example Pipelines and their runs, created as `kubectl create` would: run name → Pipeline."""

    def create(doc: dict[str, Any]) -> dict[str, Any]:
        rt = cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None, doc["kind"]
        return cluster.store.create(rt, NAMESPACE, doc)

    for example in ("daily-sales.yaml", "failing.yaml"):
        for doc in yaml.safe_load_all((EXAMPLES / example).read_text()):
            if doc and doc["kind"] == "Pipeline":
                cluster.sync(create, doc)
    runs = {}
    for pipeline, params in (
        ("daily-sales", {"date": "2025-01-30"}),
        ("failing", {}),
        ("daily-sales", {"date": "2025-01-31"}),
    ):
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": f"{pipeline}-", "labels": {"baton.dev/pipeline": pipeline}},
            "spec": {"pipelineRef": {"name": pipeline}, "params": params},
        }
        runs[cluster.sync(create, body)["metadata"]["name"]] = pipeline
    return runs


def finish(cluster: DevCluster, runs: dict[str, str]) -> None:
    """Run the operator until every run has finished and each Pipeline shows its last run."""

    def phases() -> dict[str, str | None]:
        found = [cluster.store.find((GROUP, "pipelineruns"), NAMESPACE, name) for name in runs]
        return {r["metadata"]["name"]: (r.get("status") or {}).get("phase") for r in found if r}

    def pipelines_updated() -> bool:
        found = [cluster.store.find((GROUP, "pipelines"), NAMESPACE, name) for name in set(runs.values())]
        return all(p and (p.get("status") or {}).get("lastRunStatus") in FINISHED for p in found)

    operator = RunningOperator(NAMESPACE).start()
    try:
        wait_for(
            lambda: all(p in FINISHED for p in cluster.sync(phases).values()),
            timeout=120,
            message="the example runs to finish",
        )
        wait_for(lambda: cluster.sync(pipelines_updated), timeout=30, message="the Pipelines' last runs")
    finally:
        operator.stop()


def serve_ui(kubeconfig: Path) -> tuple[subprocess.Popen[str], str]:
    """`baton ui` as a user starts it, and the address it says it serves."""
    baton = Path(sys.executable).parent / "baton"
    command = [str(baton), "ui", "--kubeconfig", str(kubeconfig), "-n", NAMESPACE, "--port", str(free_port())]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    address = re.search(r"http://\S+?/", line)
    if address is None:
        process.terminate()
        raise SystemExit(f"baton ui did not say where it serves: {line!r}")
    return process, address.group(0)


async def shoot(page: Page, url: str, path: Path, *, full_page: bool) -> None:
    shown = await page.goto(url)
    if shown.status != 200 or page.problems:
        raise SystemExit(f"{url} answered {shown.status}; the page reported: {page.problems}")
    await page.screenshot(path, full_page=full_page)
    print(f"{path} ({url})")


async def take(base: str, runs: dict[str, str], out: Path) -> None:
    daily = next(name for name, pipeline in runs.items() if pipeline == "daily-sales")
    failing = next(name for name, pipeline in runs.items() if pipeline == "failing")
    async with Browser.launch() as browser:
        page = await browser.new_page(WIDTH, HEIGHT)
        await shoot(page, base, out / "overview.png", full_page=False)
        run = f"{base}runs/{NAMESPACE}/{daily}?task=report"
        await shoot(page, run, out / "run.png", full_page=True)
        failed = f"{base}runs/{NAMESPACE}/{failing}?task=validate"
        await shoot(page, failed, out / "run-failed.png", full_page=True)


def main(out: Path) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("kopf").setLevel(logging.CRITICAL)  # its reconnects as the operator stops
    logging.getLogger("baton.runs").setLevel(logging.ERROR)  # "task failed": the failing example's point
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baton-screenshots-") as work:
        with own_cluster(Path(work), NAMESPACE) as (cluster, kubeconfig):
            os.environ["KUBECONFIG"] = str(kubeconfig)  # the operator's client reads it
            runs = start_runs(cluster)
            finish(cluster, runs)
            ui, base = serve_ui(kubeconfig)
            try:
                asyncio.run(take(base, runs, out))
            finally:
                ui.terminate()
                ui.wait(30)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} OUT_DIR")
    main(Path(sys.argv[1]))
