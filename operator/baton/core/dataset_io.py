"""The datasets a task reads and writes, resolved when it starts: its references replaced by their values.

The values are the data's names, not a command line: no kubelet escaping is applied (`$$` becomes `$`).
A reference without a value (validation makes that rare: a result of a task that did not report it) is
left as it is, so the status shows what could not be resolved instead of a wrong name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from baton.api.datasets import DatasetRef, ResolvedDataset
from baton.api.pipeline import TaskSpec
from baton.api.run import TaskStatus

MAX_RESOLVED = 100
"""Resolved datasets kept per task and direction: a forEach task over 10,000 partitions keeps the first
100 (the Dataset objects have their own bounded history)."""

_TOKEN = re.compile(r"\$\$|\$\(([^)]*)\)")


def resolve_text(
    text: str, params: Mapping[str, str], context: Mapping[str, str], instance: tuple[int, str] | None
) -> str:
    """``text`` with params, results (from ``context``) and the instance's item substituted."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if token == "$$":
            return "$"
        if name.startswith("params."):
            return params.get(name[len("params.") :], token)
        if instance is not None and name == "item":
            return instance[1]
        if instance is not None and name == "item.index":
            return str(instance[0])
        return context.get(name, token)

    return _TOKEN.sub(replace, text)


def resolve_ref(
    ref: DatasetRef, params: Mapping[str, str], context: Mapping[str, str], instance: tuple[int, str] | None
) -> ResolvedDataset:
    partition = ref.partition
    return ResolvedDataset(
        uri=resolve_text(ref.dataset, params, context, instance),
        partition=None if partition is None else resolve_text(partition, params, context, instance),
    )


def resolved_io(
    task: TaskSpec, params: Mapping[str, str], context: Mapping[str, str], instance: tuple[int, str] | None
) -> tuple[list[ResolvedDataset], list[ResolvedDataset]]:
    """(inputs, outputs) of one task or forEach instance; a quality check's dataset is its first input."""
    refs = list(task.inputs)
    if task.check is not None:
        refs.insert(0, DatasetRef(dataset=task.check.dataset, partition=task.check.partition))
    inputs = [resolve_ref(ref, params, context, instance) for ref in refs]
    outputs = [resolve_ref(ref, params, context, instance) for ref in task.outputs]
    return _unique(inputs), _unique(outputs)


def with_io(
    status: TaskStatus, inputs: Sequence[ResolvedDataset], outputs: Sequence[ResolvedDataset]
) -> TaskStatus:
    """``status`` recording ``inputs`` and ``outputs`` (added to what it records: a forEach task collects its
    instances'), at most ``MAX_RESOLVED`` of each."""
    merged_in = _unique([*status.inputs, *inputs])[:MAX_RESOLVED]
    merged_out = _unique([*status.outputs, *outputs])[:MAX_RESOLVED]
    if merged_in == status.inputs and merged_out == status.outputs:
        return status
    return status.model_copy(update={"inputs": merged_in, "outputs": merged_out})


def _unique(found: Sequence[ResolvedDataset]) -> list[ResolvedDataset]:
    return list(dict.fromkeys(found))
