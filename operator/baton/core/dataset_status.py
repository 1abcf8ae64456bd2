"""A Dataset's status as the runs change it, and whether it is fresh: pure functions of what happened.

Recording is idempotent: the operator records a run's writes before it stores the run's status that says
the task succeeded, so after a crash between the two it records them again, and the second time must
change nothing. A touch is known by (run, task, partition), which the status keeps in bounded lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from baton.api.common import Condition, ConditionStatus
from baton.api.dataset import (
    MAX_ACTORS,
    MAX_CHECKS,
    MAX_PARTITIONS,
    MAX_PRODUCERS,
    CheckResult,
    DatasetSpec,
    DatasetStatus,
    PartitionStatus,
    TaskRef,
)
from baton.api.datasets import CheckSeverity
from baton.core.status import format_duration, format_time, time_or_none


class Role(StrEnum):
    PRODUCED = "produced"
    CONSUMED = "consumed"
    CHECKED = "checked"


@dataclass(frozen=True, slots=True)
class Touch:
    """One task of one run that wrote, read or checked a dataset."""

    uri: str
    role: Role
    ref: TaskRef
    severity: CheckSeverity | None = None
    passed: bool | None = None
    message: str | None = None


def _same(a: TaskRef, b: TaskRef) -> bool:
    return (a.run, a.task, a.partition) == (b.run, b.task, b.partition)


def record(
    status: DatasetStatus | None, touches: Sequence[Touch], recorded: str | None = None
) -> DatasetStatus:
    """``status`` with ``touches`` (all of one dataset) recorded at ``recorded`` (the operator's clock);
    unchanged for touches already there."""
    current = status or DatasetStatus()
    for touch in touches:
        if touch.role is Role.PRODUCED:
            ref = touch.ref if recorded is None else touch.ref.model_copy(update={"recorded": recorded})
            current = _produced(current, ref)
        elif touch.role is Role.CONSUMED:
            if not any(_same(touch.ref, seen) for seen in current.consumers):
                current = current.model_copy(
                    update={"consumers": [touch.ref, *current.consumers][:MAX_ACTORS]}
                )
        else:
            current = _checked(current, touch)
    return current


def _produced(status: DatasetStatus, ref: TaskRef) -> DatasetStatus:
    if any(_same(ref, seen) for seen in status.producers):
        return status
    partitions = status.partitions
    if ref.partition is not None:
        known = next((p for p in partitions if p.name == ref.partition), None)
        if known is not None and (known.run, known.task) == (ref.run, ref.task):
            return status  # recorded before, and since pushed out of the producers
        entry = PartitionStatus(name=ref.partition, last_updated=ref.time or "", run=ref.run, task=ref.task)
        others = [p for p in partitions if p.name != ref.partition]
        # Newest slice first: partitions sort as text, so ISO dates and zero-padded numbers sort by time,
        # and a backfill of old partitions does not push out today's.
        partitions = sorted([entry, *others], key=lambda p: p.name, reverse=True)[:MAX_PARTITIONS]
    newer = ref.time is not None and (status.last_updated is None or ref.time >= status.last_updated)
    update: dict[str, object] = {
        "updates": status.updates + 1,
        "producers": [ref, *status.producers][:MAX_PRODUCERS],
        "partitions": partitions,
        "latest_partition": partitions[0].name if partitions else None,
    }
    if newer or status.last_producer is None:
        update.update(last_updated=ref.time or status.last_updated, last_producer=ref)
    return status.model_copy(update=update)


def _checked(status: DatasetStatus, touch: Touch) -> DatasetStatus:
    ref = touch.ref
    if any((c.run, c.task, c.partition) == (ref.run, ref.task, ref.partition) for c in status.checks):
        return status
    result = CheckResult(
        run=ref.run,
        task=ref.task,
        partition=ref.partition,
        severity=touch.severity or CheckSeverity.ERROR,
        passed=bool(touch.passed),
        time=ref.time,
        message=touch.message,
    )
    return status.model_copy(update={"checks": [result, *status.checks][:MAX_CHECKS]})


@dataclass(frozen=True, slots=True)
class Freshness:
    fresh: bool
    age_seconds: float | None
    """Seconds since the latest partition (or the dataset) was updated; None when it never was."""
    stale_at: datetime | None
    """When it turns stale, if nothing updates it before (None once stale)."""
    message: str


def freshness(
    spec: DatasetSpec, status: DatasetStatus | None, created: datetime | None, now: datetime
) -> Freshness | None:
    """Whether the dataset meets ``spec.freshness`` at ``now`` (None: it sets no expectation).

    The age is that of the latest partition (the first in the status: see ``record``), or of the dataset
    when it has no partitions. A dataset never updated counts from its creation."""
    if spec.freshness is None:
        return None
    limit = timedelta(seconds=spec.freshness.max_age_seconds)
    status = status or DatasetStatus()
    latest = status.partitions[0] if status.partitions else None
    updated = time_or_none(latest.last_updated if latest else status.last_updated)
    since = updated or created
    if since is None:
        return Freshness(True, None, now + limit, "no update yet")
    age = (now - since).total_seconds()
    allowed = format_duration(limit)
    if updated is None:
        if now - since <= limit:
            return Freshness(
                True, None, since + limit, f"no update yet; expected within {allowed} of creation"
            )
        return Freshness(
            False, None, None, f"no update in the {allowed} since it was created (max age {allowed})"
        )
    what = f'partition "{latest.name}"' if latest else "last"
    when = f"{what} updated at {format_time(updated)}"
    if now - since <= limit:
        return Freshness(True, age, since + limit, f"{when} (max age {allowed})")
    return Freshness(False, age, None, f"{when}, more than {allowed} ago")


FRESH = "Fresh"
STALE = "Stale"


def fresh_condition(
    found: Freshness, previous: Condition | None, generation: int, now: datetime
) -> Condition:
    """The Fresh condition for ``found``, keeping the transition time while the status stays the same."""
    status = ConditionStatus.TRUE if found.fresh else ConditionStatus.FALSE
    since = previous.last_transition_time if previous is not None and previous.status == status else None
    return Condition(
        type=FRESH,
        status=status,
        reason=FRESH if found.fresh else STALE,
        message=found.message,
        last_transition_time=since or format_time(now),
        observed_generation=generation,
    )
