"""`baton ui` in a real browser (headless chromium through `cdp`), on runs the operator finished on the
dev cluster: what a person sees is what the cluster holds (every task in its phase and colour, the DAG
laid out top to bottom, the logs), the links and forms lead where they say, and nothing on a page runs
script or trips the Content-Security-Policy, whatever a log line or a param holds.

The runs are made once for the module (one pipeline, one run that succeeds and one that fails); each test
gets its own UI server and its own browser (about 0.3 s to start and stop)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestServer
from cdp import Browser, Page

from baton import GROUP, VERSION
from baton.cli.dev import install_crds
from baton.controller.client import KubeClient, connection_info
from baton.devcluster.cluster import DevCluster
from baton.ui.server import Ui
from support import RunningOperator, wait_for

pytestmark = pytest.mark.browser

INJECTED = (
    """<script>window.batonInjected = "script"</script>"""
    """<img src=/healthz onerror="window.batonInjected = 'img'">"""
)
"""A param value, echoed into a log: it must show as text. Escaped, it is inert; unescaped, the CSP would
still block it, and report the violation."""
PIPELINE = f"""
apiVersion: {GROUP}/{VERSION}
kind: Pipeline
metadata:
  name: fan-in
spec:
  params:
    - {{name: verdict, default: pass}}
    - {{name: note, default: ""}}
  taskDefaults:
    image: busybox
  tasks:
    - name: fetch
      env: [{{name: NOTE, value: "$(params.note)"}}]
      command: [sh, -c, 'echo "fetched 3 files"; echo "note: $NOTE"']
    - name: clean
      dependsOn: [fetch]
      command: [sh, -c, 'echo "cleaned 3 files"']
    - name: check
      dependsOn: [fetch]
      env: [{{name: VERDICT, value: "$(params.verdict)"}}]
      command:
        - sh
        - -c
        - |
          echo "checking 3 files"
          if [ "$VERDICT" != pass ]; then echo "check failed: 2 rows have no date" >&2; exit 3; fi
    - name: merge
      dependsOn: [clean, check]
      command: [sh, -c, 'echo "merged 3 files"']
"""
TASKS = ["fetch", "clean", "check", "merge"]

# The rows of a table as {header: cell text}: asserted by what a column is called, not where it is.
ROWS = """(table) => {
  if (!table) return null;
  const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  return [...table.querySelectorAll("tbody tr")].map((tr) =>
    Object.fromEntries([...tr.cells].map((td, i) => [headers[i], td.textContent.trim()])));
}"""


@dataclass(frozen=True)
class Runs:
    namespace: str
    succeeded: str
    failed: str

    @property
    def phases(self) -> dict[str, str]:
        return {self.succeeded: "Succeeded", self.failed: "Failed"}


@pytest.fixture(scope="module")
def runs(devcluster: DevCluster, kubeconfig: Path) -> Iterator[Runs]:
    """The fan-in pipeline's two runs, finished by the operator: one Succeeded (with ``INJECTED`` as
    its note), one Failed at `check` (so `merge` never runs); and the Pipeline's status naming the last."""
    done = Runs(f"t-{uuid.uuid4().hex[:10]}", "fan-in-ok", "fan-in-failed")

    def create(doc: dict[str, Any], namespace: str = done.namespace) -> dict[str, Any]:
        rt = devcluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None, doc["kind"]
        return devcluster.store.create(rt, namespace, doc)

    def run(name: str, **params: str) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"name": name, "labels": {"baton.dev/pipeline": "fan-in"}},
            "spec": {"pipelineRef": {"name": "fan-in"}, "params": params},
        }

    def status(plural: str, name: str) -> dict[str, Any]:
        return (devcluster.store.find((GROUP, plural), done.namespace, name) or {}).get("status") or {}

    def finished() -> bool:
        if any(status("pipelineruns", name).get("phase") != phase for name, phase in done.phases.items()):
            return False
        last = status("pipelines", "fan-in")
        return last.get("lastRunStatus") == done.phases.get(last.get("lastRun", ""))

    with pytest.MonkeyPatch.context() as env:
        env.setenv("KUBECONFIG", str(kubeconfig))  # for the operator's and the UI's clients
        devcluster.sync(install_crds, devcluster)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": done.namespace}}
        devcluster.sync(create, namespace, "")
        devcluster.sync(create, yaml.safe_load(PIPELINE))
        devcluster.sync(create, run(done.succeeded, note=INJECTED))
        devcluster.sync(create, run(done.failed, verdict="fail"))
        operator = RunningOperator(done.namespace).start()
        try:
            wait_for(lambda: devcluster.sync(finished), timeout=60, message="both runs to finish")
        finally:
            operator.stop()
        yield done


