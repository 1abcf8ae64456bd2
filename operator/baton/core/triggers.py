"""Triggers between Pipelines: which upstream runs start a run here, what it is called, and loops.

Pure functions of (this Pipeline, the upstream runs as observed, where the last decision stopped). The
downstream run is named from the upstream run, so a restarted or duplicated operator creates it once
(a second create is a 409). `triggeredThrough` and `triggeredRuns` in the Pipeline's status record which
upstream runs were handled, so that a downstream run pruned from the history is not created again, and
a trigger added to an existing Pipeline does not fire for every upstream run of the past.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from baton.api.pipeline import PipelineSpec
from baton.api.schedule import PipelineTrigger
from baton.core.events import Event, EventType
from baton.core.status import plural
from baton.kube.names import MAX_LABEL, short_hash

TRIGGER_VARIABLE = re.compile(r"\$\(trigger\.([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?\)")
SIMPLE = ("run", "pipeline", "namespace", "phase")
NESTED = ("params", "results")
ANY_NAMESPACE = "*"
LOOK_BACK = timedelta(seconds=60)

PipelineKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class UpstreamRun:
    namespace: str
    name: str
    pipeline: str
    phase: str
    completed: datetime
    params: Mapping[str, str] = field(default_factory=dict)
    results: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TriggeredRun:
    name: str
    upstream: UpstreamRun
    params: dict[str, str]


@dataclass(frozen=True)
class TriggerDecision:
    create: tuple[TriggeredRun, ...] = ()
    through: datetime | None = None
    """The new triggeredThrough: the latest completion among the upstream runs looked at (or `since`)."""
    events: tuple[Event, ...] = ()
    handled: tuple[str, ...] = ()
    """The new triggeredRuns: the upstream runs looked at that ended within LOOK_BACK of `through`."""


def upstream_of(trigger: PipelineTrigger, namespace: str) -> PipelineKey:
    return (trigger.namespace or namespace, trigger.pipeline)


def triggered_run_name(pipeline: str, upstream: UpstreamRun, namespace: str) -> str:
    """`PIPELINE-UPSTREAMRUN` (from another namespace: with a hash of it), shortened with a hash past 63."""
    base = f"{pipeline}-{upstream.name}"
    if upstream.namespace != namespace:
        base = f"{base}-{short_hash(upstream.namespace)}"
    if len(base) <= MAX_LABEL:
        return base
    suffix = f"-{short_hash(f'{upstream.namespace}/{upstream.name}/{pipeline}')}"
    return base[: MAX_LABEL - len(suffix)].rstrip("-") + suffix


def trigger_errors(spec: PipelineSpec, namespace: str | None = None) -> list[str]:
    """What is wrong with the Pipeline's triggers on their own (loops need the other Pipelines)."""
    errors: list[str] = []
    declared = {param.name: param for param in spec.params}
    for index, trigger in enumerate(spec.triggers):
        where = f"triggers[{index}]"
        for name, value in trigger.params.items():
            if name not in declared:
                errors.append(f'{where}.params: "{name}" is not a param of the Pipeline')
            for kind, key in TRIGGER_VARIABLE.findall(value):
                if (kind in SIMPLE and not key) or (kind in NESTED and key):
                    continue
                known = ", ".join([*(f"$(trigger.{k})" for k in SIMPLE), "$(trigger.params.NAME)"])
                text = f"$(trigger.{kind}{'.' + key if key else ''})"
                errors.append(
                    f'{where}.params.{name}: unknown variable "{text}"; known: {known}, …results.NAME'
                )
        for name, param in declared.items():
            if param.default is None and name not in trigger.params:
                errors.append(f'{where}.params: param "{name}" has no default: give it a value here')
    return errors


def triggered_params(trigger: PipelineTrigger, upstream: UpstreamRun) -> dict[str, str]:
    """The trigger's params with `$(trigger.…)` replaced; a param or result the upstream run does not
    have becomes the empty string (the downstream run's params checks judge it)."""

    def value(match: re.Match[str]) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "params":
            return upstream.params.get(key, "")
        if kind == "results":
            return upstream.results.get(key, "")
        return {
            "run": upstream.name,
            "pipeline": upstream.pipeline,
            "namespace": upstream.namespace,
            "phase": upstream.phase,
        }.get(kind, match.group(0))

    return {name: TRIGGER_VARIABLE.sub(value, text) for name, text in trigger.params.items()}


