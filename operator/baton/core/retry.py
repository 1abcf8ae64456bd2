"""Retries: which failures are retried, how many times, and how long a task waits before the next attempt.

Everything is a function of the spec and of what was observed, so the schedule survives restarts: the
time of the next attempt is written into the task's status (``nextAttemptAt``) and the planner wakes the
run then. The jitter, when asked for, is derived from (run uid, task, attempt) instead of a random
generator: the same failure always gets the same wait, however often it is planned.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from baton.api.pipeline import FailureKind, RetryPolicy, TaskDefaults, TaskSpec
from baton.core.observed import ObservedJob

# Pod and container reasons that mean "the Pod was taken away", not "the program failed".
_EVICTED = frozenset(
    {
        "Evicted",
        "Preempting",
        "Preempted",
        "NodeLost",
        "NodeShutdown",
        "Shutdown",
        "Terminated",
        "DisruptionTarget",
        "UnexpectedAdmissionError",
        "NodeAffinity",
    }
)


def retry_policy(task: TaskSpec, defaults: TaskDefaults | None) -> RetryPolicy | None:
    """The task's retries, else the Pipeline's default; None when the task is attempted only once."""
    policy = task.retries if task.retries is not None else defaults.retries if defaults else None
    return policy if policy is not None and policy.limit > 0 else None


def max_attempts(policy: RetryPolicy | None) -> int:
    return 1 + (policy.limit if policy is not None else 0)


def failure_kind(job: ObservedJob) -> FailureKind:
    """The kind of a failed attempt, from the most specific reason its Job and Pod report."""
    reason = job.reason or ""
    if reason == "DeadlineExceeded":
        return FailureKind.DEADLINE_EXCEEDED
    if reason == "OOMKilled":
        return FailureKind.OOM_KILLED
    if reason in _EVICTED:
        return FailureKind.POD_EVICTED
    return FailureKind.FAILED


def backoff_seconds(policy: RetryPolicy, failed_attempt: int, seed: str = "") -> float:
    """The wait after attempt ``failed_attempt`` (1, 2, …) failed: initialSeconds * factor^(n - 1),
    at most maxSeconds, shortened by the deterministic jitter."""
    backoff = policy.backoff
    exponent = max(0, failed_attempt - 1)
    try:
        delay = backoff.initial_seconds * backoff.factor**exponent
    except OverflowError:
        delay = backoff.max_seconds
    delay = min(delay, backoff.max_seconds)
    if backoff.jitter:
        delay *= 1.0 - backoff.jitter * _unit(seed, failed_attempt)
    return delay


def next_attempt_at(
    policy: RetryPolicy | None,
    kind: FailureKind,
    failed_attempt: int,
    failed_at: datetime,
    seed: str = "",
) -> datetime | None:
    """When the next attempt starts, or None when this failure is final (kind not retried, or no
    attempts left)."""
    if policy is None or kind not in policy.retry_on or failed_attempt >= max_attempts(policy):
        return None
    return failed_at + timedelta(seconds=backoff_seconds(policy, failed_attempt, seed))


def _unit(seed: str, attempt: int) -> float:
    """A number in [0, 1) that depends only on the seed and the attempt."""
    digest = hashlib.sha256(f"{seed}\0{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
