"""The run page: a run's DAG, tasks, timeline, params, results, Events and one attempt's log, the actions
a person may take on it, and who took the last one.

While the run goes on, its `<main>` names where its updates stream from (`data-live`) and a log of a
running attempt where its lines do; `/static/live.js` follows both. Without script the page is the
snapshot it was when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from baton.api.run import FINISHED_PHASES
from baton.cli.output import run_view

from .dag import run_dag
from .forms import Actions, run_actions, who_acted
from .markup import Child, Markup, element, join
from .pages import duration, page, phase_badge, pipeline_href, run_href, table, time_cell, when
from .svg import Bar, gantt

INSTANCE_LINKS = 20
"""A forEach task's row links the logs of this many of its instances (any one: `?task=NAME[i]`)."""


@dataclass(frozen=True, slots=True)
class LogView:
    task: str
    attempt: int
    text: str
    note: str
    """Where the text came from when not from the Pod (its recorded tail), or why there is none."""
    follow: bool = False
    """The attempt is running: its new lines stream to the page (`/log` of the run)."""
    instances: int = 0
    """A forEach task's: how many instances it has (the section links their logs)."""


def run_page(
    run: Mapping[str, Any],
    pipeline: Mapping[str, Any] | None,
    events: Sequence[Mapping[str, Any]],
    log: LogView | None,
    now: datetime,
    actions: Actions | None = None,
) -> Markup:
    meta = run.get("metadata") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    body: list[Child] = [run_main(run, pipeline, events, now, actions)]
    if log is not None:
        body.append(_log_section(log, run_href(namespace, name)))
    return page(f"pipelinerun {namespace}/{name}", *body)


def run_main(
    run: Mapping[str, Any],
    pipeline: Mapping[str, Any] | None,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    actions: Actions | None = None,
) -> Markup:
    """The part of the run page that changes as the run goes on (what its live updates replace)."""
    view = run_view(run, pipeline)
    meta = run.get("metadata") or {}
    namespace = meta.get("namespace", "")
    status = run.get("status") or {}
    summary = table(
        ("Phase", "Pipeline", "Progress", "Started", "Duration", "Message"),
        [
            [
                phase_badge(view.phase),
                element("a", {"href": pipeline_href(namespace, view.pipeline)}, view.pipeline)
                if view.pipeline
                else "",
                view.progress,
                time_cell(view.start_time),
                duration(view.start_time, view.completion_time, now),
                element("span", {"class": "message"}, view.message),
            ]
        ],
    )
    tasks = [_task_row(namespace, view.name, task, now) for task in view.tasks]
    bars = [
        Bar(
            str(t["name"]),
            str(t.get("phase", "")),
            started,
            when(t.get("completionTime")),
            f"{t.get('phase', '')}, attempt {t.get('attempts', 1)}",
        )
        for t in view.tasks
        if (started := when(t.get("startTime"))) is not None
    ]
    params = status.get("params") or (run.get("spec") or {}).get("params") or {}
    sections: list[Child] = [
        who_acted(run, run_href),
        summary,
        run_actions(run, view.tasks, actions),
        element("h2", None, "Graph"),
        element(
            "div",
            {"class": "scroll"},
            run_dag(view, lambda task: run_href(namespace, view.name, task=task) + "#log"),
        ),
        element("h2", None, f"Tasks ({len(view.tasks)})"),
        table(
            ("Task", "Phase", "Attempts", "Reason", "Exit code", "Started", "Duration", "Message"),
            tasks,
            cls="tasks",
        ),
    ]
    if bars:
        sections += [element("h2", None, "Timeline"), element("div", {"class": "scroll"}, gantt(bars, now))]
    sections += [
        element("h2", None, "Params"),
        table(("Name", "Value"), [[k, element("code", None, v)] for k, v in sorted(params.items())]),
        element("h2", None, "Results"),
        table(
            ("Name", "Value"),
            [[r.get("name", ""), element("code", None, r.get("value", ""))] for r in view.results],
        ),
        element("h2", None, f"Events ({len(events)})"),
        table(("Type", "Reason", "Last seen", "Message"), [_event_row(e) for e in events], cls="events"),
    ]
    since = urlencode({"since": meta.get("resourceVersion", "")})
    live = None if view.phase in FINISHED_PHASES else f"{run_href(namespace, view.name)}/live?{since}"
    return element("main", {"data-phase": view.phase, "data-live": live}, *sections)


def _task_row(namespace: str, run: str, task: Mapping[str, Any], now: datetime) -> list[Child]:
    name = str(task.get("name", ""))
    attempts = int(task.get("attempts") or 0)
    links = [
        element("a", {"href": run_href(namespace, run, task=name, attempt=n) + "#log"}, f"log {n}")
        for n in range(1, attempts + 1)
    ]
    label: list[Child] = [
        element("a", {"href": run_href(namespace, run, task=name) + "#log", "id": f"task-{name}"}, name)
    ]
    attempts_cell: Child = (
        join([str(attempts), " ", element("span", {"class": "logs"}, links)]) if attempts else ""
    )
    if task.get("items") is not None:
        label.append(element("span", {"class": "detail"}, f" \u00d7{task['items']}"))
        instances = list(task.get("instances") or ())
        shown = [
            element("a", {"href": run_href(namespace, run, task=f"{name}[{i}]") + "#log"}, f"[{i}]")
            for i, _ in enumerate(instances[:INSTANCE_LINKS])
        ]
        more = f" … {len(instances) - INSTANCE_LINKS} more" if len(instances) > INSTANCE_LINKS else ""
        attempts_cell = element("span", {"class": "logs"}, "logs ", join(shown), more) if shown else ""
    return [
        join(label),
        phase_badge(task.get("phase")),
        attempts_cell,
        task.get("reason") or "",
        "" if task.get("exitCode") is None else task["exitCode"],
        time_cell(task.get("startTime")),
        duration(task.get("startTime"), task.get("completionTime"), now),
        element("span", {"class": "message"}, task.get("message") or ""),
    ]


def _event_row(event: Mapping[str, Any]) -> list[Child]:
    when = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
    )
    return [
        event.get("type", ""),
        event.get("reason", ""),
        time_cell(when),
        element("span", {"class": "message"}, event.get("message", "")),
    ]


def _log_section(log: LogView, run_path: str) -> Markup:
    title = f"Log of {log.task}" + (f", attempt {log.attempt}" if log.attempt else "")
    note = element("p", {"class": "note"}, log.note) if log.note else ""
    follow = f"{run_path}/log?{urlencode({'task': log.task, 'attempt': log.attempt})}" if log.follow else None
    text = element("pre", {"class": "log", "data-live": follow}, log.text)
    links: Child = ""
    if log.instances:
        shown = [
            element("a", {"href": f"{run_path}?{urlencode({'task': f'{log.task}[{i}]'})}#log"}, f"[{i}]")
            for i in range(min(log.instances, INSTANCE_LINKS))
        ]
        more = (
            f" … {log.instances - INSTANCE_LINKS} more (?task={log.task}[N])"
            if log.instances > INSTANCE_LINKS
            else ""
        )
        links = element("p", {"class": "logs"}, "instances: ", join(shown), more)
    return element("section", {"class": "log"}, element("h2", {"id": "log"}, title), note, links, text)
