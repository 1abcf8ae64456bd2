"""Structural-schema behaviour of apiextensions-apiserver: pruning, defaulting and the rules a CRD's
openAPIV3Schema must follow to be accepted.

A structural schema says, for every node, what type it has and which fields exist. The apiserver uses
that to drop unknown fields (reporting them under fieldValidation=Strict), to drop nulls the schema
does not allow, and to fill in defaults, all before it validates the object.
"""

from __future__ import annotations

import copy
from typing import Any

from . import fielderrors as fe
from .fielderrors import FieldError

Schema = dict[str, Any]

_OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_LIST_TYPES = ["atomic", "map", "set"]
_EMBEDDED_FIELDS = {"apiVersion": str, "kind": str, "metadata": dict}


def prune(obj: Any, schema: Schema, *, is_root: bool = True) -> list[str]:
    """Remove, in place, every field `schema` does not specify; return their paths, sorted.

    Unknown fields survive under `x-kubernetes-preserve-unknown-fields: true` and under
    `additionalProperties: true`. A resource root and every `x-kubernetes-embedded-resource` keep
    their `apiVersion`, `kind` and `metadata`, which the schema does not get to prune.
    """
    if is_root:
        schema = {**(schema or {}), "x-kubernetes-embedded-resource": True}
    removed: list[str] = []
    _prune(obj, schema, [], removed)
    return sorted(removed)


def _with_key(path: list[str], name: str) -> list[str]:
    return [*path, name]


def _with_index(path: list[str], position: int) -> list[str]:
    # The apiserver glues indices to the previous segment: spec.tasks[0].bar.
    if not path:
        return [f"[{position}]"]
    return [*path[:-1], f"{path[-1]}[{position}]"]


def _keeps_everything(schema: Schema) -> bool:
    return (
        bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True
    )


def _is_embedded_meta(schema: Schema, name: str, value: Any) -> bool:
    expected = _EMBEDDED_FIELDS.get(name)
    return (
        bool(schema.get("x-kubernetes-embedded-resource"))
        and expected is not None
        and isinstance(value, expected)
    )


def _prune(value: Any, schema: Schema | None, path: list[str], removed: list[str]) -> None:
    if schema is not None and _keeps_everything(schema):
        _prune_known_only(value, schema, path, removed)
        return
    if isinstance(value, dict):
        if schema is None:
            removed.extend(".".join(_with_key(path, name)) for name in value)
            value.clear()
            return
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name in list(value):
            if _is_embedded_meta(schema, name, value[name]):
                continue
            if name in properties:
                _prune(value[name], properties[name], _with_key(path, name), removed)
            elif isinstance(additional, dict):
                _prune(value[name], additional, _with_key(path, name), removed)
            else:
                removed.append(".".join(_with_key(path, name)))
                del value[name]
    elif isinstance(value, list):
        items = schema.get("items") if schema is not None else None
        for i, item in enumerate(value):
            _prune(item, items if isinstance(items, dict) else None, _with_index(path, i), removed)