def decide_triggers(
    pipeline: str,
    namespace: str,
    spec: PipelineSpec,
    since: datetime,
    upstream: Sequence[UpstreamRun],
    handled: Collection[str] | None = None,
) -> TriggerDecision:
    """The runs to create for the upstream runs that ended at or after `since` and are not `handled`
    ("NAMESPACE/RUN" of those already looked at). With `handled` (every decision but the first), runs
    that ended up to LOOK_BACK before `since` are looked at too: completion times have second precision,
    and a run's status may be written after that of a run that ended later."""
    done = frozenset(handled or ())
    considered = sorted(
        (run for run in upstream if run.completed >= since - LOOK_BACK),
        key=lambda r: (r.completed, r.namespace, r.name),
    )
    create: list[TriggeredRun] = []
    for run in considered:
        if _key(run) in done or (handled is None and run.completed < since):
            continue  # handled already; or, on the first decision, before where triggering starts
        for trigger in spec.triggers:
            if (
                upstream_of(trigger, namespace) == (run.namespace, run.pipeline)
                and run.phase in trigger.phases
            ):
                name = triggered_run_name(pipeline, run, namespace)
                create.append(TriggeredRun(name, run, triggered_params(trigger, run)))
                break  # one downstream run per upstream run, whichever trigger matched first
    through = max([since, *(run.completed for run in considered)])
    kept = tuple(sorted(_key(run) for run in considered if run.completed >= through - LOOK_BACK))
    events: tuple[Event, ...] = ()
    if create:
        shown = ", ".join(
            f"{r.name} (after {r.upstream.namespace}/{r.upstream.name} {r.upstream.phase})"
            for r in create[:3]
        )
        more = f" and {len(create) - 3} more" if len(create) > 3 else ""
        events = (
            Event(EventType.NORMAL, "Triggered", f"created {plural(len(create), 'run')}: {shown}{more}"),
        )
    return TriggerDecision(tuple(create), through, events, kept)


def _key(run: UpstreamRun) -> str:
    return f"{run.namespace}/{run.name}"


def trigger_loops(
    edges: Mapping[PipelineKey, Sequence[PipelineKey]], arrow: str = " <- "
) -> dict[PipelineKey, str]:
    """For each Pipeline on a trigger loop (A's runs trigger B, B's trigger A), the loop as text.
    `edges` maps each Pipeline to the upstream Pipelines it is triggered by (or, with `arrow` " -> ", to
    the Pipelines its tasks run: sub-pipeline recursion). Iterative: a chain of thousands of Pipelines is
    no recursion problem."""
    loops: dict[PipelineKey, str] = {}
    state: dict[PipelineKey, int] = {}  # 1: on the current path, 2: done
    for root in sorted(edges):
        if root in state:
            continue
        path: list[PipelineKey] = [root]
        pending = [iter(edges.get(root, ()))]
        state[root] = 1
        while pending:
            upstream = next(pending[-1], None)
            if upstream is None:
                state[path.pop()] = 2
                pending.pop()
                continue
            if state.get(upstream) == 1:
                cycle = path[path.index(upstream) :]
                for at, member in enumerate(cycle):  # each told from its own place and namespace
                    turn = [*cycle[at:], *cycle[:at], member]
                    loops.setdefault(member, arrow.join(_show(key, member[0]) for key in turn))
            elif upstream not in state:
                state[upstream] = 1
                path.append(upstream)
                pending.append(iter(edges.get(upstream, ())))
    return loops


def _show(key: PipelineKey, namespace: str) -> str:
    return key[1] if key[0] == namespace else f"{key[0]}/{key[1]}"


def allowed(
    upstream_spec: Mapping[str, object] | None, downstream_namespace: str, upstream_namespace: str
) -> bool:
    """Whether a Pipeline in `downstream_namespace` may be triggered by the runs of an upstream Pipeline
    (whose spec is `upstream_spec`): always in its own namespace, else only where it allows it."""
    if downstream_namespace == upstream_namespace:
        return True
    allowed_from = (upstream_spec or {}).get("allowTriggersFrom") or []
    return isinstance(allowed_from, list) and (
        downstream_namespace in allowed_from or ANY_NAMESPACE in allowed_from
    )
