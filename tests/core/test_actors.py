"""Who asked: the annotations an action writes, reading them back, and the Events that name the person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baton.core.actors import (
    ACTED_AT,
    ACTED_GENERATION,
    ACTION,
    ACTOR,
    MAX_ACTOR,
    RUN_REQUESTED,
    Action,
    Verb,
    action_annotations,
    attributed,
    change_pause,
    recorded_action,
)
from baton.core.events import Event, EventType

AT = datetime(2026, 12, 6, 10, 42, tzinfo=UTC)


def test_annotations_read_back_as_the_action() -> None:
    written = action_annotations("alice@corp", Verb.CANCEL, AT, 3)
    assert written == {
        ACTOR: "alice@corp",
        ACTION: "cancel",
        ACTED_AT: "2026-12-06T10:42:00Z",
        ACTED_GENERATION: "3",
    }
    action = recorded_action(written)
    assert action == Action("alice@corp", Verb.CANCEL, AT, 3)
    assert action.described() == "cancelled by alice@corp at 2026-12-06T10:42:00Z"


@pytest.mark.parametrize(
    "annotations",
    [
        None,
        {},
        {ACTOR: "alice", ACTION: "delete", ACTED_GENERATION: "2"},  # not an action Baton records
        {ACTOR: "alice", ACTION: "cancel", ACTED_GENERATION: "two"},
        {ACTOR: "alice", ACTION: "cancel"},
        {ACTOR: "\x00\x01", ACTION: "cancel", ACTED_GENERATION: "2"},
        {ACTOR: 7, ACTION: "cancel", ACTED_GENERATION: "2"},
    ],
)
def test_an_unreadable_record_is_no_action(annotations: dict[str, object] | None) -> None:
    assert recorded_action(annotations) is None


@pytest.mark.parametrize("at", ["soon", "2026-01-01T00:00:00", "0001-01-01T00:00:00+01:00", ""])
def test_a_broken_time_is_left_out_not_fatal(at: str) -> None:
    """Annotations are anyone's to edit: a time without a zone, or one that is no instant, is left out."""
    action = recorded_action({ACTOR: "bob", ACTION: "suspend", ACTED_GENERATION: "2", ACTED_AT: at})
    assert action is not None
    assert action.described() == "suspended by bob"
    assert attributed([], action, 2, started=False) == []


def test_a_long_or_odd_name_is_cleaned_and_bounded() -> None:
    written = action_annotations("x" * 500 + "\n", Verb.RUN, AT, 1)
    assert len(written[ACTOR]) == MAX_ACTOR and "\n" not in written[ACTOR]


CANCELLED = Event(EventType.NORMAL, "RunCancelled", "run cancelled: not today")
SUSPENDED = Event(EventType.NORMAL, "RunSuspended", "run suspended: held")
STARTED = Event(EventType.NORMAL, "TaskStarted", 'task "a" started: Job x')
RETRY = Event(EventType.NORMAL, "RetryStarted", "reuses 2 task(s)")


@pytest.mark.parametrize(
    ("verb", "generation", "events", "started", "expected"),
    [
        # The Event the action caused names the person; the others do not.
        (
            Verb.CANCEL,
            2,
            [STARTED, CANCELLED],
            False,
            [STARTED.message, "run cancelled: not today (cancelled by alice at 2026-12-06T10:42:00Z)"],
        ),
        # A later change (by hand: no annotation) is not put on the last person who acted.
        (Verb.CANCEL, 1, [CANCELLED], False, [CANCELLED.message]),
        (Verb.SUSPEND, 2, [CANCELLED], False, [CANCELLED.message]),
        (
            Verb.SUSPEND,
            2,
            [SUSPENDED],
            False,
            ["run suspended: held (suspended by alice at 2026-12-06T10:42:00Z)"],
        ),
        # A run a person started says so once, at its start.
        (Verb.RUN, 2, [STARTED], True, ["run started by alice at 2026-12-06T10:42:00Z", STARTED.message]),
        (Verb.RUN, 2, [STARTED], False, [STARTED.message]),
        (Verb.RETRY, 2, [RETRY], True, ["reuses 2 task(s) (retry started by alice at 2026-12-06T10:42:00Z)"]),
    ],
)
def test_events_name_who_caused_them(
    verb: Verb, generation: int, events: list[Event], started: bool, expected: list[str]
) -> None:
    action = Action("alice", verb, AT, 2)
    out = attributed(events, action, generation, started=started)
    assert [e.message for e in out] == expected
    if started and verb is Verb.RUN:
        assert out[0].reason == RUN_REQUESTED


def test_no_action_leaves_events_as_they_are() -> None:
    assert attributed([CANCELLED], None, 2, started=True) == [CANCELLED]


@pytest.mark.parametrize(
    ("tries", "jitter", "pause"), [(0, 0.0, 0.025), (0, 0.999, 0.05), (3, 0.0, 0.2), (9, 0.0, 0.5)]
)
def test_a_change_that_met_a_newer_version_pauses_a_little_longer_each_time(
    tries: int, jitter: float, pause: float
) -> None:
    assert change_pause(tries, jitter) == pytest.approx(pause, abs=0.001)
