"""Run-level status: phase, progress, duration, the Succeeded condition, and how times are written.

Everything here is derived from the task list, so a status can always be recomputed from scratch; and
nothing depends on the clock except on a transition, so re-planning an unchanged run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from operator import attrgetter

from baton.api.common import Condition, ConditionStatus
from baton.api.run import InstanceStatus, PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core import reasons

SUCCEEDED = "Succeeded"
"""Type of the run's KEP-1623 condition."""
MAX_MESSAGE = 512
"""Longest message kept in a task's status or a condition (status must stay small for huge runs)."""
_NAMES_SHOWN = 3
_phase = attrgetter("phase")
_FINISHED = (TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED, TaskPhase.CANCELLED)


@lru_cache(maxsize=4096)
def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes times: 2025-01-31T12:00:00Z.

    Cached: a plan that sees 1,000 Jobs complete formats each one's times, mostly the same few seconds
    (strftime was a fifth of such a plan)."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds when there are any (as Kubernetes' MicroTime), for times that
    schedule something: a retry 0.5 s after a failure must not move to a whole second."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    moment = moment.astimezone(UTC)
    if not moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_or_none(stamp: object) -> datetime | None:
    """A time from a status or annotation; None when absent or broken (someone edited it by hand): what
    cannot be read is treated as not there, never as a reason to stop a reconcile."""
    try:
        return parse_time(stamp) if isinstance(stamp, str) and stamp else None
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def parse_time(text: str) -> datetime:
    # Cached: the Jobs of a wide run share a few timestamps (second precision), and each observation
    # then holds one shared datetime instead of its own (immutable, so sharing is safe).
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_duration(elapsed: timedelta) -> str:
    """Go's time.Duration style at second precision: 0s, 45s, 1m23s, 2h0m5s."""
    seconds = max(0, int(elapsed.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def truncate(message: str, limit: int = MAX_MESSAGE) -> str:
    """The message, cut from the front when too long: the end of a log or traceback says most."""
    message = message.strip()
    return message if len(message) <= limit else "…" + message[-(limit - 1) :]


def shorten(text: str, limit: int) -> str:
    """The text cut at its end (the start of a list of problems says most), unlike ``truncate``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def ended_at(task: InstanceStatus) -> str:
    """When a task failed, as sortable text; a forEach task failed when its first instance did."""
    if isinstance(task, TaskStatus) and task.instances:
        failed = [
            i.completion_time for i in task.instances if i.phase is TaskPhase.FAILED and i.completion_time
        ]
        if failed:
            return min(failed)
    return task.completion_time or "~"  # after every time: not ended yet


def failure_line(task: InstanceStatus) -> str:
    """One line for why a task failed: the last line of its message (the end of its log tail says most),
    led by its exit code when that line does not say it."""
    why = last_line(task.message or "") or "failed"
    code = task.exit_code
    if code is not None and f"exit code {code}" not in why:
        why = f"exit code {code}: {why}"
    return why


def plural(count: int, noun: str) -> str:
    """ "1 task", "3 tasks": counts in messages read as English."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def name_list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown if len(names) <= _NAMES_SHOWN else f"{shown}, … (+{len(names) - _NAMES_SHOWN})"


def set_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """``conditions`` with ``new`` in place of the one of its type; the lastTransitionTime only moves
    when status or reason change (a new message alone is not a transition)."""
    out = []
    replaced = False
    for condition in conditions:
        if condition.type == new.type:
            if condition.status == new.status and condition.reason == new.reason:
                new = new.model_copy(update={"last_transition_time": condition.last_transition_time})
            out.append(new)
            replaced = True
        else:
            out.append(condition)
    if not replaced:
        out.append(new)
    return out


def summarize_run(
    previous: PipelineRunStatus,
    tasks: list[TaskStatus],
    generation: int,
    now: datetime,
    *,
    suspended: bool = False,
    cancelling: bool = False,
    timing_out: bool = False,
    note: str | None = None,
    waiting: Sequence[str] = (),
    fan_outs: Collection[int] = (),
    waiting_reason: str | None = None,
) -> PipelineRunStatus:
    """The run's status for the given task states: phase, progress, completion and the condition.

    ``suspended``, ``cancelling`` and ``timing_out`` say how the run is steered (the latter two: its
    tasks were stopped, its finally tasks may still run); ``note`` leads the condition's
    message (why the run was cancelled or timed out); ``waiting`` names tasks waiting for a retry;
    ``fan_outs`` are the indices of forEach tasks, whose instances the progress counts;
    ``waiting_reason`` is the condition's reason while the run is pending or running (ExceededQuota).
    """
    counts = Counter(map(_phase, tasks))
    finished = sum(counts[phase] for phase in _FINISHED)
    update: dict[str, object] = {
        "tasks": tasks,
        "progress": progress([tasks[i] for i in fan_outs], len(tasks), finished),
        "observed_generation": generation,
    }
    reason: str | None = None
    if finished == len(tasks):
        phase, reason = run_outcome(tasks, counts)
        # The last task's completion, not the time of this reconcile (which may come much later);
        # tasks a retry reused ended before this run started.
        completed = max(
            (t.completion_time for t in tasks if t.completion_time and t.reused_from is None),
            default=format_time(now),
        )
        if previous.start_time and parse_time(completed) < parse_time(previous.start_time):
            completed = previous.start_time
        update["completion_time"] = completed
        if previous.start_time:
            update["duration"] = format_duration(parse_time(completed) - parse_time(previous.start_time))
    elif suspended:
        phase = RunPhase.SUSPENDED
    elif counts[TaskPhase.PENDING] < len(tasks) or waiting or cancelling or timing_out:
        phase = RunPhase.RUNNING
        if timing_out or cancelling:
            reason = reasons.TIMING_OUT if timing_out else reasons.CANCELLING
        else:
            reason = waiting_reason
    else:
        phase = RunPhase.PENDING
        reason = waiting_reason
    update["phase"] = phase
    message = run_message(phase, tasks, counts, note=note, waiting=waiting)
    condition = run_condition(phase, tasks, generation, now, counts, reason=reason, message=message)
    update["conditions"] = set_condition(previous.conditions, condition)
    return previous.model_copy(update=update)


def finally_outcomes(finally_tasks: Sequence[TaskStatus]) -> str:
    """How the finally tasks of a stopped run ended, for its message: "finally: cleanup Succeeded,
    notify Failed (DeadlineExceeded)"."""
    shown = []
    for task in finally_tasks[:_NAMES_SHOWN]:
        why = f" ({task.reason})" if task.reason and task.reason != task.phase.value else ""
        shown.append(f"{task.name} {task.phase.value}{why}")
    more = len(finally_tasks) - len(shown)
    return "finally: " + ", ".join(shown) + (f", … (+{more})" if more > 0 else "")


def progress(fan_outs: Sequence[TaskStatus], total: int, finished: int) -> str:
    """Finished out of all units of work (``total`` tasks, of which ``finished`` finished), with each
    forEach task of ``fan_outs`` counted as its instances."""
    for task in fan_outs:
        if task.items:
            total += task.items - 1
            if not task.phase.finished:
                finished += sum(1 for i in task.instances if i.phase.finished)
            else:
                finished += task.items - 1
    return f"{finished}/{total}"


STATUS_TOO_LARGE = "StatusTooLarge"


def status_too_large(
    base: PipelineRunStatus, size: int, why: str, generation: int, now: datetime
) -> PipelineRunStatus:
    """The run, ended Failed because the API server refuses its status as too large (``size`` bytes):
    ``base`` is the status as stored, so that this small write goes through where the big one did not.
    The alternative, retrying the same write, would leave the run as it is forever."""
    message = truncate(
        f"the run's status would be {size} bytes, which the API server refuses ({last_line(why)[:200]}); "
        "the run stopped here: keep params, results and messages small, large data belongs in a workspace"
    )
    condition = Condition(
        type=SUCCEEDED,
        status=ConditionStatus.FALSE,
        reason=STATUS_TOO_LARGE,
        message=message,
        last_transition_time=format_time(now),
        observed_generation=generation,
    )
    update: dict[str, object] = {
        "phase": RunPhase.FAILED,
        "completion_time": format_time(now),
        "conditions": set_condition(base.conditions, condition),
        "observed_generation": generation,
    }
    if base.start_time:
        update["duration"] = format_duration(now - parse_time(base.start_time))
    return base.model_copy(update=update)


def run_outcome(
    tasks: Sequence[TaskStatus], counts: Mapping[TaskPhase, int] | None = None
) -> tuple[RunPhase, str]:
    """How a run whose tasks have all ended ended, and the reason of its condition: Failed with reason
    Timeout if its timeout stopped anything, else Cancelled if it was cancelled, else Failed if a task
    failed, else Succeeded (tasks skipped because their rule did not hold are no failure)."""
    counts = counts if counts is not None else Counter(map(_phase, tasks))
    if not (counts.get(TaskPhase.FAILED) or counts.get(TaskPhase.SKIPPED) or counts.get(TaskPhase.CANCELLED)):
        return RunPhase.SUCCEEDED, RunPhase.SUCCEEDED.value
    cancelled = False
    for task in tasks:
        if task.reason == reasons.RUN_TIMEOUT:
            return RunPhase.FAILED, reasons.TIMEOUT
        cancelled = cancelled or task.phase is TaskPhase.CANCELLED or task.reason == reasons.CANCELLED
    if cancelled:
        return RunPhase.CANCELLED, RunPhase.CANCELLED.value
    if counts.get(TaskPhase.FAILED):
        return RunPhase.FAILED, RunPhase.FAILED.value
    return RunPhase.SUCCEEDED, RunPhase.SUCCEEDED.value


def run_condition(
    phase: RunPhase,
    tasks: Sequence[TaskStatus],
    generation: int,
    now: datetime,
    counts: Mapping[TaskPhase, int] | None = None,
    *,
    reason: str | None = None,
    message: str | None = None,
) -> Condition:
    """The Succeeded condition of a run in ``phase``; its reason is the phase's name unless given."""
    status = {
        RunPhase.SUCCEEDED: ConditionStatus.TRUE,
        RunPhase.FAILED: ConditionStatus.FALSE,
        RunPhase.CANCELLED: ConditionStatus.FALSE,
    }.get(phase, ConditionStatus.UNKNOWN)
    return Condition(
        type=SUCCEEDED,
        status=status,
        reason=reason or phase.value,
        message=message if message is not None else run_message(phase, tasks, counts),
        last_transition_time=format_time(now),
        observed_generation=generation,
    )


MAX_SUMMARY = 1024
"""Longest message of a condition or Event that lists problems: a few of them, then how many more."""


def invalid_condition(reason: str, message: str, generation: int, now: datetime) -> Condition:
    """Why a run cannot start: its problems, the first ones first (cut at the end, unlike a log tail)."""
    message = message.strip()
    return Condition(
        type=SUCCEEDED,
        status=ConditionStatus.FALSE,
        reason=reason,
        message=shorten(message, MAX_SUMMARY),
        last_transition_time=format_time(now),
        observed_generation=generation,
    )


def run_message(
    phase: RunPhase,
    tasks: Sequence[TaskStatus],
    counts: Mapping[TaskPhase, int] | None = None,
    *,
    note: str | None = None,
    waiting: Sequence[str] = (),
) -> str:
    """One line for the MESSAGE column: what runs, what failed and why. Looks at the task list only
    for the phases it names, so a quiet 10,000-task run costs little."""
    counts = counts if counts is not None else Counter(map(_phase, tasks))
    parts = [note] if note else []
    if phase is RunPhase.SUSPENDED:
        parts.append("suspended: no new task starts until spec.suspend is false")
    if counts.get(TaskPhase.FAILED):
        failed = [
            task for task in tasks if task.phase is TaskPhase.FAILED and task.reason != reasons.RUN_TIMEOUT
        ]
        if failed:
            first = min(failed, key=ended_at)  # the first to fail names the run's failure
            why = failure_line(first)
            if len(failed) == 1:
                parts.append(f'task "{first.name}" failed: {why}')
            else:
                names = name_list([first.name, *(t.name for t in failed if t is not first)])
                parts.append(f'{len(failed)} tasks failed ({names}); "{first.name}": {why}')
    if counts.get(TaskPhase.CANCELLED):
        parts.append(f"{counts[TaskPhase.CANCELLED]} stopped")
    if counts.get(TaskPhase.SKIPPED):
        parts.append(f"{counts[TaskPhase.SKIPPED]} skipped")
    running = counts.get(TaskPhase.RUNNING, 0)
    if phase is RunPhase.SUCCEEDED:
        succeeded = counts.get(TaskPhase.SUCCEEDED, 0)
        if succeeded == len(tasks):
            parts.append(f"all {len(tasks)} tasks succeeded" if len(tasks) != 1 else "the task succeeded")
        else:
            parts.append(f"{succeeded} of {len(tasks)} tasks succeeded, none failed")
    elif phase is RunPhase.PENDING:
        parts.append("waiting for the first task to start")
    if running and not phase.finished:
        shown = [t.name for t in islice((t for t in tasks if t.phase is TaskPhase.RUNNING), _NAMES_SHOWN)]
        more = f", … (+{running - len(shown)})" if running > len(shown) else ""
        parts.append(f"{running} running: {', '.join(shown)}{more}")
    if waiting and not phase.finished:
        parts.append(f"{len(waiting)} waiting to retry: {name_list(list(waiting))}")
    return truncate("; ".join(parts))
