"""What the apiserver checks on every write before storing: metadata rules and, for custom
resources, the CRD's structural schema (unknown fields, defaults, validation).
"""

from __future__ import annotations

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


def admit(rt: ResourceType, obj: Obj, *, field_validation: str) -> list[str]:
    """Check (and for custom resources prune and default) `obj` in place; return warnings to send back.

    Raises a 400 under fieldValidation=Strict for unknown fields and a 422 for invalid values.
    """
    warnings: list[str] = []
    causes = metadata_causes(obj)
    unknown = prune_object_meta(obj)
    if rt.custom and rt.schema is not None:
        unknown = prune(obj, rt.schema) + unknown
    if unknown:
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        if field_validation == "Strict":
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                f"{rt.kind}: strict decoding error: {listed}"
            )
        if field_validation != "Ignore":
            warnings += [f'unknown field "{path}"' for path in unknown]
    if rt.custom and rt.schema is not None:
        apply_defaults(obj, rt.schema)
        causes += [(e.field, e.type, e.message) for e in validate(obj, rt.schema)]
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


def warning_header(warnings: list[str]) -> dict[str, Any]:
    if not warnings:
        return {}
    return {"Warning": ", ".join('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)}
