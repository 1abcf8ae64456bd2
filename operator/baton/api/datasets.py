"""What tasks read and write, as data: dataset references, quality checks and caching of a task.

A dataset is named by its URI (`s3://lake/sales`, `postgres://warehouse:5432/analytics.public.sales`,
`file:///data/x.csv`); a partition names the slice of it one run reads or writes (`2026-12-06`), so a
daily job makes one dataset with many partitions rather than one dataset a day.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from baton.api.common import SpecModel, StatusModel

DATASET_URI_MAX = 1024
PARTITION_MAX = 256
URI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]+:(//[^/\s]+(/\S*)?|///\S+|[^/\s]\S*)$"
"""An absolute URI as OpenLineage names datasets: scheme://authority[/path] (s3, gs, postgres, kafka…),
file:///path, or scheme:opaque (bigquery:project.dataset.table). A one-letter scheme is a drive (C:/)."""

DatasetUri = Annotated[str, StringConstraints(min_length=1, max_length=DATASET_URI_MAX)]
Partition = Annotated[str, StringConstraints(min_length=1, max_length=PARTITION_MAX)]


class DatasetRef(SpecModel):
    """One dataset a task reads (inputs) or writes (outputs)."""

    dataset: DatasetUri
    """The dataset's URI. `$(params.NAME)`, `$(tasks.NAME.results.RESULT)` and `$(item)` are substituted;
    only a URI made of params gives an implicit dependency on the task that outputs it."""
    partition: Partition | None = None
    """The slice read or written (for example `$(params.date)`); the whole dataset when not set."""


def _short_form(value: Any) -> Any:
    # `outputs: ["s3://lake/x"]` is the short form of `outputs: [{dataset: "s3://lake/x"}]`.
    if isinstance(value, str):
        return {"dataset": value}
    if not isinstance(value, dict | DatasetRef):
        kind = type(value).__name__
        raise ValueError(f"must be a dataset URI or {{dataset: URI, partition: P}}, not {kind}")
    return value


# A structural CRD schema cannot say "a string or an object", so the API server keeps the entry as
# written and the operator checks it (an entry that is neither makes the Pipeline Ready=False).
DatasetEntry = Annotated[
    DatasetRef,
    BeforeValidator(_short_form),
    WithJsonSchema(
        {
            "description": "A dataset URI, or {dataset: URI, partition: P}.",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    ),
]


class CheckSeverity(StrEnum):
    """What a failed quality check does to the tasks that consume its dataset."""

    ERROR = "Error"
    """Consumers are skipped (reason QualityGateFailed) and the run fails."""
    WARN = "Warn"
    """Consumers run; the run gets a QualityWarning condition and its outcome is not changed."""


class QualityCheck(SpecModel):
    """Makes the task a quality gate of a dataset: it runs after the dataset's producers, and the tasks that
    consume the dataset wait for it."""

    dataset: DatasetUri
    """The URI of the dataset the task checks (substituted as inputs are)."""
    partition: Partition | None = None
    """The partition checked."""
    severity: CheckSeverity = CheckSeverity.ERROR
    """Error (the default): a failed check stops the consumers. Warn: it only warns."""


class CacheSpec(SpecModel):
    """Reuse a succeeded attempt of this task, from any finished run of the Pipeline in the namespace, whose
    cache key is the same, instead of running it again."""

    ttl_seconds: int = Field(default=86400, ge=1, le=31536000)
    """How long a succeeded attempt may be reused, from its completion."""
    version: str | None = Field(default=None, max_length=63)
    """Part of the key: change it to invalidate what was cached (new code behind the same image tag)."""


class CacheMode(StrEnum):
    """Whether a run may take task results from the cache."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"


class ResolvedDataset(StatusModel):
    """A dataset as a run read or wrote it, its references substituted."""

    uri: str
    """The dataset's URI."""
    partition: str | None = None
    """The partition, when one was named."""


__all__ = [
    "CacheMode",
    "CacheSpec",
    "CheckSeverity",
    "DatasetEntry",
    "DatasetRef",
    "DatasetUri",
    "Partition",
    "QualityCheck",
    "ResolvedDataset",
]
