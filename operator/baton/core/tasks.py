"""The one place that decides a task's phase from what its Jobs show.

A task moves Pending → Running → Succeeded | Failed. A failed attempt with retries left goes back to
Pending with ``nextAttemptAt`` (and the failure's reason, exit code and message); the planner starts
attempt ``attempts + 1`` once that time has come. The planner also skips tasks (``skip_task``), and
stops running ones when the run is cancelled or times out (``stop_task``).

A finished task's record is final: it is kept even when its Job is gone (deleted by TTL or by hand).
A Job is matched to its task by (task, attempt) labels, so a Job the operator created but never recorded
(it crashed between create and status patch) is adopted rather than created again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from baton.api.pipeline import FailureKind, PipelineSpec, RetryPolicy, SensorSpec, TaskSpec
from baton.api.run import InstanceStatus, TaskPhase
from baton.api.weakcache import IdentityCache
from baton.core.attempt_history import history_after_end, history_after_failure, with_reason, without_tails
from baton.core.observed import JobState, ObservedJob
from baton.core.results import INVALID_RESULTS, child_results, collect_results
from baton.core.retry import failure_kind, max_attempts, next_attempt_at, retry_policy
from baton.core.status import format_precise_time, format_time, parse_time, truncate

JOB_LOST_AFTER = timedelta(seconds=60)
"""How long a recorded Job may be missing before its task fails. A Job just created may not be in the
shell's watch cache yet; one still missing after this was deleted before it finished."""
POD_DETAILS_GRACE = timedelta(seconds=5)
"""How long a failed attempt waits for its Pod to report how it ended (exit code, termination message)
when the Job's failure was seen first; then it is judged with what there is."""
DEADLINE_GRACE = timedelta(seconds=2)
"""How long after a task's timeout the operator deletes a Job that is still active. The Job's own
activeDeadlineSeconds should have ended it by then; this catches clusters that do not enforce it."""

# A task, or one instance of a forEach task: both move through attempts the same way.
T = TypeVar("T", bound=InstanceStatus)

# Reasons that add nothing to "exit code N" or to the message itself.
_GENERIC_REASONS = {"Error", "BackoffLimitExceeded", "Completed"}


@dataclass(frozen=True, slots=True)
class Attempts:
    """What the task's spec says about attempts: retries and the timeout of each attempt."""

    policy: RetryPolicy | None = None
    timeout_seconds: int | None = None
    seed: str = ""
    """Makes the retry jitter of this run's task its own (run uid and task name)."""
    results: tuple[str, ...] = ()
    """The results the task declares: its success is judged once its Pod's termination message (which
    carries them) has been observed, and records them."""
    sensor: SensorSpec | None = None
    """A sensor task: a non-zero exit means "not ready", and the next poke follows (see `not_ready`)."""


NO_RETRIES = Attempts()


_TABLES: IdentityCache[PipelineSpec, dict[str, tuple[Attempts, ...]]] = IdentityCache()
TABLES_PER_SPEC = 64
"""Runs whose tables one spec keeps (runs started from one Pipeline version may share its parsed spec)."""


def attempts_table(spec: PipelineSpec, run_uid: str) -> tuple[Attempts, ...]:
    """`attempts_of` every task of `spec` (tasks, then finally tasks), made once per spec and run: each
    plan of a wide run asks for the attempts of all its running tasks."""
    tables = _TABLES.get(spec)
    if tables is None:
        tables = _TABLES.put(spec, {})
    table = tables.get(run_uid)
    if table is None:
        if len(tables) >= TABLES_PER_SPEC:
            tables.clear()
        table = tables[run_uid] = tuple(attempts_of(spec, task, run_uid) for task in spec.all_tasks())
    return table


def attempts_of(spec: PipelineSpec, task: TaskSpec, run_uid: str) -> Attempts:
    """What `task` of `spec` says about its attempts (with taskDefaults), for the run `run_uid`."""
    policy = retry_policy(task, spec.task_defaults)
    defaults = spec.task_defaults
    timeout = task.timeout_seconds or (defaults.timeout_seconds if defaults else None)
    if policy is None and timeout is None and not task.results and task.sensor is None:
        return NO_RETRIES
    results = tuple(result.name for result in task.results)
    return Attempts(policy, timeout, f"{run_uid}/{task.name}", results, task.sensor)


