"""The Pipeline side: is the spec valid (the Ready condition), how many tasks, what ran last."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from baton.api.common import Condition, ConditionStatus
from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.api.run import RunPhase
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


def record_run(
    current: PipelineStatus | None, run: str, phase: RunPhase, *, started: bool = False
) -> PipelineStatus | None:
    """The Pipeline's status after ``run`` started (``started``) or changed phase; None if unchanged.

    A newly started run becomes the last run (even one that failed at once); a phase change of an
    older run does not touch it.
    """
    current = current or PipelineStatus()
    if not started and current.last_run != run:
        return None
    new = current.model_copy(update={"last_run": run, "last_run_status": phase.value})
    return None if new == current else new
