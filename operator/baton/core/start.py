"""Starting a run: resolve and freeze its spec and params, or fail it at once when it cannot run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baton.api.common import Condition, ConditionStatus
from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunSpec, PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core.dag import dag_of
from baton.core.events import Event, EventType
from baton.core.params import resolve_params
from baton.core.references import for_each_indices, result_readers
from baton.core.reuse import RetryError, plan_retry, reused_message
from baton.core.state import RunMeta
from baton.core.status import format_time, invalid_condition, run_condition
from baton.core.validation import (
    check_pipeline_spec,
    check_run_spec,
    join_errors,
    pipeline_errors,
    run_errors,
)
from baton.core.workspaces import ClaimToAdopt, ClaimToCreate, claim_actions, run_workspaces

INVALID = "Invalid"
PIPELINE_NOT_FOUND = "PipelineNotFound"


@dataclass(frozen=True, slots=True)
class RunStart:
    status: PipelineRunStatus
    """Pending with the frozen spec and params (plan next, in the same reconcile), or Failed."""
    events: tuple[Event, ...] = ()
    claims: tuple[ClaimToCreate | ClaimToAdopt, ...] = ()
    """Claims to create (or, for a retry, adopt) before the first Job; see ``baton.core.workspaces``."""
    waiting: bool = False
    """Not started: its Pipeline does not exist yet (``waiting_for_pipeline``)."""

    @property
    def started(self) -> bool:
        return self.status.phase is RunPhase.PENDING and not self.waiting


WAITING_FOR_PIPELINE = "WaitingForPipeline"


def waiting_for_pipeline(run: RunMeta, pipeline: str, until: datetime, now: datetime) -> RunStart:
    """A run whose Pipeline is not there yet (GitOps tools may apply the run first): Pending, saying what it
    waits for and until when, so that it is not a blank row meanwhile. It fails with PipelineNotFound then."""
    message = (
        f'waiting for pipeline "{pipeline}" to appear in namespace "{run.namespace}"; the run fails if '
        f"it has not by {format_time(until)}"
    )
    return RunStart(waiting_status(run, pipeline, WAITING_FOR_PIPELINE, message, now), waiting=True)


def waiting_status(
    run: RunMeta, pipeline: str, reason: str, message: str, now: datetime
) -> PipelineRunStatus:
    """Pending and not started (nothing frozen): waiting for its Pipeline, or for its turn (Queued)."""
    condition = Condition(
        type="Succeeded",
        status=ConditionStatus.UNKNOWN,
        reason=reason,
        message=message,
        last_transition_time=format_time(now),
        observed_generation=run.generation,
    )
    return PipelineRunStatus(
        phase=RunPhase.PENDING, pipeline=pipeline, observed_generation=run.generation, conditions=[condition]
    )


def has_frozen_spec(raw_status: Mapping[str, Any]) -> bool:
    """Whether a run's stored status holds the spec it froze at its start (it really started)."""
    return bool(raw_status.get("pipelineSpec") or raw_status.get("compressedPipelineSpec"))


def not_started(raw_status: Mapping[str, Any]) -> bool:
    """Whether a run's stored status is from before its start: none yet, waiting for its Pipeline, queued."""
    phase = raw_status.get("phase")
    return not phase or (phase == RunPhase.PENDING.value and not has_frozen_spec(raw_status))


