"""The Dataset resource: one per dataset URI in a namespace, kept by the operator from the runs that write,
read and check it; a user may create one first to declare how fresh it must stay."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from baton.api.common import LIST_ATOMIC, Condition, ObjectMeta, SpecModel, StatusModel, Timestamp
from baton.api.datasets import DATASET_URI_MAX, URI_PATTERN, CheckSeverity

MAX_PARTITIONS = 20
"""Partitions a Dataset's status keeps (the most recently updated)."""
MAX_ACTORS = 10
"""Consumers kept (the most recent)."""
MAX_PRODUCERS = 50
"""Writes kept (the most recent): what dataset triggers look at, so a burst of more writes of one Dataset
than this between two looks fires for the latest 50 only."""
MAX_CHECKS = 20
"""Check results kept (the most recent)."""


class Freshness(SpecModel):
    """How old the dataset may get before it counts as stale."""

    max_age_seconds: int = Field(ge=1, le=31536000)
    """Seconds since the newest partition (or the dataset, when unpartitioned) was updated."""


class DatasetSpec(SpecModel):
    """Which dataset this is and what is expected of it."""

    uri: Annotated[str, StringConstraints(min_length=1, max_length=DATASET_URI_MAX, pattern=URI_PATTERN)]
    """The dataset's URI, as tasks name it in their inputs and outputs (s3://bucket/key,
    postgres://host:5432/db.schema.table, file:///path, …)."""
    freshness: Freshness | None = None
    """Expect an update at least this often: an older dataset is Fresh=False, with an Event and a metric."""


class TaskRef(StatusModel):
    """A task of a run that touched the dataset."""

    run: str
    """The PipelineRun."""
    task: str
    """The task (TASK[INDEX] for an instance of a forEach task)."""
    pipeline: str | None = None
    """The run's Pipeline (none for an inline spec)."""
    time: Timestamp | None = None
    """When the task ended."""
    partition: str | None = None
    """The partition it wrote or read."""
    recorded: Timestamp | None = None
    """When the operator recorded the write (dataset triggers take writes in this order)."""


class PartitionStatus(StatusModel):
    """One partition of the dataset and its last update."""

    name: str
    """The partition."""
    last_updated: Timestamp
    """When a producer last succeeded in writing it."""
    run: str
    """The run that wrote it last."""
    task: str
    """The task that wrote it last."""


class CheckResult(StatusModel):
    """The outcome of one quality check of the dataset."""

    run: str
    """The run of the check."""
    task: str
    """The check task."""
    partition: str | None = None
    """The partition checked."""
    severity: CheckSeverity
    """Error or Warn."""
    passed: bool
    """Whether the check succeeded."""
    time: Timestamp | None = None
    """When the check ended."""
    message: str | None = None
    """Why it failed."""


class DatasetStatus(StatusModel):
    """What the runs did to the dataset, most recent first, each list bounded."""

    observed_generation: int | None = None
    """The .metadata.generation this status describes."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Fresh: True, or False (reason Stale) once older than spec.freshness.maxAgeSeconds; absent without a
    freshness expectation or before the first update."""
    last_updated: Timestamp | None = None
    """When a producer last succeeded."""
    last_producer: TaskRef | None = None
    """The task that wrote it last."""
    latest_partition: str | None = None
    """The partition updated last."""
    updates: int = 0
    """Number of successful writes recorded (each counts once, however often the operator sees it)."""
    partitions: list[PartitionStatus] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The most recently updated partitions (at most 20), newest first."""
    producers: list[TaskRef] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The latest writes (at most 50), newest first."""
    consumers: list[TaskRef] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The latest reads by tasks that succeeded (at most 10), newest first."""
    checks: list[CheckResult] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """The latest quality check results (at most 20), newest first."""


class Dataset(SpecModel):
    """A whole Dataset object."""

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DatasetSpec
    status: DatasetStatus | None = None


__all__ = [
    "MAX_ACTORS",
    "MAX_CHECKS",
    "MAX_PARTITIONS",
    "MAX_PRODUCERS",
    "CheckResult",
    "Dataset",
    "DatasetSpec",
    "DatasetStatus",
    "Freshness",
    "PartitionStatus",
    "TaskRef",
]
