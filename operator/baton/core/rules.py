"""Trigger rules (`when`): may a task run, given the phases of its dependencies?

A task starts only once all its dependencies have ended, and then only if its rule holds. As soon as the
rule can no longer hold, the task is Skipped, so nothing waits forever for a start that cannot come.
"Failed" means the phase Failed: a dependency that was Skipped or Cancelled did not fail (though it did
not succeed either).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from baton.api.pipeline import TriggerRule
from baton.api.run import TaskPhase, TaskStatus


class Verdict(Enum):
    WAIT = "wait"
    """Dependencies are still running (or pending) and the rule may still hold."""
    RUN = "run"
    SKIP = "skip"
    """The rule can no longer hold."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """The phases of a task's dependencies, counted."""

    succeeded: int = 0
    failed: int = 0
    other: int = 0
    """Ended without succeeding or failing: Skipped or Cancelled."""
    unfinished: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.other + self.unfinished


def count_upstream(tasks: Iterable[TaskStatus]) -> Upstream:
    """The phases of ``tasks`` (a task's dependencies), counted."""
    succeeded = failed = other = unfinished = 0
    for task in tasks:
        phase = task.phase
        if phase is TaskPhase.SUCCEEDED:
            succeeded += 1
        elif phase is TaskPhase.FAILED:
            failed += 1
        elif phase is TaskPhase.SKIPPED or phase is TaskPhase.CANCELLED:
            other += 1
        else:
            unfinished += 1
    return Upstream(succeeded, failed, other, unfinished)


def judge(rule: TriggerRule, upstream: Upstream) -> Verdict:
    """The verdict of ``rule`` over ``upstream`` (see the module docstring)."""
    waiting = upstream.unfinished > 0
    if rule is TriggerRule.ALL_SUCCEEDED:
        if upstream.failed or upstream.other:
            return Verdict.SKIP
        return Verdict.WAIT if waiting else Verdict.RUN
    if rule in (TriggerRule.ALL_DONE, TriggerRule.ALWAYS):
        return Verdict.WAIT if waiting else Verdict.RUN
    if rule is TriggerRule.ANY_FAILED:
        if waiting:
            return Verdict.WAIT
        return Verdict.RUN if upstream.failed else Verdict.SKIP
    if rule is TriggerRule.ALL_FAILED:
        if upstream.succeeded or upstream.other:
            return Verdict.SKIP
        return Verdict.WAIT if waiting else Verdict.RUN
    if rule is TriggerRule.NONE_FAILED:
        if upstream.failed:
            return Verdict.SKIP
        return Verdict.WAIT if waiting else Verdict.RUN
    raise ValueError(f"unknown trigger rule {rule!r}")  # pragma: no cover - the enum is closed


def unmet_message(rule: TriggerRule, upstream: Upstream, names: str) -> str:
    """Why ``rule`` cannot hold, for the Skipped task's message; ``names`` lists the dependencies."""
    if rule is TriggerRule.ANY_FAILED:
        return f"when: anyFailed is not met: none of {names} failed"
    if rule is TriggerRule.ALL_FAILED:
        return f"when: allFailed is not met: not every one of {names} failed"
    if rule is TriggerRule.NONE_FAILED:
        return f"when: noneFailed is not met: {upstream.failed} of {names} failed"
    return f"when: {rule.value} is not met ({names})"