def _prune_known_only(value: Any, schema: Schema, path: list[str], removed: list[str]) -> None:
    """Under preserve-unknown-fields only the fields the schema does describe are pruned inside."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name in list(value):
            if _is_embedded_meta(schema, name, value[name]):
                continue
            if name in properties:
                _prune(value[name], properties[name], _with_key(path, name), removed)
            elif isinstance(additional, dict):
                _prune(value[name], additional, _with_key(path, name), removed)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune_known_only(item, schema["items"], _with_index(path, i), removed)


def apply_defaults(obj: Any, schema: Schema) -> Any:
    """Fill in `default`s for absent fields, in place, and return `obj`.

    Like the apiserver, a null in a field that is not `nullable` counts as absent: it is replaced by
    the default, or dropped when there is none. Defaults are deep-copied and then defaulted in turn.
    """
    _default(obj, schema)
    return obj


def _non_nullable_null(value: Any, schema: Any) -> bool:
    return value is None and isinstance(schema, dict) and not schema.get("nullable")


def _default(value: Any, schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name, subschema in properties.items():
            if isinstance(subschema, dict) and "default" in subschema:
                if name not in value or _non_nullable_null(value[name], subschema):
                    value[name] = copy.deepcopy(subschema["default"])
        for name in list(value):
            subschema = properties.get(name, additional if isinstance(additional, dict) else None)
            if subschema is None:
                continue
            if _non_nullable_null(value[name], subschema):
                if "default" in subschema:
                    value[name] = copy.deepcopy(subschema["default"])
                else:
                    del value[name]
                    continue
            _default(value[name], subschema)
    elif isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, dict):
            return
        for i, item in enumerate(value):
            # Nulls inside arrays are kept (and then rejected by validation) unless there is a default.
            if _non_nullable_null(item, items) and "default" in items:
                value[i] = copy.deepcopy(items["default"])
            _default(value[i], items)


def check_structural(schema: Schema, path: str = "") -> list[str]:
    """The structural-schema violations of a CRD's openAPIV3Schema, each as `<field>: <message>`.

    Fields are relative to `path` (the schema root); see `structural_errors` for cause objects.
    """
    return [error.render() for error in structural_errors(schema, path)]


def structural_errors(schema: Schema, path: str = "openAPIV3Schema") -> list[FieldError]:
    """The main rules apiextensions enforces when a CRD is created or updated, as field errors.

    Pass `path="spec.versions[0].schema.openAPIV3Schema"` to get the apiserver's exact field paths.
    """
    if not isinstance(schema, dict):
        return [fe.invalid(path or "<nil>", schema, "must be an object")]
    errors: list[FieldError] = []
    _check_node(schema, "root", path, errors)
    return errors


def _check_node(schema: Schema, level: str, path: str, out: list[FieldError]) -> None:
    declared = schema.get("type")
    exempt = schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields")
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    if declared in (None, ""):
        if not exempt and not embedded:
            where = {
                "root": "at the root",
                "item": "for specified array items",
                "field": "for specified object fields",
            }
            out.append(fe.required(fe.child(path, "type"), f"must not be empty {where[level]}"))
    elif declared not in _OPENAPI_TYPES:
        out.append(fe.not_supported(fe.child(path, "type"), declared, _OPENAPI_TYPES))
    if embedded and declared != "object":
        message = "must be object if x-kubernetes-embedded-resource is true"
        if declared in (None, ""):
            out.append(fe.required(fe.child(path, "type"), message))
        else:
            out.append(fe.invalid(fe.child(path, "type"), declared, message))
    if level == "root" and declared not in (None, "", "object"):
        out.append(fe.invalid(fe.child(path, "type"), declared, "must be object at the root"))
    if declared == "array" and not isinstance(schema.get("items"), dict):
        out.append(fe.required(fe.child(path, "items"), "must be specified"))
    if schema.get("uniqueItems") is True:
        out.append(
            fe.forbidden(
                fe.child(path, "uniqueItems"),
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        )
    properties = schema.get("properties") or {}
    if "additionalProperties" in schema and properties and schema["additionalProperties"] is not True:
        out.append(
            fe.forbidden(
                fe.child(path, "additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            )
        )
    if level == "root" or embedded:
        _check_resource_fields(properties, path, out)
    if level == "root" and isinstance(properties.get("metadata"), dict):
        _check_metadata(properties["metadata"], fe.key(fe.child(path, "properties"), "metadata"), out)
    if embedded and not schema.get("x-kubernetes-preserve-unknown-fields") and not properties:
        out.append(
            fe.required(
                fe.child(path, "properties"),
                "must not be empty if x-kubernetes-embedded-resource "
                "is true without x-kubernetes-preserve-unknown-fields",
            )
        )
    _check_list_type(schema, path, out)
    for name, subschema in properties.items():
        if isinstance(subschema, dict):
            _check_node(subschema, "field", fe.key(fe.child(path, "properties"), name), out)
    if isinstance(schema.get("items"), dict):
        _check_node(schema["items"], "item", fe.child(path, "items"), out)
    if isinstance(schema.get("additionalProperties"), dict):
        _check_node(schema["additionalProperties"], "field", fe.child(path, "additionalProperties"), out)


def _check_resource_fields(properties: dict[str, Any], path: str, out: list[FieldError]) -> None:
    for name, expected in (("kind", "string"), ("apiVersion", "string"), ("metadata", "object")):
        subschema = properties.get(name)
        if isinstance(subschema, dict) and subschema.get("type") != expected:
            where = fe.child(fe.key(fe.child(path, "properties"), name), "type")
            out.append(fe.invalid(where, subschema.get("type", ""), f"must be {expected}"))


def _check_metadata(metadata: Schema, path: str, out: list[FieldError]) -> None:
    """At the root, metadata may only restrict name and generateName; the rest is the apiserver's."""
    rest = {k: v for k, v in metadata.items() if k not in ("type", "default", "properties")}
    extra_properties = set(metadata.get("properties") or {}) - {"name", "generateName"}
    if rest or extra_properties:
        out.append(
            fe.forbidden(
                path,
                "must not specify anything other than name and generateName, but metadata "
                "is implicitly specified",
            )
        )


def _check_list_type(schema: Schema, path: str, out: list[FieldError]) -> None:
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys")
    type_path = fe.child(path, "x-kubernetes-list-type")
    keys_path = fe.child(path, "x-kubernetes-list-map-keys")
    if list_type is not None and list_type not in _LIST_TYPES:
        out.append(fe.not_supported(type_path, list_type, _LIST_TYPES))
    if list_type is not None and schema.get("type") != "array":
        out.append(fe.invalid(type_path, list_type, "must only be used on type=array"))
    if keys and list_type != "map":
        out.append(fe.forbidden(keys_path, "must not be set if x-kubernetes-list-type is not map"))
    if list_type != "map":
        return
    if not keys:
        out.append(fe.required(keys_path, "must not be empty if x-kubernetes-list-type is map"))
        return
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    assert isinstance(items, dict)
    if items.get("type") != "object":
        out.append(
            fe.invalid(
                fe.child(fe.child(path, "items"), "type"),
                items.get("type", ""),
                "must be object if parent array's x-kubernetes-list-type is map",
            )
        )
        return
    item_properties = items.get("properties") or {}
    if any(k not in item_properties for k in keys):
        out.append(fe.invalid(keys_path, keys, "entries must all be names of item properties"))
