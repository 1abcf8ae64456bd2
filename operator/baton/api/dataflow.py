"""How data flows between tasks: workspaces (shared storage), ConfigMap/Secret volumes, results (small
JSON values) and forEach (one task instance per item of a list).

A task names what it uses and reads where it is through variables that the operator substitutes in its
command, args and env values: `$(workspaces.NAME.path)`, `$(volumes.NAME.path)`, `$(results.path)`,
`$(tasks.TASK.results.NAME)`, `$(item)` and `$(item.index)`. The variables are the contract; the paths
behind them are the operator's (and, on the dev cluster, the dev kubelet's) business.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt, StringConstraints, model_validator

from baton.api.common import LIST_ATOMIC, DnsLabel, DnsSubdomain, SpecModel
from baton.api.kubetypes import ClaimMetadata, ClaimSpec

# Result names as param names: `$(tasks.T.results.NAME)` must parse without ambiguity.
RESULT_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"
ResultName = Annotated[str, StringConstraints(pattern=RESULT_NAME, max_length=63)]
# An absolute path (validation also refuses ".." parts, as the API server does for mountPath).
MOUNT_PATH = r"^/[^\x00]*$"
MountPath = Annotated[str, StringConstraints(pattern=MOUNT_PATH, max_length=1024)]
RELATIVE_PATH = r"^[^/\x00][^\x00]*$"
SubPath = Annotated[str, StringConstraints(pattern=RELATIVE_PATH, max_length=1024)]

MAX_FOR_EACH_ITEMS = 10_000
DEFAULT_MAX_ITEMS = 1_000
# Keys of Kubernetes volume sources that the Pod Security Standard "restricted" forbids or that would let a
# task reach outside its Pod; named in the error so that the user learns why, not just "unknown field".
_FORBIDDEN_SOURCES = ("hostPath",)


def _refuse_host_path(data: Any, owner: str) -> Any:
    if isinstance(data, dict):
        for key in _FORBIDDEN_SOURCES:
            if key in data:
                raise ValueError(
                    f'{owner} "{data.get("name", "")}": {key} is not allowed (the Pod Security Standard '
                    '"restricted" forbids host paths); use a workspace with a persistentVolumeClaim instead'
                )
    return data


class ClaimTemplate(SpecModel):
    """A PersistentVolumeClaim the operator creates for each run (the run owns it)."""

    metadata: ClaimMetadata = Field(default_factory=ClaimMetadata)
    """Labels and annotations of the claim (name and namespace are the operator's)."""
    spec: ClaimSpec
    """The claim's spec: accessModes, resources.requests.storage, storageClassName, …"""


class ClaimReference(SpecModel):
    """An existing PersistentVolumeClaim in the run's namespace."""

    claim_name: DnsSubdomain
    """Name of the claim."""


class Workspace(SpecModel):
    """Storage shared by the tasks that mount it: a claim per run, or an existing claim."""

    name: DnsLabel
    """Name of the workspace, as tasks list it and as `$(workspaces.NAME.path)` reads it."""
    description: str | None = None
    """What the workspace holds, for humans."""
    volume_claim_template: ClaimTemplate | None = None
    """Create a claim from this template for every run; it is deleted with the run (and kept while a
    retry of the run that reuses its files exists)."""
    persistent_volume_claim: ClaimReference | None = None
    """Mount this existing claim in every run."""
    read_only: bool = False
    """Mount it read-only in every task."""

    @model_validator(mode="before")
    @classmethod
    def _no_host_path(cls, data: Any) -> Any:
        return _refuse_host_path(data, "workspace")

    @model_validator(mode="after")
    def _one_source(self) -> Workspace:
        if (self.volume_claim_template is None) == (self.persistent_volume_claim is None):
            raise ValueError(
                f'workspace "{self.name}" needs exactly one of volumeClaimTemplate and persistentVolumeClaim'
            )
        return self


class WorkspaceMount(SpecModel):
    """A workspace a task mounts."""

    name: DnsLabel
    """Name of a workspace of the Pipeline."""
    mount_path: MountPath | None = None
    """Where it is mounted (/workspace/NAME by default); read it as `$(workspaces.NAME.path)`."""
    sub_path: SubPath | None = None
    """Mount only this directory of the workspace."""
    read_only: bool = False
    """Mount it read-only in this task."""


class KeyToPath(SpecModel):
    """One key of a ConfigMap or Secret, as a file."""

    key: Annotated[str, StringConstraints(min_length=1)]
    """The key."""
    path: Annotated[str, StringConstraints(pattern=RELATIVE_PATH, max_length=1024)]
    """Relative path of the file."""


class ConfigMapSource(SpecModel):
    """A ConfigMap's keys as files."""

    name: DnsSubdomain
    """Name of the ConfigMap in the run's namespace."""
    items: list[KeyToPath] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Only these keys, at these paths (all keys, named by key, when empty)."""
    optional: bool = False
    """Start even when the ConfigMap or a key is missing."""


class SecretSource(SpecModel):
    """A Secret's keys as files (mode 0440: readable by the task's group only)."""

    secret_name: DnsSubdomain
    """Name of the Secret in the run's namespace."""
    items: list[KeyToPath] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Only these keys, at these paths (all keys, named by key, when empty)."""
    optional: bool = False
    """Start even when the Secret or a key is missing."""


class Volume(SpecModel):
    """Configuration a task reads as files: a ConfigMap or a Secret."""

    name: DnsLabel
    """Name of the volume, as `$(volumes.NAME.path)` reads it."""
    config_map: ConfigMapSource | None = None
    """The files of a ConfigMap."""
    secret: SecretSource | None = None
    """The files of a Secret."""
    mount_path: MountPath | None = None
    """Where it is mounted (/volumes/NAME by default); read it as `$(volumes.NAME.path)`."""

    @model_validator(mode="before")
    @classmethod
    def _no_host_path(cls, data: Any) -> Any:
        return _refuse_host_path(data, "volume")

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        if (self.config_map is None) == (self.secret is None):
            raise ValueError(f'volume "{self.name}" needs exactly one of configMap and secret')
        return self


class TaskResult(SpecModel):
    """A small value the task reports: one key of the JSON object it writes to `$BATON_RESULTS`."""

    name: ResultName
    """Name of the result, as `$(tasks.TASK.results.NAME)` reads it."""
    description: str | None = None
    """What the value means, for humans."""


class PipelineResult(SpecModel):
    """A value of the run, recorded in the PipelineRun's status.results when the run ends."""

    name: ResultName
    """Name of the run's result."""
    value: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    """Text with `$(tasks.TASK.results.NAME)` and `$(params.NAME)` references."""
    description: str | None = None
    """What the value means, for humans."""