def advance_task(
    task: T,
    job: ObservedJob | None,
    now: datetime,
    attempts: Attempts = NO_RETRIES,
    observing_since: datetime | None = None,
) -> tuple[T, bool]:
    """The task's new state given the newest observed Job of the task (if any), and whether the
    attempt's Job must be deleted (it outlived the task's timeout). Returns ``task`` itself when nothing
    changed. Only Running tasks, and Pending ones a newer Job was created for, change here."""
    if task.phase.finished:
        return task, False
    if job is not None and details_due(job, now, bool(attempts.results)) is not None:
        job = replace(job, state=JobState.ACTIVE, reason=None, message=None)  # judged once they come
    if job is not None and (
        job.attempt > task.attempts or (job.attempt == task.attempts and task.phase is TaskPhase.RUNNING)
    ):
        task = _follow_job(task, job, now, attempts)
    elif task.phase is TaskPhase.RUNNING and job_lost_at(task, observing_since) <= now:
        message = f"Job {task.job_name} disappeared before it finished"
        return fail_attempt(task, FailureKind.JOB_LOST, now, attempts, message=message), False
    if task.phase is TaskPhase.RUNNING:
        deadline = task_deadline(task, attempts.timeout_seconds, job)
        if deadline is not None and deadline <= now:
            message = (
                f"the attempt ran longer than its timeout of {attempts.timeout_seconds}s; "
                f"the operator deleted Job {task.job_name}"
            )
            return fail_attempt(task, FailureKind.DEADLINE_EXCEEDED, now, attempts, message=message), True
    return task, False


def start_task(task: T, attempt: int, job_name: str, now: datetime) -> T:
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
            "reason": None,
            "next_attempt_at": None,
        }
    )


def skip_task(task: T, reason: str, message: str) -> T:
    """A task that will never start."""
    return _changed(task, phase=TaskPhase.SKIPPED, reason=reason, message=truncate(message))


def stop_task(task: T, reason: str, message: str, now: datetime, *, failed: bool = False) -> T:
    """A running task (or one waiting for a retry) the run stops: Cancelled, or Failed when ``failed``
    (a task that already failed and will not get its next attempt)."""
    if task.phase is TaskPhase.PENDING and task.next_attempt_at:
        message = f"{message}; the last attempt failed: {task.message or task.reason}"
    history = task.attempt_history
    if task.phase is TaskPhase.RUNNING:
        history = history_after_end(task, task.attempts, reason)
    if failed:  # its message now tells its last failure: no tail twice
        history = without_tails(history)
    return _changed(
        task,
        phase=TaskPhase.FAILED if failed else TaskPhase.CANCELLED,
        reason=reason,
        message=truncate(message),
        completion_time=format_time(now),
        next_attempt_at=None,
        attempt_history=history,
    )


def give_up(task: T, why: str, now: datetime) -> T:
    """A task waiting for a retry that will not get it: Failed with its last failure."""
    return _changed(
        task,
        phase=TaskPhase.FAILED,
        message=truncate(f"{task.message or 'failed'}; no further attempt: {why}"),
        completion_time=format_time(now),
        next_attempt_at=None,
        attempt_history=without_tails(task.attempt_history),
    )


def waiting_for_retry(task: InstanceStatus) -> bool:
    return task.phase is TaskPhase.PENDING and task.next_attempt_at is not None


def details_due(job: ObservedJob, now: datetime, needs_message: bool = False) -> datetime | None:
    """Until when a failed Job's attempt (or, with ``needs_message``, a succeeded one) waits for its
    Pod's details (None: judge it now)."""
    if not job.pod_pending or job.state is JobState.ACTIVE:
        return None
    if job.state is JobState.SUCCEEDED and not needs_message:
        return None
    due = (job.completion_time or job.start_time or now) + POD_DETAILS_GRACE
    return due if now < due else None


