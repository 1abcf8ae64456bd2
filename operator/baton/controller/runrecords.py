"""What the run observer remembers of each run and task it watches, and the small judgements on it.

Split from `observers` so that the bookkeeping (a run's tasks, their phases, the counts the gauges read,
the ready set, when Jobs were seen) reads apart from the event handling that keeps it current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.api.run import RunPhase, TaskPhase
from baton.core.status import parse_time

from . import metrics

PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"


def run_finished(phase: str | None) -> bool:
    try:
        return phase is not None and RunPhase(phase).finished
    except ValueError:
        return False


def task_finished(phase: str) -> bool:
    try:
        return TaskPhase(phase).finished
    except ValueError:
        return False


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return max(0.0, (parse_time(end) - parse_time(start)).total_seconds())
    except ValueError:
        return None


def task_label(run: RunRecord, task: str) -> str:
    """The task's name, or `metrics.MANY_TASKS` in pipelines too large for a series per task."""
    return task if len(run.parents) <= metrics.TASK_LABEL_LIMIT else metrics.MANY_TASKS


def phase_of(run: RunRecord, task: str) -> str | None:
    record = run.tasks.get(task)
    return record.phase if record is not None else None


@dataclass(slots=True)
class TaskRecord:
    status: Any = None  # the TaskStatus last seen (unchanged entries are the same object)
    phase: str = PENDING
    attempts: int = 0
    started: float | None = None  # monotonic time its current attempt's Job was seen created


@dataclass(slots=True)
class RunRecord:
    namespace: str
    name: str
    pipeline: str = ""
    phase: str | None = None
    created_seen: float | None = None  # monotonic time it was seen created (not listed at start-up)
    started_seen: float | None = None  # monotonic time its start was seen
    start_time: str | None = None
    creation_time: str | None = None
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    parallelism: int | None = None
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # unfinished tasks by phase
    ready: dict[str, float | None] = field(default_factory=dict)  # ready, not started: since when
    unmet: dict[str, int] = field(default_factory=dict)  # upstream tasks not (yet) Succeeded, by task
    job_created: dict[tuple[str, int], float | None] = field(default_factory=dict)
    job_finished: dict[tuple[str, int], float | None] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return not run_finished(self.phase)

    def count(self, phase: str, delta: int) -> None:
        if task_finished(phase):
            return
        value = self.counts.get(phase, 0) + delta
        if value:
            self.counts[phase] = value
        else:
            self.counts.pop(phase, None)

    def forget_details(self) -> None:
        """A finished run needs nothing but its phase (to not count it again)."""
        self.tasks, self.counts, self.ready, self.unmet = {}, {}, {}, {}
        self.parents, self.children = {}, {}
        self.job_created, self.job_finished = {}, {}
