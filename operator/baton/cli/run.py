"""`kubectl baton run PIPELINE [-p name=value]... [--watch] [-o json|yaml|name]`: start a run.

The run is created with `generateName: PIPELINE-` (like `kubectl create -f examples/daily-sales-run.yaml`)
after the params were checked against the Pipeline's, so a typo is an error now and not a failed run.
With `--watch` the command follows the run to its end, printing each task's progress, and exits with the
run's result: 0 when it succeeded, 1 when it failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from baton import GROUP
from baton.cli.acting import create_as
from baton.cli.kubeapi import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    KubeApi,
    add_connection_arguments,
    command,
)
from baton.cli.output import (
    OUTPUT_FORMATS,
    RunView,
    data_note,
    elapsed,
    failure_summary,
    not_finished,
    paint,
    print_object,
    result_lines,
    run_view,
    symbol,
    use_colour,
)
from baton.core.actors import Verb
from baton.core.run_actions import new_run, not_ready, param_problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", metavar="PIPELINE", help="the Pipeline to run")
    add_param_argument(parser, "a param value (repeatable)")
    parser.add_argument("-w", "--watch", action="store_true", help="follow the run and exit with its result")
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    parser.add_argument("-o", "--output", choices=OUTPUT_FORMATS, help="print the created run")
    parser.add_argument(
        "--no-cache", action="store_true", help="run every task, even those the cache could serve"
    )
    add_connection_arguments(parser)


def add_param_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`-p/--param NAME=VALUE`, repeatable, read with ``parse_params``."""
    parser.add_argument(
        "-p", "--param", action="append", default=[], dest="params", metavar="NAME=VALUE", help=help_text
    )


def parse_params(values: Sequence[str], what: str = "param") -> dict[str, str]:
    params: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise CliError(f'invalid {what} "{value}": expected NAME=VALUE', EXIT_USAGE)
        if name in params and params[name] != text:  # which one was meant? say so rather than guess
            raise CliError(
                f'{what} "{name}" is given twice ({params[name]!r} and {text!r}): keep one', EXIT_USAGE
            )
        params[name] = text
    return params


def check_params(pipeline: Mapping[str, Any], params: Mapping[str, str]) -> None:
    problems = param_problems(pipeline, params)
    if problems:
        raise CliError("; ".join(problems), EXIT_USAGE)


@command
def main(args: argparse.Namespace) -> int:
    params = parse_params(args.params)
    api = KubeApi.from_args(args)
    try:
        pipeline = api.get_pipeline(args.pipeline)
        refused = not_ready(pipeline)
        if refused is not None:
            raise CliError(f"{refused} (kubectl describe pipeline {args.pipeline})")
        check_params(pipeline, params)
        body = new_run(args.pipeline, api.namespace, params)
        if args.no_cache:
            body["spec"]["cache"] = "Disabled"
        return announce(api, create_as(api, body, Verb.RUN), args)
    finally:
        api.close()


def announce(api: KubeApi, created: dict[str, Any], args: argparse.Namespace) -> int:
    """Print a run just created (`-o` or kubectl's one line) and, with `--watch`, follow it to the end."""
    name = created["metadata"]["name"]
    if args.output:
        print_object(created, args.output, sys.stdout)
    else:
        print(f"pipelinerun.{GROUP}/{name} created", flush=True)
    if not args.watch:
        return EXIT_OK
    # Progress goes to stderr when stdout carries the object, so `-o json --watch` stays parseable.
    return follow(api, name, sys.stderr if args.output else sys.stdout, timeout=args.timeout)


def follow(api: KubeApi, name: str, out: TextIO, *, timeout: float | None = None) -> int:
    """Print each task's progress until the run ends; 0 if it succeeded, else 1."""
    colour = use_colour(out)
    seen: dict[str, tuple[str, int]] = {}
    view: RunView | None = None
    began, told = time.monotonic(), False
    for run in api.watch_run(name, timeout=timeout, idle=NOT_PICKED_UP_AFTER):
        view = run_view(run)
        if not told and not (run.get("status") or {}).get("phase"):
            if time.monotonic() - began >= NOT_PICKED_UP_AFTER:
                print(f"pipelinerun/{name}: {NOT_PICKED_UP}", file=sys.stderr, flush=True)
                told = True
            continue
        width = max((len(t["name"]) for t in view.tasks), default=4)
        for task in view.tasks:
            state = (str(task.get("phase", "Pending")), int(task.get("attempts") or 0))
            if seen.get(task["name"], ("Pending", 0)) == state:
                seen[task["name"]] = state
                continue
            seen[task["name"]] = state
            print(task_line(task, width, colour), file=out, flush=True)
        if view.finished:
            break
    if view is None or not view.finished:
        raise CliError(not_finished(name, timeout))
    took = elapsed(view.start_time, view.completion_time)
    result = paint(f"{symbol(view.phase)} {view.phase}", view.phase, colour)
    detail = f": {view.message}" if view.message and view.phase != "Succeeded" else ""
    print(f"pipelinerun/{name} {result}" + (f" in {took}" if took else "") + detail, file=out, flush=True)
    if view.results:
        print("results:", file=out)
        for line in result_lines(view.results):
            print(line, file=out, flush=True)
    return EXIT_OK if view.phase == "Succeeded" else EXIT_FAILED


NOT_PICKED_UP_AFTER = 5
"""Seconds after which a run no operator has touched is worth a word (the operator starts runs in ms)."""
NOT_PICKED_UP = "not picked up yet: is the Baton operator running? (still waiting)"


def task_line(task: Mapping[str, Any], width: int, colour: bool) -> str:
    phase = str(task.get("phase", "Pending"))
    parts = [f"  {task['name']:<{width}}  ", paint(f"{symbol(phase)} {phase:<9}", phase, colour)]
    attempts = int(task.get("attempts") or 0)
    if attempts > 1:
        parts.append(f"  attempt {attempts}")
    if phase in ("Succeeded", "Failed"):
        took = elapsed(task.get("startTime"), task.get("completionTime"))
        if took:
            parts.append(f"  {took}")
    items = task.get("items")
    if isinstance(items, int):
        done = sum(1 for i in task.get("instances") or () if i.get("phase") == "Succeeded")
        parts.append(f"  {done}/{items} items")
    if task.get("reason") == "Reused":
        parts.append(f"  reused from {task.get('reusedFrom') or 'an earlier run'}")
    elif (note := data_note(task)) is not None:
        parts.append(f"  {note}")
    elif phase == "Failed" and task.get("message"):
        parts.append(f"  {failure_summary(task)}")  # the end of the tail: where a traceback says why
    elif task.get("message") and phase != "Succeeded":
        # Why it was skipped, or why a running task waits (its Pod unschedulable, say).
        lines = str(task["message"]).strip().splitlines()
        parts.append(f"  {lines[0] if lines else ''}")
    return "".join(parts).rstrip()
