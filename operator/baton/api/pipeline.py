"""The Pipeline resource: a reusable DAG of tasks, each of which runs as one batch/v1 Job per attempt."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from baton.api.common import (
    LIST_ATOMIC,
    LIST_MAP_BY_NAME,
    LIST_SET,
    Condition,
    DnsLabel,
    DnsSubdomain,
    EnvVar,
    ObjectMeta,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    Toleration,
)

# Param names: letters, digits, "_" and "-", starting with a letter or "_" (no dots: `$(params.a.b)`).
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
PARAM_NAME_MAX = 63

ParamName = Annotated[str, StringConstraints(pattern=PARAM_NAME, max_length=PARAM_NAME_MAX)]
Image = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class ParamSpec(SpecModel):
    """A parameter of the Pipeline, referenced as `$(params.NAME)` in command, args and env values."""

    name: ParamName
    """Name of the parameter."""
    default: str | None = None
    """Value used when a run does not give one; without a default the parameter is required."""
    description: str | None = None
    """What the parameter means, for humans."""


class TaskDefaults(SpecModel):
    """Settings shared by all tasks; a task's own setting wins (env is merged by name)."""

    image: Image | None = None
    """Container image of tasks that name none."""
    service_account_name: DnsSubdomain | None = None
    """ServiceAccount of tasks that name none."""
    resources: ResourceRequirements | None = None
    """Resources of tasks that give none."""
    env: list[EnvVar] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Environment of every task; a task's variable of the same name wins."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node selector of tasks that give none."""
    tolerations: list[Toleration] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Tolerations of tasks that give none."""


class TaskSpec(SpecModel):
    """One step of the Pipeline: a container that runs to completion as a Job."""

    name: DnsLabel
    """Unique name of the task within the Pipeline (a DNS-1123 label)."""
    image: Image | None = None
    """Container image; taskDefaults.image when not set."""
    command: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Entrypoint; the image's ENTRYPOINT when empty. `$(params.NAME)` is substituted."""
    args: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Arguments to the entrypoint. `$(params.NAME)` is substituted."""
    env: list[EnvVar] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Environment variables, merged over taskDefaults.env by name."""
    working_dir: str | None = None
    """Working directory of the container."""
    resources: ResourceRequirements | None = None
    """Compute resources; taskDefaults.resources when not set."""
    depends_on: list[DnsLabel] = Field(default_factory=list, json_schema_extra=LIST_SET)
    """Tasks that must succeed before this one starts."""
    service_account_name: DnsSubdomain | None = None
    """ServiceAccount of the Pod; taskDefaults.serviceAccountName when not set."""
    automount_service_account_token: bool | None = None
    """Mount the ServiceAccount's API token into the Pod (off unless true: least privilege)."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node selector; taskDefaults.nodeSelector when empty."""
    tolerations: list[Toleration] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Tolerations; taskDefaults.tolerations when empty."""


class PipelineSpec(SpecModel):
    """The desired shape of a Pipeline: params, tasks and how many may run at once."""

    params: list[ParamSpec] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Parameters a run may (or, without a default, must) set."""
    tasks: list[TaskSpec] = Field(min_length=1, json_schema_extra=LIST_MAP_BY_NAME)
    """The tasks; dependsOn edges make them a DAG."""
    parallelism: int | None = Field(default=None, ge=1)
    """Maximum number of tasks running at once in one run; unlimited when not set."""
    task_defaults: TaskDefaults | None = None
    """Settings shared by all tasks."""


class PipelineStatus(StatusModel):
    """What the operator last observed of the Pipeline."""

    observed_generation: int | None = None
    """The .metadata.generation this status describes."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Ready: True (reason Valid) or False (reason Invalid, with the problems as message)."""
    task_count: int | None = None
    """Number of tasks."""
    last_run: str | None = None
    """Name of the most recently started run."""
    last_run_status: str | None = None
    """Phase of that run."""


class Pipeline(SpecModel):
    """A whole Pipeline object (used offline by `baton lint`; the operator reads spec and status)."""

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PipelineSpec
    status: PipelineStatus | None = None

    def display_name(self) -> str:
        return self.metadata.display_name()


def find_task(spec: PipelineSpec, name: str) -> TaskSpec | None:
    return next((task for task in spec.tasks if task.name == name), None)


def param_defaults(spec: PipelineSpec) -> dict[str, str]:
    return {param.name: param.default for param in spec.params if param.default is not None}


__all__ = [
    "ParamSpec",
    "Pipeline",
    "PipelineSpec",
    "PipelineStatus",
    "TaskDefaults",
    "TaskSpec",
    "find_task",
    "param_defaults",
]
