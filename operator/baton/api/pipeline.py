"""The Pipeline resource: a reusable DAG of tasks, each of which runs as one batch/v1 Job per attempt."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from baton.api.common import (
    LIST_ATOMIC,
    LIST_MAP_BY_NAME,
    LIST_SET,
    MAX_TIMEOUT_SECONDS,
    Condition,
    DnsLabel,
    DnsSubdomain,
    EnvVar,
    ObjectMeta,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    Timestamp,
    Toleration,
)
from baton.api.dataflow import ForEach, PipelineResult, TaskResult, Volume, Workspace, WorkspaceMount
from baton.api.datasets import CacheSpec, DatasetEntry, QualityCheck
from baton.api.pod import PodSettings
from baton.api.schedule import PipelineTrigger, RunHistory, ScheduleSpec

# Param names: letters, digits, "_" and "-", starting with a letter or "_" (no dots: `$(params.a.b)`).
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
PARAM_NAME_MAX = 63

NamespaceOrAny = Annotated[
    str, StringConstraints(pattern=r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$", max_length=63)
]
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


class TriggerRule(StrEnum):
    """When a task runs, judged by the phases of its dependencies once they have ended."""

    ALL_SUCCEEDED = "allSucceeded"
    """Every dependency succeeded (the default of tasks)."""
    ALL_DONE = "allDone"
    """Every dependency ended, whatever happened (the default of finally tasks)."""
    ANY_FAILED = "anyFailed"
    """At least one dependency failed."""
    ALL_FAILED = "allFailed"
    """Every dependency failed."""
    NONE_FAILED = "noneFailed"
    """No dependency failed (each succeeded or was skipped)."""
    ALWAYS = "always"
    """Like allDone, and failurePolicy FailFast does not stop the task either."""


class FailurePolicy(StrEnum):
    """What a run does after a task failed for good (no attempts left)."""

    CONTINUE = "Continue"
    """Run every task whose `when` rule is met (the default)."""
    FAIL_FAST = "FailFast"
    """Start nothing new after the first failure; running tasks finish, finally tasks still run."""


class FailureKind(StrEnum):
    """Why one attempt of a task failed; `retries.retryOn` selects which kinds are retried."""

    FAILED = "Failed"
    """The container exited non-zero (or the Job failed for another reason not listed here)."""
    OOM_KILLED = "OOMKilled"
    """The container was killed for using more memory than its limit."""
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    """The attempt ran longer than the task's timeoutSeconds."""
    POD_EVICTED = "PodEvicted"
    """The Pod was evicted, preempted, or lost with its node."""
    JOB_LOST = "JobLost"
    """The attempt's Job disappeared (deleted by someone) before it finished."""


class Backoff(SpecModel):
    """The wait before each retry: initialSeconds * factor^(retry - 1), at most maxSeconds."""

    initial_seconds: float = Field(default=10.0, gt=0, le=86400)
    """Wait before the first retry, in seconds (fractions allowed)."""
    factor: float = Field(default=2.0, ge=1, le=100)
    """Each further wait is the previous one times this."""
    max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    """Longest wait between two attempts."""
    jitter: float = Field(default=0.0, ge=0, le=1)
    """Shorten each wait by up to this fraction (0: none, the default). The jitter is derived from the
    run, task and attempt, so it is the same every time the operator computes it."""


class RetryPolicy(SpecModel):
    """How often a failed task is attempted again, and how long it waits in between."""

    limit: int = Field(ge=0, le=100)
    """Retries after the first attempt: a task runs at most limit + 1 times."""
    backoff: Backoff = Field(default_factory=Backoff)
    """Wait before each retry."""
    retry_on: list[FailureKind] = Field(
        default_factory=lambda: list(FailureKind), min_length=1, json_schema_extra=LIST_SET
    )
    """Kinds of failure that are retried (all by default): Failed, OOMKilled, DeadlineExceeded,
    PodEvicted, JobLost. (Not `on`: YAML 1.1, which kubectl reads, makes an unquoted `on` key `true`.)"""


