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
from fnmatch import fnmatchcase
from typing import Any

from baton.api.pipeline import PipelineSpec
from baton.api.schedule import PipelineTrigger
from baton.core.datasets import is_static
from baton.core.events import Event, EventType
from baton.core.status import plural
from baton.kube.names import MAX_LABEL, short_hash

TRIGGER_VARIABLE = re.compile(r"\$\(trigger\.([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?\)")
SIMPLE = ("run", "pipeline", "namespace", "phase")
DATASET_SIMPLE = ("run", "pipeline")
DATASET_KEYS = ("uri", "partition")
DATASET_KNOWN = "$(trigger.dataset.uri), $(trigger.dataset.partition), $(trigger.run), $(trigger.pipeline)"
NESTED = ("params", "results")
ANY_NAMESPACE = "*"
LOOK_BACK = timedelta(seconds=60)
_SCHEMED = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")

PipelineKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class DatasetUpdate:
    """A dataset written by a task that succeeded (one entry of a Dataset's producers)."""

    uri: str
    partition: str | None
    task: str


@dataclass(frozen=True, slots=True)
class UpstreamRun:
    """An upstream run that ended, or (with ``dataset``) the write of a dataset by one of its tasks."""

    namespace: str
    name: str
    pipeline: str
    phase: str
    completed: datetime
    params: Mapping[str, str] = field(default_factory=dict)
    results: Mapping[str, str] = field(default_factory=dict)
    dataset: DatasetUpdate | None = None

    @property
    def key(self) -> str:
        """How the Pipeline's status records it as handled (NAMESPACE/RUN, or NAMESPACE/dataset:HASH)."""
        update = self.dataset
        if update is None:
            return f"{self.namespace}/{self.name}"
        digest = short_hash(update.uri, self.name, update.task, update.partition or "")
        return f"{self.namespace}/dataset:{digest}"


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


def upstream_of(trigger: PipelineTrigger, namespace: str) -> PipelineKey | None:
    """The upstream Pipeline of a trigger on runs (None for a trigger on a dataset)."""
    return None if trigger.pipeline is None else (trigger.namespace or namespace, trigger.pipeline)


def matches(trigger: PipelineTrigger, upstream: UpstreamRun, namespace: str) -> bool:
    """Whether ``upstream`` (a run that ended, or a dataset update) fires ``trigger``."""
    if trigger.dataset is not None:
        update = upstream.dataset
        return (
            update is not None
            and upstream.namespace == namespace
            and fnmatchcase(update.uri, trigger.dataset)
        )
    return (
        upstream.dataset is None
        and upstream_of(trigger, namespace) == (upstream.namespace, upstream.pipeline)
        and upstream.phase in trigger.phases
    )


