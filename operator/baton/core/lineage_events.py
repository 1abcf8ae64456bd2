"""OpenLineage run events of a run's status transition, as plain values (the shell builds the client's
objects from them, off the event loop).

One OpenLineage run per task attempt (a forEach task is one run for all its instances): START when the
attempt's Job is created, then COMPLETE (it succeeded), FAIL (it failed, whether or not it is retried) or
ABORT (it was cancelled). Tasks that did not run in this run (reused by a retry, served from the cache)
emit nothing; a sensor emits for its first poke and its answer, not for every poke. The job is named
`NAMESPACE.PIPELINE.TASK`, its parent run is the PipelineRun (`NAMESPACE.PIPELINE`, the run's uid).
Run ids are UUIDs derived from (run uid, task, attempt), so START and its end share one.

Dataset names follow the OpenLineage naming spec: the URI's scheme and authority are the namespace, the
rest the name (`s3://bucket/a/b` → `s3://bucket`, `a/b`; `postgres://host:5432/db.schema.table` →
`postgres://host:5432`, `db.schema.table`; `file:///data/x` → `file`, `/data/x`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from baton.api.datasets import CheckSeverity, ResolvedDataset
from baton.api.run import PipelineRunStatus, TaskPhase, TaskStatus
from baton.core.gates import check_passed, is_verdict
from baton.core.lineage import NOT_NEW, task_pairs
from baton.core.state import RunMeta
from baton.core.status import last_line

START, COMPLETE, FAIL, ABORT = "START", "COMPLETE", "FAIL", "ABORT"


@dataclass(frozen=True, slots=True)
class LineageEvent:
    event_type: str
    time: str
    namespace: str
    pipeline: str
    run: str
    run_uid: str
    task: str
    attempt: int
    inputs: tuple[ResolvedDataset, ...] = ()
    outputs: tuple[ResolvedDataset, ...] = ()
    message: str | None = None
    """Why the attempt failed (FAIL, ABORT)."""
    check: tuple[CheckSeverity, bool] | None = None
    """For a quality check that ended: its severity and whether it passed."""

    @property
    def job_name(self) -> str:
        return f"{self.namespace}.{self.pipeline}.{self.task}"

    @property
    def parent_job_name(self) -> str:
        return f"{self.namespace}.{self.pipeline}"

    @property
    def run_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"baton:{self.run_uid}/{self.task}/{self.attempt}"))

    @property
    def parent_run_id(self) -> str:
        try:
            return str(uuid.UUID(self.run_uid))
        except ValueError:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"baton:{self.run_uid}"))


def dataset_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of a dataset URI by the OpenLineage naming spec (see the module docstring)."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return "file", uri
    if parts.scheme == "file":
        return "file", parts.path or uri
    if not parts.netloc:
        return parts.scheme, uri.split(":", 1)[1]
    name = parts.path.lstrip("/")
    if parts.query:
        name += f"?{parts.query}"
    return f"{parts.scheme}://{parts.netloc}", name or "/"


def lineage_events(
    before: PipelineRunStatus | None, after: PipelineRunStatus, meta: RunMeta
) -> list[LineageEvent]:
    """The events of the task transitions from ``before`` to ``after`` (in task order)."""
    spec = after.pipeline_spec
    if spec is None or not after.tasks:
        return []
    events: list[LineageEvent] = []
    for index, previous, new in task_pairs(before, after):
        if previous is new or new.reason in NOT_NEW:
            continue
        check = spec.task_at(index).check
        events += _task_events(previous, new, meta, after.pipeline or "", check.severity if check else None)
    return events


def _task_events(
    old: TaskStatus | None, new: TaskStatus, meta: RunMeta, pipeline: str, severity: CheckSeverity | None
) -> list[LineageEvent]:
    old_attempts = old.attempts if old is not None else 0
    old_phase = old.phase if old is not None else TaskPhase.PENDING
    fan_out = new.items is not None
    # A forEach task is one OpenLineage run for all its instances, a sensor one for all its pokes.
    attempt = 1 if fan_out or new.pokes else max(new.attempts, 1)

    def event(kind: str, time: str | None, at: int, message: str | None = None) -> LineageEvent:
        verdict = kind == COMPLETE or (kind == FAIL and is_verdict(new))  # a timeout is no answer
        passed = (severity, check_passed(new)) if severity is not None and verdict else None
        return LineageEvent(
            kind,
            time or "",
            meta.namespace,
            pipeline,
            meta.name,
            meta.uid,
            new.name,
            at,
            tuple(new.inputs),
            tuple(new.outputs),
            message,
            passed,
        )

    found: list[LineageEvent] = []
    started = new.attempts > old_attempts if not fan_out else old_phase is TaskPhase.PENDING
    if new.pokes and not new.phase.finished:
        return []  # a sensor between pokes: its START came with the first poke, its end comes with the answer
    if started and new.phase is not TaskPhase.PENDING and not new.pokes:
        if old_phase is TaskPhase.RUNNING and not fan_out:  # the previous attempt ended in between
            found.append(event(FAIL, new.start_time, old_attempts, "failed; retried"))
        found.append(event(START, new.start_time, attempt))
    if new.phase is old_phase and not started:
        return found
    if old is not None and old.phase is TaskPhase.PENDING and old.next_attempt_at and not started:
        return found  # its attempt's FAIL went out when it began to wait; a cancel now ends no attempt
    why = last_line(new.message or "") or new.reason or None
    if new.phase is TaskPhase.SUCCEEDED:
        found.append(event(COMPLETE, new.completion_time, attempt))
    elif new.phase is TaskPhase.FAILED and (new.attempts or fan_out):
        found.append(event(FAIL, new.completion_time, attempt, why))
    elif new.phase is TaskPhase.CANCELLED:
        found.append(event(ABORT, new.completion_time, attempt, why))
    elif new.phase is TaskPhase.PENDING and new.next_attempt_at and old_phase is TaskPhase.RUNNING:
        found.append(event(FAIL, new.completion_time or new.start_time, old_attempts, why))
    return found
