"""A run's (or a Pipeline's) DAG as SVG: the edges the planner uses (dependsOn and the dependencies its
result references imply), each node coloured by its task's phase; a forEach task is one node that
counts its instances."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from baton.api.pipeline import PipelineSpec
from baton.cli.output import RunView
from baton.core.dag import dag_of
from baton.core.dag_layout import layout

from .markup import Markup, element
from .svg import NodeView, dag


def dependencies(spec: Mapping[str, Any] | None) -> tuple[dict[str, list[str]], list[str]]:
    """(task → the tasks it depends on, the finally tasks); from dependsOn alone when the spec does not
    parse (the run page of an invalid spec still draws what it can)."""
    if not spec:
        return {}, []
    try:
        graph = dag_of(PipelineSpec.model_validate(spec))
    except ValueError:
        tasks = [t for t in spec.get("tasks") or () if isinstance(t, Mapping) and t.get("name")]
        finals = [
            str(t["name"]) for t in spec.get("finally") or () if isinstance(t, Mapping) and t.get("name")
        ]
        return {str(t["name"]): [str(d) for d in t.get("dependsOn") or ()] for t in tasks}, finals
    cut = graph.finally_from if graph.finally_from >= 0 else len(graph)
    deps = {graph.names[i]: [graph.names[p] for p in graph.parents[i]] for i in range(cut)}
    return deps, list(graph.names[cut:])


def _detail(task: Mapping[str, Any]) -> str:
    if task.get("items") is not None:
        counts = Counter(str(i.get("phase", "")) for i in task.get("instances") or ())
        done = counts.get("Succeeded", 0)
        failed = counts.get("Failed", 0)
        return f"{task['items']} items: {done} ok" + (f", {failed} failed" if failed else "")
    phase = str(task.get("phase", ""))
    reason = task.get("reason")
    # The phase first (the colour says it too), then why: "Skipped (Cancelled)", "Failed, exit 3".
    shown = f"{phase} ({reason})" if reason and reason != phase and phase != "Succeeded" else phase
    parts = [shown] if shown else []
    if int(task.get("attempts") or 0) > 1:
        parts.append(f"attempt {task['attempts']}")
    if task.get("exitCode") not in (None, 0):
        parts.append(f"exit {task['exitCode']}")
    return ", ".join(parts)


def run_dag(view: RunView, href: Callable[[str], str], *, phases: bool = True) -> Markup:
    """``phases`` False: a Pipeline's DAG, which has no state to show (its nodes say "finally" or how
    many items, not "Pending")."""
    deps, finals = dependencies(view.spec)
    if not deps and not finals:
        return element("p", {"class": "note"}, "No spec to draw yet.")
    states = {str(t.get("name")): t for t in view.tasks}
    if not phases:
        views = {
            name: NodeView("", "finally" if name in finals else "", href(name)) for name in [*deps, *finals]
        }
        return dag(layout(deps, finals), views, label=f"the DAG of {view.name}")
    views = {
        name: NodeView(
            str(states.get(name, {}).get("phase") or "Pending"), _detail(states.get(name, {})), href(name)
        )
        for name in [*deps, *finals]
    }
    return dag(layout(deps, finals), views, label=f"the DAG of {view.name}")