def triggered_run_name(pipeline: str, upstream: UpstreamRun, namespace: str) -> str:
    """`PIPELINE-UPSTREAMRUN` (from another namespace: with a hash of it), shortened with a hash past 63;
    for a dataset update `PIPELINE-PARTITION-HASH` (`PIPELINE-HASH` without a partition)."""
    if upstream.dataset is not None:
        digest = upstream.key.rsplit(":", 1)[1]
        words = re.sub(r"[^a-z0-9]+", "-", (upstream.dataset.partition or "").lower()).strip("-")
        head = f"{pipeline}-{words}"[: MAX_LABEL - len(digest) - 1].rstrip("-") if words else pipeline
        return f"{head[: MAX_LABEL - len(digest) - 1].rstrip('-')}-{digest}"
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
        if trigger.dataset is not None and not _SCHEMED.match(trigger.dataset):
            errors.append(
                f'{where}.dataset "{trigger.dataset}" can never match: dataset URIs start with a scheme '
                "(s3://lake/sales/*, postgres://host:5432/db.schema.*)"
            )
        if trigger.dataset is not None and trigger.namespace is not None:
            errors.append(
                f"{where}: a dataset trigger watches the Datasets of this namespace: remove namespace"
            )
        for name, value in trigger.params.items():
            if name not in declared:
                errors.append(f'{where}.params: "{name}" is not a param of the Pipeline')
            for kind, key in TRIGGER_VARIABLE.findall(value):
                text = f"$(trigger.{kind}{'.' + key if key else ''})"
                if trigger.dataset is not None:
                    if (kind in DATASET_SIMPLE and not key) or (kind == "dataset" and key in DATASET_KEYS):
                        continue
                    errors.append(
                        f'{where}.params.{name}: unknown variable "{text}" for a dataset trigger; known: '
                        f"{DATASET_KNOWN}"
                    )
                    continue
                if (kind in SIMPLE and not key) or (kind in NESTED and key):
                    continue
                known = ", ".join([*(f"$(trigger.{k})" for k in SIMPLE), "$(trigger.params.NAME)"])
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
        if kind == "dataset" and upstream.dataset is not None:
            found = upstream.dataset.uri if key == "uri" else upstream.dataset.partition
            return found or ""
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
        if run.key in done or (handled is None and run.completed < since):
            continue  # handled already; or, on the first decision, before where triggering starts
        for trigger in spec.triggers:
            if matches(trigger, run, namespace):
                name = triggered_run_name(pipeline, run, namespace)
                create.append(TriggeredRun(name, run, triggered_params(trigger, run)))
                break  # one downstream run per upstream run, whichever trigger matched first
    through = max([since, *(run.completed for run in considered)])
    kept = tuple(sorted(run.key for run in considered if run.completed >= through - LOOK_BACK))
    events: tuple[Event, ...] = ()
    if create:
        shown = ", ".join(f"{r.name} (after {_cause(r.upstream)})" for r in create[:3])
        more = f" and {len(create) - 3} more" if len(create) > 3 else ""
        events = (
            Event(EventType.NORMAL, "Triggered", f"created {plural(len(create), 'run')}: {shown}{more}"),
        )
    return TriggerDecision(tuple(create), through, events, kept)


def _cause(upstream: UpstreamRun) -> str:
    update = upstream.dataset
    if update is None:
        return f"{upstream.namespace}/{upstream.name} {upstream.phase}"
    partition = f" partition {update.partition}" if update.partition else ""
    return f"{update.uri}{partition} written by {upstream.name}/{update.task}"


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
                    shown = [_show(key, member[0]) for key in (turn if len(turn) <= 8 else turn[:6])]
                    if len(turn) > 8:  # a long loop: its start, its end and its length
                        shown += ["…", *(_show(key, member[0]) for key in turn[-2:])]
                        shown[-1] += f" ({len(turn) - 1} Pipelines)"
                    loops.setdefault(member, arrow.join(shown))
            elif upstream not in state:
                state[upstream] = 1
                path.append(upstream)
                pending.append(iter(edges.get(upstream, ())))
    return loops


def dataset_trigger_edges(
    pipelines: Mapping[PipelineKey, Mapping[str, Any]],
) -> dict[PipelineKey, list[PipelineKey]]:
    """Pipeline → the Pipelines (of its namespace) whose outputs its dataset triggers match, from their
    specs as stored: the edges of ``trigger_loops`` through datasets (a Pipeline whose trigger matches its
    own output is a loop of one). Only outputs whose URI is made of params count (others are known only
    at run time): a loop through a URI built from results is not found."""
    patterns: dict[PipelineKey, list[str]] = {}
    outputs: dict[PipelineKey, list[str]] = {}
    for key, spec in pipelines.items():
        found = [t["dataset"] for t in _listed(spec.get("triggers")) if isinstance(t.get("dataset"), str)]
        if found:
            patterns[key] = found
        written = []
        for task in [*_listed(spec.get("tasks")), *_listed(spec.get("finally"))]:
            for entry in task.get("outputs") or ():
                uri = (
                    entry
                    if isinstance(entry, str)
                    else entry.get("dataset")
                    if isinstance(entry, Mapping)
                    else None
                )
                if isinstance(uri, str) and is_static(uri):
                    written.append(uri)
        if written:
            outputs[key] = written
    edges: dict[PipelineKey, list[PipelineKey]] = {}
    for key, globs in patterns.items():
        upstream = [
            other
            for other, uris in outputs.items()
            if other[0] == key[0] and any(fnmatchcase(uri, glob) for uri in uris for glob in globs)
        ]
        if upstream:
            edges[key] = sorted(upstream)
    return edges


def _listed(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


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