@pytest.fixture
async def ui(runs: Runs) -> AsyncIterator[str]:
    """The UI's server on a free port, for the runs' namespace: its base URL."""
    client = KubeClient(connection_info(), user_agent="baton-ui")
    server = TestServer(Ui(client, [runs.namespace]).app())
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await client.close()


@pytest.fixture
async def page(ui: str) -> AsyncIterator[Page]:
    """A 1280x800 tab in a browser of its own (closed before the UI's server: it depends on it)."""
    async with Browser.launch() as browser:
        yield await browser.new_page(1280, 800)


async def rows(page: Page, selector: str = "", *, around: str = "") -> list[dict[str, str]]:
    """The rows of the table ``selector`` matches, or of the table around what ``around`` matches."""
    table = f"document.querySelector({json.dumps(selector or around)})"
    found = await page.evaluate(f"({ROWS})({table}?.closest('table'))")
    assert found is not None, f"no table {selector or 'around ' + around} on {page.url}"
    return list(found)


async def test_the_overview_lists_the_pipeline_and_its_runs_and_filters_them(
    page: Page, ui: str, runs: Runs
) -> None:
    shown = await page.goto(f"{ui}/")
    assert shown.status == 200
    assert shown.headers["content-security-policy"].startswith("default-src 'none'")

    link = f'a[href="/pipelines/{runs.namespace}/fan-in"]'
    pipelines = await rows(page, around=link)
    pipeline = next(row for row in pipelines if row["Pipeline"] == "fan-in")
    assert pipeline["Tasks"] == "4"
    assert pipeline["Last status"] == runs.phases[pipeline["Last run"]]  # the last run, in its phase
    listed = {row["Run"]: row for row in await rows(page, "table.runs")}
    assert {name: row["Phase"] for name, row in listed.items()} == runs.phases
    assert {row["Pipeline"] for row in listed.values()} == {"fan-in"}

    # The filter form, submitted with its button: a real GET navigation with the form's fields.
    await page.evaluate("document.querySelector('form.filters select[name=phase]').value = 'Failed'")
    filtered = await page.click("form.filters button[type=submit]")
    assert filtered is not None and filtered.status == 200 and "phase=Failed" in filtered.url
    assert [row["Run"] for row in await rows(page, "table.runs")] == [runs.failed]
    assert page.problems == []


