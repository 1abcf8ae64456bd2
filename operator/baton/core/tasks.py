"""The one place that decides a task's phase.

A task moves Pending → Running → Succeeded | Failed, or Pending → Skipped when a dependency failed.
A finished task's record is final: it is kept even when its Job is gone (deleted by TTL or by hand).
A Job is matched to its task by (task, attempt) labels, so a Job the operator created but never recorded
(it crashed between create and status patch) is adopted rather than created again.

The "Failures" issue slots in here: a failed attempt with retries left goes back to Pending with a
``nextAttemptAt``, and ``start_task`` is then called for ``attempts + 1`` once that time has come.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baton.api.run import TaskPhase, TaskStatus
from baton.core.observed import JobState, ObservedJob
from baton.core.status import format_time, parse_time, truncate

JOB_LOST_AFTER = timedelta(seconds=60)
"""How long a recorded Job may be missing before its task fails. A Job just created may not be in the
shell's watch cache yet; one still missing after this was deleted before it finished."""

_FINISHED = frozenset({TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED})
# Reasons that add nothing to "exit code N" or to the message itself.
_GENERIC_REASONS = {"Error", "BackoffLimitExceeded", "Completed"}


def advance_task(
    task: TaskStatus,
    job: ObservedJob | None,
    failed_upstream: str | None,
    now: datetime,
) -> TaskStatus:
    """The task's new state, given the newest observed Job of the task (if any) and the name of a failed
    task it (transitively) depends on (if any). Returns ``task`` itself when nothing changed."""
    if task.phase in _FINISHED:
        return task
    if job is not None and job.attempt >= task.attempts:
        return _follow_job(task, job, now)
    if task.phase is TaskPhase.RUNNING:
        if job_lost_at(task) <= now:
            return _changed(
                task,
                phase=TaskPhase.FAILED,
                completion_time=format_time(now),
                message=f"Job {task.job_name} disappeared before it finished",
            )
        return task
    if task.phase is TaskPhase.PENDING and failed_upstream is not None:
        return _changed(task, phase=TaskPhase.SKIPPED, message=f'upstream task "{failed_upstream}" failed')
    return task


def start_task(task: TaskStatus, attempt: int, job_name: str, now: datetime) -> TaskStatus:
    """The task once the Job of ``attempt`` is being created."""
    return task.model_copy(
        update={
            "phase": TaskPhase.RUNNING,
            "attempts": attempt,
            "job_name": job_name,
            "start_time": format_time(now),
            "completion_time": None,
            "exit_code": None,
            "message": None,
        }
    )


def job_lost_at(task: TaskStatus) -> datetime:
    """When a Running task whose Job is not observed counts as lost."""
    if task.start_time is None:
        return datetime.min.replace(tzinfo=UTC)
    return parse_time(task.start_time) + JOB_LOST_AFTER


def failure_message(job: ObservedJob) -> str:
    """Why a Job failed, most specific first: "OOMKilled (exit code 137)", "exit code 1: <message>"."""
    head = []
    if job.reason and job.reason not in _GENERIC_REASONS:
        head.append(job.reason)
    if job.exit_code is not None:
        head.append(f"exit code {job.exit_code}")
    summary = ", ".join(head[:1]) + (f" ({head[1]})" if len(head) > 1 else "")
    detail = (job.message or "").strip()
    if summary and detail:
        return truncate(f"{summary}: {detail}")
    return truncate(summary or detail or job.reason or "failed")


def _follow_job(task: TaskStatus, job: ObservedJob, now: datetime) -> TaskStatus:
    same_attempt = job.attempt == task.attempts and task.start_time is not None
    start = task.start_time if same_attempt else format_time(job.start_time or now)
    base = {"attempts": job.attempt, "job_name": job.name, "start_time": start}
    if job.state is JobState.ACTIVE:
        waiting = f"{job.reason}: {job.message}" if job.reason and job.message else job.reason
        return _changed(task, phase=TaskPhase.RUNNING, message=truncate(waiting) if waiting else None, **base)
    completed = format_time(job.completion_time or now)
    if job.state is JobState.SUCCEEDED:
        return _changed(task, phase=TaskPhase.SUCCEEDED, completion_time=completed, message=None, **base)
    return _changed(
        task,
        phase=TaskPhase.FAILED,
        completion_time=completed,
        exit_code=job.exit_code,
        message=failure_message(job),
        **base,
    )


def _changed(task: TaskStatus, **update: object) -> TaskStatus:
    """``task`` with ``update`` applied, or ``task`` itself when that changes nothing (so the planner can
    tell "no change" by identity, without comparing 10,000 entries)."""
    if all(getattr(task, field) == value for field, value in update.items()):
        return task
    return task.model_copy(update=update)
