"""Schedule slots: DST rules in three zones, nicknames, what is due after downtime, run names, variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.core.schedule import (
    CATCHUP_LIMIT,
    Schedule,
    due_slots,
    parse_schedule,
    schedule_variables,
    scheduled_run_name,
)


def schedule(cron: str, zone: str = "UTC") -> Schedule:
    parsed, errors = parse_schedule(cron, zone)
    assert parsed is not None, errors
    return parsed


def local_slots(cron: str, zone: str, start: str, count: int) -> str:
    """`count` slots after the local time `start`, as "MM-DDTHH:MM+HH:MM" local times, space-separated."""
    s = schedule(cron, zone)
    after = datetime.fromisoformat(start).replace(tzinfo=s.zone).astimezone(UTC)
    slots = s.slots_after(after)
    out = []
    for _ in range(count):
        text = next(slots).astimezone(s.zone).isoformat()  # 2026-03-28T02:30:00+01:00
        out.append(text[5:16] + text[19:])
    return " ".join(out)


@pytest.mark.parametrize(
    ("cron", "zone", "start", "expected"),
    [
        # spring forward: 02:30 does not exist that night; the slot is right after the gap, once
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T00:00",
            "03-28T02:30+01:00 03-29T03:00+02:00 03-30T02:30+02:00",
        ),
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T00:00",
            "03-07T02:30-05:00 03-08T03:00-04:00 03-09T02:30-04:00",
        ),
        # fall back: 02:30 happens twice that night; a fixed-time schedule fires once
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-24T00:00",
            "10-24T02:30+02:00 10-25T02:30+02:00 10-26T02:30+01:00",
        ),
        (
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T00:00",
            "10-31T01:30-04:00 11-01T01:30-04:00 11-02T01:30-05:00",
        ),
        # a half-hour zone: Lord Howe falls back 30 minutes (01:30-02:00 twice): once a day still
        (
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-04T00:00",
            "04-04T01:45+11:00 04-05T01:45+11:00 04-06T01:45+10:30",
        ),
        # and springs forward 30 minutes (02:00-02:30 missing): right after the gap
        (
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-03T00:00",
            "10-03T02:15+10:30 10-04T02:30+11:00 10-05T02:15+11:00",
        ),
        # an interval-like schedule fires at every real hour: both 02:00s of the fall-back night
        (
            "0 * * * *",
            "Europe/Berlin",
            "2026-10-25T01:30",
            "10-25T02:00+02:00 10-25T02:00+01:00 10-25T03:00+01:00",
        ),
        (
            "0 * * * *",
            "America/New_York",
            "2026-11-01T00:30",
            "11-01T01:00-04:00 11-01T01:00-05:00 11-01T02:00-05:00",
        ),
    ],
)
def test_daylight_saving_time_rules(cron: str, zone: str, start: str, expected: str) -> None:
    assert local_slots(cron, zone, start, len(expected.split())) == expected


@pytest.mark.parametrize(
    ("nickname", "first"),
    [
        ("@hourly", "12-06T01:00+00:00"),
        ("@daily", "12-07T00:00+00:00"),
        ("@midnight", "12-07T00:00+00:00"),
        ("@weekly", "12-13T00:00+00:00"),  # Sunday
        ("@monthly", "01-01T00:00+00:00"),
        ("@yearly", "01-01T00:00+00:00"),
        ("@Annually", "01-01T00:00+00:00"),
    ],
)
def test_nicknames_are_translated(nickname: str, first: str) -> None:
    assert local_slots(nickname, "UTC", "2026-12-06T00:30", 1) == first


@pytest.mark.parametrize(
    ("cron", "zone", "problem"),
    [
        ("30 2 * *", "UTC", 'schedule.cron: "30 2 * *" must have five fields'),
        ("61 2 * * *", "UTC", 'schedule.cron: "61 2 * * *" is not valid'),
        ("@fortnightly", "UTC", 'schedule.cron: unknown nickname "@fortnightly"'),
        ("30 2 * * *", "Europe/Berlni", 'schedule.timezone: "Europe/Berlni" is not an IANA time zone'),
        ("30 2 * * *", "../etc/passwd", 'schedule.timezone: "../etc/passwd" is not an IANA time zone'),
    ],
)
def test_a_bad_schedule_says_exactly_what_is_wrong(cron: str, zone: str, problem: str) -> None:
    parsed, errors = parse_schedule(cron, zone)
    assert parsed is None and len(errors) == 1 and errors[0].startswith(problem), errors


T = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
HOURLY = schedule("0 * * * *")


@pytest.mark.parametrize(
    ("catchup", "last", "now", "deadline", "created", "missed"),
    [
        # on time: the slot that just came
        ("Latest", T - timedelta(hours=1), T + timedelta(seconds=5), None, [T], 0),
        ("None", T - timedelta(hours=1), T + timedelta(seconds=5), None, [T], 0),
        # after five hours down: Latest runs the latest slot only, None runs nothing, All runs the five
        ("Latest", T - timedelta(hours=5), T + timedelta(minutes=30), None, [T], 4),
        ("None", T - timedelta(hours=5), T + timedelta(minutes=30), None, [], 5),
        (
            "All",
            T - timedelta(hours=5),
            T + timedelta(minutes=30),
            None,
            [T - H * h for h in (4, 3, 2, 1, 0)],
            0,
        ),
        # a starting deadline drops slots older than it
        ("All", T - timedelta(hours=5), T + timedelta(minutes=30), 2 * 3600, [T - timedelta(hours=1), T], 3),
        ("Latest", T - timedelta(hours=5), T + timedelta(minutes=30), 600, [], 5),
        # nothing due yet
        ("Latest", T, T + timedelta(minutes=59), None, [], 0),
    ],
)
def test_what_is_due(
    catchup: str, last: datetime, now: datetime, deadline: int | None, created: list[datetime], missed: int
) -> None:
    due = due_slots(HOURLY, last, now, catchup=catchup, starting_deadline_seconds=deadline)
    assert (list(due.create), due.missed) == (created, missed)
    assert due.next_slot == T + timedelta(hours=1)


def test_catchup_all_is_bounded_to_the_latest_slots() -> None:
    due = due_slots(HOURLY, T - timedelta(days=30), T, catchup="All")
    assert len(due.create) == CATCHUP_LIMIT and due.create[-1] == T
    assert due.missed == 30 * 24 - CATCHUP_LIMIT


def test_a_slot_is_never_due_twice() -> None:
    due = due_slots(HOURLY, T, T + timedelta(hours=1), catchup="All")  # T itself was scheduled already
    assert due.create == (T + timedelta(hours=1),)


@pytest.mark.parametrize(
    ("pipeline", "slot", "expected"),
    [
        ("daily-sales", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "daily-sales-202603290100"),
        ("x" * 60, datetime(2026, 3, 29, 1, 0, tzinfo=UTC), None),
    ],
)
def test_run_names_are_the_slot_in_utc(pipeline: str, slot: datetime, expected: str | None) -> None:
    name = scheduled_run_name(pipeline, slot)
    assert len(name) <= 63 and name.endswith("-202603290100")
    if expected is not None:
        assert name == expected
    assert scheduled_run_name(pipeline, slot) == name  # the same slot, the same name: a second create is 409


def test_the_two_0200s_of_a_fall_back_night_get_different_run_names() -> None:
    s = schedule("0 * * * *", "Europe/Berlin")
    first, second = [s for s in list(_take(s, "2026-10-25T01:30", 3))[:2]]
    assert scheduled_run_name("p", first) != scheduled_run_name("p", second)


def _take(s: Schedule, start: str, count: int) -> list[datetime]:
    after = datetime.fromisoformat(start).replace(tzinfo=s.zone).astimezone(UTC)
    slots = s.slots_after(after)
    return [next(slots) for _ in range(count)]


def test_schedule_variables_give_the_data_interval_in_the_zone() -> None:
    s = schedule("30 2 * * *", "Europe/Berlin")
    slot = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 local, right after the gap
    variables = schedule_variables(s, slot, None)
    assert variables == {
        "schedule.time": "2026-03-29T03:00:00+02:00",
        "schedule.date": "2026-03-29",
        "schedule.intervalStart": "2026-03-28T02:30:00+01:00",
        "schedule.intervalEnd": "2026-03-29T03:00:00+02:00",
    }
