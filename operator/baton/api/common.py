"""Shared building blocks of Baton's API: model bases, Kubernetes core types Baton exposes, conditions.

The pydantic models in ``baton.api`` are the single source of truth: the CRDs in ``crds/`` are generated
from them (``python -m baton.api.crdgen``), so constraints written here (patterns, lengths, minimums) are
enforced by the API server as well as by ``baton lint`` and the operator.

Field descriptions are the attribute docstrings; they become the descriptions ``kubectl explain`` shows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from .fieldsets import SharedFieldsSet

# A DNS-1123 label: the shape of Task names and of every name Baton derives (Job names, label values).
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_LABEL_MAX = 63
# A DNS-1123 subdomain: the shape of most Kubernetes object names (Pipelines, ConfigMaps, …).
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_SUBDOMAIN_MAX = 253
# Environment variable names as Kubernetes validated them before relaxing the rule in 1.30.
ENV_VAR_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
MAX_TIMEOUT_SECONDS = 31_536_000
"""The longest timeout any field takes (365 days): longer means "none", and a number past what a date can
hold would otherwise break every deadline computed from it."""
# Kubernetes resource.Quantity, as the API server's own CRDs spell it.
QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

DnsLabel = Annotated[str, StringConstraints(pattern=DNS1123_LABEL, max_length=DNS1123_LABEL_MAX)]
DnsSubdomain = Annotated[str, StringConstraints(pattern=DNS1123_SUBDOMAIN, max_length=DNS1123_SUBDOMAIN_MAX)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_NAME, min_length=1)]
# An integer or a quantity string ("500m", "1Gi"): `x-kubernetes-int-or-string` in the CRD.
Quantity = int | Annotated[str, StringConstraints(pattern=QUANTITY)]
# RFC 3339 timestamps in UTC with second precision ("2025-01-31T12:00:00Z"), as Kubernetes writes them.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

# Marks a list of named objects as a map keyed by name (server-side apply merges by key, duplicates rejected).
LIST_MAP_BY_NAME: dict[str, Any] = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}
LIST_SET: dict[str, Any] = {"x-kubernetes-list-type": "set"}
LIST_ATOMIC: dict[str, Any] = {"x-kubernetes-list-type": "atomic"}


class SpecModel(SharedFieldsSet):
    """Base of everything users write: unknown fields are errors, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


class StatusModel(SharedFieldsSet):
    """Base of everything Baton writes: tolerant of fields a newer operator version may have added."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
    )


M = TypeVar("M", bound=BaseModel)


def from_wire(model: type[M], data: Any) -> M:
    """``model`` validated from an object as the API server sees it: camelCase names only. The Python names
    (``depends_on``) are for code; on the wire they are unknown fields, as ``kubectl apply`` says."""
    return model.model_validate(data, by_alias=True, by_name=False)


def to_dict(model: BaseModel) -> dict[str, Any]:
    """The wire form of a model: camelCase, JSON types, no absent or default-valued fields.

    Leaving out defaults keeps objects small (a run's status of 10,000 tasks must fit into etcd) and keeps
    the API server from storing noise such as ``env: []``.
    """
    return model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


class KeySelector(SpecModel):
    """Selects a key of a ConfigMap or Secret in the run's namespace."""

    name: DnsSubdomain
    """Name of the ConfigMap or Secret."""
    key: Annotated[str, StringConstraints(min_length=1)]
    """The key to select."""
    optional: bool | None = None
    """Whether the ConfigMap/Secret or its key may be missing."""


class FieldSelector(SpecModel):
    """Selects a field of the task's Pod (Kubernetes downward API)."""

    field_path: Annotated[str, StringConstraints(min_length=1)]
    """Path of the field, e.g. metadata.name or status.podIP."""
    api_version: str | None = None
    """Version of the schema the fieldPath is written in, "v1" by default."""


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from; exactly one source is set."""

    config_map_key_ref: KeySelector | None = None
    """A key of a ConfigMap."""
    secret_key_ref: KeySelector | None = None
    """A key of a Secret."""
    field_ref: FieldSelector | None = None
    """A field of the Pod."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> EnvVarSource:
        sources = [self.config_map_key_ref, self.secret_key_ref, self.field_ref]
        if sum(source is not None for source in sources) != 1:
            raise ValueError("valueFrom needs exactly one of configMapKeyRef, secretKeyRef, fieldRef")
        return self


class EnvVar(SpecModel):
    """An environment variable of a task's container. `$(params.NAME)` is substituted in `value`."""

    name: EnvVarName
    """Name of the variable."""
    value: str | None = None
    """Literal value; `$(params.NAME)` references are substituted."""
    value_from: EnvVarSource | None = None
    """Source of the value, instead of `value`."""

    @model_validator(mode="after")
    def _value_or_value_from(self) -> EnvVar:
        if self.value is not None and self.value_from is not None:
            raise ValueError(f'env var "{self.name}" sets both value and valueFrom; keep one')
        return self


class ResourceRequirements(SpecModel):
    """Compute resources of a task's container, as quantities ("500m", "1Gi", 2)."""

    requests: dict[str, Quantity] = Field(default_factory=dict)
    """Minimum resources the scheduler reserves."""
    limits: dict[str, Quantity] = Field(default_factory=dict)
    """Maximum resources the container may use."""


class Toleration(SpecModel):
    """Lets a task's Pod schedule onto nodes with a matching taint."""

    key: str | None = None
    """Taint key; empty with operator Exists matches every taint."""
    operator: Literal["Exists", "Equal"] | None = None
    """Exists or Equal (the default)."""
    value: str | None = None
    """Taint value, for operator Equal."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to match; empty matches all effects."""
    toleration_seconds: int | None = None
    """For NoExecute: how long the Pod stays bound after the taint appears."""


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """A condition as the Kubernetes API conventions (KEP-1623) define it."""

    type: str
    """Type of the condition, e.g. Succeeded or Ready."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: str
    """One CamelCase word for machines: Running, Succeeded, Failed, Invalid, …"""
    message: str = ""
    """Human-readable details."""
    last_transition_time: Timestamp
    """When status or reason last changed."""
    observed_generation: int | None = None
    """The .metadata.generation the condition was computed from."""


class ObjectMeta(StatusModel):
    """The part of metadata Baton reads; everything else is kept by the API server."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    def display_name(self) -> str:
        """Name for messages: the name, or `generateName*` for objects created with generateName."""
        if self.name:
            return self.name
        if self.generate_name:
            return f"{self.generate_name}*"
        return "<unnamed>"
