"""The Pipeline side: is the spec valid (the Ready condition), how many tasks, what ran last."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.api.common import Condition, ConditionStatus
from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.core.kstatus import pipeline_stalled
from baton.core.status import format_time, plural, set_condition
from baton.core.validation import check_pipeline_spec, join_errors, pipeline_errors

READY = "Ready"
VALID = "Valid"
INVALID = "Invalid"


def pipeline_status(
    spec: Mapping[str, Any] | PipelineSpec,
    generation: int,
    current: PipelineStatus | None,
    now: datetime,
    extra_errors: Sequence[str] = (),
    checked: tuple[PipelineSpec | None, list[str]] | None = None,
) -> PipelineStatus | None:
    """The Pipeline's status for ``spec``; None when ``current`` already says the same. `extra_errors`
    are problems found beyond the spec itself (a trigger loop through other Pipelines); ``checked`` is
    what `check_pipeline_spec` said of a raw ``spec`` already, so that it is not checked twice."""
    if isinstance(spec, PipelineSpec):
        errors = pipeline_errors(spec)
        task_count: int | None = len(spec.all_tasks())
    else:
        parsed, errors = checked if checked is not None else check_pipeline_spec(spec)
        tasks, finals = spec.get("tasks"), spec.get("finally")
        raw_count = (len(tasks) if isinstance(tasks, list) else 0) + (
            len(finals) if isinstance(finals, list) else 0
        )
        task_count = len(parsed.all_tasks()) if parsed else raw_count or None
    errors = [*errors, *extra_errors]
    condition = Condition(
        type=READY,
        status=ConditionStatus.FALSE if errors else ConditionStatus.TRUE,
        reason=INVALID if errors else VALID,
        message=join_errors(errors) if errors else f"{plural(task_count or 0, 'task')}, valid",
        last_transition_time=format_time(now),
        observed_generation=generation,
    )
    current = current or PipelineStatus()
    new = current.model_copy(
        update={
            "observed_generation": generation,
            "task_count": task_count,
            "conditions": pipeline_stalled(
                set_condition(current.conditions, condition), bool(errors), condition.message, generation, now
            ),
        }
    )
    return None if new == current else new


@dataclass(frozen=True, slots=True)
class RunSeen:
    """What the Pipeline's status needs of one of its runs."""

    name: str
    phase: str | None
    """None until the operator wrote the run's first status."""
    start_time: str | None
    created: str


def last_run(current: PipelineStatus, runs: Sequence[RunSeen]) -> PipelineStatus:
    """``current`` with lastRun and lastRunStatus saying the newest of ``runs`` that the operator has taken
    up (by start time, else creation, then name: one that failed at once counts; one not looked at yet
    does not), or as they were when there is none (the runs of a deleted name were pruned, say).

    Derived from the runs on every reconcile of the Pipeline, never written per run: a burst of a thousand
    runs starting costs the few status writes of the few reconciles the work queue folds it into."""
    taken = [run for run in runs if run.phase]
    if not taken:
        return current
    newest = max(taken, key=lambda run: (run.start_time or run.created, run.created, run.name))
    return current.model_copy(update={"last_run": newest.name, "last_run_status": newest.phase})
