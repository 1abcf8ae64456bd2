"""The PipelineRun resource: one execution of a Pipeline; its status is the record of what ran."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from baton.api.common import (
    LIST_ATOMIC,
    LIST_SET,
    MAX_TIMEOUT_SECONDS,
    Condition,
    DnsLabel,
    DnsSubdomain,
    ObjectMeta,
    SpecModel,
    StatusModel,
    Timestamp,
)
from baton.api.datasets import CacheMode, ResolvedDataset
from baton.api.pipeline import PipelineSpec


class RunPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    """spec.suspend is set: nothing new starts; tasks that were running finish."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED)


FINISHED_PHASES = frozenset(phase.value for phase in RunPhase if phase.finished)
"""The phases of a run that has ended, as they are stored."""


class TaskPhase(StrEnum):
    PENDING = "Pending"
    """Not started yet, or waiting for its next attempt (then nextAttemptAt is set)."""
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    """Never started: its `when` rule could not be met, or the run was cancelled, timed out or failed
    fast (the reason says which)."""
    CANCELLED = "Cancelled"
    """Stopped while running: its Job was deleted because the run was cancelled or timed out."""

    @property
    def finished(self) -> bool:
        return self in _FINISHED_TASK_PHASES


_FINISHED_TASK_PHASES = frozenset(
    {TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED, TaskPhase.CANCELLED}
)


class PipelineRef(SpecModel):
    """Names a Pipeline in the run's namespace."""

    name: DnsSubdomain
    """Name of the Pipeline."""


class CancelRequest(SpecModel):
    """Cancels the run: running Jobs are deleted, tasks not started are Skipped, the run ends Cancelled."""

    run_finally: bool = True
    """Run the finally tasks after the cancel (the default); false stops and skips them too."""
    message: str | None = Field(default=None, max_length=256)
    """Why the run was cancelled, shown in its status and Events."""


class PipelineRunSpec(SpecModel):
    """What to run: a Pipeline by reference or inline, and the values of its params; or a retry of an
    earlier run. Also how the run is steered while it runs: timeout, suspend, cancel."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.pipelineRef), has(self.pipelineSpec), has(self.retryOf)]"
                    ".filter(x, x).size() == 1",
                    "message": "set exactly one of pipelineRef, pipelineSpec and retryOf",
                }
            ]
        }
    )

    pipeline_ref: PipelineRef | None = None
    """The Pipeline to run; its spec is frozen into status.pipelineSpec when the run starts."""
    pipeline_spec: PipelineSpec | None = None
    """An inline Pipeline spec, instead of pipelineRef."""
    params: dict[str, str] = Field(default_factory=dict)
    """Values of the Pipeline's params, by name."""
    retry_of: DnsSubdomain | None = None
    """Retry this finished run of the same namespace, instead of pipelineRef or pipelineSpec: its frozen
    spec and params are used again, tasks that succeeded in it are reused (not run again), the others
    run. The old run is left as it was."""
    retry_from: list[DnsLabel] = Field(default_factory=list, json_schema_extra=LIST_SET)
    """With retryOf: also run these tasks and everything downstream of them again, even if they
    succeeded."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """Longest time the run's tasks may take; overrides the Pipeline's timeoutSeconds."""
    finally_timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """The finally tasks' budget; overrides the Pipeline's finallyTimeoutSeconds."""
    suspend: bool = False
    """While true, no new task starts (running ones finish); set it back to false to resume."""
    cancel: CancelRequest | None = None
    """Set (even to {}) to cancel the run; `kubectl baton cancel RUN` sets it."""
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    """Delete the run this long after it finished; the Pipeline's ttlSecondsAfterFinished when not set."""
    cache: CacheMode = CacheMode.ENABLED
    """Disabled: run every task, even one the cache could serve (`kubectl baton run --no-cache`)."""

    @model_validator(mode="after")
    def _exactly_one_pipeline(self) -> PipelineRunSpec:
        given = [self.pipeline_ref, self.pipeline_spec, self.retry_of]
        if sum(source is not None for source in given) != 1:
            raise ValueError("set exactly one of pipelineRef, pipelineSpec and retryOf")
        if self.retry_of is not None and self.params:
            raise ValueError("a retry (retryOf) runs with the params of the run it retries: remove params")
        if self.retry_from and self.retry_of is None:
            raise ValueError("retryFrom needs retryOf: it names tasks of the run to retry")
        return self


class AttemptRecord(StatusModel):
    """How one attempt of a retried task ended."""

    attempt: int
    exit_code: int | None = None
    """Its container's exit code, when it ran to one (0: this attempt succeeded)."""
    reason: str | None = None
    """Why it failed (Failed, OOMKilled, DeadlineExceeded, JobLost…) or was stopped; none if it succeeded."""
    tail: str | None = None
    """The log tail (or termination message) of the latest failed attempt, while the task's own message
    no longer says it (a retry started since); at most 512 characters."""