class SubPipelineRef(SpecModel):
    """Names the Pipeline a task runs (in the run's namespace) instead of a container."""

    name: DnsSubdomain
    """Name of the Pipeline."""


class SensorSpec(SpecModel):
    """Run the task's command again every intervalSeconds until it exits 0 (ready) or timeoutSeconds
    pass; a not-ready answer (a non-zero exit) is no failure, uses no retry and holds no Pod between
    pokes."""

    interval_seconds: int = Field(default=60, ge=1, le=86400)
    """Seconds from one poke's end to the next poke."""
    timeout_seconds: int = Field(default=86400, ge=1, le=604800)
    """Seconds from the first poke's start after which the task fails with reason SensorTimeout."""


class TaskDefaults(PodSettings):
    """Settings shared by all tasks; a task's own setting wins (env, podLabels and podAnnotations are
    merged by name)."""

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
    retries: RetryPolicy | None = None
    """Retries of tasks that set none (a task's retries replace these as a whole)."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """Timeout of each attempt of tasks that set none."""


class TaskSpec(PodSettings):
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
    when: TriggerRule | None = None
    """When the task runs, judged by its dependencies once they have ended: allSucceeded (the default of
    tasks), allDone (the default of finally tasks), anyFailed, allFailed, noneFailed or always. A task
    whose rule can no longer be met is Skipped."""
    retries: RetryPolicy | None = None
    """Attempt the task again when it fails; taskDefaults.retries when not set."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """Longest time one attempt may run (the Job's activeDeadlineSeconds; the operator enforces it too).
    A timed-out attempt fails with reason DeadlineExceeded."""
    workspaces: list[WorkspaceMount] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Workspaces of the Pipeline this task mounts (only these); `$(workspaces.NAME.path)` is where."""
    volumes: list[Volume] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """ConfigMaps and Secrets this task reads as files; `$(volumes.NAME.path)` is where."""
    results: list[TaskResult] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Small values the task reports by writing one JSON object to the file `$BATON_RESULTS` (at most
    4096 bytes, the Kubernetes termination message). Downstream tasks read them as
    `$(tasks.NAME.results.RESULT)`, which also makes them depend on this task."""
    for_each: ForEach | None = None
    """Run one instance of the task per item; `$(item)` and `$(item.index)` are substituted."""
    pipeline_ref: SubPipelineRef | None = None
    """Run this Pipeline as the task, instead of a container: a child PipelineRun owned by this run,
    whose phase is the task's phase and whose results are the task's results. Give its params in
    `params`; image, command, args, env, workspaces, volumes, forEach and sensor do not apply."""
    params: dict[str, str] = Field(default_factory=dict)
    """With pipelineRef: the child run's params. `$(params.NAME)` and `$(tasks.NAME.results.R)` are
    substituted (reading a result makes the task depend on that task)."""
    sensor: SensorSpec | None = None
    """Make the task a sensor: its command answers "ready?" by its exit code, and is run again every
    intervalSeconds until it says yes (exit 0) or timeoutSeconds pass (Failed, reason SensorTimeout)."""
    inputs: list[DatasetEntry] = Field(default_factory=list, max_length=32, json_schema_extra=LIST_ATOMIC)
    """Datasets the task reads. A task that reads a dataset another task outputs depends on it (when both
    URIs are made of params only) and on the dataset's quality checks."""
    outputs: list[DatasetEntry] = Field(default_factory=list, max_length=32, json_schema_extra=LIST_ATOMIC)
    """Datasets the task writes; when it succeeds, the operator records each on its Dataset object."""
    check: QualityCheck | None = None
    """Make the task a quality check of a dataset: it runs after the dataset's producers, and the dataset's
    consumers wait for it (and are skipped when an Error check fails)."""
    cache: CacheSpec | None = None
    """Reuse a succeeded attempt (of any finished run of this Pipeline) with the same cache key instead of
    running the task: image, command, args, env, the values it reads, its datasets and when its inputs were
    last updated, and version."""


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
    # `finally` is a Python keyword: the field is `finally_` in Python, `finally` on the wire.
    finally_: list[TaskSpec] = Field(
        default_factory=list, alias="finally", json_schema_extra=LIST_MAP_BY_NAME
    )
    """Tasks that run after every other task has ended, whatever happened (even after a cancel, unless
    it says otherwise). They may depend on tasks and on each other; no task may depend on them. They read
    the outcome through `$(run.status)` and `$(tasks.NAME.status)`."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """Longest time the run's tasks (not its finally tasks) may take: then their running Jobs are
    deleted, the rest is Skipped, the finally tasks run, and the run fails with reason Timeout. A run's
    spec.timeoutSeconds overrides it."""
    finally_timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    """The finally tasks' budget, counted from when the other tasks ended or were stopped (600 when not
    set): a finally task still running then is stopped (Failed, reason DeadlineExceeded) and those not
    started are Skipped. A run's spec.finallyTimeoutSeconds overrides it."""
    failure_policy: FailurePolicy | None = None
    """Continue (the default): run every task whose rule is met. FailFast: start nothing new after the
    first failure (finally tasks and tasks with `when: always` still run)."""
    workspaces: list[Workspace] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Storage tasks share: a claim created per run (volumeClaimTemplate) or an existing claim."""
    results: list[PipelineResult] = Field(default_factory=list, json_schema_extra=LIST_MAP_BY_NAME)
    """Values of the run, from its tasks' results; recorded in the run's status.results when it ends."""
    schedule: ScheduleSpec | None = None
    """Create a run at each slot of a cron schedule (exactly once per slot, restart safe)."""
    triggers: list[PipelineTrigger] = Field(
        default_factory=list, max_length=32, json_schema_extra=LIST_ATOMIC
    )
    """Start a run each time a run of another Pipeline ends (exactly once per upstream run)."""
    allow_triggers_from: list[NamespaceOrAny] = Field(default_factory=list, json_schema_extra=LIST_SET)
    """Namespaces whose Pipelines may be triggered by this Pipeline's runs (they read its runs' params
    and results); `*` for any. This namespace's Pipelines always may."""
    max_active_runs: int | None = Field(default=None, ge=1)
    """Runs of this Pipeline active at once (manual, scheduled, backfilled, triggered alike); a run
    beyond this waits as Pending with reason Queued, in creation order. Unlimited when not set."""
    run_history: RunHistory | None = None
    """How many finished runs to keep; all when not set."""
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    """Delete each run this long after it finished (a run's own ttlSecondsAfterFinished wins)."""

    def all_tasks(self) -> list[TaskSpec]:
        """The tasks, then the finally tasks: the order of the run's status and of task indices."""
        return [*self.tasks, *self.finally_] if self.finally_ else self.tasks

    def task_at(self, index: int) -> TaskSpec:
        """The task with ``index`` in ``all_tasks()`` order, without building the list."""
        count = len(self.tasks)
        return self.tasks[index] if index < count else self.finally_[index - count]


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
    last_schedule_time: Timestamp | None = None
    """The latest slot of the schedule that was handled (its run created, or missed)."""
    next_schedule_time: Timestamp | None = None
    """The next slot of the schedule; absent while it is suspended or invalid."""
    last_scheduled_run: str | None = None
    """Name of the run the schedule created last."""
    triggered_through: Timestamp | None = None
    """Upstream runs that ended before this time have been handled by the triggers…"""
    triggered_runs: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """… and these (NAMESPACE/RUN), which ended within a minute of it."""


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
    return next((task for task in spec.all_tasks() if task.name == name), None)


def param_defaults(spec: PipelineSpec) -> dict[str, str]:
    return {param.name: param.default for param in spec.params if param.default is not None}


__all__ = [
    "Backoff",
    "FailureKind",
    "FailurePolicy",
    "ParamSpec",
    "Pipeline",
    "PipelineSpec",
    "PipelineStatus",
    "RetryPolicy",
    "SensorSpec",
    "SubPipelineRef",
    "TaskDefaults",
    "TaskSpec",
    "TriggerRule",
    "find_task",
    "param_defaults",
]
