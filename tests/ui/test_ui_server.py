"""`baton ui`'s server against the dev cluster with the operator running: the pages show what the
cluster holds (every task of a run with its phase, its log, its Pipeline), say what is missing with a
404, keep to the namespaces asked for, and forbid scripts."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from test_ui_pages import Dom

from baton import GROUP, VERSION
from baton.bench.harness import free_port
from baton.cli.dev import install_crds
from baton.cli.ui import answered_hosts
from baton.controller.client import KubeClient, connection_info
from baton.devcluster.cluster import DevCluster
from baton.ui.server import Ui
from support import RunningOperator, wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "daily-sales.yaml"


@pytest.fixture
def finished_run(
    devcluster: DevCluster, kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    devcluster.sync(install_crds, devcluster)

    def create(doc: dict[str, Any]) -> dict[str, Any]:
        rt = devcluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None
        return devcluster.store.create(rt, namespace, doc)

    for doc in yaml.safe_load_all(EXAMPLE.read_text()):
        if doc and doc["kind"] == "Pipeline":
            devcluster.sync(create, doc)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {"generateName": "daily-sales-", "labels": {"baton.dev/pipeline": "daily-sales"}},
        "spec": {"pipelineRef": {"name": "daily-sales"}, "params": {"date": "2025-01-31"}},
    }
    name = devcluster.sync(create, body)["metadata"]["name"]

    def phase() -> str | None:
        run = devcluster.store.find((GROUP, "pipelineruns"), namespace, name) or {}
        return (run.get("status") or {}).get("phase")

    operator = RunningOperator(namespace).start()
    try:
        wait_for(lambda: devcluster.sync(phase) == "Succeeded", timeout=60, message="the run to succeed")
    finally:
        operator.stop()
    yield name


@pytest.fixture
async def ui(namespace: str, finished_run: str) -> AsyncIterator[TestClient[Any, Any]]:
    client = KubeClient(connection_info(), user_agent="baton-ui")
    server = TestServer(Ui(client, [namespace]).app())
    async with TestClient(server) as http:
        yield http
    await client.close()


async def page(http: TestClient[Any, Any], path: str, status: int = 200) -> Dom:
    response = await http.get(path)
    assert response.status == status, await response.text()
    policy = response.headers["Content-Security-Policy"]
    # Only the UI's own script file: no inline script, nothing from elsewhere.
    assert policy.startswith("default-src 'none'; script-src 'self';") and "unsafe-inline'; img" in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self' " not in policy
    return Dom(await response.text())


async def test_the_pages_show_a_finished_run(
    ui: TestClient[Any, Any], namespace: str, finished_run: str
) -> None:
    home = await page(ui, "/")
    links = {a["href"] for a in home.with_attr("href")}
    assert f"/runs/{namespace}/{finished_run}" in links and f"/pipelines/{namespace}/daily-sales" in links

    run = await page(ui, f"/runs/{namespace}/{finished_run}")
    drawn = {a["data-task"]: a["data-phase"] for a in run.with_attr("data-phase") if "data-task" in a}
    tasks = ["regions", "extract", "revenue-by-region", "revenue-by-product", "load", "report"]
    assert drawn == dict.fromkeys(tasks, "Succeeded")
    assert "RunSucceeded" in run.text  # its Event
    assert "2025-01-31" in run.text  # its param

    log = await page(ui, f"/runs/{namespace}/{finished_run}?task=report&attempt=1")
    assert any(text.startswith("Daily sales report for 2025-01-31") for text in log.text)

    pipeline = await page(ui, f"/pipelines/{namespace}/daily-sales")
    assert f"/runs/{namespace}/{finished_run}" in {a["href"] for a in pipeline.with_attr("href")}


async def test_what_is_missing_or_not_shown_is_a_clear_error(
    ui: TestClient[Any, Any], namespace: str, finished_run: str
) -> None:
    missing = await page(ui, f"/runs/{namespace}/nope", 404)
    assert f'pipelinerun "nope" not found in namespace "{namespace}"' in missing.text
    elsewhere = await page(ui, "/runs/kube-system/x", 404)
    assert any('namespace "kube-system" is not one this UI shows' in t for t in elsewhere.text)
    task = await page(ui, f"/runs/{namespace}/{finished_run}?task=ghost", 404)
    assert any(f'task "ghost" is not in pipelinerun "{finished_run}"' in t for t in task.text)
    attempt = await page(ui, f"/runs/{namespace}/{finished_run}?task=report&attempt=<b>", 400)
    assert any('attempt "<b>" is not a number' in t for t in attempt.text)
    attempt = await page(ui, f"/runs/{namespace}/{finished_run}?task=report&attempt=99", 404)
    assert any('task "report" has had 1 attempt(s), not 99' in t for t in attempt.text)
    assert (await ui.get("/healthz")).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/pipelines/{ns}/..%2F..%2Fother%2Fpipelines%2Fdaily-sales",
        "/runs/{ns}/..%2F..%2F..%2F..%2F..%2F..%2Fapi%2Fv1%2Fnamespaces%2Fdefault",
        "/runs/..%2F..%2Fapi/x",
        "/?namespace=..%2F..%2Fapi",
    ],
    ids=["name-up-to-another-namespace", "name-up-to-the-core-api", "namespace-up", "filter-up"],
)
async def test_a_path_that_is_not_a_name_never_reaches_the_api(
    ui: TestClient[Any, Any], namespace: str, path: str
) -> None:
    refused = await page(ui, path.format(ns=namespace), 400)
    assert any("is not a" in t for t in refused.text)


async def test_a_foreach_tasks_instances_have_their_own_logs(
    ui: TestClient[Any, Any], namespace: str, finished_run: str
) -> None:
    run = await page(ui, f"/runs/{namespace}/{finished_run}")
    instance_links = [a["href"] for a in run.with_attr("href") if "task=extract%5B" in (a["href"] or "")]
    assert len(instance_links) == 3  # the example's three regions
    whole = await page(ui, f"/runs/{namespace}/{finished_run}?task=extract")
    assert any("each of its 3 instances has its log" in t for t in whole.text)
    one = await page(ui, f"/runs/{namespace}/{finished_run}?task=extract%5B0%5D")
    assert any(t.startswith("Log of extract[0], attempt 1") for t in one.text)
    assert not any("has not started" in t for t in one.text)


async def test_another_host_name_is_refused(namespace: str, finished_run: str) -> None:
    client = KubeClient(connection_info(), user_agent="baton-ui")
    try:
        ui = Ui(client, [namespace], hosts=answered_hosts("0.0.0.0", ["baton-ui.baton-system"]))
        async with TestClient(TestServer(ui.app())) as http:
            response = await http.get("/", headers={"Host": "rebound.example:8080"})
            assert response.status == 421
            assert "does not answer for host &quot;rebound.example:8080&quot;" in await response.text()
            # The names it is served under, whatever the port: a port-forward's, the Service's.
            for host in (
                "localhost:18080",
                "127.0.0.1",
                "[::1]:9000",
                "baton-ui.baton-system",
                "BATON-UI.baton-system:80",
            ):
                assert (await http.get("/healthz", headers={"Host": host})).status == 200, host
    finally:
        await client.close()


def test_baton_ui_serves_with_the_kubeconfigs_credentials(kubeconfig: Path, namespace: str) -> None:
    port = free_port()
    command = [sys.executable, "-m", "baton.cli.main", "ui", "--kubeconfig", str(kubeconfig), "-n", namespace]
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"Baton UI on http://127.0.0.1:{port}/ ({namespace})"), line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200 and b"Pipelines" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_wrong_addresses_and_filters_say_so_and_lead_back(
    ui: TestClient[Any, Any], namespace: str, finished_run: str
) -> None:
    bogus = await page(ui, "/?phase=Bogus", 400)
    assert any('"Bogus" is not a phase: one of Pending, Running' in t for t in bogus.text)
    extra = await page(ui, f"/runs/{namespace}/{finished_run}/extra", 404)
    assert f"/runs/{namespace}/{finished_run}" in {
        a["href"] for a in extra.with_attr("href")
    }  # back to the run
    zero = await page(ui, f"/runs/{namespace}/{finished_run}?task=report&attempt=0", 400)
    assert any("attempts count from 1" in t for t in zero.text)
    nine = await page(ui, f"/runs/{namespace}/{finished_run}?task=report&attempt=9", 404)
    assert any("has had 1 attempt(s), not 9" in t for t in nine.text)
    # A part of a Pipeline's name filters; nothing found says "none".
    part = await page(ui, "/?pipeline=sales")
    assert f"/runs/{namespace}/{finished_run}" in {a["href"] for a in part.with_attr("href")}
    empty = await page(ui, "/?pipeline=nothing-like-it")
    assert empty.text.count("none") == 2  # the Pipelines table and the runs table
    logged = await page(ui, f"/runs/{namespace}/{finished_run}?task=report")
    assert any(t.startswith("from its Pod ") for t in logged.text)  # where the text comes from