def start_run(
    run: RunMeta,
    run_spec: Mapping[str, Any] | PipelineRunSpec,
    pipeline_spec: Mapping[str, Any] | PipelineSpec | None,
    now: datetime,
    *,
    retry_of: PipelineRunStatus | None = None,
) -> RunStart:
    """The first status of a run.

    ``pipeline_spec`` is the spec of the Pipeline named by ``run_spec.pipelineRef`` as the shell read it,
    or None when there is no such Pipeline (ignored for a run with an inline ``pipelineSpec``). A run
    that cannot run (invalid spec, unknown or missing params, no Pipeline) fails with reason Invalid (or
    PipelineNotFound), the same message the Pipeline's Ready condition shows, and a Warning Event; no
    Job is ever created for it.

    For a retry (``run_spec.retryOf``), ``retry_of`` is the status of the run it names, as the shell
    read it (None when there is no such run); see ``baton.core.reuse``.
    """
    if isinstance(run_spec, PipelineRunSpec):
        parsed_run = run_spec
    else:
        checked, errors = check_run_spec(run_spec)
        if checked is None:
            return _failed(run, None, INVALID, join_errors(errors), now)
        parsed_run = checked
    if parsed_run.retry_of is not None:
        return _start_retry(run, parsed_run, retry_of, now)
    pipeline = parsed_run.pipeline_ref.name if parsed_run.pipeline_ref else None
    if parsed_run.pipeline_spec is not None:
        spec: PipelineSpec | None = parsed_run.pipeline_spec
        errors = pipeline_errors(parsed_run.pipeline_spec)
    elif pipeline_spec is None:
        message = f'pipeline "{pipeline}" not found in namespace "{run.namespace}"'
        return _failed(run, pipeline, PIPELINE_NOT_FOUND, message, now)
    elif isinstance(pipeline_spec, PipelineSpec):
        spec, errors = pipeline_spec, pipeline_errors(pipeline_spec)
    else:
        spec, errors = check_pipeline_spec(pipeline_spec)
    if spec is None or errors:
        return _failed(run, pipeline, INVALID, join_errors(errors), now)
    errors = run_errors(spec, parsed_run.params, run.name)
    if errors:
        return _failed(run, pipeline, INVALID, join_errors(errors), now)
    params, _ = resolve_params(spec, parsed_run.params)
    dag_of(spec)  # built now, while validating, so the first plan finds it (and these) cached
    result_readers(spec)
    for_each_indices(spec)
    tasks = [TaskStatus(name=task.name, phase=TaskPhase.PENDING) for task in spec.all_tasks()]
    return _with_claims(run, RunStart(_pending(run, pipeline, spec, params, tasks, now, None)))


def _start_retry(
    run: RunMeta, run_spec: PipelineRunSpec, old: PipelineRunStatus | None, now: datetime
) -> RunStart:
    assert run_spec.retry_of is not None
    retry = plan_retry(run_spec.retry_of, old, run_spec.retry_from, run.namespace)
    if isinstance(retry, RetryError):
        pipeline = old.pipeline if old is not None else None
        return _failed(run, pipeline, retry.reason, retry.message, now)
    errors = run_errors(retry.spec, retry.params, run.name)
    if errors:
        return _failed(run, retry.pipeline, INVALID, join_errors(errors), now)
    status = _pending(run, retry.pipeline, retry.spec, retry.params, retry.tasks, now, old)
    return _with_claims(
        run, RunStart(status, (Event(EventType.NORMAL, "RetryStarted", reused_message(retry)),))
    )


def _with_claims(run: RunMeta, start: RunStart) -> RunStart:
    status = start.status
    if not status.workspaces:
        return start
    assert status.pipeline_spec is not None
    claims = claim_actions(status.pipeline_spec, run, status.pipeline, status.workspaces)
    return RunStart(status, start.events, tuple(claims))


def _pending(
    run: RunMeta,
    pipeline: str | None,
    spec: PipelineSpec,
    params: dict[str, str],
    tasks: list[TaskStatus],
    now: datetime,
    retried: PipelineRunStatus | None,
) -> PipelineRunStatus:
    finished = sum(1 for task in tasks if task.phase.finished)
    return PipelineRunStatus(
        phase=RunPhase.PENDING,
        pipeline=pipeline,
        start_time=format_time(now),
        progress=f"{finished}/{len(tasks)}",
        observed_generation=run.generation,
        conditions=[run_condition(RunPhase.PENDING, tasks, run.generation, now)],
        tasks=tasks,
        params=params,
        pipeline_spec=spec,
        workspaces=run_workspaces(spec, run.name, retried),
    )


def invalid_start(run: RunMeta, pipeline: str | None, message: str, now: datetime) -> RunStart:
    """A run that must not start (a sub-pipeline that runs itself): Failed, reason Invalid, no Job."""
    return _failed(run, pipeline, INVALID, message, now)


def ended_at_start(
    run: RunMeta, pipeline: str | None, phase: RunPhase, reason: str, message: str, now: datetime
) -> PipelineRunStatus:
    """The status of a run that ends the moment it would start (invalid, cancelled while it waited)."""
    return PipelineRunStatus(
        phase=phase,
        pipeline=pipeline,
        start_time=format_time(now),
        completion_time=format_time(now),
        duration="0s",
        observed_generation=run.generation,
        conditions=[invalid_condition(reason, message, run.generation, now)],
    )


def _failed(run: RunMeta, pipeline: str | None, reason: str, message: str, now: datetime) -> RunStart:
    status = ended_at_start(run, pipeline, RunPhase.FAILED, reason, message, now)
    condition = status.conditions[0]
    return RunStart(status, (Event(EventType.WARNING, reason, condition.message),))
