"""The scheduler's decision for one Pipeline: which slots get a run now, what is cancelled, what was missed.

A pure function of (Pipeline, its schedule status, its runs, now). The shell creates the runs (their names
come from the slot, so a second create is a 409 and nothing runs twice), then records lastScheduleTime,
which the scheduler never goes back before: a slot whose run was pruned from the history is not created
again. The shell wakes at `wake_at` (the next slot), with no polling in between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from baton.api.pipeline import PipelineSpec
from baton.api.schedule import Catchup, ConcurrencyPolicy, ScheduleSpec
from baton.core.events import Event, EventType
from baton.core.schedule import CATCHUP_LIMIT, Schedule, due_slots, parse_schedule, schedule_variables
from baton.core.schedule import scheduled_run_name as run_name_of
from baton.core.status import format_time

SCHEDULE_VARIABLE = re.compile(r"\$\(schedule\.([A-Za-z]+)\)")
SCHEDULE_VARIABLES = ("time", "date", "intervalStart", "intervalEnd")


@dataclass(frozen=True, slots=True)
class RunOfPipeline:
    """What the scheduler needs to know of one existing run of the Pipeline."""

    name: str
    slot: datetime | None
    """The slot it was created for (annotation baton.dev/scheduled-time); None for other runs."""
    active: bool
    """Not finished yet (queued, pending, running or suspended)."""
    cancelling: bool = False
    scheduled: bool = True
    """Created by the schedule (not by a backfill or a rerun): only these are "earlier scheduled runs"
    for concurrencyPolicy."""


@dataclass(frozen=True, slots=True)
class RunToCreate:
    name: str
    slot: datetime
    params: dict[str, str]


@dataclass(frozen=True)
class ScheduleDecision:
    create: tuple[RunToCreate, ...] = ()
    cancel: tuple[str, ...] = ()
    """Scheduled runs to cancel first (concurrencyPolicy Replace)."""
    last_schedule_time: datetime | None = None
    next_schedule_time: datetime | None = None
    missed: int = 0
    """Slots handled now that got no run (counted in baton_schedules_missed_total)."""
    events: tuple[Event, ...] = ()
    wake_at: datetime | None = None


def schedule_of(spec: ScheduleSpec) -> Schedule | None:
    schedule, _ = parse_schedule(spec.cron, spec.timezone)
    return schedule


def schedule_errors(spec: PipelineSpec) -> list[str]:
    """What is wrong with the Pipeline's schedule (shown by its Ready condition and by `baton lint`)."""
    if spec.schedule is None:
        return []
    _, errors = parse_schedule(spec.schedule.cron, spec.schedule.timezone)
    declared = {param.name: param for param in spec.params}
    for name, value in spec.schedule.params.items():
        if name not in declared:
            errors.append(f'schedule.params: "{name}" is not a param of the Pipeline')
        for variable in SCHEDULE_VARIABLE.findall(value):
            if variable not in SCHEDULE_VARIABLES:
                known = ", ".join(f"$(schedule.{v})" for v in SCHEDULE_VARIABLES)
                errors.append(
                    f'schedule.params.{name}: unknown variable "$(schedule.{variable})"; known: {known}'
                )
    for name, param in declared.items():
        if param.default is None and name not in spec.schedule.params:
            errors.append(
                f'schedule.params: param "{name}" has no default, so every scheduled run would fail: '
                "give it a value here"
            )
    return errors


def scheduled_params(spec: ScheduleSpec, schedule: Schedule, slot: datetime) -> dict[str, str]:
    """The schedule's params for `slot`, with `$(schedule.*)` replaced."""
    values = schedule_variables(schedule, slot, None)
    return {
        name: SCHEDULE_VARIABLE.sub(lambda m: values.get(f"schedule.{m.group(1)}", m.group(0)), value)
        for name, value in spec.params.items()
    }


def scheduling_since(
    last_schedule_time: datetime | None,
    next_schedule_time: datetime | None,
    created: datetime | None,
    generation: int,
    now: datetime,
) -> datetime:
    """Where the slots to consider start (exclusive). After the last slot handled; before any, from the
    next slot the operator announced (so a slot that passed while it was down is not lost); for a
    Pipeline that had its schedule from its creation (generation 1), from its creation; otherwise (a
    schedule added to an older Pipeline) from now, so that adding one does not run a slot of the past."""
    if last_schedule_time is not None:
        return last_schedule_time
    if next_schedule_time is not None:
        return next_schedule_time - timedelta(microseconds=1)
    if created is not None and generation <= 1:
        return min(created, now)
    return now


