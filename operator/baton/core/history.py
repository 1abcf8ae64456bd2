"""Which finished runs go: runHistory keeps the newest N succeeded and failed runs of a Pipeline, and
ttlSecondsAfterFinished deletes a run a while after it ended.

Pure functions of (the runs as observed, the settings, now); the shell deletes what they name (the
runs' Jobs, Pods and claims go with them through ownerReferences) and wakes at `wake_at`. Both are
level-triggered: after a restart the same runs are found and named again, and a 404 means done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from baton.api.schedule import RunHistory

SUCCEEDED = "Succeeded"
UNSUCCESSFUL = frozenset({"Failed", "Cancelled"})


@dataclass(frozen=True, slots=True)
class FinishedRun:
    name: str
    phase: str
    completed: datetime


def prune_runs(runs: Sequence[FinishedRun], history: RunHistory | None) -> tuple[tuple[str, str], ...]:
    """The finished runs to delete now, as (run, why): all but the newest (by completion time, then
    name) of each kind that runHistory limits."""
    if history is None:
        return ()
    delete: dict[str, str] = {}
    newest_first = sorted(runs, key=lambda run: (run.completed, run.name), reverse=True)
    for keep, phases, what in (
        (history.succeeded, {SUCCEEDED}, "succeeded"),
        (history.failed, UNSUCCESSFUL, "failed or cancelled"),
    ):
        if keep is None:
            continue
        matching = [run for run in newest_first if run.phase in phases]
        for run in matching[keep:]:
            delete[run.name] = f"runHistory keeps the newest {keep} {what} runs"
    return tuple(sorted(delete.items()))


def expires_at(completed: datetime, run_ttl: int | None, pipeline_ttl: int | None) -> datetime | None:
    """When a finished run is deleted: its own ttlSecondsAfterFinished, else its Pipeline's; never
    without either."""
    ttl = run_ttl if run_ttl is not None else pipeline_ttl
    return None if ttl is None else completed + timedelta(seconds=ttl)
