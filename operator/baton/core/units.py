"""Tasks and forEach instances as the units the planner moves along: matching observed Jobs to them,
and reading them back out of a pass (who waits for a retry, what changed for Events)."""

from __future__ import annotations

from collections.abc import Sequence

from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.dag import Dag
from baton.core.observed import ObservedJob
from baton.core.tasks import waiting_for_retry


def aligned_tasks(dag: Dag, recorded: list[TaskStatus]) -> list[TaskStatus]:
    """The recorded task states in spec order; tasks without a record are Pending."""
    if len(recorded) == len(dag) and [t.name for t in recorded] == list(dag.names):
        return recorded
    by_name = {task.name: task for task in recorded}
    return [by_name.get(name) or TaskStatus(name=name, phase=TaskPhase.PENDING) for name in dag.names]


def newest_jobs(
    dag: Dag, jobs: Sequence[ObservedJob]
) -> tuple[dict[int, ObservedJob], dict[int, dict[int, ObservedJob]]]:
    """The highest attempt observed per task index, and per instance of forEach tasks; Jobs of unknown
    tasks are ignored."""
    newest: dict[int, ObservedJob] = {}
    by_instance: dict[int, dict[int, ObservedJob]] = {}
    for job in jobs:
        i = dag.index.get(job.task)
        if i is None:
            continue
        if job.instance is not None:
            mine = by_instance.setdefault(i, {})
            k = job.instance
            if k not in mine or job.attempt > mine[k].attempt:
                mine[k] = job
        elif i not in newest or job.attempt > newest[i].attempt:
            newest[i] = job
    return newest, by_instance


def nodes_of(
    newest: dict[int, ObservedJob], by_instance: dict[int, dict[int, ObservedJob]]
) -> dict[int, str]:
    """Task index → a node one of its Pods was bound to."""
    nodes = {i: job.node for i, job in newest.items() if job.node}
    for i, jobs in by_instance.items():
        node = next((job.node for job in jobs.values() if job.node), None)
        if node is not None:
            nodes[i] = node
    return nodes


def waiting_units(tasks: list[TaskStatus]) -> list[str]:
    """Names of the tasks and instances waiting for a retry."""
    names = []
    for task in tasks:
        if task.items is not None:
            names += [i.name for i in task.instances if waiting_for_retry(i)]
        elif waiting_for_retry(task):
            names.append(task.name)
    return names


def unit_changes(old: TaskStatus, new: TaskStatus) -> list[tuple[InstanceStatus, InstanceStatus]]:
    """What changed, for Events: the task itself, and each instance of a forEach task that changed."""
    if new.items is None or not new.instances:
        return [(old, new)]
    pairs: list[tuple[InstanceStatus, InstanceStatus]] = []
    if old.phase is not new.phase and new.phase is not TaskPhase.RUNNING:
        pairs.append((old, new))  # the forEach task's own end (its start is its instances')
    previous = old.instances
    for k, instance in enumerate(new.instances):
        before = previous[k] if k < len(previous) else None
        if before is None:
            before = InstanceStatus(name=instance.name, phase=TaskPhase.PENDING)
        if before is not instance:
            pairs.append((before, instance))
    return pairs
