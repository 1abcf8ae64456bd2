"""The pages as pure functions of the objects read: every task drawn and listed with its phase, values
shown as text whatever they hold, no script but the UI's own file, and the actions a run allows."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from baton.ui.pages import Filters, error_page, overview, pipeline_page
from baton.ui.run_page import LogView, run_page

NOW = datetime(2026, 12, 6, 12, 0, 10, tzinfo=UTC)
EVIL = "<script>alert('x')</script>"


class Dom(HTMLParser):
    """The elements, their attributes and the text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_attr(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if name in attrs]


SPEC = {
    "taskDefaults": {"image": "busybox"},
    "params": [{"name": "date", "default": EVIL}],
    "tasks": [
        {"name": "extract", "command": ["true"]},
        {"name": "fan", "command": ["true"], "dependsOn": ["extract"], "forEach": {"items": '["a","b"]'}},
        {"name": "load", "command": ["true"], "dependsOn": ["fan"]},
    ],
    "finally": [{"name": "notify", "command": ["true"]}],
}


def run(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "baton.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"name": "nightly-x", "namespace": "etl", "creationTimestamp": "2026-12-06T12:00:00Z"},
        "spec": {"pipelineRef": {"name": "nightly"}, "params": {"date": EVIL}},
        "status": {
            "phase": "Failed",
            "pipeline": "nightly",
            "startTime": "2026-12-06T12:00:00Z",
            "completionTime": "2026-12-06T12:00:08Z",
            "progress": "3/4",
            "pipelineSpec": SPEC,
            "params": {"date": EVIL},
            "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed", "message": EVIL}],
            "tasks": [
                {"name": "extract", "phase": "Succeeded", "attempts": 1, "startTime": "2026-12-06T12:00:00Z",
                 "completionTime": "2026-12-06T12:00:02Z"},
                {"name": "fan", "phase": "Succeeded", "attempts": 0, "items": 2, "succeededInstances": "0-1"},
                {"name": "load", "phase": "Failed", "attempts": 2, "exitCode": 3, "reason": "Error",
                 "message": EVIL, "startTime": "2026-12-06T12:00:04Z",
                 "completionTime": "2026-12-06T12:00:08Z"},
            ],
            **status,
        },
    }  # fmt: skip


def assert_no_script(html: str) -> Dom:
    """No script but the UI's own file (no inline script, no handler attribute): what a value got in
    could never run."""
    dom = Dom(html)
    assert [a for tag, a in dom.tags if tag == "script"] == [{"src": "/static/live.js", "defer": None}]
    assert "</script>" in html and '<script src="/static/live.js" defer></script>' in html
    assert not [a for _, a in dom.tags for key in a if key.startswith("on")]
    return dom


def test_a_run_page_draws_and_lists_every_task_with_its_phase() -> None:
    html = run_page(run(), None, [], None, NOW)
    dom = assert_no_script(html)
    drawn = {a["data-task"]: a["data-phase"] for a in dom.with_attr("data-task") if "data-phase" in a}
    assert drawn == {"extract": "Succeeded", "fan": "Succeeded", "load": "Failed", "notify": "Pending"}
    assert [tag for tag, _ in dom.tags].count("svg") == 2  # the DAG and the timeline
    edges = [a for tag, a in dom.tags if tag == "path" and a.get("class") == "edge"]
    assert len(edges) == 2  # extract → fan → load; finally tasks have no edges
    assert "fan: Succeeded (2 items: 2 ok)" in dom.text  # a forEach task: one node counting its instances
    assert "load: Failed (Error), attempt 2, exit 3" in dom.text


def test_what_the_cluster_holds_is_shown_as_text() -> None:
    log = LogView("load", 2, f"line one\n{EVIL}\n</pre>", "")
    events = [
        {"type": "Warning", "reason": "RunFailed", "message": EVIL, "lastTimestamp": "2026-12-06T12:00:08Z"}
    ]
    html = run_page(run(), None, events, log, NOW)
    dom = assert_no_script(html)
    texts = "".join(dom.text)
    assert texts.count(EVIL) >= 4  # the message, a task's, the param's value, the Event's, the log's
    assert f"line one\n{EVIL}\n</pre>" in dom.text


def test_the_overview_filters_and_links() -> None:
    other = run()
    other["metadata"] = {**other["metadata"], "name": "other-y", "namespace": "web"}
    other["status"] = {**other["status"], "pipeline": "site", "phase": "Succeeded"}
    status = {
        "taskCount": 4,
        "lastRun": "nightly-x",
        "lastRunStatus": "Failed",
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    pipeline = {"metadata": {"name": "nightly", "namespace": "etl"}, "status": status}
    everything = Dom(overview([pipeline], [run(), other], Filters(), NOW))
    links = {a["href"] for a in everything.with_attr("href")}
    assert {"/runs/etl/nightly-x", "/runs/web/other-y", "/pipelines/etl/nightly"} <= links
    failed = Dom(overview([pipeline], [run(), other], Filters(phase="Failed"), NOW))
    links = {a["href"] for a in failed.with_attr("href")}
    assert "/runs/etl/nightly-x" in links and "/runs/web/other-y" not in links
    assert "/pipelines/etl/nightly" in links  # a Pipeline has no phase: the phase filter keeps it
    in_web = Dom(overview([pipeline], [run(), other], Filters(namespace="web"), NOW))
    assert "/pipelines/etl/nightly" not in {a["href"] for a in in_web.with_attr("href")}


def test_a_pipeline_page_draws_its_spec_and_lists_its_runs() -> None:
    pipeline = {"metadata": {"name": "nightly", "namespace": "etl"}, "spec": SPEC, "status": {}}
    dom = assert_no_script(pipeline_page(pipeline, [run()], NOW))
    assert {a["data-task"] for a in dom.with_attr("data-task")} == {"extract", "fan", "load", "notify"}
    assert EVIL in dom.text  # the param's default
    assert "/runs/etl/nightly-x" in {a["href"] for a in dom.with_attr("href")}


def test_an_error_page_says_what_went_wrong() -> None:
    dom = assert_no_script(error_page(404, f'pipelinerun "{EVIL}" not found'))
    assert f'pipelinerun "{EVIL}" not found' in dom.text


def test_a_status_edited_by_hand_still_renders() -> None:
    broken = run(startTime="yesterday", completionTime="2026-12-06T11:00:00Z")
    broken["status"]["tasks"][0]["startTime"] = "not a time"
    dom = assert_no_script(run_page(broken, None, [], None, NOW))
    assert {a["data-task"] for a in dom.with_attr("data-task") if "data-phase" in a} >= {"extract", "load"}
    skewed = run(startTime="2026-12-06T12:00:20Z", completionTime=None)  # a clock ahead of this one
    assert "0m00s so far" in Dom(run_page(skewed, None, [], None, NOW)).text
