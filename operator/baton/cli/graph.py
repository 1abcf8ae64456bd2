"""`kubectl baton graph RUN|PIPELINE [--watch]`: the DAG in the terminal, tasks coloured by phase.

Tasks are drawn in topological layers: layer 1 holds the tasks without dependencies, layer n the tasks
whose longest chain of dependencies is n - 1 long, so every task is drawn below all it depends on, and
each names its dependencies (`← a, b`); finally tasks come last, after a `⤷`. For a run, each task shows
its phase (as a symbol, and in colour on a terminal), its attempt when retried, and how long it ran.

`--watch` redraws the graph of a run as it changes until the run ends (in place on a terminal, frame by
frame otherwise) and exits with the run's result like `run --watch`. Name the kind when a run and a
Pipeline share a name: `pipelinerun/NAME` or `pipeline/NAME`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from baton.api.pipeline import PipelineSpec
from baton.cli.kubeapi import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    KubeApi,
    add_connection_arguments,
    command,
)
from baton.cli.output import RunView, data_note, elapsed, not_finished, paint, run_view, symbol, use_colour
from baton.core.references import graph_nodes

RUN_KINDS = ("pipelinerun", "pipelineruns", "pr", "run")
PIPELINE_KINDS = ("pipeline", "pipelines")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="RUN|PIPELINE", help="a run or a Pipeline (or pipelinerun/NAME, pipeline/NAME)"
    )
    parser.add_argument(
        "-w", "--watch", action="store_true", help="redraw as the run progresses, until it ends"
    )
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    add_connection_arguments(parser)


def dependencies(tasks: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each task's dependencies: dependsOn and, for a spec that parses, the tasks whose results it reads."""
    try:
        spec = PipelineSpec.model_validate({"tasks": list(tasks)})
    except ValueError:
        return {t["name"]: list(t.get("dependsOn") or ()) for t in tasks}
    return dict(graph_nodes(spec))


