"""Leader election's decisions: who creates, renews, takes over or follows the Lease, when a leader may
act, and how it releases the Lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.core.leases import Lease, Timing, Verb, decide, leads, released

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
TIMING = Timing()


def lease(holder: str | None, renewed_ago: float | None, duration: int = 15, transitions: int = 2) -> Lease:
    renewed = None if renewed_ago is None else NOW - timedelta(seconds=renewed_ago)
    return Lease(holder, renewed, duration, transitions, "41")


@pytest.mark.parametrize(
    ("current", "unchanged_for", "verb", "leader", "transitions"),
    [
        (None, 0, Verb.CREATE, "me", 0),
        (lease("me", 3), 3, Verb.RENEW, "me", 2),
        (lease("me", 30), 30, Verb.RENEW, "me", 2),  # my own lease, even expired: renewing is no transition
        (lease("other", 3), 3, Verb.FOLLOW, "other", None),
        (lease("other", 14.9), 14.9, Verb.FOLLOW, "other", None),
        (lease("other", 15), 15, Verb.TAKE_OVER, "me", 3),  # unchanged for leaseDurationSeconds: expired
        (lease(None, 0.5, duration=1), 0, Verb.TAKE_OVER, "me", 3),  # released by a leader that shut down
        # Clocks: only how long this replica saw the Lease unchanged counts, never its renewTime.
        (lease("other", 3600), 2, Verb.FOLLOW, "other", None),  # its clock an hour behind ours: still held
        (lease("other", -3600), 15, Verb.TAKE_OVER, "me", 3),  # an hour ahead: expires all the same
        (
            lease("other", None),
            0,
            Verb.FOLLOW,
            "other",
            None,
        ),  # first sight: a whole lease before a take-over
    ],
)
def test_decide(
    current: Lease | None, unchanged_for: float, verb: Verb, leader: str, transitions: int | None
) -> None:
    decision = decide(current, "me", NOW, TIMING, unchanged_for)
    assert (decision.verb, decision.leader) == (verb, leader)
    if transitions is None:
        assert decision.spec is None
        return
    assert decision.spec is not None
    assert decision.spec["holderIdentity"] == "me" and decision.spec["leaseTransitions"] == transitions
    assert (
        decision.spec["renewTime"] == "2026-12-06T12:00:00Z" and decision.spec["leaseDurationSeconds"] == 15
    )
    assert ("acquireTime" in decision.spec) is (verb is not Verb.RENEW)


@pytest.mark.parametrize(
    ("since", "acting"),
    [(None, False), (0, True), (9.9, True), (10, False), (12, False)],
)
def test_a_leader_acts_only_within_its_renew_deadline(since: float | None, acting: bool) -> None:
    assert leads(since, TIMING) is acting


def test_a_leader_stops_before_anyone_may_take_over() -> None:
    stops = next(t for t in range(100) if not leads(t, TIMING))
    held = Lease("a", NOW, 15, 0, "1")
    takeover = next(t for t in range(100) if decide(held, "b", NOW, TIMING, t).verb is Verb.TAKE_OVER)
    assert stops == 10 and takeover == 15 and stops < takeover


def test_release() -> None:
    spec = released(lease("me", 1), "me", NOW)
    assert spec == {
        "holderIdentity": None,
        "leaseDurationSeconds": 1,
        "renewTime": "2026-12-06T12:00:00Z",
        "leaseTransitions": 2,
    }
    assert released(lease("other", 1), "me", NOW) is None
    # Once released, the next replica to look takes over at once.
    after = Lease(None, NOW, 1, 2, "42")
    assert decide(after, "b", NOW + timedelta(seconds=0.1), TIMING, 0).verb is Verb.TAKE_OVER


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {
                "metadata": {"resourceVersion": "7"},
                "spec": {
                    "holderIdentity": "a",
                    "renewTime": "2026-12-06T11:59:58.250000Z",
                    "leaseDurationSeconds": 15,
                    "leaseTransitions": 4,
                },
            },
            Lease("a", NOW - timedelta(seconds=1.75), 15, 4, "7"),
        ),
        ({"spec": {"holderIdentity": "", "renewTime": "garbage"}}, Lease(None, None, 0, 0, "")),
        ({}, Lease(None, None, 0, 0, "")),
    ],
)
def test_a_lease_is_read_leniently(obj: dict[str, Any], expected: Lease) -> None:
    assert Lease.of(obj) == expected


@pytest.mark.parametrize(
    ("timing", "problem"),
    [
        (Timing(), None),
        (Timing(15, 15, 2), "the renew deadline (15s) must be shorter than the lease duration (15s)"),
        (Timing(15, 10, 10), "the retry period (10s) must be shorter than the renew deadline (10s)"),
        (Timing(15, 10, 0), "must be positive"),
    ],
)
def test_timing_problems(timing: Timing, problem: str | None) -> None:
    found = timing.problems()
    assert (problem is None and not found) or (problem is not None and any(problem in p for p in found))
