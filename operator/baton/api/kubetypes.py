"""Kubernetes core types a Pipeline may carry into its Pods and claims: Affinity and the claim spec.

They are modelled (not passed through as unknown fields) so that `kubectl apply` validates them at once,
`kubectl explain` documents them, and the CRDs stay structural without preserved unknown fields. Field
names and meanings are Kubernetes' own (core/v1).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from baton.api.common import LIST_ATOMIC, DnsSubdomain, ResourceRequirements, SpecModel

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class LabelSelectorRequirement(SpecModel):
    """A label requirement: key, operator and values."""

    key: NonEmpty
    """The label key."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """In, NotIn, Exists or DoesNotExist."""
    values: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Values for In and NotIn."""


class LabelSelector(SpecModel):
    """Selects objects by labels; all requirements must hold."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    """Labels that must be equal."""
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Label requirements."""


class NodeSelectorRequirement(SpecModel):
    """A requirement on a node's label or field."""

    key: NonEmpty
    """The label key (or, in matchFields, the field: metadata.name)."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    """In, NotIn, Exists, DoesNotExist, Gt or Lt."""
    values: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Values to compare with."""


class NodeSelectorTerm(SpecModel):
    """Requirements that must all hold (terms of a node selector are ORed)."""

    match_expressions: list[NodeSelectorRequirement] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Requirements on node labels."""
    match_fields: list[NodeSelectorRequirement] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Requirements on node fields."""


class NodeSelector(SpecModel):
    """Node selector terms, ORed."""

    node_selector_terms: list[NodeSelectorTerm] = Field(min_length=1, json_schema_extra=LIST_ATOMIC)
    """The terms."""


class PreferredSchedulingTerm(SpecModel):
    """A weighted preference for nodes."""

    weight: int = Field(ge=1, le=100)
    """Weight, 1-100."""
    preference: NodeSelectorTerm
    """The nodes preferred."""


class NodeAffinity(SpecModel):
    """Node affinity of the Pod."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    """Nodes the Pod must run on."""
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Nodes the Pod prefers."""


class PodAffinityTerm(SpecModel):
    """Pods (by label) whose topology domain this Pod should (not) share."""

    label_selector: LabelSelector | None = None
    """The Pods."""
    namespaces: list[str] = Field(default_factory=list, json_schema_extra=LIST_ATOMIC)
    """Namespaces of those Pods (the Pod's own when empty)."""
    namespace_selector: LabelSelector | None = None
    """Namespaces of those Pods, by label."""
    topology_key: NonEmpty
    """Node label that defines the domain, e.g. kubernetes.io/hostname."""


class WeightedPodAffinityTerm(SpecModel):
    """A weighted pod (anti-)affinity preference."""

    weight: int = Field(ge=1, le=100)
    """Weight, 1-100."""
    pod_affinity_term: PodAffinityTerm
    """The term."""


class PodAffinity(SpecModel):
    """Pod affinity (or anti-affinity)."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Terms that must hold."""
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Terms preferred."""


class Affinity(SpecModel):
    """Scheduling constraints of the Pod, as Kubernetes' core/v1 Affinity."""

    node_affinity: NodeAffinity | None = None
    """Node affinity."""
    pod_affinity: PodAffinity | None = None
    """Pod affinity."""
    pod_anti_affinity: PodAffinity | None = None
    """Pod anti-affinity."""


AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]


class ClaimSpec(SpecModel):
    """The PersistentVolumeClaim spec fields a workspace's claim may set."""

    access_modes: list[AccessMode] = Field(min_length=1, json_schema_extra={"x-kubernetes-list-type": "set"})
    """ReadWriteOnce (one node at a time: Baton keeps the run's tasks that mount it on one node),
    ReadWriteMany, ReadOnlyMany or ReadWriteOncePod."""
    resources: ResourceRequirements
    """requests.storage: the size of the volume."""
    storage_class_name: DnsSubdomain | None = None
    """StorageClass (the cluster's default when not set)."""
    volume_mode: Literal["Filesystem"] | None = None
    """Filesystem (a workspace is mounted as a directory; Block is not supported)."""
    selector: LabelSelector | None = None
    """Bind only to PersistentVolumes with these labels."""

    @model_validator(mode="after")
    def _storage_requested(self) -> ClaimSpec:
        if "storage" not in self.resources.requests:
            raise ValueError("resources.requests.storage is required: how large the volume is (e.g. 1Gi)")
        return self


class ClaimMetadata(SpecModel):
    """Labels and annotations of a claim (its name and namespace are the operator's)."""

    labels: dict[str, str] = Field(default_factory=dict)
    """Labels; Baton's own are added over them."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations."""


__all__ = ["Affinity", "ClaimMetadata", "ClaimSpec", "LabelSelector"]
