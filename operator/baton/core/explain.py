"""Why a run ended as it did, from its status alone (``kubectl baton why RUN``): every failure, first
first, with the exit codes of its attempts and the last line of its kept tail, then the tasks it skipped
downstream; the tasks a timeout or a cancel stopped; the finally tasks' outcomes.

Works from what the run's status keeps, so it explains a failure after its Pods and Jobs are gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from baton.api.run import InstanceStatus, PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core import reasons
from baton.core.attempt_history import exit_codes, newest_tail
from baton.core.dag import Dag, dag_of
from baton.core.status import SUCCEEDED, ended_at, finally_outcomes, last_line, name_list

MAX_FAILURES_SHOWN = 10
_STOPS = {reasons.RUN_TIMEOUT: "the run's timeout", reasons.CANCELLED: "the cancel"}


def explain(name: str, status: PipelineRunStatus) -> list[str]:
    """Lines that explain run ``name``; the first says its phase and the reason of its condition."""
    phase = status.phase or RunPhase.PENDING
    condition = status.condition(SUCCEEDED)
    reason = condition.reason if condition else None
    took = f" after {status.duration}" if status.duration else ""
    head = f"pipelinerun {name}: {phase.value}" + (f" ({reason})" if reason and reason != phase.value else "")
    lines = [head + took]
    if condition and condition.message:
        lines.append(f"  {condition.message}")
    if status.pipeline_spec is None or not status.tasks:
        return lines
    dag = dag_of(status.pipeline_spec)
    tasks = status.tasks
    ordinary = tasks[: dag.finally_from]
    failed = sorted(
        (i for i, t in enumerate(ordinary) if t.phase is TaskPhase.FAILED and t.reason not in _STOPS),
        key=lambda i: (ended_at(tasks[i]), i),
    )
    explained: set[int] = set()
    for rank, index in enumerate(failed[:MAX_FAILURES_SHOWN]):
        lines += _failure("first failure: " if rank == 0 else "then: ", tasks[index])
        lines += _skipped_by(dag, tasks, index, explained)
    if len(failed) > MAX_FAILURES_SHOWN:
        lines.append(f"… and {len(failed) - MAX_FAILURES_SHOWN} more failed tasks")
    for stop, by in _STOPS.items():
        stopped = [t.name for t in ordinary if t.reason == stop and t.phase is not TaskPhase.SKIPPED]
        not_started = [t.name for t in ordinary if t.reason == stop and t.phase is TaskPhase.SKIPPED]
        if stopped:
            lines.append(f"stopped by {by}: {name_list(stopped)}")
        if not_started:
            lines.append(f"  not started because of it: {name_list(not_started)} ({len(not_started)})")
    finally_tasks = tasks[dag.finally_from :]
    if finally_tasks:
        lines.append(finally_outcomes(finally_tasks))
        for task in finally_tasks:
            if task.phase is TaskPhase.FAILED:
                lines += _failure("  ", task, indent="    ")
    if not failed and phase is RunPhase.SUCCEEDED:
        lines.append("nothing failed")
    return lines


def _failure(lead: str, task: TaskStatus, indent: str = "  ") -> list[str]:
    unit: InstanceStatus = task
    where = ""
    if task.items is not None:  # a forEach task: its first failed instance tells
        first = next((i for i in task.instances if i.phase is TaskPhase.FAILED), None)
        if first is not None:
            unit, where = first, f", first {first.name}"
    codes = exit_codes(unit)
    attempts = f", {unit.attempts} attempts" if unit.attempts > 1 else ""
    if "," in codes:
        outcome = f", exit codes {codes}"
    elif unit.exit_code is not None:
        outcome = f", exit code {unit.exit_code}"
    else:
        outcome = ""  # stopped, lost or never started: no process exit to tell
    lines = [
        f'{lead}task "{task.name}" {task.phase.value.lower()} ({task.reason or "Failed"}{where}{attempts})'
        + outcome
    ]
    kept = newest_tail(unit)
    if kept is not None and kept.tail:
        note = "" if kept.attempt == unit.attempts else f" (attempt {kept.attempt})"
        lines.append(f"{indent}last line{note}: {last_line(kept.tail)}")
    elif task.message:
        lines.append(f"{indent}{last_line(task.message)}")
    return lines


def _skipped_by(dag: Dag, tasks: Sequence[TaskStatus], root: int, explained: set[int]) -> list[str]:
    """The tasks downstream of ``root`` it kept from running (Skipped, through Skipped tasks), each
    named under the first failure that reaches it."""
    found: list[str] = []
    frontier = list(dag.children[root])
    seen = set(frontier)
    while frontier:
        index = frontier.pop(0)
        if index >= dag.finally_from or tasks[index].phase is not TaskPhase.SKIPPED:
            continue
        if index not in explained:
            explained.add(index)
            found.append(tasks[index].name)
        for child in dag.children[index]:
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return [f"  skipped because of it: {name_list(found)} ({len(found)})"] if found else []
