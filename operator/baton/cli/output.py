"""Output shared by the plugin's commands: `-o json|yaml`, phases in colour, times, and a run's parts.

Colour only on a terminal and never when NO_COLOR is set (https://no-color.org); a symbol next to each
phase says the same without colour.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import yaml

OUTPUT_FORMATS = ("json", "yaml", "name")

_STYLES = {
    "Succeeded": ("32", "✓"),  # green
    "Failed": ("31", "✗"),  # red
    "Running": ("36", "●"),  # cyan
    "Pending": ("2", "○"),  # dim
    "Skipped": ("33", "⊘"),  # yellow
    "Cancelled": ("35", "⊗"),  # magenta
    "Suspended": ("33", "‖"),  # yellow
}
_DEFAULT_STYLE = ("34", "◆")  # phases this version does not know (blue)
FINISHED = frozenset({"Succeeded", "Failed", "Cancelled", "Canceled"})


def use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def symbol(phase: str) -> str:
    return _STYLES.get(phase, _DEFAULT_STYLE)[1]


def paint(text: str, phase: str, colour: bool) -> str:
    if not colour:
        return text
    return f"\x1b[{_STYLES.get(phase, _DEFAULT_STYLE)[0]}m{text}\x1b[0m"


def print_object(obj: Mapping[str, Any], fmt: str, out: TextIO) -> None:
    """As `kubectl -o json|yaml|name` prints one object."""
    if fmt == "json":
        out.write(json.dumps(obj, indent=4, ensure_ascii=False) + "\n")
    elif fmt == "yaml":
        out.write(yaml.safe_dump(dict(obj), sort_keys=False, allow_unicode=True))
    else:
        kind = str(obj.get("kind", "")).lower()
        group = str(obj.get("apiVersion", "")).split("/")[0] if "/" in str(obj.get("apiVersion")) else ""
        out.write(
            f"{kind}.{group}/{obj['metadata']['name']}\n" if group else f"{kind}/{obj['metadata']['name']}\n"
        )


def not_finished(name: str, timeout: float | None) -> str:
    if timeout:
        return f"pipelinerun {name} did not finish within {duration(timeout)}"
    return f"pipelinerun {name}: the watch ended before the run did"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """kubectl's short human durations: 5s, 3m12s, 2h5m, 3d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds}s" if seconds else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def elapsed(start: str | None, end: str | None, now: datetime | None = None) -> str:
    """How long from `start` to `end` (or to now while there is no end); "" without a start."""
    began = parse_time(start)
    if began is None:
        return ""
    ended = parse_time(end) or now or datetime.now(UTC)
    return duration((ended - began).total_seconds())


# -- a run's parts, whatever form its status is stored in -----------------------------------------


@dataclass
class RunView:
    name: str
    phase: str
    pipeline: str | None
    progress: str
    message: str
    start_time: str | None
    completion_time: str | None
    tasks: list[dict[str, Any]]
    """Task states in spec order; tasks without a state yet are Pending."""
    spec: dict[str, Any] | None
    """The Pipeline spec the run uses (frozen when it started), if known."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """The run's results (status.results), once it has ended."""

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED


def expanded_task(task: Any) -> Any:
    """A task entry with a wide forEach's compact successes as entries again (as it is when broken)."""
    from baton.api.instances import expand_task

    try:
        return expand_task(task) if isinstance(task, dict) else task
    except ValueError:
        return task


def run_view(run: Mapping[str, Any], pipeline: Mapping[str, Any] | None = None) -> RunView:
    """The run's phase, tasks and spec; `pipeline` supplies the spec of a run that has not started."""
    status: dict[str, Any] = dict(run.get("status") or {})
    tasks: list[dict[str, Any]] = [expanded_task(t) for t in status.get("tasks") or []]
    spec = status.get("pipelineSpec")
    if status.get("compressedTasks") or status.get("compressedPipelineSpec"):
        from baton.api.codec import load_run_status

        loaded = load_run_status(status)
        tasks = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in loaded.tasks]
        if loaded.pipeline_spec is not None:
            spec = loaded.pipeline_spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    run_spec = run.get("spec") or {}
    spec = spec or run_spec.get("pipelineSpec") or ((pipeline or {}).get("spec") if pipeline else None)
    if spec:
        every = [*(spec.get("tasks") or ()), *(spec.get("finally") or ())]
        known = {t.get("name") for t in tasks}
        tasks += [{"name": t["name"], "phase": "Pending"} for t in every if t["name"] not in known]
        order = {t["name"]: i for i, t in enumerate(every)}
        tasks.sort(key=lambda t: order.get(t.get("name"), len(order)))
    condition: dict[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Succeeded"), {}
    )
    return RunView(
        name=run["metadata"]["name"],
        phase=str(status.get("phase") or "Pending"),
        pipeline=status.get("pipeline") or (run_spec.get("pipelineRef") or {}).get("name"),
        progress=str(status.get("progress") or ""),
        message=str(condition.get("message") or ""),
        start_time=status.get("startTime"),
        completion_time=status.get("completionTime"),
        tasks=tasks,
        spec=dict(spec) if spec else None,
        results=[dict(r) for r in status.get("results") or ()],
    )


def data_note(task: Mapping[str, Any]) -> str | None:
    """What a succeeded task's phase alone hides: it came from the cache, or its quality check only warned."""
    reason = task.get("reason")
    if reason == "Cached":
        return f"cached from {task.get('cachedFrom') or 'an earlier run'}"
    if reason == "QualityWarning":
        message = str(task.get("message") or "").strip().splitlines()
        why = message[0].split(": ", 1)[-1] if message else ""
        return "quality check failed (Warn)" + (f": {why}" if why else "")
    return None


def failure_summary(task: Mapping[str, Any]) -> str:
    """Why a failed task failed, in one line: the end of its log tail (what a traceback ends with), led
    by its exit code (``baton.core.status.failure_line``)."""
    from baton.api.run import InstanceStatus
    from baton.core.status import failure_line

    try:
        return failure_line(InstanceStatus.model_validate(task))
    except ValueError:  # a status edited by hand
        lines = str(task.get("message") or "").strip().splitlines()
        return lines[-1] if lines else ""


def yaml_problem(error: Exception) -> str:
    """A YAML error as `line L, column C: problem` (PyYAML's own text names "<unicode string>", not the
    file, and spreads over several lines)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = getattr(error, "context", None)
    return f"{where}{problem}" + (f" ({context})" if context else "")


def result_lines(results: Sequence[Mapping[str, Any]], indent: str = "  ") -> list[str]:
    """A run's results for a terminal: `name: value`, a value of several lines indented below its name."""
    lines = []
    for result in results:
        value = str(result.get("value", ""))
        if "\n" in value.strip():
            lines.append(f"{indent}{result.get('name')}:")
            lines += [f"{indent}  {line}" for line in value.strip().splitlines()]
        else:
            lines.append(f"{indent}{result.get('name')}: {value}")
    return lines


def columns(rows: Sequence[Sequence[object]], indent: str = "") -> list[str]:
    """Rows as kubectl prints a table: every column but the last padded to its widest cell, three spaces
    apart; the last (a message) as long as it is."""
    if not rows:
        return []
    cells = [[str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]) - 1)]
    return [
        (indent + "   ".join(v.ljust(widths[i]) for i, v in enumerate(row[:-1])) + "   " + row[-1]).rstrip()
        for row in cells
    ]
