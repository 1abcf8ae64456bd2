"""Schedule slots: which times a cron schedule names, which are due, how their runs are named.

Pure functions of (schedule, what was scheduled last, now). Slots come from `cronsim`, which handles
daylight saving time the way the README states it (checked in `tests/core/test_schedule.py` for
Europe/Berlin, America/New_York and Australia/Lord_Howe):

- a fixed-time schedule (`30 2 * * *`) fires once per local day: right after the gap when its time falls
  into a spring-forward gap, and once (not twice) when it falls into a repeated fall-back hour;
- an interval-like schedule (`0 * * * *`) fires at every real hour: both 02:00s of a fall-back night are
  slots (one UTC hour apart, so their runs have different names).

cronsim does not read the `@daily` nicknames, so they are translated first. Every slot is handled as an
aware UTC datetime; the zone only decides which instants the schedule names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from baton.kube.names import MAX_LABEL, short_hash

NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
ON_TIME = timedelta(minutes=1)
"""A slot at most this old is due now (the operator wakes at each slot); an older one was missed."""
CATCHUP_LIMIT = 100
"""`catchup: All` creates at most this many missed slots at once (the latest ones); an Event says how
many more were missed."""
COUNT_LIMIT = 10_000
"""Missed slots are counted one by one up to this many (a minutely schedule down for a year would be
half a million); past it the latest slots are found backwards from now and the count is a lower bound."""


@dataclass(frozen=True)
class Schedule:
    expression: str
    """Five cron fields (nicknames translated)."""
    zone: ZoneInfo

    def slots_after(self, after: datetime) -> Iterator[datetime]:
        """The slots strictly after `after`, as aware UTC datetimes, in order."""
        for slot in CronSim(self.expression, after.astimezone(self.zone)):
            instant = slot.astimezone(UTC)
            if instant > after:  # cronsim starts after the given time; this keeps it exact across folds
                yield instant

    def slots_until(self, until: datetime) -> Iterator[datetime]:
        """The slots at or before `until`, latest first."""
        start = (until + timedelta(minutes=1)).astimezone(self.zone)
        for slot in CronSim(self.expression, start, reverse=True):
            instant = slot.astimezone(UTC)
            if instant <= until:
                yield instant


def parse_schedule(cron: str, timezone: str | None) -> tuple[Schedule | None, list[str]]:
    """The schedule, or the exact problems with its cron expression and time zone."""
    errors: list[str] = []
    expression = NICKNAMES.get(cron.strip().lower(), cron.strip())
    zone: ZoneInfo | None = None
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name that is a folder ("Europe")
        errors.append(f'schedule.timezone: "{timezone}" is not an IANA time zone (for example Europe/Berlin)')
    if expression.startswith("@"):
        errors.append(f'schedule.cron: unknown nickname "{cron}"; known: {", ".join(NICKNAMES)}')
    elif len(expression.split()) != 5:
        errors.append(f'schedule.cron: "{cron}" must have five fields (minute hour day month weekday)')
    else:
        try:
            CronSim(expression, datetime(2000, 1, 1, tzinfo=zone or UTC))
        except CronSimError as error:
            errors.append(f'schedule.cron: "{cron}" is not valid: {error}')
    if errors or zone is None:
        return None, errors
    return Schedule(expression, zone), []


@dataclass(frozen=True)
class DueSlots:
    create: tuple[datetime, ...]
    """Slots to create runs for now, oldest first."""
    missed: int
    """Slots that passed without a run and will not get one (catchup, the starting deadline, the limit)."""
    next_slot: datetime
    """The first slot after `now`: when to wake up."""
    passed: int = 0
    """All slots after `last` up to `now` (at least this many when `counted` is false)."""
    latest: datetime | None = None
    """The latest of them."""
    counted: bool = True


def due_slots(
    schedule: Schedule,
    last: datetime,
    now: datetime,
    *,
    catchup: str = "Latest",
    starting_deadline_seconds: int | None = None,
    limit: int = CATCHUP_LIMIT,
) -> DueSlots:
    """The slots after `last` (the last slot scheduled, or when scheduling began) up to `now`, and what
    to do with them: `catchup` None creates none of the missed ones, Latest only the latest, All each
    (at most `limit`, the latest); a slot older than `starting_deadline_seconds` is missed."""
    passed: list[datetime] = []
    total = 0
    next_slot = None
    for slot in schedule.slots_after(last):
        if slot > now:
            next_slot = slot
            break
        total += 1
        passed.append(slot)
        if len(passed) > limit:
            passed.pop(0)
        if total >= COUNT_LIMIT:
            latest = _latest(schedule, last, now, limit)
            following = next(schedule.slots_after(now))
            return _due(latest, now, catchup, starting_deadline_seconds, total, False, following)
    assert next_slot is not None
    return _due(passed, now, catchup, starting_deadline_seconds, total, True, next_slot)


def _latest(schedule: Schedule, last: datetime, now: datetime, limit: int) -> list[datetime]:
    latest: list[datetime] = []
    for slot in schedule.slots_until(now):
        if slot <= last or len(latest) == limit:
            break
        latest.append(slot)
    return latest[::-1]


def _due(
    passed: list[datetime],
    now: datetime,
    catchup: str,
    starting_deadline_seconds: int | None,
    total: int,
    counted: bool,
    next_slot: datetime,
) -> DueSlots:
    latest = passed[-1] if passed else None
    if starting_deadline_seconds is not None:
        oldest = now - timedelta(seconds=starting_deadline_seconds)
        passed = [slot for slot in passed if slot >= oldest]
    if catchup == "None":  # only a slot that is due now, not one missed while nobody scheduled
        chosen = [slot for slot in passed[-1:] if now - slot <= ON_TIME]
    elif catchup == "All":
        chosen = passed
    else:  # Latest
        chosen = passed[-1:]
    return DueSlots(
        tuple(chosen), total - len(chosen), next_slot, passed=total, latest=latest, counted=counted
    )


def scheduled_run_name(pipeline: str, slot: datetime) -> str:
    """The run of `pipeline` for `slot`: `PIPELINE-YYYYMMDDHHMM` (the slot in UTC), shortened with a hash
    past 63 characters. Deterministic, so a slot's run is created once (a second create gets 409)."""
    stamp = slot.astimezone(UTC).strftime("%Y%m%d%H%M")
    name = f"{pipeline}-{stamp}"
    if len(name) <= MAX_LABEL:
        return name
    suffix = f"-{short_hash(pipeline)}-{stamp}"
    return f"{pipeline[: MAX_LABEL - len(suffix)].rstrip('-')}{suffix}"


def schedule_variables(schedule: Schedule, slot: datetime, previous: datetime | None) -> dict[str, str]:
    """`$(schedule.time)`, `$(schedule.date)`, `$(schedule.intervalStart)` and `$(schedule.intervalEnd)`,
    in the schedule's zone (RFC 3339 with its offset). The interval starts at the previous slot."""
    local = slot.astimezone(schedule.zone)
    start = previous if previous is not None else _previous_slot(schedule, slot)
    return {
        "schedule.time": local.isoformat(),
        "schedule.date": local.date().isoformat(),
        "schedule.intervalStart": start.astimezone(schedule.zone).isoformat(),
        "schedule.intervalEnd": local.isoformat(),
    }


def _previous_slot(schedule: Schedule, slot: datetime) -> datetime:
    """The slot before `slot`, looked for in a window back that doubles until it holds one."""
    window = timedelta(hours=1)
    while True:
        earlier = [s for s in _until(schedule.slots_after(slot - window), slot)]
        if earlier:
            return earlier[-1]
        window *= 2


def _until(slots: Iterator[datetime], end: datetime) -> Iterator[datetime]:
    for slot in slots:
        if slot >= end:
            return
        yield slot
