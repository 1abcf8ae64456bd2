"""maxActiveRuns: who starts, who waits, in which order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baton.api.run import RunPhase
from baton.core.queueing import QueuedRun, cancelled_before_start, queue_position, queued_status
from baton.core.state import RunMeta


def run(name: str, minute: int, state: str) -> QueuedRun:
    started, finished = {"waiting": (False, False), "active": (True, False), "done": (True, True)}[state]
    return QueuedRun(name, f"2026-01-01T00:{minute:02d}:00Z", started, finished)


@pytest.mark.parametrize(
    ("limit", "others", "candidate", "position"),
    [
        (None, [run("a", 0, "active")] * 3, run("x", 9, "waiting"), 0),  # no limit
        (2, [run("a", 0, "active")], run("x", 9, "waiting"), 0),  # one place free
        (1, [run("a", 0, "active")], run("x", 9, "waiting"), 1),  # full: first in the queue
        (1, [run("a", 0, "done")], run("x", 9, "waiting"), 0),  # finished runs do not count
        # Two waiting and one place: the older one goes first, whatever the order seen.
        (1, [run("y", 5, "waiting")], run("x", 9, "waiting"), 1),
        (1, [run("y", 9, "waiting")], run("x", 5, "waiting"), 0),
        (2, [run("y", 9, "waiting")], run("x", 5, "waiting"), 0),
        # Same creation second: by name.
        (1, [run("b", 5, "waiting")], run("a", 5, "waiting"), 0),
        (1, [run("a", 5, "waiting")], run("b", 5, "waiting"), 1),
        (1, [run("a", 0, "active"), run("b", 5, "waiting")], run("c", 6, "waiting"), 2),
        # The candidate itself in the list (as the cache has it) is not counted against itself.
        (1, [run("x", 9, "waiting")], run("x", 9, "waiting"), 0),
        # Three active, limit lowered to 2: everyone waits until two are left.
        (2, [run("a", 0, "active"), run("b", 1, "active"), run("c", 2, "active")], run("x", 9, "waiting"), 1),
        (
            3,
            [run("a", 0, "active"), run("b", 1, "waiting"), run("c", 2, "waiting")],
            run("x", 9, "waiting"),
            1,
        ),
    ],
)
def test_queue_position(
    limit: int | None, others: list[QueuedRun], candidate: QueuedRun, position: int
) -> None:
    assert queue_position(candidate, others, limit) == position


def test_queue_admits_in_creation_order_whatever_order_the_reconciles_come_in() -> None:
    runs = [run(f"r{i}", i, "waiting") for i in range(6)]
    started: list[str] = []
    for _ in range(3):  # each round every waiting run is decided (in reverse order), two may be active
        for candidate in reversed([r for r in runs if not r.started]):
            if queue_position(candidate, runs, 2) == 0:
                runs = [QueuedRun(r.name, r.created, True, False) if r is candidate else r for r in runs]
                started.append(candidate.name)
        assert sum(r.started and not r.finished for r in runs) <= 2
        runs = [QueuedRun(r.name, r.created, r.started, r.started) for r in runs]  # the active ones end
    assert [sorted(started[i : i + 2]) for i in (0, 2, 4)] == [["r0", "r1"], ["r2", "r3"], ["r4", "r5"]]


def test_a_run_cancelled_while_it_waits_ends_at_once() -> None:
    start = cancelled_before_start(
        RunMeta("ns", "x", "uid", 2), "nightly", "not needed", datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert start.status.phase is RunPhase.CANCELLED and not start.started and not start.waiting
    (condition,) = start.status.conditions
    assert (condition.status, condition.reason, condition.message) == (
        "False",
        "Cancelled",
        "cancelled before it started: not needed",
    )
    assert [e.reason for e in start.events] == ["RunCancelled"]


def test_queued_status_is_pending_not_started_and_says_why() -> None:
    meta = RunMeta("ns", "x", "uid", 1)
    status = queued_status(meta, "nightly", 3, 2, datetime(2026, 1, 1, tzinfo=UTC))
    assert status.phase is RunPhase.PENDING and status.pipeline_spec is None
    (condition,) = status.conditions
    assert (condition.reason, condition.status) == ("Queued", "Unknown")
    assert condition.message == (
        'queued: pipeline "nightly" allows 2 active runs at once (maxActiveRuns); it starts in creation order'
    )
    first = queued_status(meta, "nightly", 1, 1, datetime(2026, 1, 1, tzinfo=UTC))
    assert first.conditions[0].message.endswith(
        "allows 1 active run at once (maxActiveRuns); this run starts next"
    )