def job_lost_at(task: InstanceStatus, observing_since: datetime | None = None) -> datetime:
    """When a Running task whose Job is not observed counts as lost: a while after it started, and after
    the shell began to watch (an operator just restarted may not have listed that Job yet)."""
    started = parse_time(task.start_time) if task.start_time is not None else None
    since = max(filter(None, (started, observing_since)), default=None)
    if since is None:
        return datetime.min.replace(tzinfo=UTC)
    return since + JOB_LOST_AFTER


def task_deadline(
    task: InstanceStatus, timeout_seconds: int | None, job: ObservedJob | None
) -> datetime | None:
    """When the operator stops a Running attempt that outlived the task's timeout: counted, as the Pod's
    own activeDeadlineSeconds is, from when its Pod started; not before a Pod of this attempt is seen."""
    if timeout_seconds is None or job is None or job.attempt != task.attempts or job.pod_started is None:
        return None
    return job.pod_started + timedelta(seconds=timeout_seconds) + DEADLINE_GRACE


NO_TAIL = (
    "no log tail was kept: the task wrote its results file before it failed, and the kubelet falls back "
    "to the log only when that file is empty"
)


def failure_message(job: ObservedJob, results: Sequence[str] = ()) -> str:
    """Why a Job failed, most specific first: "OOMKilled (exit code 137)", "exit code 1: <message>". For
    a task that declares ``results``, a termination message that is its results JSON is no log tail."""
    if wrote_results(job.message, results):
        job = replace(job, message=NO_TAIL)
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


def fail_attempt(
    task: T,
    kind: FailureKind,
    now: datetime,
    attempts: Attempts,
    *,
    message: str,
    exit_code: int | None = None,
    completion_time: str | None = None,
    tail: str | None = None,
) -> T:
    """The task after its current attempt failed: waiting for the next attempt, or Failed for good.
    A sensor's not-ready pokes were attempts too, but they use no retry: they are not counted."""
    attempt = task.attempts - task.pokes
    total = max_attempts(attempts.policy)
    retry_at = next_attempt_at(attempts.policy, kind, attempt, now, attempts.seed)
    if retry_at is not None:
        at = format_precise_time(retry_at)
        return _changed(
            task,
            phase=TaskPhase.PENDING,
            reason=kind.value,
            exit_code=exit_code,
            message=truncate(f"attempt {attempt} of {total} failed: {message}; next attempt at {at}"),
            completion_time=None,
            next_attempt_at=at,
            attempt_history=history_after_failure(task, kind.value, exit_code, tail, retried=True),
        )
    if attempts.policy is not None and kind not in attempts.policy.retry_on:
        message = f"{message} (not retried: retries.retryOn does not list {kind.value})"
    elif total > 1:
        message = f"attempt {attempt} of {total} failed: {message}"
    return _changed(
        task,
        phase=TaskPhase.FAILED,
        reason=kind.value,
        exit_code=exit_code,
        message=truncate(message),
        completion_time=completion_time or format_time(now),
        next_attempt_at=None,
        attempt_history=history_after_failure(task, kind.value, exit_code, tail, retried=False),
    )


