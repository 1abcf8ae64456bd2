"""Leader election on a `coordination.k8s.io/v1` Lease, as controller-runtime does it: the decisions.

Every replica looks at the Lease every ``retry_period`` and decides, from the Lease as read, who it is
and the clock:

- no Lease: create it, holding it;
- held by me: renew it (a new renewTime);
- held by nobody (released by a leader that shut down), or by someone whose lease expired: take it
  over, one more transition. A lease expires ``leaseDurationSeconds`` after this replica last saw it
  change (its holder, renewTime or resourceVersion), by this replica's own monotonic clock, as client-go
  does: comparing the holder's renewTime with the local wall clock would trust two nodes' clocks to agree;
- held by someone else whose lease runs: follow, and look again later.

Every write carries the Lease's resourceVersion, so two replicas deciding at once cannot both win: the
API server refuses the second with 409. A leader leads only while its last successful renewal is younger
than ``renew_deadline``, which is shorter than the lease: a leader that cannot renew (partitioned, API
down) stops acting before any other replica may take over. Leases alone cannot fence a leader that was
paused (a stopped process, a long GC) and acts after waking: what keeps that brief overlap safe is the
rest of the operator (deterministic names, resourceVersion preconditions on every status write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from baton.core.status import format_precise_time, time_or_none


@dataclass(frozen=True, slots=True)
class Timing:
    lease_duration: float = 15.0
    """How long a Lease stays another replica's after its last renewal."""
    renew_deadline: float = 10.0
    """How long a leader keeps acting without a successful renewal (shorter than the lease)."""
    retry_period: float = 2.0
    """How often every replica looks at the Lease."""

    def problems(self) -> list[str]:
        found = []
        if min(self.lease_duration, self.renew_deadline, self.retry_period) <= 0:
            found.append("the lease duration, renew deadline and retry period must be positive")
        if self.renew_deadline >= self.lease_duration:
            found.append(
                f"the renew deadline ({self.renew_deadline:g}s) must be shorter than the lease duration "
                f"({self.lease_duration:g}s): a leader must stop before another may take over"
            )
        if self.retry_period >= self.renew_deadline:
            found.append(
                f"the retry period ({self.retry_period:g}s) must be shorter than the renew deadline "
                f"({self.renew_deadline:g}s): a leader must get more than one try to renew"
            )
        return found


@dataclass(frozen=True, slots=True)
class Lease:
    """What a replica reads of the Lease object."""

    holder: str | None
    renew_time: datetime | None
    duration_seconds: float
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Lease:
        spec = obj.get("spec") or {}
        holder = spec.get("holderIdentity")
        duration = spec.get("leaseDurationSeconds")
        transitions = spec.get("leaseTransitions")
        return cls(
            holder=holder if isinstance(holder, str) and holder else None,
            renew_time=time_or_none(spec.get("renewTime")),
            duration_seconds=duration if isinstance(duration, int | float) and duration > 0 else 0,
            transitions=transitions if isinstance(transitions, int) and transitions >= 0 else 0,
            resource_version=str((obj.get("metadata") or {}).get("resourceVersion") or ""),
        )

    @property
    def version(self) -> tuple[str | None, datetime | None, str]:
        """What changes when the holder renews: a replica times the lease from when it last changed."""
        return (self.holder, self.renew_time, self.resource_version)

    def expired(self, unchanged_for: float) -> bool:
        """Whether the lease ran out, seen unchanged for ``unchanged_for`` seconds by this replica."""
        return self.holder is None or unchanged_for >= self.duration_seconds


class Verb(StrEnum):
    CREATE = "create"
    RENEW = "renew"
    TAKE_OVER = "take-over"
    FOLLOW = "follow"


@dataclass(frozen=True, slots=True)
class Decision:
    verb: Verb
    spec: dict[str, Any] | None = None
    """The Lease's new spec (for create, renew, take-over), written with the read resourceVersion."""
    leader: str | None = None
    """Who leads as far as this replica can tell."""


def decide(
    lease: Lease | None, me: str, now: datetime, timing: Timing, unchanged_for: float = 0.0
) -> Decision:
    """What replica ``me`` does with the Lease as read (None: there is none), which it has seen unchanged
    for ``unchanged_for`` seconds (0 the first time it sees it: a new replica waits a whole lease before
    it takes over a leader it never saw renew). ``now`` only stamps what it writes."""
    stamp = format_precise_time(now)
    duration = round(timing.lease_duration)
    if lease is None:
        spec = _spec(me, duration, stamp, stamp, 0)
        return Decision(Verb.CREATE, spec, me)
    if lease.holder == me:
        spec = _spec(me, duration, None, stamp, lease.transitions)
        return Decision(Verb.RENEW, spec, me)
    if lease.expired(unchanged_for):
        spec = _spec(me, duration, stamp, stamp, lease.transitions + 1)
        return Decision(Verb.TAKE_OVER, spec, me)
    return Decision(Verb.FOLLOW, None, lease.holder)


def released(lease: Lease, me: str, now: datetime) -> dict[str, Any] | None:
    """The spec a leader shutting down writes so that another replica takes over at once (None when it
    does not hold the Lease): no holder, a lease of one second, as client-go releases it."""
    if lease.holder != me:
        return None
    stamp = format_precise_time(now)
    return {
        "holderIdentity": None,
        "leaseDurationSeconds": 1,
        "renewTime": stamp,
        "leaseTransitions": lease.transitions,
    }


def leads(since_renewal: float | None, timing: Timing) -> bool:
    """Whether a replica whose last successful write of the Lease (as holder) began ``since_renewal``
    seconds ago (its own monotonic clock; None: never) may act: only within the renew deadline."""
    return since_renewal is not None and since_renewal < timing.renew_deadline


def _spec(me: str, duration: int, acquired: str | None, renewed: str, transitions: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "holderIdentity": me,
        "leaseDurationSeconds": max(1, duration),
        "renewTime": renewed,
        "leaseTransitions": transitions,
    }
    if acquired is not None:
        spec["acquireTime"] = acquired
    return spec