class InstanceStatus(StatusModel):
    """The state of one attempt-bearing unit of a run: a task, or one instance of a forEach task.
    Absent fields are left out to keep large runs small."""

    name: str
    """Name of the task; for an instance, TASK[INDEX]."""
    phase: TaskPhase
    """Pending, Running, Succeeded, Failed, Skipped or Cancelled."""
    reason: str | None = None
    """One CamelCase word for why the task failed or waits for a retry (Failed, OOMKilled,
    DeadlineExceeded, PodEvicted, JobLost, RunTimeout, InvalidResults, InvalidItems, TooManyItems,
    ResultsTooLarge), was skipped (UpstreamFailed, WhenNotMet, FailFast, Cancelled, RunTimeout,
    ResultUnavailable), cancelled, succeeded without running (NoItems) or was reused (Reused)."""
    job_name: str | None = None
    """The Job of the latest attempt."""
    attempts: int = 0
    """Number of attempts started (each attempt is its own Job)."""
    start_time: Timestamp | None = None
    """When the latest attempt's Job was created."""
    completion_time: Timestamp | None = None
    """When the task finished."""
    exit_code: int | None = None
    """Exit code of a failed attempt's container."""
    message: str | None = None
    """Why the task failed, was skipped, or is waiting."""
    next_attempt_at: Timestamp | None = None
    """While the task waits to be retried: when its next attempt starts."""
    results: dict[str, str] = Field(default_factory=dict)
    """The results the task reported when it succeeded, by name, each as compact JSON text."""
    item: str | None = None
    """For an instance of a forEach task: its item, as text (cut to 256 characters)."""
    pokes: int = 0
    """For a sensor task: the pokes answered so far (a poke is one attempt; not-ready ones use no retry)."""
    last_answer: str | None = None
    """For a sensor task: what the last poke said ("ready", or "not ready: exit code 1: …")."""
    sensing_since: Timestamp | None = None
    """For a sensor task: when its first poke started (its timeoutSeconds counts from here)."""
    attempt_history: list[AttemptRecord] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Once an attempt failed and was retried: how each attempt ended, oldest first (the last 10)."""


class TaskStatus(InstanceStatus):
    """The state of one task of the run."""

    reused_from: str | None = None
    """The run whose result this task reuses (a retry run does not run tasks that succeeded before)."""
    items: int | None = None
    """For a forEach task, once its list is known: the number of items (and of instances)."""
    instances: list[InstanceStatus] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """For a forEach task: the state of each instance, in item order (from 100 instances on, those that
    succeeded at their first attempt with nothing to say are in succeededInstances instead)."""
    succeeded_instances: str | None = None
    """For a forEach task of 100 or more instances: the indices of the instances that succeeded at their
    first attempt, as ranges ("0-4999,5001-9999"); the other instances keep their entries."""
    inputs: list[ResolvedDataset] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The datasets the task read, as resolved when it started (for a forEach task: its instances', at
    most 100); a quality check's dataset first."""
    outputs: list[ResolvedDataset] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The datasets the task wrote (or was to write), resolved as inputs are."""
    cache_key: str | None = None
    """For a task with cache: the key of its work (see `cache` on the task)."""
    cached_from: str | None = None
    """The run whose succeeded attempt stood in for this task (reason Cached): no Job ran."""


class RunResult(StatusModel):
    """A result of the run (spec.results of its Pipeline), with its references substituted."""

    name: str
    """Name of the result."""
    value: str
    """Its value."""


class WorkspaceStatus(StatusModel):
    """The claim behind one workspace of the run."""

    name: str
    """Name of the workspace."""
    claim_name: str
    """The PersistentVolumeClaim mounted for it."""
    node: str | None = None
    """For a ReadWriteOnce claim: the node it was first mounted on, where the run's later tasks that
    mount it are kept."""


class PipelineRunStatus(StatusModel):
    """The record of the run: the spec it froze, the params it resolved, and the state of every task."""

    phase: RunPhase | None = None
    """Pending, Running, Suspended, Succeeded, Failed or Cancelled."""
    pipeline: str | None = None
    """Name of the Pipeline the run was started from (none for an inline spec)."""
    start_time: Timestamp | None = None
    """When the run started."""
    completion_time: Timestamp | None = None
    """When the run finished."""
    duration: str | None = None
    """How long the finished run took, e.g. 1m23s."""
    progress: str | None = None
    """Finished tasks out of all tasks, e.g. 3/7."""
    observed_generation: int | None = None
    """The .metadata.generation this status describes."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Succeeded: Unknown while pending or running, then True or False (KEP-1623)."""
    tasks: list[TaskStatus] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """State of every task, in the order of the spec."""
    params: dict[str, str] = Field(default_factory=dict)
    """The params the run uses: given values merged over defaults."""
    pipeline_spec: PipelineSpec | None = None
    """The Pipeline spec frozen when the run started; edits to the Pipeline do not change the run."""
    results: list[RunResult] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The run's results (spec.results of its Pipeline), recorded when it ends; a result whose task did
    not succeed is left out."""
    workspaces: list[WorkspaceStatus] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The claims the run mounts, by workspace."""
    finally_start_time: Timestamp | None = None
    """When the finally tasks' budget began: every other task had ended or been stopped."""
    compressed_tasks: str | None = None
    """tasks as base64 gzip JSON, used instead of tasks when the status would be too large."""
    compressed_pipeline_spec: str | None = None
    """pipelineSpec as base64 gzip JSON, used instead of pipelineSpec when the status would be too large."""

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


class PipelineRun(SpecModel):
    """A whole PipelineRun object (used offline by `baton lint`)."""

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PipelineRunSpec
    status: PipelineRunStatus | None = None

    def display_name(self) -> str:
        return self.metadata.display_name()
