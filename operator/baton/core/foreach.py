"""forEach: a task that runs once per item of a list, the list known only when the task is ready.

When a forEach task's dependencies are met, its list is resolved (``resolve_items``): literal items, a
param holding a JSON list, or a result of an upstream task. The task then expands (``expand``): it is
Running, records how many items there are, and gets one instance per item, each Pending, named
``TASK[INDEX]``, in ``status.tasks[].instances``. Each instance is attempted, retried, timed out,
cancelled and observed exactly like a task (``baton.core.tasks``), with its own Job. The task itself has no
Job; its phase follows its instances (``summarize_instances``). The DAG of tasks does not change: the
growth lives inside one task's status, so everything downstream waits for the task as a whole, and an
operator restart re-reads the expansion from the status (the list's sources are frozen: spec, params,
recorded results).

An empty list makes no instance and the task Succeeded with reason NoItems. A list that is not a JSON
list of strings and numbers fails the task (InvalidItems), and so does one longer than maxItems
(TooManyItems); neither is retried.

Results: ``$(tasks.T.results.R)`` of a forEach task is the JSON list of its instances' values in item
order (``task_result``). All instances' recorded results together are bounded (``MAX_RECORDED_RESULTS``)
so that a run's status stays well under etcd's object limit; the instance that would pass the bound fails.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence

from baton.api.pipeline import TaskSpec
from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core import reasons
from baton.core.references import Kind, parse
from baton.core.status import time_or_none, truncate

RESULTS_TOO_LARGE = "ResultsTooLarge"
"""Also the reason of a task whose substituted results would not fit into one argument."""
NO_ITEMS = "NoItems"
INVALID_ITEMS = "InvalidItems"
TOO_MANY_ITEMS = "TooManyItems"
MAX_RECORDED_RESULTS = 128 * 1024
"""Bytes of results all instances of one forEach task may record together (128 KiB: also the most one
argument may hold on Linux, so the aggregated list can still be passed as one)."""
ITEM_SHOWN = 256

Item = str | int | float


def item_text(item: Item) -> str:
    """An item as `$(item)` substitutes it: a string as itself, a number as JSON."""
    return item if isinstance(item, str) else json.dumps(item)


def instance_name(task: str, index: int) -> str:
    return f"{task}[{index}]"


def param_items_errors(task: TaskSpec, params: Mapping[str, str]) -> list[str]:
    """Problems of the param a forEach task iterates over, known when the run is created."""
    for_each = task.for_each
    if for_each is None or for_each.from_ is None:
        return []
    text = for_each.from_.strip()[2:-1]
    if not text.startswith("params.") or text[7:] not in params:
        return []
    parsed = parse_items(params[text[7:]], f'param "{text[7:]}"')
    if isinstance(parsed, str):
        return [f'forEach of task "{task.name}": {parsed}']
    if len(parsed) > for_each.max_items:
        return [
            f'forEach of task "{task.name}": param "{text[7:]}" has {len(parsed)} items, more than its '
            f"maxItems ({for_each.max_items})"
        ]
    return []


def resolve_items(
    task: TaskSpec, params: Mapping[str, str], tasks: Sequence[TaskStatus], index: Mapping[str, int]
) -> list[Item] | tuple[str, str]:
    """The items of a forEach task whose dependencies are met, or (reason, message) why there are none."""
    for_each = task.for_each
    assert for_each is not None
    if for_each.items is not None:
        items: list[Item] = list(for_each.items)
        source = "forEach.items"
    else:
        assert for_each.from_ is not None
        text = for_each.from_.strip()[2:-1]
        if text.startswith("params."):
            source, raw = f'param "{text[7:]}"', params.get(text[7:])
        else:
            ref = parse(text)
            owner = index.get(ref.target) if ref.kind is Kind.TASK_RESULT else None
            source = f'result "{ref.result}" of task "{ref.target}"'
            raw = task_result(tasks[owner], ref.result) if owner is not None else None
        if raw is None:
            return INVALID_ITEMS, f"forEach.from: {source} has no value"
        parsed = parse_items(raw, source)
        if isinstance(parsed, str):
            return INVALID_ITEMS, f"forEach.from: {parsed}"
        items = parsed
    if len(items) > for_each.max_items:
        return TOO_MANY_ITEMS, (
            f'forEach of task "{task.name}" has {len(items)} items, more than its maxItems '
            f"({for_each.max_items}); raise maxItems (at most 10000)"
        )
    return items


def parse_items(raw: str, source: str) -> list[Item] | str:
    """The items in ``raw`` (JSON text), or what is wrong with them, naming ``source``."""
    try:
        value = json.loads(raw)
    except ValueError:
        shown = raw if len(raw) <= 60 else f"{raw[:60]}…"
        return f"{source} is not a JSON list: {shown!r}"
    if not isinstance(value, list):
        return f"{source} is a JSON {_json_kind(value)}, not a list of strings and numbers"
    for position, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            return (
                f"item {position} of {source} is a JSON {_json_kind(item)}; items must be strings or numbers"
            )
    return value


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number" if isinstance(value, int | float) else "string"


def expand(task: TaskStatus, items: Sequence[Item], now: str) -> TaskStatus:
    """The forEach task once its items are known: Running with one Pending instance per item, or
    Succeeded (NoItems) for an empty list."""
    if not items:
        return task.model_copy(
            update={
                "phase": TaskPhase.SUCCEEDED,
                "reason": NO_ITEMS,
                "message": "the forEach list is empty: no instance ran",
                "items": 0,
                "instances": [],
                "start_time": now,
                "completion_time": now,
            }
        )
    # Instances a retry reuses (see baton.core.reuse) stand where their item is still the same.
    reused = {i.name: i for i in task.instances if i.reason == reasons.REUSED}
    instances = []
    for k, item in enumerate(items):
        name, shown = instance_name(task.name, k), _shown(item_text(item))
        before = reused.get(name)
        if before is not None and before.item == shown:
            instances.append(before)
        else:
            instances.append(InstanceStatus(name=name, phase=TaskPhase.PENDING, item=shown))
    return task.model_copy(
        update={
            "phase": TaskPhase.RUNNING,
            "items": len(items),
            "instances": instances,
            "start_time": now,
            "reason": None,
            "message": None,
        }
    )


def summarize_instances(task: TaskStatus, instances: list[InstanceStatus]) -> TaskStatus:
    """The forEach task's own state, derived from its instances (``task`` itself when unchanged)."""
    counts = Counter(instance.phase for instance in instances)
    unfinished = counts[TaskPhase.PENDING] + counts[TaskPhase.RUNNING]
    update: dict[str, object] = {"instances": instances, "start_time": _earliest(task.start_time, instances)}
    if unfinished:
        update.update(phase=TaskPhase.RUNNING, completion_time=None, reason=None)
        failed = counts[TaskPhase.FAILED]
        update["message"] = f"{failed} of {len(instances)} instances failed so far" if failed else None
    else:
        phase, reason, message = _outcome(instances, counts)
        ends = [i.completion_time for i in instances if i.completion_time]
        update.update(
            phase=phase,
            reason=reason,
            message=message,
            completion_time=max(ends) if ends else task.completion_time or task.start_time,
        )
    if all(getattr(task, key) == value for key, value in update.items() if key != "instances") and (
        task.instances is instances
    ):
        return task
    return task.model_copy(update=update)


