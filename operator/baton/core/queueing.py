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

from baton.api.common import Condition, ConditionStatus
from baton.api.run import PipelineRunStatus, RunPhase
from baton.core.state import RunMeta
from baton.core.status import format_time

QUEUED = "Queued"


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


def queued_status(run: RunMeta, pipeline: str, position: int, limit: int, now: datetime) -> PipelineRunStatus:
    """Pending with reason Queued: not started (nothing frozen), so it starts from the Pipeline as it is
    when its turn comes."""
    ahead = position - 1
    waits = (
        "this run starts next"
        if not ahead
        else f"{ahead} queued {'run is' if ahead == 1 else 'runs are'} ahead of this one"
    )
    allows = f"{limit} active run{'s' if limit != 1 else ''}"
    message = f'queued: pipeline "{pipeline}" allows {allows} at once (maxActiveRuns); {waits}'

    condition = Condition(
        type="Succeeded",
        status=ConditionStatus.UNKNOWN,
        reason=QUEUED,
        message=message,
        last_transition_time=format_time(now),
        observed_generation=run.generation,
    )
    return PipelineRunStatus(
        phase=RunPhase.PENDING, pipeline=pipeline, observed_generation=run.generation, conditions=[condition]
    )
