"""The PipelineRun resource: one execution of a Pipeline; its status is the record of what ran."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from baton.api.common import (
    LIST_ATOMIC,
    Condition,
    DnsSubdomain,
    ObjectMeta,
    SpecModel,
    StatusModel,
    Timestamp,
)
from baton.api.pipeline import PipelineSpec


class RunPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def finished(self) -> bool:
        return self in (RunPhase.SUCCEEDED, RunPhase.FAILED)


class TaskPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"

    @property
    def finished(self) -> bool:
        return self in (TaskPhase.SUCCEEDED, TaskPhase.FAILED, TaskPhase.SKIPPED)


class PipelineRef(SpecModel):
    """Names a Pipeline in the run's namespace."""

    name: DnsSubdomain
    """Name of the Pipeline."""


class PipelineRunSpec(SpecModel):
    """What to run: a Pipeline by reference or inline, and the values of its params."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.pipelineRef) != has(self.pipelineSpec)",
                    "message": "set exactly one of pipelineRef and pipelineSpec",
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

    @model_validator(mode="after")
    def _exactly_one_pipeline(self) -> PipelineRunSpec:
        if (self.pipeline_ref is None) == (self.pipeline_spec is None):
            raise ValueError("set exactly one of pipelineRef and pipelineSpec")
        return self


class TaskStatus(StatusModel):
    """The state of one task of the run. Absent fields are left out to keep large runs small."""

    name: str
    """Name of the task."""
    phase: TaskPhase
    """Pending, Running, Succeeded, Failed or Skipped."""
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


class PipelineRunStatus(StatusModel):
    """The record of the run: the spec it froze, the params it resolved, and the state of every task."""

    phase: RunPhase | None = None
    """Pending, Running, Succeeded or Failed."""
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
