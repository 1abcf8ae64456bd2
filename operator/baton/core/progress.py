"""Whether a new run status records only progress, which the shell may write later (see the reconciler's
progress writes): the Jobs are the record of progress, and the next plan learns it again from them."""

from __future__ import annotations

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase
from baton.core.cache import CACHED

_PROGRESS = frozenset({TaskPhase.PENDING, TaskPhase.RUNNING, TaskPhase.SUCCEEDED})


def progress_only(before: PipelineRunStatus, after: PipelineRunStatus, stopping: bool) -> bool:
    """Whether ``after`` records only progress over ``before``: tasks started or succeeded in a running
    run (``stopping``: the plan deletes Jobs, which is never only progress)."""
    if stopping or before.phase is not RunPhase.RUNNING or after.phase is not RunPhase.RUNNING:
        return False
    # A task served from the cache has no Job from which a later plan would learn it again: not progress.
    return all(
        old is new or (new.phase in _PROGRESS and new.next_attempt_at is None and new.reason != CACHED)
        for old, new in zip(before.tasks, after.tasks, strict=False)
    )
