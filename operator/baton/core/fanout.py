"""The planner's part for forEach tasks: expanding one, and moving its instances along.

These are the steps of ``baton.core.plan`` for a task with forEach, kept apart so that the planner reads as
one story. They follow the planner's rules: level-triggered (instances are matched to Jobs by task and
instance labels), one pass to a fixed point, and a forEach task is decided where its place in the
topological order is, so that whatever follows from its end is decided in the same pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.foreach import (
    MAX_RECORDED_RESULTS,
    expand,
    instance_name,
    over_budget,
    recorded_bytes,
    resolve_items,
    summarize_instances,
)
from baton.core.observed import ObservedJob
from baton.core.status import format_time, parse_time
from baton.core.tasks import advance_task, give_up, skip_task, waiting_for_retry

if TYPE_CHECKING:
    from baton.core.plan import _Pass


def instance_attempts_seed(work: _Pass, index: int, instance: int) -> str:
    return f"{work.run.meta.uid}/{instance_name(work.run.spec.task_at(index).name, instance)}"


def observe_instances(
    work: _Pass, index: int, task: TaskStatus, jobs: Mapping[int, ObservedJob]
) -> TaskStatus:
    """Fold the observed Jobs into the running instances of an expanded forEach task (and stop them when
    the run stops)."""
    attempts = work.attempts(index)
    stop = work.steering.stop(work.dag.is_finally(index))
    instances = task.instances
    changed: list[InstanceStatus] | None = None
    budget: int | None = None
    advance = advance_task if work.memo is None else work.memo.advance
    for k, instance in enumerate(instances):
        phase = instance.phase
        if phase is not TaskPhase.RUNNING and not (phase is TaskPhase.PENDING and k in jobs):
            continue
        mine = replace(attempts, seed=instance_attempts_seed(work, index, k))
        job = jobs.get(k)
        new, delete = advance(instance, job, work.now, mine, work.observing_since)
        if delete and new.job_name:
            work.deletes.append(new.job_name)
        if new.phase is TaskPhase.SUCCEEDED and new.results and instance.phase is not TaskPhase.SUCCEEDED:
            if budget is None:
                budget = recorded_bytes(instances)
            if budget + recorded_bytes([new]) > MAX_RECORDED_RESULTS:
                new = over_budget(new, budget, task.name)
            else:
                budget += recorded_bytes([new])
        if new.phase is TaskPhase.RUNNING:
            if stop is not None:
                new = stop.end(new, work.now)
                if new.job_name:
                    work.deletes.append(new.job_name)
            else:
                work.watch_running(new, job, mine)
        if new is not instance:
            if changed is None:
                changed = list(instances)
            changed[k] = new
    return summarize_instances(task, changed) if changed is not None else task


def decide_instances(work: _Pass, index: int, task: TaskStatus) -> TaskStatus:
    """Skip, hold or ready the instances of an expanded forEach task that are not running."""
    steering, now = work.steering, work.now
    is_finally = work.dag.is_finally(index)
    stop = steering.stop(is_finally)
    rule = work.rule(index, is_finally)
    held = steering.holds_back(rule, is_finally, work.failed_for_good)
    instances = task.instances
    changed: list[InstanceStatus] | None = None
    for k, instance in enumerate(instances):
        if instance.phase is not TaskPhase.PENDING:
            continue
        new = instance
        if waiting_for_retry(instance):
            if stop is not None:
                new = stop.end(instance, now)
            elif held is not None:
                new = give_up(instance, held, now)
            else:
                work.any_waiting = True
                assert instance.next_attempt_at is not None
                at = parse_time(instance.next_attempt_at)
                if at > now:
                    work.wake(at)
                elif not steering.suspend:
                    work.ready_instances.append((index, k))
        elif stop is not None:
            new = stop.end(instance, now)
        elif held is not None:
            new = skip_task(instance, "FailFast", f"not started: {held}")
        elif not steering.suspend:
            work.ready_instances.append((index, k))
        if new is not instance:
            if changed is None:
                changed = list(instances)
            changed[k] = new
    return summarize_instances(task, changed) if changed is not None else task


def start_for_each(work: _Pass, index: int, task: TaskStatus) -> TaskStatus:
    """A forEach task whose dependencies are met: resolved and expanded, then its instances decided."""
    spec_task = work.run.spec.task_at(index)
    items = resolve_items(spec_task, work.run.params, work.tasks, work.dag.index)
    now = format_time(work.now)
    if isinstance(items, tuple):
        reason, message = items
        return task.model_copy(
            update={
                "phase": TaskPhase.FAILED,
                "reason": reason,
                "message": f"{message} (not retried)",
                "start_time": now,
                "completion_time": now,
            }
        )
    expanded = expand(task, items, now)
    if expanded.phase is TaskPhase.RUNNING:
        # Jobs of instances may exist already (the status that recorded the expansion was lost in a
        # crash): adopt them, as for a task, rather than create them again.
        adopted = observe_instances(work, index, expanded, work.instance_jobs.get(index, {}))
        return decide_instances(work, index, adopted)
    return expanded


def instance_failed_for_good(task: TaskStatus) -> bool:
    return task.phase is TaskPhase.RUNNING and any(i.phase is TaskPhase.FAILED for i in task.instances)
