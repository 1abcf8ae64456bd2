"""What a task's status keeps of its past attempts, so that a failure explains itself after its Pods and
Jobs are gone (deleted by TTL, by history pruning or by hand).

A task that ran once needs nothing more than its own fields: ``exitCode`` and ``message`` (the failure
and its log tail) say how that attempt ended. Once an attempt fails and is retried, ``attemptHistory``
records how each attempt ended (exit code, reason), oldest first, the last ``MAX_RECORDED_ATTEMPTS``;
the newest failed attempt's tail rides on its record while the task's own message no longer says it (a
retry started, or it succeeded). Nothing is stored twice: a task that failed for good has the tail in its
message, not in its history. A sensor's "not ready" pokes are answers, not failures: they are not
recorded (``pokes`` and ``lastAnswer`` tell them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from baton.api.run import AttemptRecord, InstanceStatus, TaskPhase, TaskStatus
from baton.core.status import truncate

MAX_RECORDED_ATTEMPTS = 10
T = TypeVar("T", bound=InstanceStatus)


def history_after_failure(
    task: InstanceStatus, reason: str, exit_code: int | None, tail: str | None, *, retried: bool
) -> list[AttemptRecord]:
    """The history once the task's current attempt failed (``tail``: its log tail, if it left one):
    recorded when it is ``retried`` (the retry will clear the task's message, so the tail moves here) or
    when attempts were recorded before. A retried failure keeps its tail; a final one does not (the
    task's message holds it)."""
    if not retried and not task.attempt_history:
        return []
    kept = without_tails(task.attempt_history)
    record = AttemptRecord(
        attempt=task.attempts,
        exit_code=exit_code,
        reason=reason,
        tail=truncate(tail) if retried and tail else None,
    )
    return _bounded([*kept, record])


def history_after_end(task: InstanceStatus, attempt: int, reason: str | None) -> list[AttemptRecord]:
    """The history once ``attempt`` succeeded (``reason`` None: exit code 0) or was stopped by the run
    (``reason``): recorded only for a task with a history, and only once. A forEach instance that
    succeeded drops its earlier failure's tail: a wide run keeps its exit codes, not thousands of tails."""
    history = task.attempt_history
    if not history or history[-1].attempt >= attempt:
        return list(history)
    if reason is None and not isinstance(task, TaskStatus):
        history = without_tails(history)
    record = AttemptRecord(attempt=attempt, exit_code=0 if reason is None else None, reason=reason)
    return _bounded([*history, record])


def with_reason(history: Sequence[AttemptRecord], attempt: int, reason: str) -> list[AttemptRecord]:
    """The history with ``attempt``'s record failed for ``reason`` after all (its process exited 0, but
    its results could not be recorded)."""
    return [r.model_copy(update={"reason": reason}) if r.attempt == attempt else r for r in history]


def without_tails(history: Sequence[AttemptRecord]) -> list[AttemptRecord]:
    """The history once the task's own message says its last failure again (it failed for good)."""
    return [r if r.tail is None else r.model_copy(update={"tail": None}) for r in history]


# A failed task's message: [attempt N of M failed: ]SUMMARY[: DETAIL][ (not retried: …)], where SUMMARY is
# "exit code N", "Reason (exit code N)" or "Reason" (``baton.core.tasks.failure_message``).
_FAILURE = re.compile(
    r"^(?:attempt \d+ of \d+ failed: )?"
    r"(?:exit code -?\d+|[A-Z]\w* \(exit code -?\d+\)|[A-Z]\w*): (?P<detail>.*?)"
    r"(?: \(not retried: [^()]*\))?$",
    re.S,
)
NO_TAIL_MARK = "no log tail was kept"


def log_tail(message: str | None) -> str | None:
    """The log tail in a failed attempt's message (None when it kept none: a results file, a stop)."""
    match = _FAILURE.match((message or "").strip())
    if match is None:
        return None
    detail = match.group("detail").strip()
    return None if not detail or detail.startswith(NO_TAIL_MARK) else detail


@dataclass(frozen=True, slots=True)
class KeptAttempt:
    """What the status still tells of one attempt."""

    attempt: int
    exit_code: int | None
    reason: str | None
    tail: str | None
    """The log tail (or termination message) it left, when one was kept."""


def kept_attempt(task: InstanceStatus, attempt: int) -> KeptAttempt | None:
    """What the status keeps of ``attempt`` of ``task`` (None when nothing: an attempt too old to be kept,
    or one that has not ended). Its tail is only ever the process's own output: an attempt the run
    stopped, or whose Job was lost, has an exit code of none and a tail of none."""
    if attempt == task.attempts and task.phase is TaskPhase.FAILED:
        tail = log_tail(task.message) if task.exit_code is not None else None
        return KeptAttempt(attempt, task.exit_code, task.reason, tail)
    record = next((r for r in task.attempt_history if r.attempt == attempt), None)
    if record is not None:
        return KeptAttempt(attempt, record.exit_code, record.reason, record.tail)
    if attempt == task.attempts and task.phase is TaskPhase.SUCCEEDED and task.attempts:
        return KeptAttempt(attempt, 0, None, None)
    return None


def exit_codes(task: InstanceStatus) -> str:
    """Every kept attempt's outcome, oldest first: "1, 137 (OOMKilled), 0"; "" when none is known."""
    shown = []
    if task.attempt_history and task.attempt_history[0].attempt > 1:
        shown.append(f"attempts 1 to {task.attempt_history[0].attempt - 1} not kept")
    for record in task.attempt_history:
        shown.append(_outcome(record.exit_code, record.reason))
    recorded = {r.attempt for r in task.attempt_history}
    ended = task.phase in (TaskPhase.FAILED, TaskPhase.SUCCEEDED)
    if task.attempts and task.attempts not in recorded and ended:
        code = 0 if task.phase is TaskPhase.SUCCEEDED else task.exit_code
        shown.append(_outcome(code, task.reason if task.phase is TaskPhase.FAILED else None))
    return ", ".join(part for part in shown if part)


def newest_tail(task: InstanceStatus) -> KeptAttempt | None:
    """The newest failed attempt whose tail the status keeps."""
    if task.phase is TaskPhase.FAILED and task.message:
        kept = kept_attempt(task, task.attempts)
        if kept is not None and kept.tail:
            return kept
    record = next((r for r in reversed(task.attempt_history) if r.tail), None)
    if record is None:
        return None
    return KeptAttempt(record.attempt, record.exit_code, record.reason, record.tail)


def _outcome(code: int | None, reason: str | None) -> str:
    generic = reason in (None, "Failed")
    if code is None:
        return reason or "?"
    return str(code) if generic else f"{code} ({reason})"


def _bounded(records: list[AttemptRecord]) -> list[AttemptRecord]:
    return records[-MAX_RECORDED_ATTEMPTS:]
