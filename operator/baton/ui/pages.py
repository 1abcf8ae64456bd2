"""The UI's pages, as pure functions of the objects read from the cluster: server-rendered HTML that works
without JavaScript, every value escaped (`markup`), nothing fetched from elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from baton.cli.output import run_view
from baton.controller.cache import pipeline_of_run
from baton.core.status import parse_time

from . import style
from .dag import run_dag
from .forms import Actions, pipeline_actions
from .markup import Child, Markup, element, render, void

LIVE_SCRIPT = "/static/live.js"
"""Follows a page's live parts (`data-live`); the only script, served by the UI itself."""
RUNS_SHOWN = 200
PHASES = ("Pending", "Running", "Suspended", "Succeeded", "Failed", "Cancelled")


@dataclass(frozen=True, slots=True)
class Filters:
    namespace: str = ""
    pipeline: str = ""
    phase: str = ""

    def keep(self, obj: Mapping[str, Any], pipeline: str | None, phase: str | None) -> bool:
        meta = obj.get("metadata") or {}
        return (
            (not self.namespace or meta.get("namespace") == self.namespace)
            and (not self.pipeline or self.pipeline in (pipeline or ""))  # a part of its name will do
            and (not self.phase or phase == self.phase)
        )


def page(title: str, *body: Child) -> Markup:
    head = element(
        "head",
        None,
        void("meta", {"charset": "utf-8"}),
        void("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        element("title", None, f"{title} · Baton"),
        void("link", {"rel": "icon", "href": "data:,"}),  # no /favicon.ico request (a 404 in every log)
        element("style", None, Markup(style.CSS)),
        element("script", {"src": LIVE_SCRIPT, "defer": True}),
    )
    nav = element(
        "nav", None, element("a", {"href": "/", "class": "brand"}, "Baton"), element("span", None, title)
    )
    return Markup(
        "<!doctype html>" + element("html", {"lang": "en"}, head, element("body", None, nav, *body))
    )


def run_href(namespace: str, name: str, **query: object) -> str:
    path = f"/runs/{quote(namespace, safe='')}/{quote(name, safe='')}"
    return path + ("?" + urlencode({k: v for k, v in query.items() if v is not None}) if query else "")


def pipeline_href(namespace: str, name: str) -> str:
    return f"/pipelines/{quote(namespace, safe='')}/{quote(name, safe='')}"


def phase_badge(phase: str | None) -> Markup:
    shown = phase or "Pending"
    return element("span", {"class": f"phase phase-{shown}"}, shown)


def time_cell(value: str | None) -> Markup:
    return (
        element("time", {"datetime": value}, value.replace("T", " ").removesuffix("Z"))
        if value
        else Markup("")
    )


def when(value: object) -> datetime | None:
    """A timestamp as written in a status, or None (absent, or not one: a status edited by hand)."""
    try:
        return parse_time(str(value)) if value else None
    except ValueError:
        return None


def duration(start: str | None, end: str | None, now: datetime) -> str:
    begun, ended = when(start), when(end)
    if begun is None:
        return ""
    seconds = max(0, int(((ended or now) - begun).total_seconds()))
    text = (
        f"{seconds // 3600}h{seconds % 3600 // 60:02}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02}s"
    )
    return text if ended else f"{text} so far"


def table(headers: Sequence[str], rows: Sequence[Sequence[Child]], *, cls: str = "") -> Markup:
    head = element("tr", None, [element("th", None, h) for h in headers])
    body = [element("tr", None, [element("td", None, cell) for cell in row]) for row in rows]
    if not body:  # an empty table says so, rather than look broken
        body = [element("tr", None, element("td", {"colspan": len(headers), "class": "note"}, "none"))]
    return element(
        "table", {"class": cls or None}, element("thead", None, head), element("tbody", None, body)
    )


def _run_row(run: Mapping[str, Any], now: datetime) -> list[Child]:
    meta, status = run.get("metadata") or {}, run.get("status") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    pipeline = pipeline_of_run(run) or ""
    message = next(
        (c.get("message", "") for c in status.get("conditions") or () if c.get("type") == "Succeeded"), ""
    )
    return [
        namespace,
        element("a", {"href": run_href(namespace, name)}, name),
        element("a", {"href": pipeline_href(namespace, pipeline)}, pipeline) if pipeline else "",
        phase_badge(status.get("phase")),
        status.get("progress") or "",
        time_cell(status.get("startTime")),
        duration(status.get("startTime"), status.get("completionTime"), now),
        element("span", {"class": "message"}, message),
    ]


RUN_HEADERS = ("Namespace", "Run", "Pipeline", "Phase", "Progress", "Started", "Duration", "Message")


def _newest_first(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def key(run: Mapping[str, Any]) -> tuple[str, str]:
        meta = run.get("metadata") or {}
        return (
            (run.get("status") or {}).get("startTime") or meta.get("creationTimestamp") or "",
            meta.get("name", ""),
        )

    return sorted(runs, key=key, reverse=True)


def overview(
    pipelines: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]], filters: Filters, now: datetime
) -> Markup:
    kept_runs = [
        r
        for r in _newest_first(runs)
        if filters.keep(r, pipeline_of_run(r), (r.get("status") or {}).get("phase"))
    ]
    by_place = Filters(filters.namespace, filters.pipeline)  # a Pipeline has no phase: not filtered by one
    kept_pipelines = [p for p in pipelines if by_place.keep(p, (p.get("metadata") or {}).get("name"), None)]
    namespaces = sorted({(o.get("metadata") or {}).get("namespace", "") for o in [*pipelines, *runs]})
    pipeline_rows = []
    for p in sorted(
        kept_pipelines, key=lambda p: ((p["metadata"].get("namespace", ""), p["metadata"]["name"]))
    ):
        meta, status = p["metadata"], p.get("status") or {}
        ready: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
        )
        last = status.get("lastRun")
        pipeline_rows.append(
            [
                meta.get("namespace", ""),
                element("a", {"href": pipeline_href(meta.get("namespace", ""), meta["name"])}, meta["name"]),
                status.get("taskCount", ""),
                element("span", {"title": ready.get("message", "")}, ready.get("status", "")),
                element("a", {"href": run_href(meta.get("namespace", ""), last)}, last) if last else "",
                phase_badge(status.get("lastRunStatus")) if last else "",
                time_cell(status.get("nextScheduleTime")),
            ]
        )
    form = _filters_form(filters, namespaces)
    shown = kept_runs[:RUNS_SHOWN]
    more = (
        f"the newest {RUNS_SHOWN} of {len(kept_runs)}" if len(kept_runs) > RUNS_SHOWN else f"{len(kept_runs)}"
    )
    return page(
        "Overview",
        element(
            "main",
            None,
            form,
            element("h2", None, f"Pipelines ({len(kept_pipelines)})"),
            table(
                ("Namespace", "Pipeline", "Tasks", "Ready", "Last run", "Last status", "Next schedule"),
                pipeline_rows,
            ),
            element("h2", None, f"Runs ({more})"),
            table(RUN_HEADERS, [_run_row(r, now) for r in shown], cls="runs"),
        ),
    )


