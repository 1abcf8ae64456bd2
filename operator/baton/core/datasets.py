"""Datasets in the task graph: which tasks produce, check and consume a dataset, and the edges that implies.

A dataset reference is *static* when its URI and partition are made of params only: the same text then
names the same dataset in every task for any param values, so the graph can be built from the spec
alone. One that reads a result or an item names a dataset that is known only when the task starts: it
gives no implicit dependency (`baton lint` says so; `dependsOn` still works).

Implicit edges, all of static references only:

- a consumer (a task with the dataset among its ``inputs``) depends on every producer (``outputs``);
- a quality check (``check``) depends on the dataset's producers, and its consumers depend on it;
- a partition named on both sides must be the same text: a task reading yesterday's partition does not
  wait for the task writing today's.

A finally task is never a dependency of an ordinary task (it runs after all of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from baton.api.datasets import DatasetRef
from baton.api.pipeline import PipelineSpec
from baton.api.weakcache import IdentityCache

# `$(tasks.…)` and `$(item…)` are the references known only at run time; `$$` escapes one.
_RUNTIME = re.compile(r"\$\$|\$\((?:tasks\.|item)[^)]*\)")


def is_static(text: str | None) -> bool:
    """Whether ``text`` (a URI or partition) is made of literal text and params only."""
    if text is None or "$(" not in text:
        return True
    return all(match.group(0) == "$$" for match in _RUNTIME.finditer(text))


@dataclass(frozen=True, slots=True)
class Use:
    """One task's use of a dataset: "input", "output" or "check"."""

    task: str
    role: str
    ref: DatasetRef
    is_finally: bool

    @property
    def static(self) -> bool:
        return is_static(self.ref.dataset) and is_static(self.ref.partition)


def dataset_uses(spec: PipelineSpec) -> Iterator[Use]:
    """Every use of a dataset in the spec, in task order: inputs, outputs, then the check."""
    finally_names = {task.name for task in spec.finally_}
    for task in spec.all_tasks():
        is_finally = task.name in finally_names
        for ref in task.inputs:
            yield Use(task.name, "input", ref, is_finally)
        for ref in task.outputs:
            yield Use(task.name, "output", ref, is_finally)
        if task.check is not None:
            check = DatasetRef(dataset=task.check.dataset, partition=task.check.partition)
            yield Use(task.name, "check", check, is_finally)


def _same_slice(a: DatasetRef, b: DatasetRef) -> bool:
    return a.partition is None or b.partition is None or a.partition == b.partition


def _may_depend(user: Use, on: Use) -> bool:
    return user.task != on.task and (user.is_finally or not on.is_finally) and _same_slice(user.ref, on.ref)


def implied_dependencies(spec: PipelineSpec) -> dict[str, list[str]]:
    """Task → the tasks it depends on through datasets (producers, then checks), without repeats."""
    by_uri: dict[str, list[Use]] = {}
    for use in dataset_uses(spec):
        if use.static:
            by_uri.setdefault(use.ref.dataset, []).append(use)
    implied: dict[str, dict[str, None]] = {}
    for uses in by_uri.values():
        producers = [u for u in uses if u.role == "output"]
        checks = [u for u in uses if u.role == "check"]
        for user in uses:
            if user.role == "output":
                continue
            found = implied.setdefault(user.task, {})
            for producer in producers:
                if _may_depend(user, producer):
                    found[producer.task] = None
            if user.role == "input":
                for check in checks:
                    if _may_depend(user, check):
                        found[check.task] = None
    return {task: list(deps) for task, deps in implied.items() if deps}


_IMPLIED: IdentityCache[PipelineSpec, dict[str, list[str]]] = IdentityCache()


def implied_of(spec: PipelineSpec) -> dict[str, list[str]]:
    """``implied_dependencies`` once per spec object (specs are frozen; see ``baton.core.dag.dag_of``)."""
    return _IMPLIED.get_or_make(spec, implied_dependencies)


_DECLARES: IdentityCache[PipelineSpec, bool] = IdentityCache()


def declares_datasets(spec: PipelineSpec) -> bool:
    """Whether any task of ``spec`` reads, writes or checks a dataset (once per spec object: the run
    writer asks on every status write of every run)."""
    return _DECLARES.get_or_make(spec, lambda s: next(dataset_uses(s), None) is not None)


def dynamic_notes(spec: PipelineSpec) -> list[str]:
    """For `baton lint`: each dataset reference whose URI or partition reads a result or an item, which
    therefore implies no dependency."""
    notes = []
    for use in dataset_uses(spec):
        if use.static:
            continue
        what = "URI" if not is_static(use.ref.dataset) else "partition"
        notes.append(
            f'task "{use.task}": {use.role} "{use.ref.dataset}" has a {what} known only at run time (it '
            "reads a result or an item), so it implies no dependency: add dependsOn where one is needed"
        )
    return notes


__all__ = [
    "Use",
    "dataset_uses",
    "declares_datasets",
    "dynamic_notes",
    "implied_dependencies",
    "implied_of",
    "is_static",
]
