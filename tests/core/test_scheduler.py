"""The scheduler's decision: concurrency policies, catch-up, the bound, the anchor, params, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.pipeline import PipelineSpec
from baton.api.schedule import ScheduleSpec
from baton.core.schedule import CATCHUP_LIMIT
from baton.core.scheduler import (
    RunOfPipeline,
    decide_schedule,
    schedule_errors,
    schedule_of,
    scheduled_params,
    scheduling_since,
)

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a slot of the hourly schedules below
H = timedelta(hours=1)


def spec(**fields: object) -> ScheduleSpec:
    return ScheduleSpec.model_validate({"cron": "0 * * * *", **fields})


def scheduled(slot: datetime, *, active: bool = True, cancelling: bool = False) -> RunOfPipeline:
    return RunOfPipeline(f"p-{slot:%Y%m%d%H%M}", slot, active=active, cancelling=cancelling)


@pytest.mark.parametrize(
    ("policy", "runs", "created", "cancelled", "last"),
    [
        # Nothing active: each policy creates the due slot.
        ("Allow", [], [T], [], T),
        ("Forbid", [], [T], [], T),
        ("Replace", [], [T], [], T),
        # The previous slot's run still active.
        ("Allow", [scheduled(T - H)], [T], [], T),
        ("Forbid", [scheduled(T - H)], [], [], None),  # waits: lastScheduleTime does not move
        ("Replace", [scheduled(T - H)], [T], ["p-202603101100"], T),
        # A run already being cancelled is not cancelled again.
        ("Replace", [scheduled(T - H, cancelling=True)], [T], [], T),
        # A finished scheduled run, or an active manual run, blocks nothing.
        ("Forbid", [scheduled(T - H, active=False)], [T], [], T),
        ("Forbid", [RunOfPipeline("manual-x", None, active=True)], [T], [], T),
        # A backfilled (or rerun) run of an earlier slot is no scheduled run: it neither blocks nor goes.
        ("Forbid", [RunOfPipeline("p-202603101100", T - H, active=True, scheduled=False)], [T], [], T),
        ("Replace", [RunOfPipeline("p-202603101100", T - H, active=True, scheduled=False)], [T], [], T),
        # The slot's own run, created before a restart: not waited for, not cancelled (its create is a 409).
        ("Forbid", [scheduled(T)], [T], [], T),
        ("Replace", [scheduled(T)], [T], [], T),
    ],
)
def test_concurrency_policies(
    policy: str,
    runs: list[RunOfPipeline],
    created: list[datetime],
    cancelled: list[str],
    last: datetime | None,
) -> None:
    decision = decide_schedule("p", spec(concurrencyPolicy=policy), T - H, runs, T + timedelta(seconds=2))
    assert [run.slot for run in decision.create] == created
    assert list(decision.cancel) == cancelled
    assert decision.last_schedule_time == last
    assert decision.next_schedule_time == (T if last is None else T + H)  # a waiting slot stays announced
    assert decision.wake_at == T + H
    assert decision.missed == 0


@pytest.mark.parametrize(
    ("catchup", "policy", "created", "missed", "last"),
    [
        # Down from T-5h (last handled) until T + 30 min: slots T-4h … T passed (5 slots).
        ("None", "Allow", [], 5, T),
        ("Latest", "Allow", [T], 4, T),
        ("All", "Allow", [T - 4 * H, T - 3 * H, T - 2 * H, T - H, T], 0, T),
        # Forbid creates the oldest and leaves the others for when it ended (not missed yet).
        ("All", "Forbid", [T - 4 * H], 0, T - 4 * H),
        ("Latest", "Forbid", [T], 4, T),
        # Replace runs only the latest.
        ("All", "Replace", [T], 4, T),
    ],
)
def test_catchup_after_downtime(
    catchup: str, policy: str, created: list[datetime], missed: int, last: datetime
) -> None:
    decision = decide_schedule(
        "p", spec(catchup=catchup, concurrencyPolicy=policy), T - 5 * H, [], T + timedelta(minutes=30)
    )
    assert [run.slot for run in decision.create] == created
    assert (decision.missed, decision.last_schedule_time) == (missed, last)
    assert any(e.reason == "MissedSchedule" for e in decision.events) == bool(missed)


def test_catchup_none_runs_a_slot_that_is_due_now() -> None:
    decision = decide_schedule("p", spec(catchup="None"), T - H, [], T + timedelta(seconds=30))
    assert [run.slot for run in decision.create] == [T]


def test_forbid_with_all_works_through_the_missed_slots_one_at_a_time() -> None:
    now = T + timedelta(minutes=30)
    policy = spec(catchup="All", concurrencyPolicy="Forbid")
    first = decide_schedule("p", policy, T - 3 * H, [], now)
    assert [run.slot for run in first.create] == [T - 2 * H]
    blocked = decide_schedule("p", policy, T - 2 * H, [scheduled(T - 2 * H)], now)
    assert blocked.create == () and blocked.last_schedule_time is None
    second = decide_schedule("p", policy, T - 2 * H, [scheduled(T - 2 * H, active=False)], now)
    assert [run.slot for run in second.create] == [T - H]


def test_catchup_all_is_bounded_and_says_how_many_were_missed() -> None:
    now = T + timedelta(minutes=1)
    decision = decide_schedule("p", spec(catchup="All", concurrencyPolicy="Allow"), T - 30 * 24 * H, [], now)
    assert len(decision.create) == CATCHUP_LIMIT and decision.create[-1].slot == T
    assert decision.missed == 30 * 24 - CATCHUP_LIMIT
    (warning,) = [e for e in decision.events if e.reason == "MissedSchedule"]
    assert f"{30 * 24 - CATCHUP_LIMIT} of {30 * 24} slots missed" in warning.message
    assert f"at most the latest {CATCHUP_LIMIT}" in warning.message


def test_a_year_of_minutely_slots_is_not_walked_one_by_one() -> None:
    minutely = ScheduleSpec(cron="* * * * *", catchup="All", concurrency_policy="Allow")
    decision = decide_schedule("p", minutely, T - 365 * 24 * H, [], T)
    assert len(decision.create) == CATCHUP_LIMIT and decision.create[-1].slot == T
    (warning,) = [e for e in decision.events if e.reason == "MissedSchedule"]
    assert warning.message.startswith("more than ")


def test_starting_deadline_turns_late_slots_into_missed_ones() -> None:
    late = decide_schedule("p", spec(startingDeadlineSeconds=60), T - H, [], T + timedelta(minutes=5))
    assert late.create == () and late.missed == 1 and late.last_schedule_time == T
    assert "startingDeadlineSeconds 60" in late.events[-1].message
    in_time = decide_schedule("p", spec(startingDeadlineSeconds=600), T - H, [], T + timedelta(minutes=5))
    assert [run.slot for run in in_time.create] == [T]


def test_nothing_due_waits_for_the_next_slot_and_suspend_schedules_nothing() -> None:
    idle = decide_schedule("p", spec(), T, [], T + timedelta(minutes=10))
    assert idle.create == () and idle.wake_at == T + H and idle.next_schedule_time == T + H
    assert idle.last_schedule_time is None  # the caller keeps what it had
    suspended = decide_schedule(
        "p", spec(suspend=True), T - H, [], T + timedelta(minutes=10), last_schedule_time=T - H
    )
    assert suspended.create == () and suspended.wake_at is None and suspended.next_schedule_time is None
    assert suspended.last_schedule_time == T - H


def test_runs_are_named_from_the_slot_and_carry_the_slot_variables() -> None:
    berlin = ScheduleSpec(
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        params={"date": "$(schedule.date)", "window": "$(schedule.intervalStart)/$(schedule.intervalEnd)"},
    )
    slot = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 02:30 in Berlin (UTC+1)
    decision = decide_schedule("nightly", berlin, slot - timedelta(days=1), [], slot + timedelta(seconds=5))
    (run,) = decision.create
    assert run.name == "nightly-202603100130"
    assert run.params == {
        "date": "2026-03-10",
        "window": "2026-03-09T02:30:00+01:00/2026-03-10T02:30:00+01:00",
    }
    schedule = schedule_of(berlin)
    assert schedule is not None
    assert scheduled_params(berlin, schedule, slot) == run.params


@pytest.mark.parametrize(
    ("last", "announced", "created", "generation", "since"),
    [
        (T, T + H, T - 9 * H, 1, T),  # after the last slot handled
        (None, T, T - 9 * H, 3, T - timedelta(microseconds=1)),  # the announced slot is not lost
        (None, None, T - 9 * H, 1, T - 9 * H),  # scheduled since its creation
        (None, None, T - 9 * H, 2, T + H / 2),  # a schedule added later starts now
    ],
)
def test_where_scheduling_starts(
    last: datetime | None, announced: datetime | None, created: datetime, generation: int, since: datetime
) -> None:
    assert scheduling_since(last, announced, created, generation, T + H / 2) == since


@pytest.mark.parametrize("zone", ["Europe", "Asia/__pycache__", "../../etc/passwd", "", "UTC "])
def test_odd_time_zones_are_errors_not_crashes(zone: str) -> None:
    pipeline = PipelineSpec.model_validate(
        {
            "tasks": [{"name": "a", "image": "busybox"}],
            "schedule": {"cron": "@daily", "timezone": zone or "x"},
        },
    )
    errors = schedule_errors(pipeline)
    assert len(errors) == 1 and errors[0].startswith("schedule.timezone: ")


def test_schedule_errors_name_each_problem() -> None:
    pipeline = PipelineSpec.model_validate(
        {
            "params": [{"name": "date"}, {"name": "region", "default": "eu"}],
            "tasks": [{"name": "a", "image": "busybox"}],
            "schedule": {
                "cron": "0 25 * * *",
                "timezone": "Europe/Berlln",
                "params": {"dat": "$(schedule.today)"},
            },
        }
    )
    errors = schedule_errors(pipeline)
    assert errors == [
        'schedule.timezone: "Europe/Berlln" is not an IANA time zone (for example Europe/Berlin)',
        'schedule.cron: "0 25 * * *" is not valid: Bad hour',
        'schedule.params: "dat" is not a param of the Pipeline',
        'schedule.params.dat: unknown variable "$(schedule.today)"; known: $(schedule.time), '
        "$(schedule.date), $(schedule.intervalStart), $(schedule.intervalEnd)",
        'schedule.params: param "date" has no default, so every scheduled run would fail: '
        "give it a value here",
    ]
    fine = pipeline.model_copy(
        update={
            "schedule": ScheduleSpec(
                cron="@daily", timezone="Europe/Berlin", params={"date": "$(schedule.date)"}
            )
        }
    )
    assert schedule_errors(fine) == []


def test_a_slot_whose_run_the_history_pruned_is_not_created_again() -> None:
    # lastScheduleTime is T: the run of T (and of every slot before) may be gone, pruned by runHistory.
    since = scheduling_since(T, T + H, T - 100 * H, 1, T + timedelta(minutes=10))
    decision = decide_schedule(
        "p", spec(catchup="All"), since, [], T + timedelta(minutes=10), last_schedule_time=T
    )
    assert decision.create == () and decision.missed == 0 and decision.last_schedule_time == T


def test_invalid_schedules_decide_nothing() -> None:
    broken = ScheduleSpec(cron="61 * * * *")
    assert decide_schedule("p", broken, T - H, [], T) == decide_schedule("p", broken, T - H, [], T)
    assert decide_schedule("p", broken, T - H, [], T).create == ()