def decide_schedule(
    pipeline: str,
    spec: ScheduleSpec,
    since: datetime,
    runs: Sequence[RunOfPipeline],
    now: datetime,
    *,
    last_schedule_time: datetime | None = None,
) -> ScheduleDecision:
    """What to do for the schedule now. `since` comes from `scheduling_since`."""
    schedule = schedule_of(spec)
    if schedule is None or spec.suspend:
        return ScheduleDecision(last_schedule_time=last_schedule_time)
    due = due_slots(
        schedule,
        since,
        now,
        catchup=spec.catchup.value,
        starting_deadline_seconds=spec.starting_deadline_seconds,
    )
    keep = ScheduleDecision(
        last_schedule_time=last_schedule_time, next_schedule_time=due.next_slot, wake_at=due.next_slot
    )
    if due.latest is None:
        return keep
    chosen = list(due.create)
    cancel: tuple[str, ...] = ()
    handled_through = due.latest
    if spec.concurrency_policy is ConcurrencyPolicy.REPLACE:
        chosen = chosen[-1:]
    # Only runs the schedule made count, and only those of earlier slots: a run of a chosen slot is that
    # slot's own run, created before a restart or by another operator (its create will answer 409).
    first = chosen[0] if chosen else due.latest
    earlier = [
        run for run in runs if run.active and run.scheduled and run.slot is not None and run.slot < first
    ]
    if spec.concurrency_policy is ConcurrencyPolicy.FORBID and chosen:
        if earlier:
            # Wait for it to end (the end of a run brings the Pipeline back); the slot may run late. The
            # slot stays announced as the next one, so that it is not lost before it is recorded.
            return replace(keep, next_schedule_time=chosen[0])
        if len(chosen) > 1:  # one at a time: the others wait for this one
            chosen = chosen[:1]
            handled_through = chosen[0]
    elif spec.concurrency_policy is ConcurrencyPolicy.REPLACE:
        cancel = tuple(run.name for run in earlier if not run.cancelling)
    # Slots after `handled_through` (Forbid taking the oldest of several) are still to come, not missed.
    later = sum(1 for slot in due.create if slot > handled_through)
    missed = due.passed - later - len(chosen)
    create = tuple(
        RunToCreate(run_name_of(pipeline, slot), slot, scheduled_params(spec, schedule, slot))
        for slot in chosen
    )
    events = _events(spec, create, cancel, missed, due.passed, due.counted)
    return ScheduleDecision(
        create=create,
        cancel=cancel,
        last_schedule_time=handled_through,
        next_schedule_time=due.next_slot,
        missed=missed,
        events=events,
        wake_at=due.next_slot,
    )


def _events(
    spec: ScheduleSpec,
    create: tuple[RunToCreate, ...],
    cancel: tuple[str, ...],
    missed: int,
    passed: int,
    counted: bool,
) -> tuple[Event, ...]:
    events: list[Event] = []
    if cancel:
        names = ", ".join(cancel[:5]) + (f" and {len(cancel) - 5} more" if len(cancel) > 5 else "")
        events.append(
            Event(EventType.NORMAL, "ScheduledRunReplaced", f"cancelled {names} (concurrencyPolicy Replace)")
        )
    if create:
        slots = ", ".join(format_time(run.slot) for run in create[:3])
        more = f" and {len(create) - 3} more" if len(create) > 3 else ""
        names = create[0].name if len(create) == 1 else f"{len(create)} runs"
        events.append(Event(EventType.NORMAL, "Scheduled", f"created {names} for slot {slots}{more}"))
    if missed:
        count = f"{missed}" if counted else f"more than {missed}"
        why = {
            Catchup.NONE: "catchup None runs only a slot that is due now",
            Catchup.LATEST: "catchup Latest runs only the latest",
            Catchup.ALL: f"catchup All runs at most the latest {CATCHUP_LIMIT}",
        }[spec.catchup]
        deadline = (
            f"; startingDeadlineSeconds {spec.starting_deadline_seconds} passed for some"
            if spec.starting_deadline_seconds is not None
            else ""
        )
        events.append(
            Event(EventType.WARNING, "MissedSchedule", f"{count} of {passed} slots missed: {why}{deadline}")
        )
    return tuple(events)
