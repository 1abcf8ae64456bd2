"""The wire form of a wide forEach task's instances: what went as expected is a range of indices.

A run of ten forEach tasks of 10,000 items has 100,000 instance entries; as records (name, phase,
attempts, Job name, two timestamps, the item) they take about 15 MB, far past etcd's limit even
gzip-compressed. Nearly all of them say the same thing: succeeded at the first attempt. So from
``COMPACT_FROM`` instances on, those are stored as ``succeededInstances: "0-4999,5001-9999"`` and only
the others (pending, running, failed, retried, skipped, with results or a message) keep their records.
The index ranges of a 10,000-instance task that went well take a few bytes.

What a compact instance loses, and why that is acceptable: its Job name (derived from the run, the
instance and the attempt: `baton.kube.names.job_name`), its start and completion times (the task keeps
its own, and the run's metrics have every duration) and its item text (the task's items are in the
spec or the results it came from). The core never sees the difference except for those fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from baton.api.run import InstanceStatus, TaskPhase, TaskStatus

COMPACT_FROM = 100
"""forEach tasks with at least this many instances store their plain successes as index ranges."""
MAX_INDEX = 1_000_000
_INDEX = re.compile(r"\[(\d+)\]$")
_RANGE = re.compile(r"(\d{1,7})(?:-(\d{1,7}))?")


def plain_success(task: str, index: int, instance: InstanceStatus) -> bool:
    """An instance that succeeded at its first attempt, with nothing else to say."""
    return (
        instance.phase is TaskPhase.SUCCEEDED
        and instance.attempts == 1
        and instance.reason is None
        and instance.message is None
        and instance.exit_code is None
        and instance.next_attempt_at is None
        and not instance.results
        and instance.name == f"{task}[{index}]"
    )


def index_ranges(indices: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` as ``"0-2,5,7-8"`` (indices ascending)."""
    parts: list[str] = []
    start = previous = None
    for index in indices:
        if previous is not None and index == previous + 1:
            previous = index
            continue
        if start is not None:
            parts.append(f"{start}-{previous}" if previous != start else str(start))
        start = previous = index
    if start is not None:
        parts.append(f"{start}-{previous}" if previous != start else str(start))
    return ",".join(parts)


def parse_ranges(text: str, limit: int = MAX_INDEX) -> list[int]:
    """The indices of ``"0-2,5"`` (ascending, not overlapping); ValueError for anything else, or for
    indices past ``limit``."""
    indices: list[int] = []
    for part in filter(None, text.split(",")):
        found = _RANGE.fullmatch(part)
        if found is None:
            raise ValueError(f'bad instance range "{part}"')
        first = int(found.group(1))
        last = int(found.group(2) or first)
        if last < first or last >= limit or (indices and first <= indices[-1]):
            raise ValueError(f'bad instance range "{part}"')
        indices.extend(range(first, last + 1))
    return indices


def compact_task_json(
    task: TaskStatus, encode_task: Callable[[TaskStatus], bytes], encode: Callable[[InstanceStatus], bytes]
) -> bytes:
    """The task's JSON with its plain successes as ranges (``encode_*`` give one entry's compact JSON)."""
    plain: list[int] = []
    others: list[bytes] = []
    for index, instance in enumerate(task.instances):
        if plain_success(task.name, index, instance):
            plain.append(index)
        else:
            others.append(encode(instance))
    head = encode_task(task.model_copy(update={"instances": []}))
    assert head.endswith(b"}") and len(head) > 2, "a task entry always has a name and a phase"
    extra = b',"instances":[' + b",".join(others) + b"]" if others else b""
    if plain:
        extra += b',"succeededInstances":"' + index_ranges(plain).encode() + b'"'
    return head[:-1] + extra + b"}"


def expand_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task entry as read, with its compact successes as records again (ValueError when broken)."""
    compact = task.get("succeededInstances")
    if not compact:
        return task
    name = str(task.get("name") or "")
    items = task.get("items")
    limit = items if isinstance(items, int) and 0 < items <= MAX_INDEX else MAX_INDEX
    by_index: dict[int, Any] = {}
    for record in task.get("instances") or ():
        found = _INDEX.search(str(record.get("name") or "")) if isinstance(record, dict) else None
        if found is None:
            raise ValueError(f'task "{name}": an instance record has no index in its name')
        by_index[int(found.group(1))] = record
    for index in parse_ranges(str(compact), limit):
        by_index.setdefault(index, {"name": f"{name}[{index}]", "phase": "Succeeded", "attempts": 1})
    if len(by_index) != max(by_index, default=-1) + 1:
        raise ValueError(f'task "{name}": its instances have gaps')
    expanded = {k: v for k, v in task.items() if k != "succeededInstances"}
    expanded["instances"] = [by_index[i] for i in range(len(by_index))]
    return expanded