async def test_a_finished_runs_page_draws_every_task_in_its_phase_and_colour(
    page: Page, ui: str, runs: Runs, tmp_path: Path
) -> None:
    shown = await page.goto(f"{ui}/runs/{runs.namespace}/{runs.failed}")
    assert shown.status == 200

    listed = {row["Task"]: row["Phase"] for row in await rows(page, "table.tasks")}
    phases = {"fetch": "Succeeded", "clean": "Succeeded", "check": "Failed", "merge": "Skipped"}
    assert listed == phases

    nodes: list[dict[str, Any]] = await page.evaluate("""
      [...document.querySelectorAll("svg.dag g.node")].map((g) => {
        const rect = g.querySelector("rect"), box = rect.getBoundingClientRect();
        const style = getComputedStyle(rect);
        return {task: g.dataset.task, phase: g.dataset.phase, cls: g.getAttribute("class"),
                fill: style.fill, stroke: style.stroke, top: box.top, height: box.height, width: box.width};
      })""")
    assert sorted(n["task"] for n in nodes) == sorted(TASKS)  # one node per task
    node = {n["task"]: n for n in nodes}
    for task, phase in phases.items():
        assert node[task]["phase"] == phase and f"phase-{phase}" in node[task]["cls"].split()
        assert node[task]["width"] > 0 and node[task]["height"] > 0  # laid out, not only present
    # A fan-in drawn top to bottom: fetch, then clean and check side by side, then merge.
    assert node["fetch"]["top"] < node["clean"]["top"] == node["check"]["top"] < node["merge"]["top"]
    assert await page.evaluate("document.querySelectorAll('svg.dag path.edge').length") == 4

    # The stylesheet's phase colours reach the SVG: green, red and amber outlines, three different fills.
    def rgb(colour: str) -> tuple[int, ...]:
        return tuple(int(part) for part in colour.removeprefix("rgb(").removesuffix(")").split(","))

    red, green, blue = rgb(node["check"]["stroke"])
    assert red > green and red > blue, node["check"]["stroke"]
    red, green, blue = rgb(node["fetch"]["stroke"])
    assert green > red and green > blue, node["fetch"]["stroke"]
    red, green, blue = rgb(node["merge"]["stroke"])
    assert blue < min(red, green), node["merge"]["stroke"]
    assert len({node[t]["fill"] for t in ("fetch", "check", "merge")}) == 3
    # … and the task table's phase badge is the same red as the graph's node.
    badge = await page.evaluate(
        "getComputedStyle(document.querySelector('table.tasks span.phase-Failed')).color"
    )
    assert badge == node["check"]["stroke"]

    full = await page.screenshot(tmp_path / "run.png", full_page=True)
    width, height = int.from_bytes(full.read_bytes()[16:20]), int.from_bytes(full.read_bytes()[20:24])
    assert (width, height) == (1280, await page.evaluate("document.documentElement.scrollHeight"))
    assert page.problems == [] and page.csp_violations == []


async def test_a_tasks_node_leads_to_its_log(page: Page, ui: str, runs: Runs) -> None:
    await page.goto(f"{ui}/runs/{runs.namespace}/{runs.failed}")
    opened = await page.click("svg.dag g.node[data-task=check] a")
    assert opened is not None and opened.status == 200 and "task=check" in opened.url

    log = await page.evaluate("document.querySelector('pre.log')?.textContent")
    assert log is not None and "checking 3 files" in log and "check failed: 2 rows have no date" in log
    heading = await page.evaluate("document.getElementById('log').textContent")
    assert heading.startswith("Log of check")
    assert page.problems == []


async def test_markup_in_a_param_or_a_log_line_shows_as_text_and_never_runs(
    page: Page, ui: str, runs: Runs
) -> None:
    await page.goto(f"{ui}/runs/{runs.namespace}/{runs.succeeded}?task=fetch&attempt=1")

    log = await page.evaluate("document.querySelector('pre.log').textContent")
    assert f"note: {INJECTED}" in log
    codes = await page.evaluate("[...document.querySelectorAll('td code')].map((c) => c.textContent)")
    assert INJECTED in codes  # the param, in the Params table
    # Text, not elements: no script but the UI's own file, no img, no handler; nothing ran or was blocked.
    foreign = "[...document.scripts].filter((s) => !s.src || new URL(s.src).origin !== location.origin)"
    assert await page.evaluate(f"{foreign}.length") == 0
    assert await page.evaluate("document.querySelectorAll('img, [onerror]').length") == 0
    assert await page.evaluate("typeof window.batonInjected") == "undefined"
    assert page.csp_violations == [] and page.problems == []
