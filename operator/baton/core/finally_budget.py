"""The finally tasks' budget: when it begins (the planner's part), and, for `baton lint`, finally tasks that
cannot finish within it.

The budget (``finallyTimeoutSeconds``, 600 s when not set) bounds all finally tasks together, counted from
when the other tasks ended. A finally task may take up to its timeoutSeconds (its own, else taskDefaults')
per attempt, times its attempts (retries.limit + 1); finally tasks that depend on each other run one after
another, so the longest such chain is what must fit. Waits between retries are not counted: this is a
floor, not a forecast.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from baton.api.pipeline import PipelineSpec
from baton.core.retry import max_attempts, retry_policy
from baton.core.status import format_time
from baton.core.steering import FINALLY_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from baton.core.plan import _Pass


def finally_budget_notes(spec: PipelineSpec, budget: int | None = None, *, whose: str = "") -> list[str]:
    """Notes on ``spec``'s finally tasks against ``budget`` (a run's own; else the Pipeline's, else the
    default); ``whose`` names where a run's budget comes from, for the message."""
    limit = budget or spec.finally_timeout_seconds or FINALLY_TIMEOUT_SECONDS
    if not spec.finally_:
        if spec.finally_timeout_seconds is None or budget is not None:
            return []
        return ["finallyTimeoutSeconds is set but the Pipeline has no finally tasks: it bounds nothing"]
    defaults = spec.task_defaults
    worst: dict[str, tuple[int, list[str]]] = {}  # task → longest chain ending with it: seconds, names
    for task in spec.finally_:  # validation keeps dependsOn among finally tasks acyclic and in order
        timeout = task.timeout_seconds or (defaults.timeout_seconds if defaults else None)
        if timeout is None:
            worst[task.name] = (0, [task.name])
            continue
        own = timeout * max_attempts(retry_policy(task, defaults))
        before = max((worst[d] for d in task.depends_on if d in worst), default=(0, []))
        worst[task.name] = (before[0] + own, [*before[1], task.name])
    seconds, chain = max(worst.values(), key=lambda found: found[0])
    if seconds <= limit:
        return []
    named = " → ".join(f'"{name}"' for name in chain)
    what = f"finally task {named}" if len(chain) == 1 else f"finally tasks {named}"
    source = whose or ("finallyTimeoutSeconds" if spec.finally_timeout_seconds else "the default")
    return [
        f"{what} may take up to {seconds}s (timeoutSeconds, its own or taskDefaults', times attempts), "
        f"longer than the finally tasks' budget ({limit}s, {source}): it would be stopped first, with "
        "reason DeadlineExceeded; raise finallyTimeoutSeconds"
    ]


def begin_finally(work: _Pass) -> None:
    """Start the finally tasks' budget once every other task has ended (or was stopped), and wake up when
    it ends. Looked at from the last task back: while tasks run, an unfinished one is found at once."""
    steering, finally_from = work.steering, work.dag.finally_from
    work.finally_start_time = work.run.status.finally_start_time
    if finally_from == len(work.tasks):
        return
    if work.finally_start_time is None:
        if any(not work.tasks[i].phase.finished for i in range(finally_from - 1, -1, -1)):
            return
        work.finally_start_time = format_time(work.now)
        work.wake(work.now + timedelta(seconds=steering.finally_timeout_seconds))
    elif steering.finally_deadline is not None and not steering.finally_expired:
        work.wake(steering.finally_deadline)
