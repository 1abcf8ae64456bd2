"""PersistentVolumeClaims: what the apiserver does to one on every write, and where its data lives (no I/O).

`admit_claim` is the defaulting and validation of pkg/apis/core/validation with upstream's messages:
- on create: `spec.volumeMode` Filesystem, `status` {phase: Pending}, the `kubernetes.io/pvc-protection`
  finalizer (the StorageObjectInUseProtection admission plugin), quantities in canonical form;
- `spec.accessModes` (at least one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod;
  ReadWriteOncePod alone), `spec.resources.requests.storage` (required, > 0), `storageClassName`,
  `volumeMode`;
- on update: the spec is immutable except `resources.requests` (and `volumeAttributesClassName`) of a
  bound claim, `volumeName` may be set once (the binder does), an unset `storageClassName` may be set,
  and the request may not go down to `status.capacity` or below.

The Forbidden message for an immutable spec ends with a diff of the two specs, as upstream's does; here it
lists the changed fields as JSON (upstream prints go-cmp's rendering of the Go structs).

`claim_directory` is the local directory that stands in for a bound claim's volume.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from . import errors, quantities
from . import fielderrors as fe
from .fielderrors import FieldError
from .namerules import subdomain_errors
from .poddefaults import mapping_field
from .resources import ResourceType

Obj = dict[str, Any]

CLAIMS = ("", "persistentvolumeclaims")
PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
# sets.List order, as the NotSupported message lists them.
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
_SHORT_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
_IMMUTABLE = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName "
    "for bound claims"
)
# Go field names, for the diff in the immutability message.
_GO_FIELDS = {
    "accessModes": "AccessModes",
    "selector": "Selector",
    "resources": "Resources",
    "volumeName": "VolumeName",
    "storageClassName": "StorageClassName",
    "volumeMode": "VolumeMode",
    "dataSource": "DataSource",
    "dataSourceRef": "DataSourceRef",
    "volumeAttributesClassName": "VolumeAttributesClassName",
}


def admit_claim(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    """Default and validate a claim about to be stored; raise the apiserver's 400 or 422."""
    meta = obj.setdefault("metadata", {})
    spec = mapping_field(rt, obj, "spec", "PersistentVolumeClaimSpec")
    resources = mapping_field(rt, spec, "resources", "VolumeResourceRequirements")
    for section in ("requests", "limits"):
        values = mapping_field(rt, resources, section, "ResourceList")
        try:
            resources[section] = {name: quantities.canonical(value) for name, value in values.items()}
        except quantities.QuantityError as error:
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {error}'
            ) from None
        if not resources[section]:
            del resources[section]
    spec.setdefault("volumeMode", "Filesystem")
    if old is None:
        obj["status"] = {"phase": "Pending"}
        finalizers = meta.setdefault("finalizers", [])
        if PROTECTION_FINALIZER not in finalizers:
            finalizers.append(PROTECTION_FINALIZER)
    found = spec_errors(spec)
    if old is not None:
        found += _update_errors(obj, old)
    if found:
        raise errors.invalid(rt.kind, meta.get("name", ""), [(e.field, e.type, e.message) for e in found])


