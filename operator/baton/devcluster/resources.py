"""The kinds the dev cluster serves: built-in ones and those that CRDs register."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    verbs: tuple[str, ...] = ALL_VERBS
    # For custom resources: the version's openAPIV3Schema and printer columns.
    schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    custom: bool = False
    # Whether spec-like changes bump metadata.generation (every kind with a spec does).
    has_generation: bool = True
    # Field selectors accepted beyond metadata.name and metadata.namespace.
    field_selectors: tuple[str, ...] = ()
    # RFC 1123 label (63) rather than subdomain (253) names.
    name_is_label: bool = False
    storage_version: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def url(self, namespace: str | None = None, name: str | None = None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            prefix += f"/namespaces/{namespace}"
        prefix += f"/{self.plural}"
        return f"{prefix}/{name}" if name else prefix

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _builtin() -> list[ResourceType]:
    return [
        ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",),
                     subresources=frozenset({"status"}), name_is_label=True, has_generation=False,
                     field_selectors=("status.phase",)),
        ResourceType("", "v1", "pods", "pod", "Pod", True, ("po",), ("all",),
                     subresources=frozenset({"status", "log"}),
                     field_selectors=("status.phase", "spec.nodeName", "spec.restartPolicy",
                                      "spec.serviceAccountName", "status.podIP")),
        ResourceType("", "v1", "events", "event", "Event", True, ("ev",), has_generation=False,
                     field_selectors=("involvedObject.kind", "involvedObject.namespace",
                                      "involvedObject.name", "involvedObject.uid",
                                      "involvedObject.apiVersion", "involvedObject.resourceVersion",
                                      "involvedObject.fieldPath", "reason", "reportingComponent",
                                      "source", "type")),
        ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",), has_generation=False),
        ResourceType("", "v1", "secrets", "secret", "Secret", True, has_generation=False,
                     field_selectors=("type",)),
        ResourceType("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
                     True, ("pvc",), subresources=frozenset({"status"}), has_generation=False),
        ResourceType("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, ("quota",),
                     subresources=frozenset({"status"}), has_generation=False),
        ResourceType("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",),
                     has_generation=False),
        ResourceType("events.k8s.io", "v1", "events", "event", "Event", True, ("ev",), has_generation=False,
                     field_selectors=("regarding.kind", "regarding.namespace", "regarding.name",
                                      "regarding.uid", "reason", "type", "reportingController")),
        ResourceType("batch", "v1", "jobs", "job", "Job", True, (), ("all",),
                     subresources=frozenset({"status"}), field_selectors=("status.successful",)),
        ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True, has_generation=False),
        # Served by its own route (identity.py): answered, never stored.
        ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview",
                     "SelfSubjectReview", False, verbs=("create",), has_generation=False),
        ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                     "customresourcedefinition", "CustomResourceDefinition", False, ("crd", "crds"),
                     ("api-extensions",), subresources=frozenset({"status"})),
    ]


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD (all versions share one storage, no conversion)."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    out = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        subresources = frozenset((version.get("subresources") or {}).keys())
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        out.append(ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=subresources,
            schema=schema,
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            custom=True,
            storage_version=bool(version.get("storage", False)),
        ))
    return out


@dataclass
class Registry:
    """Served kinds, looked up by (group, version, plural) and by (group, plural) for storage."""

    _types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    @classmethod
    def with_builtins(cls) -> Registry:
        registry = cls()
        for rt in _builtin():
            registry.add(rt)
        return registry

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def storage(self, group: str, plural: str) -> ResourceType | None:
        """The version objects are kept in (for CRDs the storage version, otherwise the only one)."""
        candidates = [rt for (g, _, p), rt in self._types.items() if g == group and p == plural]
        for rt in candidates:
            if rt.storage_version:
                return rt
        return candidates[0] if candidates else None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        return None

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._types.values()))

    def groups(self) -> dict[str, list[str]]:
        """Group name → its versions, in registration order (core group under "")."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def in_group_version(self, group: str, version: str) -> Iterable[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]
