"""`kubectl baton describe RUN`: a run as a person reads it, what matters first.

    kubectl baton describe daily-sales-x7k2p      # or a Pipeline's name: its newest run

Its phase and message, when and how long, who last acted on it, its params and results, every task (with
attempts, reason, exit code, duration; finally tasks, reused ones and retries marked), its conditions and
its Events, and last a line on the spec it froze at its start (`kubectl baton graph` draws it).

`kubectl describe pipelinerun` cannot be made to read that way: its generic describer for custom
resources prints an object's fields sorted by name, so the frozen spec (`status.pipelineSpec`) comes
between `pipeline` and `progress`, a hundred lines of it for a real pipeline, with multi-line scripts
printed raw. The spec stays where the operator needs it; this command puts the person's part first.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from baton.cli.kubeapi import EXIT_OK, KubeApi, add_connection_arguments, command
from baton.cli.logs import run_name
from baton.cli.output import columns, elapsed, failure_summary, result_lines, run_view
from baton.core.actors import recorded_action
from baton.core.start import has_frozen_spec
from baton.core.status import shorten

MESSAGE = 100
"""Characters of a task's or condition's message on its row (the whole: `kubectl baton why`)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun (or a Pipeline: its newest run)")
    add_connection_arguments(parser)


def _age(stamp: str | None, now: datetime) -> str:
    return elapsed(stamp, now.strftime("%Y-%m-%dT%H:%M:%SZ"), now) if stamp else ""


def _one_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return shorten(lines[-1] if lines else "", MESSAGE)


def _task_row(task: Mapping[str, Any], finally_tasks: set[str]) -> list[object]:
    name = str(task.get("name", ""))
    phase = str(task.get("phase") or "Pending")
    notes = []
    if name in finally_tasks:
        notes.append("finally")
    if isinstance(task.get("items"), int):
        notes.append(f"{task['items']} items")
    if task.get("reusedFrom"):
        notes.append(f"reused from {task['reusedFrom']}")
    if phase == "Pending" and task.get("nextAttemptAt"):
        notes.append(f"next attempt at {task['nextAttemptAt']}")
    message = failure_summary(task) if phase == "Failed" else task.get("message") or ""
    text = "; ".join([*notes, _one_line(message)] if message else notes)
    exit_code = task.get("exitCode")
    return [
        name,
        phase,
        task.get("attempts") or "",
        task.get("reason") or "",
        "" if exit_code is None else exit_code,
        elapsed(task.get("startTime"), task.get("completionTime")) if task.get("startTime") else "",
        text,
    ]


def describe_lines(
    run: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> list[str]:
    """The run's description, what a person reads first at the top."""
    now = now or datetime.now(UTC)
    view = run_view(run)
    meta, spec, status = run.get("metadata") or {}, run.get("spec") or {}, run.get("status") or {}
    condition: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Succeeded"), {}
    )
    lines = [
        f"Name:         {view.name}",
        f"Namespace:    {meta.get('namespace', '')}",
        f"Pipeline:     {view.pipeline or '(inline spec)'}",
        f"Phase:        {view.phase}"
        + (f" ({condition['reason']})" if condition.get("reason") not in (None, "", view.phase) else ""),
        f"Message:      {view.message}",
    ]
    if view.start_time:
        took = elapsed(view.start_time, view.completion_time, now)
        ongoing = "" if view.completion_time else " so far"
        lines.append(
            f"Started:      {view.start_time} ({_age(view.start_time, now)} ago), took {took}{ongoing}"
        )
    if spec.get("retryOf"):
        lines.append(f"Retry of:     {spec['retryOf']}")
    action = recorded_action(meta.get("annotations"))
    if action is not None:
        lines.append(f"Last action:  {action.described()}")
    params = status.get("params") or spec.get("params") or {}
    if params:
        lines.append("Params:")
        lines += [f"  {name}: {value}" for name, value in sorted(params.items())]
    if view.results:
        lines.append("Results:")
        lines += result_lines(view.results)
    finally_tasks = {str(t.get("name")) for t in (view.spec or {}).get("finally") or ()}
    lines.append(f"Tasks ({len(view.tasks)}, {view.progress or 'none done'}):")
    header = ["TASK", "PHASE", "ATTEMPTS", "REASON", "EXIT", "DURATION", "MESSAGE"]
    lines += columns([header, *(_task_row(t, finally_tasks) for t in view.tasks)], indent="  ")
    conditions = status.get("conditions") or ()
    if conditions:
        lines.append("Conditions:")
        rows = [["TYPE", "STATUS", "REASON", "MESSAGE"]]
        rows += [
            [c.get("type"), c.get("status"), c.get("reason") or "", _one_line(c.get("message"))]
            for c in conditions
        ]
        lines += columns(rows, indent="  ")
    lines.append("Events:" if events else "Events:       <none>")
    if events:
        ordered = sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        rows = [["TYPE", "REASON", "AGE", "MESSAGE"]]
        for event in ordered:
            when = event.get("lastTimestamp") or event.get("eventTime")
            rows.append(
                [
                    event.get("type", ""),
                    event.get("reason", ""),
                    _age(when, now),
                    str(event.get("message", "")),
                ]
            )
        lines += columns(rows, indent="  ")
    if view.spec:
        count = len(view.spec.get("tasks") or ())
        also = f" and {len(finally_tasks)} finally" if finally_tasks else ""
        frozen = "frozen at its start" if has_frozen_spec(status) else "its Pipeline's, not started yet"
        lines.append(
            f"Spec:         {count} task(s){also}, {frozen} (kubectl baton graph {view.name} draws it; "
            f"kubectl get pipelinerun {view.name} -o yaml has it whole)"
        )
    return lines


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(run_name(api, args.run))
        if not has_frozen_spec(run.get("status") or {}) and (run.get("spec") or {}).get("pipelineRef"):
            pipeline = api.find_pipeline(run["spec"]["pipelineRef"].get("name", ""))
            if pipeline is not None:  # not started: the tasks it will have
                run = {**run, "spec": {**run["spec"], "pipelineSpec": pipeline.get("spec")}}
        events = api.events(run["metadata"]["name"], run["metadata"].get("uid"))
        print("\n".join(describe_lines(run, events)), flush=True)
        return EXIT_OK
    finally:
        api.close()
