"""Quality gates: what a failed quality check (a task with `check`) does to the run.

- **Error** (the default): the check fails like any task: the run fails, and every task that consumes
  the dataset (it depends on the check through ``baton.core.datasets``), and everything downstream of
  those, is Skipped with reason QualityGateFailed, naming the check and the dataset.
- **Warn**: the check's failure is recorded (on the task: reason QualityWarning, with the exit code and
  message; on the Dataset: passed false) but it is no task failure: the task's phase is Succeeded, so
  consumers run, `when: anyFailed` handlers do not fire, failurePolicy FailFast does not stop the run,
  and the run's outcome is what its other tasks make it. The run carries a QualityWarning condition
  (True) naming the checks that failed, so `kubectl get`, Argo CD and alerts can still see it.

A check's retries are spent first: only its last attempt's failure is a failed check, and only when its
container said no (exited non-zero); a check that timed out, was OOM-killed or could not start fails like
any task (its consumers are UpstreamFailed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from baton.api.common import Condition, ConditionStatus
from baton.api.datasets import CheckSeverity
from baton.api.pipeline import TaskSpec
from baton.api.run import TaskPhase, TaskStatus
from baton.core.status import format_time, last_line, name_list, truncate

QUALITY_GATE_FAILED = "QualityGateFailed"
QUALITY_WARNING = "QualityWarning"
GATE = "failed its quality check"
"""The verb a failed Error check leaves for the tasks downstream of it (see ``plan._mark``)."""


def gate_failed(spec_task: TaskSpec, task: TaskStatus) -> bool:
    """Whether ``task``, an Error check, failed its check (not some other way: see ``is_verdict``)."""
    return (
        spec_task.check is not None and spec_task.check.severity is CheckSeverity.ERROR and is_verdict(task)
    )


def is_verdict(task: TaskStatus) -> bool:
    """Whether a failed check task failed because its check said no: its container exited non-zero. A
    timeout, an OOM kill, a lost Job or an image that cannot start is a failure like any task's, not a
    verdict on the data."""
    return task.phase is TaskPhase.FAILED and task.reason == "Failed" and task.exit_code not in (None, 0)


def warn_instead(spec_task: TaskSpec, task: TaskStatus) -> TaskStatus:
    """A Warn check that failed for good, as the warning it is (see the module docstring)."""
    check = spec_task.check
    if check is None or check.severity is not CheckSeverity.WARN or not is_verdict(task):
        return task
    why = last_line(task.message or "") or task.reason or "failed"
    return task.model_copy(
        update={
            "phase": TaskPhase.SUCCEEDED,
            "reason": QUALITY_WARNING,
            "message": truncate(f"quality check failed (severity Warn, consumers run): {why}"),
        }
    )


def check_passed(task: TaskStatus) -> bool:
    """Whether a check task that ended passed its check."""
    return task.phase is TaskPhase.SUCCEEDED and task.reason != QUALITY_WARNING


def gate_message(check: TaskStatus) -> str:
    """Why a consumer of a dataset is skipped: its Error check ``check`` failed."""
    checked = check.inputs[0] if check.inputs else None  # a check's dataset is its first input
    what = ""
    if checked is not None:
        what = f" of {checked.uri}" + (f" (partition {checked.partition})" if checked.partition else "")
    why = last_line(check.message or "")
    return truncate(f'quality check "{check.name}"{what} failed' + (f": {why}" if why else ""))


def warning_condition(
    tasks: Sequence[TaskStatus], previous: Condition | None, generation: int, now: datetime
) -> Condition | None:
    """The run's QualityWarning condition: True while a Warn check of it has failed; None when none has."""
    warned = [t.name for t in tasks if t.reason == QUALITY_WARNING and t.phase is TaskPhase.SUCCEEDED]
    if not warned:
        return None
    message = f"quality check{'s' if len(warned) > 1 else ''} {name_list(warned)} failed (severity Warn)"
    since = previous.last_transition_time if previous is not None and previous.status == "True" else None
    return Condition(
        type=QUALITY_WARNING,
        status=ConditionStatus.TRUE,
        reason="QualityCheckFailed",
        message=message,
        last_transition_time=since or format_time(now),
        observed_generation=generation,
    )
