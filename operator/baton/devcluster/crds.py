"""The CRD controller: serve a CustomResourceDefinition's kinds as soon as it is stored.

Registration is synchronous (a store commit hook), so `kubectl apply -f crd.yaml -f cr.yaml` works in
one go; the CRD still reports NamesAccepted and Established like a real apiextensions-apiserver.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import errors
from .resources import from_crd
from .schema import check_structural
from .store import Obj, Store, WatchEvent, rfc3339

CRD_RESOURCE = ("apiextensions.k8s.io", "customresourcedefinitions")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def validate_crd(crd: Obj) -> list[tuple[str, str, str]]:
    """Field causes that make a CRD invalid, as (field, cause type, message)."""
    causes: list[tuple[str, str, str]] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    if not group or "." not in group:
        causes.append(
            (
                "spec.group",
                "FieldValueInvalid",
                f'Invalid value: "{group}": should be a domain with at least one dot',
            )
        )
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append((f"spec.names.{key}", "FieldValueRequired", "Required value"))
    plural = names.get("plural", "")
    if plural and not _DNS_LABEL.match(plural):
        causes.append(
            (
                "spec.names.plural",
                "FieldValueInvalid",
                f'Invalid value: "{plural}": a lowercase RFC 1123 label must consist of lower case '
                "alphanumeric characters or '-'",
            )
        )
    name = crd.get("metadata", {}).get("name", "")
    if plural and group and name != f"{plural}.{group}":
        causes.append(
            (
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            (
                "spec.scope",
                "FieldValueNotSupported",
                f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            (
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: null: must have exactly one version marked as storage version",
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            (
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    for i, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            causes.append(
                (
                    f"spec.versions[{i}].schema.openAPIV3Schema",
                    "FieldValueRequired",
                    "Required value: schemas are required",
                )
            )
            continue
        for problem in check_structural(schema):
            causes.append((f"spec.versions[{i}].schema.openAPIV3Schema", "FieldValueInvalid", problem))
    return causes


def admit_crd(crd: Obj, old: Obj | None) -> Obj:
    causes = validate_crd(crd)
    if old is not None:
        for field_path, new_value, old_value in (
            ("spec.group", crd.get("spec", {}).get("group"), old.get("spec", {}).get("group")),
            (
                "spec.names.plural",
                crd.get("spec", {}).get("names", {}).get("plural"),
                old.get("spec", {}).get("names", {}).get("plural"),
            ),
        ):
            if new_value != old_value:
                causes.append(
                    (field_path, "FieldValueInvalid", f'Invalid value: "{new_value}": field is immutable')
                )
    if causes:
        raise errors.invalid(
            "CustomResourceDefinition",
            crd.get("metadata", {}).get("name", ""),
            causes,
            "apiextensions.k8s.io",
        )
    return crd


class CrdController:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.on_commit.append(self.on_commit)

    def on_commit(self, event: WatchEvent) -> None:
        if event.group_resource != CRD_RESOURCE:
            if event.type == "DELETED" and self._terminating(*event.group_resource):
                # The last instance held by a finalizer is gone: the terminating CRD can go now.
                self._delete_instances(*event.group_resource)
            return
        spec = event.obj.get("spec", {})
        group, plural = spec.get("group", ""), spec.get("names", {}).get("plural", "")
        if event.type == "DELETED":
            self._unregister(group, plural)
            return
        if event.previous is not None:
            old_spec = event.previous.get("spec", {})
            self.store.registry.remove_group_resource(
                old_spec.get("group", ""), old_spec.get("names", {}).get("plural", "")
            )
        for rt in from_crd(event.obj):
            self.store.registry.add(rt)
        if event.obj["metadata"].get("deletionTimestamp"):
            self._delete_instances(group, plural)
        self._report_established(event.obj)

    def _report_established(self, crd: Obj) -> None:
        spec = crd.get("spec", {})
        status = copy.deepcopy(crd.get("status") or {})
        now = rfc3339(self.store.clock())
        old_conditions = {c.get("type"): c for c in status.get("conditions") or ()}
        conditions: list[dict[str, Any]] = []
        for ctype, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ):
            previous = old_conditions.get(ctype)
            conditions.append(
                {
                    "type": ctype,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": previous.get("lastTransitionTime", now) if previous else now,
                }
            )
        status["conditions"] = conditions
        status["acceptedNames"] = copy.deepcopy(spec.get("names", {}))
        stored = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
        status["storedVersions"] = sorted(set(status.get("storedVersions") or []) | set(stored))
        if status == crd.get("status"):
            return
        rt = self.store.registry.storage(*CRD_RESOURCE)
        assert rt is not None
        new = copy.deepcopy(crd)
        new["status"] = status
        self.store.update(rt, "", crd["metadata"]["name"], new, subresource="status")

    def _terminating(self, group: str, plural: str) -> bool:
        return crd_terminating(self.store, group, plural)

    def _delete_instances(self, group: str, plural: str) -> None:
        rt = self.store.registry.storage(group, plural)
        if rt is None:
            return
        for obj in self.store.list(rt):
            try:
                self.store.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            except errors.ApiError:
                pass
        if not self.store.list(rt):
            crd = self.store.find(CRD_RESOURCE, "", f"{plural}.{group}")
            crt = self.store.registry.storage(*CRD_RESOURCE)
            if crd is not None and crt is not None and crd["metadata"].get("finalizers"):
                new = copy.deepcopy(crd)
                new["metadata"]["finalizers"] = [
                    f
                    for f in new["metadata"]["finalizers"]
                    if f != "customresourcecleanup.apiextensions.k8s.io"
                ]
                self.store.update(crt, "", crd["metadata"]["name"], new)

    def _unregister(self, group: str, plural: str) -> None:
        rt = self.store.registry.storage(group, plural)
        if rt is not None:
            for obj in self.store.list(rt):
                self.store.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.store.registry.remove_group_resource(group, plural)
        self.store.close_watches((group, plural))  # as the apiserver ends them when it stops serving a kind


def crd_terminating(store: Store, group: str, plural: str) -> bool:
    """Whether the CRD serving group/plural is being deleted (its instances are on their way out)."""
    crd = store.find(CRD_RESOURCE, "", f"{plural}.{group}") if group else None
    return crd is not None and bool(crd["metadata"].get("deletionTimestamp"))
