"""The variables a task reads, parsed once: what they name, and the dependencies they imply.

Every `$(…)` reference Baton substitutes, besides `$(params.NAME)` (see ``baton.core.params``):

==============================  ==============================================================
``$(run.status)``               finally tasks: how the run's tasks ended
``$(run.reason)``               finally tasks: why (Succeeded, Timeout, Cancelled, the first failure's reason)
``$(run.failedTasks)``          finally tasks: the tasks that failed, comma-separated
``$(tasks.T.status)``           the phase of task T (an upstream task, or any task in finally)
``$(tasks.T.results.R)``        result R of task T; implies a dependency on T
``$(results.path)``             the file the task writes its results to (also ``$BATON_RESULTS``)
``$(workspaces.W.path)``        where workspace W is mounted in this task
``$(volumes.V.path)``           where volume V is mounted in this task
``$(item)``, ``$(item.index)``  in a forEach task: the instance's item and its index (from 0)
==============================  ==============================================================

`$$` escapes a reference, as in Kubernetes. Anything else in `$(…)` is Kubernetes' own (`$(HOME)`) and
passes through to the kubelet.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.weakcache import IdentityCache
from baton.core.datasets import implied_of
from baton.core.params import task_fields

TOKEN = re.compile(r"\$\$|\$\(((?:run|tasks|workspaces|volumes|results)\.[^)]*|item(?:\.[^)]*)?)\)")


# Any other lowercase `$(…)`: Kubernetes passes unknown references through unchanged, so a misspelt
# Baton variable would reach the container as literal text; these are checked for near misses.
_OTHER = re.compile(r"\$\$|\$\(([a-z][A-Za-z0-9_.-]*)\)")
_NAMESPACES = ("params", "tasks", "workspaces", "volumes", "results", "item", "run")


class Kind(StrEnum):
    RUN_STATUS = "run.status"
    RUN_REASON = "run.reason"
    RUN_FAILED_TASKS = "run.failedTasks"
    TASK_STATUS = "tasks.T.status"
    TASK_RESULT = "tasks.T.results.R"
    RESULTS_PATH = "results.path"
    WORKSPACE_PATH = "workspaces.W.path"
    VOLUME_PATH = "volumes.V.path"
    ITEM = "item"
    ITEM_INDEX = "item.index"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Ref:
    text: str
    """The reference without `$(` and `)`: "tasks.load.results.rows"."""
    kind: Kind
    target: str = ""
    """The task, workspace or volume it names."""
    result: str = ""
    """For TASK_RESULT: the result's name."""


_FIXED = {
    "run.status": Kind.RUN_STATUS,
    "run.reason": Kind.RUN_REASON,
    "run.failedTasks": Kind.RUN_FAILED_TASKS,
    "results.path": Kind.RESULTS_PATH,
    "item": Kind.ITEM,
    "item.index": Kind.ITEM_INDEX,
}


def parse(text: str) -> Ref:
    """What the reference ``text`` (without `$(` and `)`) means."""
    fixed = _FIXED.get(text)
    if fixed is not None:
        return Ref(text, fixed)
    parts = text.split(".")
    if parts[0] == "tasks" and len(parts) == 3 and parts[2] == "status" and parts[1]:
        return Ref(text, Kind.TASK_STATUS, parts[1])
    if parts[0] == "tasks" and len(parts) == 4 and parts[2] == "results" and parts[1] and parts[3]:
        return Ref(text, Kind.TASK_RESULT, parts[1], parts[3])
    if parts[0] in ("workspaces", "volumes") and len(parts) == 3 and parts[2] == "path" and parts[1]:
        kind = Kind.WORKSPACE_PATH if parts[0] == "workspaces" else Kind.VOLUME_PATH
        return Ref(text, kind, parts[1])
    return Ref(text, Kind.MALFORMED)


def refs_in(text: str) -> list[Ref]:
    """The references in ``text``, in order, skipping escaped ones."""
    if "$(" not in text:
        return []
    return [parse(m.group(1)) for m in TOKEN.finditer(text) if m.group(0) != "$$"]