def _earliest(start: str | None, instances: Sequence[InstanceStatus]) -> str | None:
    """The task's start: its expansion, or an instance's start when earlier. A reconcile that acted while
    the expansion's write was in flight expands it again, later than its instances began."""
    known = [
        (when, text) for text in (start, *(i.start_time for i in instances)) if (when := time_or_none(text))
    ]
    return min(known)[1] if known else start


def _outcome(
    instances: Sequence[InstanceStatus], counts: Mapping[TaskPhase, int]
) -> tuple[TaskPhase, str | None, str | None]:
    total = len(instances)
    if counts[TaskPhase.SUCCEEDED] == total:
        return TaskPhase.SUCCEEDED, None, None
    stopped = next(
        (i.reason for i in instances if i.reason in (reasons.RUN_TIMEOUT, reasons.CANCELLED)), None
    )
    failed = [i for i in instances if i.phase is TaskPhase.FAILED]
    if failed:
        first = failed[0]
        message = f"{len(failed)} of {total} instances failed; {first.name}: {first.message or first.reason}"
        return TaskPhase.FAILED, stopped or first.reason, truncate(message)
    ended = next(i for i in instances if i.phase is not TaskPhase.SUCCEEDED)
    phase = TaskPhase.CANCELLED if counts[TaskPhase.CANCELLED] else TaskPhase.SKIPPED
    message = (
        f"{total - counts[TaskPhase.SUCCEEDED]} of {total} instances did not run to the end: {ended.message}"
    )
    return phase, stopped or ended.reason, truncate(message)


def task_result(task: TaskStatus, name: str) -> str | None:
    """Result ``name`` of a task as recorded JSON text: a forEach task's is the list of its instances'
    values in item order (None until every instance has it)."""
    if task.items is None:
        return task.results.get(name)
    values = []
    for instance in task.instances:
        value = instance.results.get(name)
        if value is None:
            return None
        values.append(value)
    return f"[{','.join(values)}]"


def recorded_bytes(instances: Sequence[InstanceStatus]) -> int:
    return sum(len(key) + len(value) for i in instances for key, value in i.results.items())


def over_budget(instance: InstanceStatus, others: int, task: str) -> InstanceStatus:
    """An instance whose results would take its task's recorded results past the bound: Failed."""
    size = others + sum(len(key) + len(value) for key, value in instance.results.items())
    message = (
        f"the results of all instances of {task} together would be {size} bytes, more than "
        f"{MAX_RECORDED_RESULTS}; write large outputs to a workspace (not retried)"
    )
    return instance.model_copy(
        update={"phase": TaskPhase.FAILED, "reason": RESULTS_TOO_LARGE, "message": message, "results": {}}
    )


def _shown(text: str) -> str:
    return text if len(text) <= ITEM_SHOWN else f"{text[: ITEM_SHOWN - 1]}…"