def layers(tasks: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Task names by topological layer, in spec order within a layer. Tasks on a cycle or depending on
    unknown tasks (an invalid spec) go to a last layer of their own rather than vanish."""
    parents = dependencies(tasks)
    depth: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for name, deps in parents.items():
            if name in depth or not all(d in depth for d in deps):
                continue
            depth[name] = 1 + max((depth[d] for d in deps), default=-1)
            changed = True
    result: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in parents:
        if name in depth:
            result[depth[name]].append(name)
    stuck = [name for name in parents if name not in depth]
    if stuck:
        result.append(stuck)
    return result


def render(
    spec: Mapping[str, Any] | None, states: Mapping[str, Mapping[str, Any]] | None, *, colour: bool
) -> list[str]:
    """The lines of the layered graph; `states` (task name → task status) for a run, None for a Pipeline."""
    tasks = list((spec or {}).get("tasks") or ())
    finals = list((spec or {}).get("finally") or ())
    if not tasks and states:
        tasks = [{"name": name} for name in states]
    width = max((len(t["name"]) for t in [*tasks, *finals]), default=4)
    deps = dependencies(tasks)
    deps.update({t["name"]: list(t.get("dependsOn") or ()) for t in finals})
    fan_outs = {t["name"] for t in [*tasks, *finals] if t.get("forEach")}

    def line(prefix: str, name: str) -> str:
        if states is None:
            cells = f"{name:<{width}}" + ("  (forEach)" if name in fan_outs else "")
        else:
            state = states.get(name) or {"phase": "Pending"}
            phase = str(state.get("phase") or "Pending")
            cells = paint(f"{symbol(phase)} {name:<{width}}  {phase:<9}", phase, colour)
            cells += _detail(state, phase)
        arrow = f"  ← {', '.join(deps[name])}" if deps.get(name) else ""
        return f"{prefix}{cells}{arrow}".rstrip()

    lines = []
    for number, layer in enumerate(layers(tasks), start=1):
        for i, name in enumerate(layer):
            lines.append(line(f"{number:>3}  " if i == 0 else "     ", name))
    # Finally tasks run once every other task has ended, whatever happened: drawn after them all.
    for i, task in enumerate(finals):
        lines.append(line("  ⤷  " if i == 0 else "     ", task["name"]))
    return lines


def _detail(state: Mapping[str, Any], phase: str) -> str:
    parts = []
    items = state.get("items")
    if isinstance(items, int):
        counts: dict[str, int] = {}
        for instance in state.get("instances") or ():
            key = str(instance.get("phase") or "Pending")
            counts[key] = counts.get(key, 0) + 1
        shown = ", ".join(f"{n} {p.lower()}" for p, n in counts.items())
        parts.append(f"{items} items" + (f" ({shown})" if shown else ""))
        failed = [i for i in state.get("instances") or () if i.get("phase") == "Failed"]
        if failed:  # which items: the index alone does not say what went wrong where
            named = ", ".join(f"{i.get('name')} {i.get('item', '')}".rstrip() for i in failed[:3])
            parts.append(f"failed: {named}" + (f" (+{len(failed) - 3})" if len(failed) > 3 else ""))
    attempts = int(state.get("attempts") or 0)
    if attempts > 1:
        parts.append(f"attempt {attempts}")
    if state.get("reason") == "Reused":
        parts.append("reused")
    elif (note := data_note(state)) is not None:
        parts.append(note)
    elif phase == "Pending" and state.get("nextAttemptAt"):
        at = str(state["nextAttemptAt"])
        parts.append(f"retry at {at[11:19] if len(at) >= 19 else at} UTC")
    elif phase in ("Running", "Pending") and state.get("message") and items is None:
        parts.append(str(state["message"]).strip().splitlines()[0])  # why it waits
    if phase not in ("Pending", "Skipped"):
        took = elapsed(state.get("startTime"), state.get("completionTime"))
        if took:
            parts.append(took)
    return ("  " + "  ".join(parts)) if parts else ""


def run_frame(view: RunView, colour: bool) -> list[str]:
    states = {t["name"]: t for t in view.tasks}
    head = f"pipelinerun/{view.name}  " + paint(f"{symbol(view.phase)} {view.phase}", view.phase, colour)
    if view.progress:
        head += f"  {view.progress}"
    took = elapsed(view.start_time, view.completion_time)
    if took:
        head += f"  {took}"
    if view.pipeline:
        head += f"  (pipeline {view.pipeline})"
    lines = [head, "", *render(view.spec, states, colour=colour)]
    if view.message and view.phase == "Failed":
        lines += ["", view.message]
    return lines


def resolve(api: KubeApi, target: str) -> tuple[str, dict[str, Any]]:
    """("run", run) or ("pipeline", pipeline) for TARGET; runs win over Pipelines of the same name."""
    kind, _, name = target.rpartition("/")
    kind = kind.lower()
    if kind and kind not in RUN_KINDS + PIPELINE_KINDS and not kind.startswith(("pipelinerun", "pipeline")):
        raise CliError(
            f'unknown kind "{kind}" in "{target}": use pipelinerun/NAME or pipeline/NAME', EXIT_USAGE
        )
    if kind.startswith("pipelinerun") or kind in RUN_KINDS:
        return "run", api.get_run(name)
    if kind:
        return "pipeline", api.get_pipeline(name)
    run = api.find_run(name)
    if run is not None:
        return "run", run
    pipeline = api.find_pipeline(name)
    if pipeline is not None:
        return "pipeline", pipeline
    runs = [r["metadata"]["name"] for r in api.runs()]
    pipelines = [p["metadata"]["name"] for p in api.pipelines()]
    error = api.unknown("pipelinerun or pipeline", name, runs + pipelines, "runs and Pipelines")
    if runs or pipelines:
        error.message = (
            f'no pipelinerun or pipeline "{name}" in namespace "{api.namespace}"'
            + _listing("runs", runs)
            + _listing("Pipelines", pipelines)
        )
    raise error


def _listing(what: str, names: Sequence[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:10]) + (f", … ({len(names) - 10} more)" if len(names) > 10 else "")
    return f"; {what}: {shown}"


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        kind, obj = resolve(api, args.target)
        out = sys.stdout
        colour = use_colour(out)
        if kind == "pipeline":
            if args.watch:
                raise CliError("--watch follows a run; a Pipeline has no progress to follow", EXIT_USAGE)
            name = obj["metadata"]["name"]
            spec = obj.get("spec") or {}
            count = len(spec.get("tasks") or ()) + len(spec.get("finally") or ())
            print(f"pipeline/{name}  {count} tasks\n", file=out)
            for line in render(obj.get("spec"), None, colour=colour):
                print(line, file=out)
            return EXIT_OK
        pipeline = _pipeline_of(api, obj)
        if not args.watch:
            for line in run_frame(run_view(obj, pipeline), colour):
                print(line, file=out)
            return EXIT_OK
        return watch(api, obj["metadata"]["name"], pipeline, out, colour, timeout=args.timeout)
    finally:
        api.close()


def _pipeline_of(api: KubeApi, run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Pipeline of a run that has not frozen its spec yet (so its graph can be drawn already)."""
    status = run.get("status") or {}
    if (
        status.get("pipelineSpec")
        or status.get("compressedPipelineSpec")
        or (run.get("spec") or {}).get("pipelineSpec")
    ):
        return None
    ref = ((run.get("spec") or {}).get("pipelineRef") or {}).get("name")
    return api.find_pipeline(ref) if ref else None


def watch(
    api: KubeApi,
    name: str,
    pipeline: Mapping[str, Any] | None,
    out: TextIO,
    colour: bool,
    *,
    timeout: float | None = None,
) -> int:
    """Redraw the run's graph on every change until it ends; 0 if it succeeded, else 1."""
    drawn: list[str] = []
    view: RunView | None = None
    for run in api.watch_run(name, timeout=timeout):
        view = run_view(run, pipeline)
        frame = run_frame(view, colour)
        if frame != drawn:
            if drawn and colour:
                out.write(f"\x1b[{len(drawn)}F\x1b[J")  # back to the top of the last frame; clear below
            elif drawn:
                out.write("\n")
            out.write("\n".join(frame) + "\n")
            out.flush()
            drawn = frame
        if view.finished:
            break
    if view is None or not view.finished:
        raise CliError(not_finished(name, timeout))
    return EXIT_OK if view.phase == "Succeeded" else EXIT_FAILED
