"""What is wrong with the datasets of a Pipeline: their references, their URIs, checks and caching.

Results and items read by a URI or partition are checked with every other reference
(``baton.core.variables``); this module adds what is particular to datasets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from baton.api.datasets import URI_PATTERN
from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.core.dataflow_checks import duplicates
from baton.core.dataset_io import resolve_text
from baton.core.datasets import is_static
from baton.core.params import param_field_errors
from baton.core.references import Kind, dataset_fields, refs_in
from baton.core.status import shorten

# An absolute URI, as OpenLineage names datasets: scheme://authority/path (s3, gs, postgres, …) or
# file:/path. Relative names would mean different data in different tasks.
URI = re.compile(URI_PATTERN)
_ALLOWED = (Kind.TASK_RESULT, Kind.ITEM, Kind.ITEM_INDEX)


def dataset_errors(spec: PipelineSpec) -> list[str]:
    """Problems of the inputs, outputs, checks and caches of every task."""
    declared = [param.name for param in spec.params]
    finally_names = {task.name for task in spec.finally_}
    errors: list[str] = []
    for task in spec.all_tasks():
        owner = f'{"finally task" if task.name in finally_names else "task"} "{task.name}"'
        for field, text in dataset_fields(task):
            errors += _field_errors(owner, field, text, declared)
        for role, refs in (("inputs", task.inputs), ("outputs", task.outputs)):
            keys = [f"{r.dataset} partition {r.partition}" if r.partition else r.dataset for r in refs]
            errors += [f"{owner}: {role} {e}" for e in duplicates("dataset", keys)]
        errors += _role_errors(owner, task, task.name in finally_names, spec)
    return errors


def dataset_run_errors(spec: PipelineSpec, params: Mapping[str, str]) -> list[str]:
    """URIs and partitions made of params that this run's values make wrong: not a URI, or empty."""
    errors = []
    for task in spec.all_tasks():
        for field, text in dataset_fields(task):
            if "$(params." not in text or not is_static(text):
                continue  # literal text is checked with the Pipeline; results and items when the task starts
            value = resolve_text(text, params, {}, None)
            if field.endswith(".partition") and not value:
                errors.append(f'task "{task.name}": {field} "{text}" is empty with this run\'s params')
            elif field.endswith(".dataset") and not URI.match(value):
                errors.append(
                    f'task "{task.name}": {field} is "{_cut(value)}" with this run\'s params, which is not a '
                    "URI (such as s3://bucket/key or postgres://host:5432/db.schema.table)"
                )
    return errors


def _field_errors(owner: str, field: str, text: str, declared: Sequence[str]) -> list[str]:
    errors = list(param_field_errors(owner, field, text, declared))
    for ref in refs_in(text):
        if ref.kind not in _ALLOWED and ref.kind is not Kind.MALFORMED:
            errors.append(
                f'{owner}: {field} reads "$({ref.text})"; a dataset may use params, '
                "$(tasks.NAME.results.RESULT), $(item) and $(item.index) only"
            )
    if field.endswith(".dataset"):
        literal = text.split("$(", 1)[0]
        if "://" in literal or literal == text:
            if not URI.match(text):
                errors.append(
                    f'{owner}: {field} "{_cut(text)}" is not a URI: name datasets as OpenLineage does, with '
                    "a scheme (s3://bucket/key, postgres://host:5432/db.schema.table, file:///path)"
                )
    return errors


def _role_errors(owner: str, task: TaskSpec, is_finally: bool, spec: PipelineSpec) -> list[str]:
    errors = []
    if task.check is not None:
        if is_finally:
            errors.append(f"{owner}: a quality check cannot be a finally task (no task could wait for it)")
        if task.sensor is not None:
            errors.append(f"{owner}: a sensor cannot be a quality check")
        if task.for_each is not None:
            errors.append(
                f"{owner}: a quality check cannot be a forEach task (check each partition in one task)"
            )
    if task.cache is not None:
        errors += _cache_errors(owner, task, spec)
    return errors


def _cache_errors(owner: str, task: TaskSpec, spec: PipelineSpec) -> list[str]:
    errors = []
    if task.pipeline_ref is not None:
        errors.append(f"{owner}: cache is for container tasks; the sub-pipeline's own tasks may set it")
    if task.sensor is not None:
        errors.append(f"{owner}: a sensor cannot be cached (its answer is about now)")
    if task.for_each is not None:
        errors.append(f"{owner}: a forEach task cannot be cached (yet): cache a task per item instead")
    per_run = {w.name for w in spec.workspaces if w.volume_claim_template is not None}
    written = [m.name for m in task.workspaces if m.name in per_run and not m.read_only]
    if written:
        errors.append(
            f'{owner}: cache is Invalid on a task that writes into the per-run workspace "{written[0]}" (its '
            "files would not be in a later run's claim): cache tasks whose outputs are results or datasets"
        )
    return errors


def _cut(text: str) -> str:
    return shorten(text, 80)  # a URI in a message: its start says what it is
