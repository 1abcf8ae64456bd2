"""Retry from the point of failure: a new run (``spec.retryOf: OLD``) that reuses what OLD achieved.

The new run freezes OLD's spec and params again. Every task that succeeded in OLD is Succeeded from the
start, marked as reused (reason Reused, ``reusedFrom``: the run where it really ran), and gets no Job;
the failed, skipped and cancelled ones run again, and so do the finally tasks (they report on this run).
A forEach task that did not succeed runs again with the instances that succeeded reused, as long as its
list of items is the same.
``retryFrom`` names tasks to run again even if they succeeded, with everything downstream of them: a
sub-DAG re-executed. OLD is only read, so the history stays as it was. A sub-pipeline task whose child
run failed retries that child in the same way: its first child in the new run is a retry of the old one.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from baton.api.pipeline import PipelineSpec
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskPhase, TaskStatus
from baton.core import reasons
from baton.core.dag import dag_of
from baton.core.status import name_list

RETRY_OF_NOT_FOUND = "RetryOfNotFound"
RETRY_OF_NOT_FINISHED = "RetryOfNotFinished"
INVALID = "Invalid"


@dataclass(frozen=True, slots=True)
class Retry:
    """What a retry run starts from: the old run's frozen spec, params and Pipeline name, and the first
    state of every task."""

    spec: PipelineSpec
    params: dict[str, str]
    pipeline: str | None
    tasks: list[TaskStatus]
    reused: list[str]
    """Names of the reused tasks."""
    source: str
    reused_instances: dict[str, int] | None = None
    """forEach tasks that run again with some instances reused: how many, by task."""


@dataclass(frozen=True, slots=True)
class RetryError:
    reason: str
    message: str


def plan_retry(
    old_name: str,
    old: PipelineRunStatus | None,
    retry_from: Sequence[str],
    namespace: str,
) -> Retry | RetryError:
    """The start of a retry of run ``old_name`` (whose status is ``old``, None if there is no such run)."""
    if old is None:
        return RetryError(
            RETRY_OF_NOT_FOUND, f'run "{old_name}" to retry (retryOf) not found in namespace "{namespace}"'
        )
    if old.phase is None or not old.phase.finished:
        phase = old.phase.value if old.phase else "not started"
        return RetryError(
            RETRY_OF_NOT_FINISHED,
            f'run "{old_name}" has not finished (it is {phase}): retry it once it has ended, '
            f"or cancel it first (kubectl baton cancel {old_name})",
        )
    spec = old.pipeline_spec
    if spec is None:
        why = old.condition("Succeeded")
        detail = f" ({why.reason}: {why.message})" if why is not None else ""
        return RetryError(
            INVALID, f'run "{old_name}" never started{detail}: there is nothing to retry; start a new run'
        )
    dag = dag_of(spec)
    unknown = [name for name in retry_from if name not in dag.index]
    if unknown:
        hints = [_hint(name, dag.names) for name in unknown]
        listed = "; ".join(
            f'retryFrom names unknown task "{n}"{h}' for n, h in zip(unknown, hints, strict=True)
        )
        return RetryError(INVALID, listed)
    rerun = set(retry_from) | dag.downstream(retry_from)
    instances: dict[str, int] = {}
    recorded = {task.name: task for task in old.tasks}
    tasks: list[TaskStatus] = []
    reused: list[str] = []
    for index, name in enumerate(dag.names):
        before = recorded.get(name)
        if (
            before is not None
            and before.phase is TaskPhase.SUCCEEDED
            and name not in rerun
            and not dag.is_finally(index)
        ):
            source = before.reused_from or old_name
            tasks.append(
                TaskStatus(
                    name=name,
                    phase=TaskPhase.SUCCEEDED,
                    reason=reasons.REUSED,
                    message=f'reused: succeeded in run "{source}"',
                    job_name=before.job_name,
                    start_time=before.start_time,
                    completion_time=before.completion_time,
                    reused_from=source,
                    results=before.results,
                )
            )
            reused.append(name)
        else:
            carried = _reused_instances(before, old_name) if before is not None and name not in rerun else []
            child = _failed_child(spec, index, before) if name not in rerun else None
            tasks.append(TaskStatus(name=name, phase=TaskPhase.PENDING, instances=carried, job_name=child))
            if carried:
                instances[name] = len(carried)
    return Retry(spec, dict(old.params), old.pipeline, tasks, reused, old_name, instances)


def _failed_child(spec: PipelineSpec, index: int, before: TaskStatus | None) -> str | None:
    """For a sub-pipeline task whose child run failed or was cancelled: that child, which the retry's
    child retries (from its own point of failure) instead of running the sub-pipeline afresh."""
    if spec.task_at(index).pipeline_ref is None or before is None or not before.job_name:
        return None
    return before.job_name if before.phase in (TaskPhase.FAILED, TaskPhase.CANCELLED) else None


def _reused_instances(before: TaskStatus, old_name: str) -> list[InstanceStatus]:
    """The instances of a forEach task that succeeded in the retried run, marked reused. The retry
    expands the task again and keeps each of them whose item is still the same (``baton.core.foreach``),
    so only the failed, cancelled and skipped instances run again."""
    return [
        instance.model_copy(
            update={"reason": reasons.REUSED, "message": f'reused: succeeded in run "{old_name}"'}
        )
        for instance in before.instances
        if instance.phase is TaskPhase.SUCCEEDED
    ]


def reused_message(retry: Retry) -> str:
    parts = []
    if retry.reused:
        parts.append(f"{len(retry.reused)} task(s) that succeeded there ({name_list(retry.reused)})")
    parts += [f"{count} instance(s) of {task}" for task, count in (retry.reused_instances or {}).items()]
    if not parts:
        return f'retrying run "{retry.source}": no task is reused, all run again'
    return f'retrying run "{retry.source}": reused {" and ".join(parts)}'


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
