"""Kubernetes Events of a run, derived from status transitions (old status → new status).

Deriving them from the transition, not from what the planner happened to do, makes them deterministic
and exactly-once per transition: a re-plan that changes nothing emits nothing. Each Event is an API
request, so many tasks changing the same way in one reconcile (a fan-out starting) make one Event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from baton.api.run import InstanceStatus, PipelineRunStatus, RunPhase, TaskPhase
from baton.core.status import SUCCEEDED, last_line, name_list

_POKING = frozenset({TaskPhase.RUNNING, TaskPhase.PENDING})
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
    changes: Sequence[tuple[InstanceStatus, InstanceStatus]],
    before: PipelineRunStatus,
    after: PipelineRunStatus,
) -> list[Event]:
    """Events for the task transitions in ``changes`` (old state, new state; in spec order) and for
    the run's transition from ``before`` to ``after``."""
    started: list[InstanceStatus] = []
    succeeded: list[InstanceStatus] = []
    failed: list[InstanceStatus] = []
    retrying: list[InstanceStatus] = []
    skipped: list[InstanceStatus] = []
    stopped: list[InstanceStatus] = []
    for old, new in changes:
        if old.phase is new.phase and old.attempts == new.attempts:
            continue
        if new.pokes and new.phase in _POKING:
            continue  # a sensor's next poke, or a not-ready answer: its status tells, Events would flood
        if new.phase is TaskPhase.RUNNING:
            started.append(new)
        elif new.phase is TaskPhase.SUCCEEDED:
            succeeded.append(new)
        elif new.phase is TaskPhase.FAILED:
            failed.append(new)
        elif new.phase is TaskPhase.PENDING and new.next_attempt_at:
            retrying.append(new)
        elif new.phase is TaskPhase.SKIPPED:
            skipped.append(new)
        elif new.phase is TaskPhase.CANCELLED:
            stopped.append(new)
    # Finishes first: they are what made the new starts possible.
    events = _grouped(EventType.NORMAL, "TaskSucceeded", succeeded, _succeeded, "succeeded")
    events += _grouped(
        EventType.WARNING, "TaskFailed", failed, lambda t: last_line(t.message or ""), "failed"
    )
    events += _grouped(
        EventType.WARNING, "TaskRetrying", retrying, lambda t: last_line(t.message or ""), "will be retried"
    )
    events += _summed("TasksStopped", "stopped", stopped, "the run stopped")
    events += _summed("TasksSkipped", "skipped", skipped, "an upstream task failed")
    events += _grouped(EventType.NORMAL, "TaskStarted", started, _started, "started")
    events += run_events(before, after)
    return events


def _succeeded(task: InstanceStatus) -> str:
    """What a plain "succeeded" would hide: served from the cache, or a quality check that only warned."""
    if task.reason == "Cached":
        return task.message or "from the cache"
    if task.reason == "QualityWarning":
        return last_line(task.message or "its quality check failed (Warn)")
    return ""


def _started(task: InstanceStatus) -> str:
    items = getattr(task, "items", None)  # a forEach task starts by expanding: it has no Job
    return f"{items} instances" if items is not None else f"Job {task.job_name}"


def run_events(before: PipelineRunStatus, after: PipelineRunStatus) -> list[Event]:
    if after.phase is None or before.phase is after.phase:
        return []
    condition = after.condition(SUCCEEDED)
    message = condition.message if condition else ""
    if after.phase is RunPhase.SUSPENDED:
        # Its message says "suspended: …" already (``baton.core.status``): not twice.
        told = message if message.startswith("suspended") else f"suspended: {message}"
        return [Event(EventType.NORMAL, "RunSuspended", f"run {told}")]
    if before.phase is RunPhase.SUSPENDED and not after.phase.finished:
        return [Event(EventType.NORMAL, "RunResumed", f"run resumed: {message}")]
    if not after.phase.finished:
        return []
    if after.phase is RunPhase.SUCCEEDED:
        took = f" in {after.duration}" if after.duration else ""
        return [Event(EventType.NORMAL, "RunSucceeded", f"run succeeded{took}: {message}")]
    if after.phase is RunPhase.CANCELLED:
        return [Event(EventType.NORMAL, "RunCancelled", f"run {message}")]
    return [Event(EventType.WARNING, "RunFailed", f"run failed: {message}")]


def _summed(reason: str, verb: str, tasks: Sequence[InstanceStatus], default_cause: str) -> list[Event]:
    """One Event for many tasks that ended the same way, with the first one's message as the cause."""
    if not tasks:
        return []
    cause = tasks[0].message or default_cause
    names = name_list([t.name for t in tasks])
    return [Event(EventType.NORMAL, reason, f"{verb} {len(tasks)} task(s) ({names}): {cause}")]


def _grouped(
    type_: EventType,
    reason: str,
    tasks: Sequence[InstanceStatus],
    detail: Callable[[InstanceStatus], str] | None,
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