def _follow_job(task: T, job: ObservedJob, now: datetime, attempts: Attempts) -> T:
    same_attempt = job.attempt == task.attempts and task.start_time is not None
    start = task.start_time if same_attempt else format_time(job.start_time or now)
    base = {"attempts": job.attempt, "job_name": job.name, "start_time": start}
    if job.state is JobState.ACTIVE:
        waiting = f"{job.reason}: {job.message}" if job.reason and job.message else job.reason
        return _changed(
            task,
            phase=TaskPhase.RUNNING,
            message=truncate(waiting) if waiting else None,
            reason=None,
            exit_code=None,
            next_attempt_at=None,
            completion_time=None,
            **base,
        )
    completed = format_time(job.completion_time or now)
    if job.state is JobState.SUCCEEDED:
        answered = {"pokes": task.pokes + 1, "last_answer": "ready"} if attempts.sensor else {}
        succeeded = _changed(
            task,
            phase=TaskPhase.SUCCEEDED,
            completion_time=completed,
            message=None,
            reason=None,
            exit_code=None,
            next_attempt_at=None,
            attempt_history=history_after_end(task, job.attempt, None),
            **base,
            **answered,
        )
        message = job.message
        if job.child and attempts.results:
            try:
                message = child_results(attempts.results, job.message, job.name)
            except ValueError as problem:
                failed = {"phase": TaskPhase.FAILED, "reason": INVALID_RESULTS, "message": str(problem)}
                return _changed(succeeded, **failed)
        collected = collect_results(succeeded, attempts.results, message, now)
        if collected.phase is TaskPhase.FAILED and collected.attempt_history:  # exit 0, results unusable
            history = with_reason(collected.attempt_history, job.attempt, collected.reason or INVALID_RESULTS)
            return _changed(collected, attempt_history=history)
        return collected
    running = _changed(task, phase=TaskPhase.RUNNING, **base)
    said_no = (
        failure_kind(job) is FailureKind.FAILED
        and job.exit_code not in BROKEN
        and job.reason not in NOT_STARTED
    )
    if attempts.sensor is not None and said_no:
        return not_ready(running, attempts.sensor, job, now)
    return fail_attempt(
        running,
        failure_kind(job),
        now,
        attempts,
        message=failure_message(job, attempts.results),
        exit_code=job.exit_code,
        completion_time=completed,
        tail=None if wrote_results(job.message, attempts.results) else job.message,
    )


BROKEN = frozenset({126, 127, 128})
"""Exit codes of a command that could not run at all (not executable, not found; 128: the runtime could
not start it): a sensor's broken command is a failure, not a "not ready" to poke until its timeout."""
NOT_STARTED = frozenset({"StartError", "ContainerCannotRun"})
"""Container reasons of the same: the container never ran the command."""
SENSOR_TIMEOUT = "SensorTimeout"
NOT_READY = "NotReady"


def not_ready(task: T, sensor: SensorSpec, job: ObservedJob, now: datetime) -> T:
    """A sensor whose poke said "not ready" (a non-zero exit): Pending until the next poke, which comes
    intervalSeconds after this one ended; Failed with reason SensorTimeout when that would be past its
    timeoutSeconds (counted from the first poke's start). No retry is used."""
    pokes = task.pokes + 1
    answer = f"not ready: {failure_message(job)}"
    ended = job.completion_time or now
    first = task.sensing_since or task.start_time
    since = parse_time(first) if first else now
    following = ended + timedelta(seconds=sensor.interval_seconds)
    common = {
        "pokes": pokes,
        "last_answer": truncate(answer, 256),
        "sensing_since": format_time(since),
        "exit_code": job.exit_code,
        "completion_time": None,
    }
    if following > since + timedelta(seconds=sensor.timeout_seconds):
        return _changed(
            task,
            phase=TaskPhase.FAILED,
            reason=SENSOR_TIMEOUT,
            message=truncate(f"still not ready after {pokes} pokes in {sensor.timeout_seconds}s: {answer}"),
            next_attempt_at=None,
            **{**common, "completion_time": format_time(ended)},
        )
    at = format_precise_time(following)
    return _changed(
        task,
        phase=TaskPhase.PENDING,
        reason=NOT_READY,
        message=truncate(f"poke {pokes}: {answer}; next poke at {at}"),
        next_attempt_at=at,
        **common,
    )


def wrote_results(message: str | None, declared: Sequence[str]) -> bool:
    """Whether a termination message is the results file of a task that declares ``declared`` (one JSON
    object of declared names), not the kubelet's log tail (a JSON log line is an object too)."""
    text = (message or "").strip()
    if not declared or not text.startswith("{"):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and bool(value) and set(value) <= set(declared)


def _changed(task: T, **update: object) -> T:
    """``task`` with ``update`` applied, or ``task`` itself when that changes nothing (so the planner can
    tell "no change" by identity, without comparing 10,000 entries)."""
    if all(getattr(task, field) == value for field, value in update.items()):
        return task
    return task.model_copy(update=update)