def near_misses(text: str) -> list[tuple[str, str]]:
    """(reference, suggestion) for each `$(…)` in ``text`` that is no Baton variable but looks like a
    misspelt one: `$(workspace.data.path)` → `$(workspaces.data.path)`."""
    if "$(" not in text:
        return []
    found = []
    for match in _OTHER.finditer(text):
        name = match.group(1)
        if match.group(0) == "$$" or name is None:
            continue
        head, dot, rest = name.partition(".")
        if head in _NAMESPACES:
            continue
        close = difflib.get_close_matches(head, _NAMESPACES, n=1, cutoff=0.75)
        if close:
            found.append((name, f"{close[0]}{dot}{rest}"))
    return found


def reference_fields(task: TaskSpec) -> Iterator[tuple[str, str]]:
    """(field, text) of every field of the task where references are substituted: command, args, env
    values, forEach.from, and the URIs and partitions of its datasets."""
    yield from task_fields(task)
    if task.for_each is not None and task.for_each.from_ is not None:
        yield "forEach.from", task.for_each.from_
    yield from dataset_fields(task)


def dataset_fields(task: TaskSpec) -> Iterator[tuple[str, str]]:
    """(field, text) of the URIs and partitions of the task's inputs, outputs and check."""
    for role, refs in (("inputs", task.inputs), ("outputs", task.outputs)):
        for i, ref in enumerate(refs):
            yield f"{role}[{i}].dataset", ref.dataset
            if ref.partition is not None:
                yield f"{role}[{i}].partition", ref.partition
    if task.check is not None:
        yield "check.dataset", task.check.dataset
        if task.check.partition is not None:
            yield "check.partition", task.check.partition


def task_refs(task: TaskSpec) -> set[str]:
    """The text of every reference in the task's substituted fields."""
    return {ref.text for _, text in reference_fields(task) for ref in refs_in(text)}


def result_reads(task: TaskSpec) -> list[tuple[str, str]]:
    """(task, result) of every result the task reads, in order of appearance, without repeats."""
    reads: dict[tuple[str, str], None] = {}
    for _, text in reference_fields(task):
        for ref in refs_in(text):
            if ref.kind is Kind.TASK_RESULT:
                reads[(ref.target, ref.result)] = None
    return list(reads)


_INDICES: IdentityCache[PipelineSpec, dict[str, frozenset[int]]] = IdentityCache()


def indices_where(spec: PipelineSpec, what: str, keep: Callable[[TaskSpec], object]) -> frozenset[int]:
    """Indices (in ``all_tasks`` order) of the tasks ``keep`` holds for, computed once per spec object:
    the planner asks on every reconcile, and specs are frozen (see ``baton.core.dag.dag_of``)."""
    known = _INDICES.get_or_make(spec, lambda _: {})
    found = known.get(what)
    if found is None:
        found = known[what] = frozenset(i for i, task in enumerate(spec.all_tasks()) if keep(task))
    return found


def result_readers(spec: PipelineSpec) -> frozenset[int]:
    """Indices of the tasks that read results."""
    return indices_where(spec, "readers", result_reads)


def for_each_indices(spec: PipelineSpec) -> frozenset[int]:
    """Indices of the forEach tasks."""
    return indices_where(spec, "forEach", lambda task: task.for_each is not None)


def dependencies(task: TaskSpec, known: dict[str, bool], implied: Sequence[str] = ()) -> list[str]:
    """The tasks ``task`` depends on: its dependsOn, then the tasks whose results it reads, then those
    ``implied`` through datasets (``baton.core.datasets``). ``known`` maps every task name to whether it is
    a finally task. A result read adds no edge to an unknown task, to itself, or from a task to a finally
    task: validation reports those, and the graph must stay buildable so that it can."""
    deps = list(task.depends_on)
    is_finally = known.get(task.name, False)
    for target, _ in result_reads(task):
        if target == task.name or target not in known or target in deps:
            continue
        if known[target] and not is_finally:
            continue
        deps.append(target)
    deps += [dep for dep in implied if dep not in deps]
    return deps


def graph_nodes(spec: PipelineSpec) -> list[tuple[str, list[str]]]:
    """(task, dependencies) of every task, finally tasks last: what the DAG is built from."""
    known = {task.name: False for task in spec.tasks}
    known.update({task.name: True for task in spec.finally_})
    implied = implied_of(spec)
    return [(task.name, dependencies(task, known, implied.get(task.name, ()))) for task in spec.all_tasks()]
