"""What the apiserver checks on every write before storing: metadata rules and, for custom
resources, the CRD's structural schema (unknown fields, defaults, validation).
"""

from __future__ import annotations

import copy
from typing import Any

from . import errors
from .namerules import label_value_errors, qualified_name_errors
from .resources import ResourceType
from .schema import apply_defaults, prune, validate
from .store import Obj

_ANNOTATIONS_LIMIT = 256 * 1024
_OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def _invalid(field: str, value: str, problems: list[str]) -> list[tuple[str, str, str]]:
    return [(field, "FieldValueInvalid", f'Invalid value: "{value}": {problem}') for problem in problems]


def metadata_causes(obj: Obj) -> list[tuple[str, str, str]]:
    meta = obj.get("metadata") or {}
    causes: list[tuple[str, str, str]] = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [("metadata.labels", "FieldValueTypeInvalid", "Invalid value: must be a map of strings")]
    for key, value in labels.items():
        causes += _invalid("metadata.labels", str(key), qualified_name_errors(str(key)))
        if not isinstance(value, str):
            causes.append(
                (
                    f"metadata.labels[{key}]",
                    "FieldValueTypeInvalid",
                    f"Invalid value: {value!r}: must be a string",
                )
            )
        else:
            causes += _invalid("metadata.labels", value, label_value_errors(value))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        return [*causes, ("metadata.annotations", "FieldValueTypeInvalid", "Invalid value: must be a map")]
    for key in annotations:
        causes += _invalid("metadata.annotations", str(key), qualified_name_errors(str(key)))
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > _ANNOTATIONS_LIMIT:
        causes.append(
            ("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes")
        )
    return causes


def prune_object_meta(obj: Obj) -> list[str]:
    """Drop what ObjectMeta does not know (the apiserver's decoder does, for every kind); return the paths."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return []
    unknown = [key for key in meta if key not in _OBJECT_META_FIELDS]
    for key in unknown:
        del meta[key]
    return [f"metadata.{key}" for key in unknown]


def _status_ratchet(rt: ResourceType, obj: Obj, old: Obj) -> tuple[Obj, dict[str, Any]] | None:
    """For a write through /status: the changed part of the status and a schema for just that part.

    Like kube-apiserver's validation ratcheting (1.30+), a field equal to what is stored is not validated
    again: it was valid when it was stored. A run's status carries its frozen spec, so this keeps each
    status write proportional to what changed. None when the status schema cannot be split that way.
    """
    schema = (rt.schema or {}).get("properties", {}).get("status")
    if not isinstance(schema, dict) or schema.get("required") or "properties" not in schema:
        return None
    status, stored = obj.get("status"), old.get("status")
    if not isinstance(status, dict) or not isinstance(stored, dict):
        return None
    for key, field_schema in schema["properties"].items():
        if key not in status and isinstance(field_schema, dict) and "default" in field_schema:
            status[key] = copy.deepcopy(field_schema["default"])  # defaulted like any absent field
    changed = {k: v for k, v in status.items() if k not in stored or stored[k] != v}
    if any(k not in schema["properties"] for k in changed):
        return None  # unknown fields: let the whole-status path prune and report them
    part_schema = {
        "type": "object",
        "properties": {"status": {**schema, "properties": {k: schema["properties"][k] for k in changed}}},
    }
    return {"metadata": obj.get("metadata", {}), "status": changed}, part_schema


def admit(
    rt: ResourceType, obj: Obj, *, field_validation: str, old: Obj | None = None, status_only: bool = False
) -> list[str]:
    """Check (and for custom resources prune and default) `obj` in place; return warnings to send back.

    With `status_only` (a write through /status, everything else equal to `old`), only the status
    fields that changed are checked. Raises a 400 under fieldValidation=Strict for unknown fields and a
    422 for invalid values.
    """
    checked, schema = obj, rt.schema
    if status_only and old is not None and rt.custom:
        ratchet = _status_ratchet(rt, obj, old)
        if ratchet is not None:
            checked, schema = ratchet
    warnings = _admit(rt, checked, schema, field_validation, old)
    if checked is not obj:
        obj["status"].update(checked["status"])  # defaults applied to the changed fields
    return warnings


def _admit(
    rt: ResourceType, obj: Obj, schema: dict[str, Any] | None, field_validation: str, old: Obj | None
) -> list[str]:
    warnings: list[str] = []
    causes = metadata_causes(obj)
    unknown = prune_object_meta(obj)
    if rt.custom and schema is not None:
        unknown = prune(obj, schema) + unknown
    if unknown:
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        if field_validation == "Strict":
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                f"{rt.kind}: strict decoding error: {listed}"
            )
        if field_validation != "Ignore":
            warnings += [f'unknown field "{path}"' for path in unknown]
    if rt.custom and schema is not None:
        apply_defaults(obj, schema)
        # An update's unchanged values are not validated again (ratcheting, in `validate`).
        causes += [(e.field, e.type, e.message) for e in validate(obj, schema, old=old)]
    if causes:
        raise errors.invalid(rt.kind, (obj.get("metadata") or {}).get("name", ""), causes, rt.group)
    return warnings


def field_validation_of(value: str | None) -> str:
    if value in (None, ""):
        return "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f'fieldValidation must be one of "Ignore", "Warn" or "Strict", got "{value}"'
        )
    return str(value)
