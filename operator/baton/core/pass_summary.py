"""The run's status at the end of a planning pass: phase, progress, conditions (a quality warning too),
the workspaces' nodes and, once it ended, its results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baton.api.run import PipelineRunStatus
from baton.core import reasons
from baton.core.gates import QUALITY_WARNING, warning_condition
from baton.core.quota import EXCEEDED_QUOTA, quota_note
from baton.core.references import for_each_indices
from baton.core.run_results import run_results
from baton.core.status import finally_outcomes, set_condition, summarize_run
from baton.core.units import waiting_units

if TYPE_CHECKING:
    from baton.core.plan import _Pass


def summarize_pass(work: _Pass, status: PipelineRunStatus) -> PipelineRunStatus:
    """The new status of the run ``work`` decided, from its stored ``status``; a run that ended needs no
    wake-up any more (``work.wake_at`` is cleared)."""
    run, steering, now = work.run, work.steering, work.now
    # A cancel or timeout that stopped nothing (it came after every task had ended) is no part of the
    # run's story; one that did is told by the tasks' reasons, which outlive this reconcile.
    stopped = {t.reason for t in work.tasks} if steering.cancel or steering.timed_out else set()
    note = steering.note(stopped)
    if note and work.tasks[work.dag.finally_from :] and all(t.phase.finished for t in work.tasks):
        note = f"{note}; {finally_outcomes(work.tasks[work.dag.finally_from :])}"
    if work.held:
        note = "; ".join(filter(None, (note, quota_note(work.held, work.refused))))
    new_status = summarize_run(
        status,
        work.tasks,
        run.meta.generation,
        now,
        suspended=steering.suspend,
        cancelling=reasons.CANCELLED in stopped,
        timing_out=reasons.RUN_TIMEOUT in stopped,
        note=note,
        waiting=waiting_units(work.tasks) if work.any_waiting else (),
        fan_outs=for_each_indices(run.spec),
        waiting_reason=EXCEEDED_QUOTA if work.held else None,
    )
    if work.finally_start_time != new_status.finally_start_time:
        new_status = new_status.model_copy(update={"finally_start_time": work.finally_start_time})
    if work.workspaces is not status.workspaces:
        new_status = new_status.model_copy(update={"workspaces": work.workspaces})
    warned = warning_condition(work.tasks, status.condition(QUALITY_WARNING), run.meta.generation, now)
    if warned is not None:
        new_status = new_status.model_copy(
            update={"conditions": set_condition(new_status.conditions, warned)}
        )
    if new_status.phase is not None and new_status.phase.finished:
        work.wake_at = None
        if run.spec.results:
            new_status = new_status.model_copy(
                update={"results": run_results(run.spec, work.tasks, run.params)}
            )
    return new_status