# Strings or integers (a structural schema has int-or-string, not a union with numbers in general).
ForEachItem = StrictInt | str


class ForEach(SpecModel):
    """Run the task once per item of a list: each item is an instance with its own Job and attempts."""

    items: list[ForEachItem] | None = Field(default=None, json_schema_extra=LIST_ATOMIC)
    """A literal list of strings or integers."""
    # `from` is a Python keyword: the field is `from_` in Python, `from` on the wire.
    from_: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, alias="from"
    )
    """One reference that resolves to a JSON list of strings or numbers: `$(params.NAME)` (a param
    holding a JSON list) or `$(tasks.TASK.results.NAME)`; the items are strings or numbers."""
    max_items: int = Field(default=DEFAULT_MAX_ITEMS, ge=1, le=MAX_FOR_EACH_ITEMS)
    """More items than this fail the task (a guard against a runaway list)."""

    @model_validator(mode="after")
    def _one_source(self) -> ForEach:
        if (self.items is None) == (self.from_ is None):
            raise ValueError("forEach needs exactly one of items and from")
        return self


__all__ = [
    "ClaimReference",
    "ClaimTemplate",
    "ConfigMapSource",
    "ForEach",
    "KeyToPath",
    "PipelineResult",
    "SecretSource",
    "TaskResult",
    "Volume",
    "Workspace",
    "WorkspaceMount",
]
