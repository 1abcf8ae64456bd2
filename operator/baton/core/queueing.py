"""maxActiveRuns: whether a run of a Pipeline may start now, or waits as Queued, in creation order.

Every run of the Pipeline counts (manual, scheduled, backfilled, triggered, retries). A run is active
from its start (its spec frozen into its status) until it ends. A run that has not started yet waits
behind the runs created before it that have not started either, so the queue is first in, first out,
and two reconciles deciding at once (or an operator restarted between them) still admit them in order:
the older one is counted ahead of the younger one until it has started, and after that as active.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from baton.api.run import PipelineRunStatus, RunPhase
from baton.core.events import Event, EventType
from baton.core.start import RunStart, ended_at_start, waiting_status
from baton.core.state import RunMeta

QUEUED = "Queued"
CANCELLED = "Cancelled"


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """One run of the Pipeline as the queue sees it."""

    name: str
    created: str
    """Its creationTimestamp (RFC 3339, so it sorts as text); ties are broken by name."""
    started: bool
    finished: bool


def queue_position(candidate: QueuedRun, runs: Sequence[QueuedRun], limit: int | None) -> int:
    """0 when `candidate` (not started) may start now; otherwise its place in the queue, from 1."""
    if limit is None:
        return 0
    active = sum(1 for run in runs if run.started and not run.finished and run.name != candidate.name)
    order = (candidate.created, candidate.name)
    ahead = sum(
        1
        for run in runs
        if not run.started
        and not run.finished
        and run.name != candidate.name
        and (run.created, run.name) < order
    )
    free = max(0, limit - active)
    return 0 if ahead < free else ahead - free + 1


def cancelled_before_start(
    run: RunMeta, pipeline: str | None, message: str | None, now: datetime
) -> RunStart:
    """A run cancelled while it waited (queued, or for its Pipeline): Cancelled at once, nothing started."""
    text = f"cancelled before it started: {message}" if message else "cancelled before it started"
    status = ended_at_start(run, pipeline, RunPhase.CANCELLED, CANCELLED, text, now)
    return RunStart(status, (Event(EventType.NORMAL, "RunCancelled", f"run {text}"),))


def queued_status(run: RunMeta, pipeline: str, position: int, limit: int, now: datetime) -> PipelineRunStatus:
    """Pending with reason Queued: not started (nothing frozen), so it starts from the Pipeline as it is
    when its turn comes."""
    waits = "this run starts next" if position == 1 else "it starts in creation order"
    allows = f"{limit} active run{'s' if limit != 1 else ''}"
    # No count of the runs ahead: it would change (and the status be written again) at every start,
    # for every queued run: a backfill of 1,000 slots would cost half a million writes.
    message = f'queued: pipeline "{pipeline}" allows {allows} at once (maxActiveRuns); {waits}'
    return waiting_status(run, pipeline, QUEUED, message, now)
