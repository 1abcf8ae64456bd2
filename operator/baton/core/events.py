"""Kubernetes Events of a run, derived from status transitions (old status → new status).

Deriving them from the transition, not from what the planner happened to do, makes them deterministic
and exactly-once per transition: a re-plan that changes nothing emits nothing. Each Event is an API
request, so many tasks changing the same way in one reconcile (a fan-out starting) make one Event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core.status import SUCCEEDED, last_line, name_list

AGGREGATE_ABOVE = 5
"""More tasks than this changing the same way in one reconcile are reported in one Event."""


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    reason: str
    message: str


def transition_events(
    changes: Sequence[tuple[TaskStatus, TaskStatus]],
    before: PipelineRunStatus,
    after: PipelineRunStatus,
) -> list[Event]:
    """Events for the task transitions in ``changes`` (old state, new state; in spec order) and for
    the run's transition from ``before`` to ``after``."""
    started: list[TaskStatus] = []
    succeeded: list[TaskStatus] = []
    failed: list[TaskStatus] = []
    skipped: list[TaskStatus] = []
    for old, new in changes:
        if old.phase is new.phase and old.attempts == new.attempts:
            continue
        if new.phase is TaskPhase.RUNNING:
            started.append(new)
        elif new.phase is TaskPhase.SUCCEEDED:
            succeeded.append(new)
        elif new.phase is TaskPhase.FAILED:
            failed.append(new)
        elif new.phase is TaskPhase.SKIPPED:
            skipped.append(new)
    # Finishes first: they are what made the new starts possible.
    events = _grouped(EventType.NORMAL, "TaskSucceeded", succeeded, None, "succeeded")
    events += _grouped(
        EventType.WARNING, "TaskFailed", failed, lambda t: last_line(t.message or ""), "failed"
    )
    if skipped:
        cause = skipped[0].message or "an upstream task failed"
        events.append(
            Event(
                EventType.NORMAL,
                "TasksSkipped",
                f"skipped {len(skipped)} task(s) ({name_list([t.name for t in skipped])}): {cause}",
            )
        )
    events += _grouped(EventType.NORMAL, "TaskStarted", started, lambda t: f"Job {t.job_name}", "started")
    events += run_events(before, after)
    return events


def run_events(before: PipelineRunStatus, after: PipelineRunStatus) -> list[Event]:
    if after.phase is None or before.phase is after.phase or not after.phase.finished:
        return []
    condition = after.condition(SUCCEEDED)
    message = condition.message if condition else ""
    if after.phase is RunPhase.SUCCEEDED:
        took = f" in {after.duration}" if after.duration else ""
        return [Event(EventType.NORMAL, "RunSucceeded", f"run succeeded{took}: {message}")]
    return [Event(EventType.WARNING, "RunFailed", f"run failed: {message}")]


def _grouped(
    type_: EventType,
    reason: str,
    tasks: Sequence[TaskStatus],
    detail: Callable[[TaskStatus], str] | None,
    verb: str,
) -> list[Event]:
    if not tasks:
        return []
    if len(tasks) > AGGREGATE_ABOVE:
        names = name_list([t.name for t in tasks])
        return [Event(type_, reason, f"{verb} {len(tasks)} tasks: {names}")]
    events = []
    for task in tasks:
        extra = detail(task) if detail else ""
        message = f'task "{task.name}" {verb}' + (f": {extra}" if extra else "")
        events.append(Event(type_, reason, message))
    return events
