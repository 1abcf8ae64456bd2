"""Retries: the backoff schedule, which failures are retried, and the task's state while it waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.api.pipeline import FailureKind, RetryPolicy, TaskDefaults, TaskSpec
from baton.api.run import TaskPhase, TaskStatus
from baton.core.observed import JobState, ObservedJob
from baton.core.retry import backoff_seconds, failure_kind, max_attempts, next_attempt_at, retry_policy
from baton.core.tasks import DEADLINE_GRACE, Attempts, advance_task

NOW = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)


def policy(limit: int = 3, **backoff: Any) -> RetryPolicy:
    return RetryPolicy.model_validate({"limit": limit, "backoff": backoff})


@pytest.mark.parametrize(
    ("backoff", "waits"),
    [
        ({}, [10, 20, 40, 80]),
        ({"initialSeconds": 0.2, "factor": 2}, [0.2, 0.4, 0.8, 1.6]),
        ({"initialSeconds": 1, "factor": 3, "maxSeconds": 5}, [1, 3, 5, 5]),
        ({"initialSeconds": 2, "factor": 1}, [2, 2, 2, 2]),
        ({"initialSeconds": 30, "maxSeconds": 3600, "factor": 100}, [30, 3000, 3600, 3600]),
    ],
)
def test_backoff_grows_by_the_factor_up_to_the_maximum(backoff: dict[str, Any], waits: list[float]) -> None:
    p = policy(limit=4, **backoff)
    assert [backoff_seconds(p, attempt) for attempt in (1, 2, 3, 4)] == pytest.approx(waits)


def test_a_huge_exponent_is_capped_not_an_overflow() -> None:
    assert backoff_seconds(policy(limit=100, factor=100, maxSeconds=60), 100) == 60


def test_jitter_is_off_by_default_and_deterministic_when_on() -> None:
    plain = policy(initialSeconds=10)
    assert backoff_seconds(plain, 1, "uid/a") == backoff_seconds(plain, 1, "uid/b") == 10
    jittery = policy(initialSeconds=10, jitter=0.5)
    waits = {backoff_seconds(jittery, 1, f"uid/task-{i}") for i in range(20)}
    assert all(5 <= wait <= 10 for wait in waits) and len(waits) > 1
    assert backoff_seconds(jittery, 1, "uid/a") == backoff_seconds(jittery, 1, "uid/a")


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (None, FailureKind.FAILED),
        ("Error", FailureKind.FAILED),
        ("BackoffLimitExceeded", FailureKind.FAILED),
        ("OOMKilled", FailureKind.OOM_KILLED),
        ("DeadlineExceeded", FailureKind.DEADLINE_EXCEEDED),
        ("Evicted", FailureKind.POD_EVICTED),
        ("Preempting", FailureKind.POD_EVICTED),
        ("NodeLost", FailureKind.POD_EVICTED),
    ],
)
def test_failure_kinds(reason: str | None, kind: FailureKind) -> None:
    assert failure_kind(ObservedJob("a", 1, "j", JobState.FAILED, reason=reason)) is kind


@pytest.mark.parametrize(
    ("retries", "kind", "attempt", "expected"),
    [
        (None, FailureKind.FAILED, 1, None),
        ({"limit": 0}, FailureKind.FAILED, 1, None),
        ({"limit": 2}, FailureKind.FAILED, 1, 10.0),
        ({"limit": 2}, FailureKind.FAILED, 2, 20.0),
        ({"limit": 2}, FailureKind.FAILED, 3, None),  # the third attempt was the last
        ({"limit": 2, "retryOn": ["DeadlineExceeded"]}, FailureKind.FAILED, 1, None),
        ({"limit": 2, "retryOn": ["DeadlineExceeded"]}, FailureKind.DEADLINE_EXCEEDED, 1, 10.0),
        ({"limit": 2, "retryOn": ["Failed", "PodEvicted"]}, FailureKind.OOM_KILLED, 1, None),
        ({"limit": 2}, FailureKind.JOB_LOST, 1, 10.0),  # every kind is retried by default
    ],
)
def test_which_failures_are_retried(
    retries: dict[str, Any] | None, kind: FailureKind, attempt: int, expected: float | None
) -> None:
    p = RetryPolicy.model_validate(retries) if retries else None
    at = next_attempt_at(p if p and p.limit else None, kind, attempt, NOW)
    assert at == (None if expected is None else NOW + timedelta(seconds=expected))


def test_a_tasks_retries_replace_the_defaults() -> None:
    defaults = TaskDefaults.model_validate({"retries": {"limit": 5}})
    assert retry_policy(TaskSpec(name="a"), defaults) == defaults.retries
    own = TaskSpec.model_validate({"name": "a", "retries": {"limit": 1}})
    assert retry_policy(own, defaults) == own.retries
    never = TaskSpec.model_validate({"name": "a", "retries": {"limit": 0}})
    assert retry_policy(never, defaults) is None
    assert max_attempts(retry_policy(own, defaults)) == 2 and max_attempts(None) == 1


RUNNING = TaskStatus(
    name="a", phase=TaskPhase.RUNNING, attempts=1, job_name="r-a-1", start_time="2025-01-31T10:00:00Z"
)
RETRIES = Attempts(policy(limit=2, initialSeconds=0.5), None, "uid/a")


def failed_job(attempt: int = 1, **extra: Any) -> ObservedJob:
    return ObservedJob(
        "a", attempt, f"r-a-{attempt}", JobState.FAILED, start_time=NOW, completion_time=NOW, **extra
    )


def test_a_failed_attempt_with_retries_left_waits_with_its_failure_visible() -> None:
    later = NOW + timedelta(seconds=3)
    task, delete = advance_task(RUNNING, failed_job(exit_code=3, message="boom"), later, RETRIES)
    assert not delete
    assert (task.phase, task.attempts, task.reason, task.exit_code) == (TaskPhase.PENDING, 1, "Failed", 3)
    assert task.next_attempt_at == "2025-01-31T10:00:03.500000Z"
    assert (
        task.message
        == "attempt 1 of 3 failed: exit code 3: boom; next attempt at 2025-01-31T10:00:03.500000Z"
    )
    assert task.completion_time is None
    # The failed Job is still observed while the task waits: that changes nothing.
    assert advance_task(task, failed_job(exit_code=3, message="boom"), later, RETRIES) == (task, False)


def test_the_last_attempt_fails_for_good() -> None:
    last = RUNNING.model_copy(update={"attempts": 3, "job_name": "r-a-3"})
    task, _ = advance_task(last, failed_job(3, exit_code=1), NOW, RETRIES)
    assert (task.phase, task.reason, task.next_attempt_at) == (TaskPhase.FAILED, "Failed", None)
    assert task.message == "attempt 3 of 3 failed: exit code 1"


def test_a_failure_kind_not_retried_says_so() -> None:
    only_timeouts = Attempts(RetryPolicy.model_validate({"limit": 2, "retryOn": ["DeadlineExceeded"]}), None)
    task, _ = advance_task(RUNNING, failed_job(reason="OOMKilled", exit_code=137), NOW, only_timeouts)
    assert (task.phase, task.reason) == (TaskPhase.FAILED, "OOMKilled")
    assert task.message == "OOMKilled (exit code 137) (not retried: retries.retryOn does not list OOMKilled)"


def test_a_job_outliving_the_task_timeout_is_deleted_and_the_attempt_fails() -> None:
    attempts = Attempts(policy(limit=1, initialSeconds=1), 30, "uid/a")
    active = ObservedJob("a", 1, "r-a-1", JobState.ACTIVE, start_time=NOW, pod_started=NOW)
    before_deadline = NOW + timedelta(seconds=30) + DEADLINE_GRACE - timedelta(milliseconds=1)
    assert advance_task(RUNNING, active, before_deadline, attempts) == (RUNNING, False)
    task, delete = advance_task(RUNNING, active, NOW + timedelta(seconds=30) + DEADLINE_GRACE, attempts)
    assert delete and (task.phase, task.reason) == (TaskPhase.PENDING, "DeadlineExceeded")
    assert "ran longer than its timeout of 30s; the operator deleted Job r-a-1" in (task.message or "")


def test_the_clusters_own_deadline_is_a_deadline_exceeded_failure() -> None:
    task, delete = advance_task(RUNNING, failed_job(reason="DeadlineExceeded"), NOW, Attempts(None, 5))
    assert not delete and (task.phase, task.reason) == (TaskPhase.FAILED, "DeadlineExceeded")


def test_a_lost_job_is_a_retryable_failure() -> None:
    task, _ = advance_task(RUNNING, None, NOW + timedelta(minutes=5), RETRIES)
    assert (task.phase, task.reason) == (TaskPhase.PENDING, "JobLost")
    assert "Job r-a-1 disappeared before it finished" in (task.message or "")


def test_a_retry_created_before_a_crash_is_adopted() -> None:
    waiting, _ = advance_task(RUNNING, failed_job(), NOW, RETRIES)
    second = ObservedJob("a", 2, "r-a-2", JobState.ACTIVE, start_time=NOW + timedelta(seconds=1))
    task, _ = advance_task(waiting, second, NOW + timedelta(seconds=2), RETRIES)
    assert (task.phase, task.attempts, task.job_name, task.next_attempt_at, task.reason) == (
        TaskPhase.RUNNING,
        2,
        "r-a-2",
        None,
        None,
    )


def test_a_failed_job_waits_for_its_pods_exit_code_for_a_little_while() -> None:
    from baton.core.tasks import POD_DETAILS_GRACE, details_due

    early = failed_job(exit_code=None, reason="BackoffLimitExceeded", pod_pending=True)
    assert details_due(early, NOW) == NOW + POD_DETAILS_GRACE
    assert advance_task(RUNNING, early, NOW, RETRIES) == (RUNNING, False)  # not judged yet
    complete = failed_job(exit_code=3, message="boom")
    task, _ = advance_task(RUNNING, complete, NOW + timedelta(seconds=1), RETRIES)
    assert (task.phase, task.exit_code) == (TaskPhase.PENDING, 3)
    late, _ = advance_task(RUNNING, early, NOW + POD_DETAILS_GRACE, RETRIES)  # the Pod never told
    assert (late.phase, late.reason, late.exit_code) == (TaskPhase.PENDING, "Failed", None)