def spec_errors(spec: Obj, path: str = "spec") -> list[FieldError]:
    """ValidatePersistentVolumeClaimSpec."""
    found: list[FieldError] = []
    modes = spec.get("accessModes") or []
    if not modes:
        found.append(fe.required(fe.child(path, "accessModes"), "at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            found.append(fe.not_supported(fe.child(path, "accessModes"), mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and any(m != "ReadWriteOncePod" and m in ACCESS_MODES for m in modes):
        alone = "may not use ReadWriteOncePod with other access modes"
        found.append(fe.forbidden(fe.child(path, "accessModes"), alone))
    storage_path = fe.key(fe.child(path, "resources"), "storage")
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        found.append(fe.required(storage_path))
    elif not quantities.is_positive(storage):
        found.append(fe.invalid(storage_path, storage, "must be greater than zero"))
    for field_name in ("storageClassName", "volumeAttributesClassName"):
        value = spec.get(field_name)
        if value:
            found += [fe.invalid(fe.child(path, field_name), value, m) for m in subdomain_errors(str(value))]
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        found.append(fe.not_supported(fe.child(path, "volumeMode"), mode, VOLUME_MODES))
    return found


def _update_errors(obj: Obj, old: Obj) -> list[FieldError]:
    """ValidatePersistentVolumeClaimUpdate, past the spec validation."""
    new_spec, old_spec = copy.deepcopy(obj["spec"]), copy.deepcopy(old.get("spec") or {})
    if not old_spec.get("volumeName"):
        _copy_field(new_spec, old_spec, "volumeName")  # the binder sets it once
    old_class_annotation = (old["metadata"].get("annotations") or {}).get(BETA_CLASS_ANNOTATION)
    if (
        new_spec.get("storageClassName") is not None
        and old_spec.get("storageClassName") is None
        and (old_class_annotation is None or new_spec["storageClassName"] == old_class_annotation)
    ):
        new_spec.pop("storageClassName")  # an unset class may be set once
    if (obj.get("status") or {}).get("phase") == "Bound":
        # A bound claim may change its request (expansion) and volumeAttributesClassName.
        requests = (new_spec.get("resources") or {}).get("requests")
        if isinstance(requests, dict):
            _copy_field(requests, (old_spec.get("resources") or {}).get("requests") or {}, "storage")
        if new_spec.get("volumeAttributesClassName") is not None:
            _copy_field(new_spec, old_spec, "volumeAttributesClassName")
    found: list[FieldError] = []
    if new_spec != old_spec:
        found.append(fe.forbidden("spec", f"{_IMMUTABLE}\n{_diff(old_spec, new_spec)}"))
    new_size = _storage(obj.get("spec") or {})
    if quantities.compare(new_size, _storage(old.get("spec") or {})) < 0:
        capacity = ((old.get("status") or {}).get("capacity") or {}).get("storage")
        if quantities.compare(new_size, capacity) <= 0:
            found.append(
                fe.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")
            )
    new_mode, old_mode = (obj.get("spec") or {}).get("volumeMode"), (old.get("spec") or {}).get("volumeMode")
    if new_mode != old_mode:
        found.append(fe.invalid("volumeMode", new_mode, "field is immutable"))
    return found


def _copy_field(target: Obj, source: Obj, name: str) -> None:
    if name in source:
        target[name] = copy.deepcopy(source[name])
    else:
        target.pop(name, None)


def _storage(spec: Obj) -> Any:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def _diff(old_spec: Obj, new_spec: Obj) -> str:
    lines = ["  core.PersistentVolumeClaimSpec{"]
    for name in sorted(set(old_spec) | set(new_spec)):
        if old_spec.get(name) == new_spec.get(name):
            continue
        go_name = _GO_FIELDS.get(name, name)
        if name in old_spec:
            lines.append(f"- \t{go_name}: {json.dumps(old_spec[name], sort_keys=True)},")
        if name in new_spec:
            lines.append(f"+ \t{go_name}: {json.dumps(new_spec[name], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


# -- binding and the local volume ----------------------------------------------------------------------


def volume_name(claim: Obj) -> str:
    """The name a dynamically provisioned volume gets: `pvc-<claim uid>`."""
    return f"pvc-{claim['metadata']['uid']}"


def is_bound(claim: Obj) -> bool:
    phase = (claim.get("status") or {}).get("phase")
    return bool((claim.get("spec") or {}).get("volumeName")) and phase == "Bound"


def requested_storage(claim: Obj) -> str:
    return str(_storage(claim.get("spec") or {}) or "")


def claim_directory(workdir: Path, claim: Obj) -> Path:
    """`<workdir>/volumes/<namespace>/<name>-<first 8 of uid>`: a recreated claim never sees old data."""
    meta = claim["metadata"]
    namespace, name, uid = str(meta.get("namespace", "")), str(meta["name"]), str(meta["uid"])
    return workdir / "volumes" / namespace / f"{name}-{uid[:8]}"


def access_modes_text(modes: list[str]) -> str:
    """GetAccessModesAsString: `RWO,RWX`, in upstream's fixed order, without duplicates."""
    return ",".join(short for mode, short in _SHORT_MODES if mode in modes)
