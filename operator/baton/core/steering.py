"""What the run as a whole asks of its tasks right now: stop (cancel, timeout, the finally budget), hold
(suspend), or start nothing new (FailFast). Derived from the frozen spec, the run's spec, the run's status
and the clock; nothing is remembered, so a restarted operator steers the same way.

- Timeout: once ``startTime + timeoutSeconds`` (the run's own, else the Pipeline's) has passed, running
  tasks are stopped (their Jobs deleted; phase Cancelled, reason RunTimeout), tasks waiting for a retry
  fail, the rest is Skipped, and the run ends Failed with reason Timeout. The finally tasks still run:
  the timeout bounds the other tasks only. (startTime has second precision, as every Kubernetes time:
  the deadline may come up to 1 s early.)
- Finally budget: ``finallyStartTime`` (when every other task had ended or been stopped) +
  ``finallyTimeoutSeconds`` (the run's, else the Pipeline's, else 600): then running finally tasks are
  stopped and those not started never start; both fail with reason DeadlineExceeded.
- Cancel: running tasks are stopped (Cancelled), tasks not started are Skipped, both with reason
  Cancelled; finally tasks run afterwards unless the cancel says ``runFinally: false``, which also stops
  finally tasks already running.
- Suspend: no task starts (nor a retry); running ones finish. The timeout keeps counting.
- FailFast: after a task failed for good, no task starts except finally tasks and `when: always` ones.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from baton.api.pipeline import FailureKind, FailurePolicy, TriggerRule
from baton.api.run import InstanceStatus, TaskPhase
from baton.core import reasons
from baton.core.state import RunState
from baton.core.status import parse_time
from baton.core.tasks import skip_task, stop_task, waiting_for_retry

FINALLY_TIMEOUT_SECONDS = 600
"""The finally tasks' budget when neither the run nor its Pipeline sets finallyTimeoutSeconds."""
T = TypeVar("T", bound=InstanceStatus)


@dataclass(frozen=True, slots=True)
class Stop:
    reason: str
    message: str
    """What happened to the run, e.g. "the run was cancelled"."""
    fails: bool = False
    """A task it stops or keeps from starting has failed (a finally task past its budget), rather than
    been cancelled or skipped."""

    def end(self, task: T, now: datetime) -> T:
        """The task this stop ends: a running one is stopped, one waiting for a retry does not get it
        (it failed, unless the run was cancelled), one not started is Skipped."""
        if waiting_for_retry(task):
            failed = self.reason != reasons.CANCELLED
            return stop_task(task, self.reason, f"not retried: {self.message}", now, failed=failed)
        if task.phase is TaskPhase.RUNNING:
            return stop_task(task, self.reason, f"stopped: {self.message}", now, failed=self.fails)
        if self.fails:  # a cleanup that never ran is no success: it fails, it is not merely skipped
            return stop_task(task, self.reason, f"not started: {self.message}", now, failed=True)
        return skip_task(task, self.reason, f"not started: {self.message}")


@dataclass(frozen=True, slots=True)
class Steering:
    timeout_seconds: int | None
    deadline: datetime | None
    timed_out: bool
    cancel: bool
    cancel_finally: bool
    cancel_message: str | None
    suspend: bool
    fail_fast: bool
    finally_timeout_seconds: int = FINALLY_TIMEOUT_SECONDS
    finally_deadline: datetime | None = None
    """When the finally tasks' budget ends (None until every other task has ended)."""
    finally_expired: bool = False

    @classmethod
    def of(cls, run: RunState, now: datetime) -> Steering:
        control, spec, status = run.control, run.spec, run.status
        timeout = control.timeout_seconds or spec.timeout_seconds
        deadline = None
        if timeout is not None and status.start_time:
            deadline = parse_time(status.start_time) + timedelta(seconds=timeout)
        budget = control.finally_timeout_seconds or spec.finally_timeout_seconds or FINALLY_TIMEOUT_SECONDS
        finally_deadline = None
        if status.finally_start_time:
            finally_deadline = parse_time(status.finally_start_time) + timedelta(seconds=budget)
        return cls(
            finally_timeout_seconds=budget,
            finally_deadline=finally_deadline,
            finally_expired=finally_deadline is not None and finally_deadline <= now,
            timeout_seconds=timeout,
            deadline=deadline,
            timed_out=deadline is not None and deadline <= now,
            cancel=control.cancel,
            cancel_finally=control.cancel and control.cancel_finally,
            cancel_message=control.cancel_message,
            suspend=control.suspend,
            fail_fast=spec.failure_policy is FailurePolicy.FAIL_FAST,
        )

    def stop(self, is_finally: bool) -> Stop | None:
        """Whether a task (a finally task if ``is_finally``) is to be stopped or skipped by the run."""
        if self.timed_out and not is_finally:
            return Stop(reasons.RUN_TIMEOUT, f"the run's timeout of {self.timeout_seconds}s passed")
        if self.cancel and (self.cancel_finally or not is_finally):
            why = f": {self.cancel_message}" if self.cancel_message else ""
            return Stop(reasons.CANCELLED, f"the run was cancelled{why}")
        if is_finally and self.finally_expired:
            budget = f"the finally tasks' budget of {self.finally_timeout_seconds}s passed"
            return Stop(FailureKind.DEADLINE_EXCEEDED.value, budget, fails=True)
        return None

    def note(self, stopped: Collection[str | None]) -> str | None:
        """What leads the run's message: why it was cancelled or timed out, told by what stopped its tasks
        (``stopped``: their reasons), not by the clock: a cancelled run whose deadline passes later was
        still cancelled."""
        if reasons.RUN_TIMEOUT in stopped:
            return f"timed out: the run's timeout of {self.timeout_seconds}s passed"
        if reasons.CANCELLED in stopped and self.cancel:
            return "cancelled" + (f": {self.cancel_message}" if self.cancel_message else "")
        return None

    def holds_back(self, rule: TriggerRule, is_finally: bool, failed: str | None) -> str | None:
        """Why FailFast keeps a task from starting (None when it does not): ``failed`` names a task that
        failed for good."""
        if not self.fail_fast or failed is None or is_finally or rule is TriggerRule.ALWAYS:
            return None
        return f'task "{failed}" failed and failurePolicy is FailFast'
