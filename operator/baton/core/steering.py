"""What the run as a whole asks of its tasks right now: stop (cancel, timeout), hold (suspend), or start
nothing new (FailFast). Derived from the frozen spec, the run's spec and the clock; nothing is
remembered, so a restarted operator steers the same way.

- Timeout: once ``startTime + timeoutSeconds`` (the run's own, else the Pipeline's) has passed, running
  tasks are stopped (their Jobs deleted; phase Cancelled, reason RunTimeout), tasks waiting for a retry
  fail, the rest is Skipped, finally tasks included, and the run ends Failed with reason Timeout.
  (startTime has second precision, as every Kubernetes time: the deadline may come up to 1 s early.)
- Cancel: running tasks are stopped (Cancelled), tasks not started are Skipped, both with reason
  Cancelled; finally tasks run afterwards unless the cancel says ``runFinally: false``.
- Suspend: no task starts (nor a retry); running ones finish. The timeout keeps counting.
- FailFast: after a task failed for good, no task starts except finally tasks and `when: always` ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from baton.api.pipeline import FailurePolicy, TriggerRule
from baton.core import reasons
from baton.core.state import RunState
from baton.core.status import parse_time


@dataclass(frozen=True, slots=True)
class Stop:
    reason: str
    message: str
    """What happened to the run, e.g. "the run was cancelled"."""


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

    @classmethod
    def of(cls, run: RunState, now: datetime) -> Steering:
        control, spec = run.control, run.spec
        timeout = control.timeout_seconds or spec.timeout_seconds
        deadline = None
        if timeout is not None and run.status.start_time:
            deadline = parse_time(run.status.start_time) + timedelta(seconds=timeout)
        return cls(
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
        if self.timed_out:
            return Stop(reasons.RUN_TIMEOUT, f"the run's timeout of {self.timeout_seconds}s passed")
        if self.cancel and (self.cancel_finally or not is_finally):
            why = f": {self.cancel_message}" if self.cancel_message else ""
            return Stop(reasons.CANCELLED, f"the run was cancelled{why}")
        return None

    def note(self) -> str | None:
        """What leads the run's message: why it was cancelled or timed out."""
        if self.timed_out:
            return f"timed out: the run's timeout of {self.timeout_seconds}s passed"
        if self.cancel:
            return "cancelled" + (f": {self.cancel_message}" if self.cancel_message else "")
        return None

    def holds_back(self, rule: TriggerRule, is_finally: bool, failed: str | None) -> str | None:
        """Why FailFast keeps a task from starting (None when it does not): ``failed`` names a task that
        failed for good."""
        if not self.fail_fast or failed is None or is_finally or rule is TriggerRule.ALWAYS:
            return None
        return f'task "{failed}" failed and failurePolicy is FailFast'