def _filters_form(filters: Filters, namespaces: Sequence[str]) -> Markup:
    def select(name: str, options: Sequence[str], chosen: str) -> Markup:
        items = [element("option", {"value": ""}, "all")]
        items += [element("option", {"value": o, "selected": o == chosen}, o) for o in options]
        return element("label", None, f"{name} ", element("select", {"name": name}, items))

    return element(
        "form",
        {"method": "get", "action": "/", "class": "filters"},
        select("namespace", namespaces, filters.namespace),
        element("label", None, "pipeline ", void("input", {"name": "pipeline", "value": filters.pipeline})),
        select("phase", PHASES, filters.phase),
        element("button", {"type": "submit"}, "Filter"),
    )


def pipeline_page(
    pipeline: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    now: datetime,
    actions: Actions | None = None,
) -> Markup:
    meta, spec, status = pipeline["metadata"], pipeline.get("spec") or {}, pipeline.get("status") or {}
    namespace = meta.get("namespace", "")
    fake_run = {"metadata": {"name": meta["name"], "namespace": namespace}, "spec": {"pipelineSpec": spec}}
    view = run_view(fake_run)
    params = [
        [p.get("name", ""), element("code", None, p.get("default", "")), p.get("description", "")]
        for p in spec.get("params") or ()
        if isinstance(p, Mapping)
    ]
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    return page(
        f"pipeline {namespace}/{meta['name']}",
        element(
            "main",
            None,
            element(
                "p",
                None,
                f"Ready: {ready.get('status', 'Unknown')}",
                " — ",
                element("span", {"class": "message"}, ready.get("message", "")),
            ),
            pipeline_actions(pipeline, actions),
            element("h2", None, "Graph"),
            element("div", {"class": "scroll"}, run_dag(view, lambda task: "", phases=False)),
            element("h2", None, "Params"),
            table(("Name", "Default", "Description"), params),
            element("h2", None, f"Runs ({len(runs)})"),
            table(RUN_HEADERS, [_run_row(r, now) for r in _newest_first(runs)[:RUNS_SHOWN]], cls="runs"),
        ),
    )


def back(path: str) -> str:
    """Where an error page leads back to: the run or Pipeline the path is about, else the overview."""
    parts = path.split("/")
    return "/".join(parts[:4]) if len(parts) >= 4 and parts[1] in ("runs", "pipelines") else "/"


def error_page(code: int, message: str, back_to: str = "/") -> Markup:
    link = element("a", {"href": back_to}, "back to the overview" if back_to == "/" else f"back to {back_to}")
    return page(
        f"{code}", element("main", None, element("p", {"class": "error"}, message), element("p", None, link))
    )


__all__ = ["Filters", "error_page", "overview", "pipeline_page", "render"]
