"""Validation of custom resources against their CRD's openAPIV3Schema, as apiextensions-apiserver does.

kube-apiserver runs, in order: pruning of unknown fields, defaulting, then the OpenAPI schema
validator (k8s.io/kube-openapi) and the list-type checks (`x-kubernetes-list-type: set|map`). This
module is the validation half; pruning, defaulting and the structural-schema rules for CRD creation
live in `structural` and are re-exported here.

Messages are kube-openapi's, turned into field errors the way apiextensions does it: the schema
validator names fields with dots and `[i]` (`spec.tasks[2].name`, and `spec.params.foo` for a key
under additionalProperties), while the list-type checks use field.Path (`spec.params[foo]`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from . import fielderrors as fe
from .fielderrors import FieldError
from .goformat import go_float, go_json, go_quote
from .namerules import dns1035_label_errors
from .structural import apply_defaults, check_structural, prune, structural_errors

__all__ = [
    "FieldError",
    "apply_defaults",
    "check_structural",
    "prune",
    "structural_errors",
    "validate",
]

Schema = dict[str, Any]

# strfmt's date-time accepts RFC 3339 with or without fractions, and a few near relatives.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_STORED_NOTHING: Any = object()
"""No stored value at this path (a create, or a field the update adds)."""


def validate(obj: Any, schema: Schema, path: str = "", old: dict[str, Any] | None = None) -> list[FieldError]:
    """Every way `obj` breaks `schema`: schema validation errors first, then list-type errors.

    With `old` (what an update replaces), a value equal to the stored one at the same path is not
    validated again (kube-apiserver's validation ratcheting, on by default since 1.33): it was valid when
    it was stored, and a run's 1,000-task status write then costs what changed. Unlike the API server,
    the elements of atomic lists are matched by index too (it only ratchets such a list as a whole), so
    an element made invalid by a later schema change is not reported while it stays as it is; and a value
    whose only change is a number becoming a boolean of equal truth (1 → true) inside a list or object
    that Python finds equal is not validated again (telling them apart costs a walk of every value)."""
    errors: list[FieldError] = []
    _validate_node(obj, schema, path, errors, _STORED_NOTHING if old is None else old)
    _validate_list_types(obj, schema, path, errors)
    return errors


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _field(path: str) -> str:
    # apiextensions validates with a nil root field.Path, which prints as <nil>.
    return path or "<nil>"


def _declared_types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    declared = schema.get("type")
    return [declared] if isinstance(declared, str) and declared else []


def _type_matches(value: Any, types: list[str]) -> bool:
    actual = json_type(value)
    if actual in types:
        return True
    # A JSON number with no fraction is an integer, and every integer is a number.
    if actual == "number" and "integer" in types:
        return math.isfinite(value) and float(value).is_integer()
    return actual == "integer" and "number" in types


def _unchanged(value: Any, old: Any) -> bool:
    # The same type too: Python's 1 == True and 1 == 1.0 are different JSON values.
    return old is not _STORED_NOTHING and type(value) is type(old) and value == old


def _validate_node(
    value: Any, schema: Schema, path: str, out: list[FieldError], old: Any = _STORED_NOTHING
) -> None:
    if not isinstance(schema, dict) or _unchanged(value, old):
        return
    types = _declared_types(schema)
    if value is None:
        if types and not schema.get("nullable"):
            detail = f"{path} in body must be of type {','.join(types)}: {go_quote('null')}"
            out.append(fe.type_invalid(_field(path), "null", detail))
        elif "enum" in schema and None not in (schema["enum"] or []):
            out.append(_enum_error(value, schema, path))
        return
    if types and not _type_matches(value, types):
        actual = json_type(value)
        detail = f"{path} in body must be of type {','.join(types)}: {go_quote(actual)}"
        out.append(fe.type_invalid(_field(path), actual, detail))
        return
    _validate_combinators(value, schema, path, out)
    if isinstance(value, str):
        _validate_string(value, schema, path, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, out)
    elif isinstance(value, list):
        _validate_array(value, schema, path, out, old if isinstance(old, list) else [])
    if "enum" in schema and not any(_json_equal(value, v) for v in schema["enum"] or []):
        out.append(_enum_error(value, schema, path))
    if isinstance(value, dict):
        _validate_object(value, schema, path, out, old if isinstance(old, dict) else {})
        if schema.get("x-kubernetes-embedded-resource"):
            _validate_embedded(value, path, out)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_equal(left: Any, right: Any) -> bool:
    return _canonical(left) == _canonical(right)


def _enum_error(value: Any, schema: Schema, path: str) -> FieldError:
    supported = [v if isinstance(v, str) else go_json(v) for v in schema.get("enum") or []]
    return fe.not_supported(_field(path), value, supported)


def _attempt(value: Any, schema: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    _validate_node(value, schema, path, errors)
    return errors


def _composite(path: str, message: str) -> FieldError:
    # Combinator failures are not per-field errors upstream, so they land on the nil root path.
    return fe.invalid("<nil>", "", f"{go_quote(path)} {message}")


def _fewest(results: list[list[FieldError]]) -> list[FieldError]:
    # Upstream reports the alternative that got furthest; the one with fewest errors is close.
    return min(results, key=len)


def _validate_combinators(value: Any, schema: Schema, path: str, out: list[FieldError]) -> None:
    if schema.get("anyOf"):
        results = [_attempt(value, sub, path) for sub in schema["anyOf"]]
        if all(results):
            out.append(_composite(path, "must validate at least one schema (anyOf)"))
            out.extend(_fewest(results))
    if schema.get("oneOf"):
        results = [_attempt(value, sub, path) for sub in schema["oneOf"]]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(_composite(path, f"must validate one and only one schema (oneOf). {found}"))
            if valid == 0:
                out.extend(_fewest(results))
    if schema.get("allOf"):
        results = [_attempt(value, sub, path) for sub in schema["allOf"]]
        for result in results:
            out.extend(result)
        failed = sum(1 for r in results if r)
        if failed:
            none = ". None validated" if failed == len(results) else ""
            out.append(_composite(path, f"must validate all the schemas (allOf){none}"))
    if isinstance(schema.get("not"), dict) and not _attempt(value, schema["not"], path):
        out.append(_composite(path, "must not validate the schema (not)"))


def _go_pattern(pattern: str) -> str:
    # RE2's end-of-text anchor is \z; Python spells it \Z.
    return re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)


def _validate_string(value: str, schema: Schema, path: str, out: list[FieldError]) -> None:
    if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
        out.append(fe.too_long(_field(path), schema["maxLength"]))
    if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
        detail = f"{path} in body should be at least {schema['minLength']} chars long"
        out.append(fe.invalid(_field(path), value, detail))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(_go_pattern(pattern), value) is not None
        except re.error as error:
            out.append(
                fe.invalid(
                    _field(path),
                    value,
                    f"{path} in body should match '{pattern}', but pattern is invalid: {error}",
                )
            )
        else:
            if not matched:
                out.append(fe.invalid(_field(path), value, f"{path} in body should match '{pattern}'"))
    fmt = schema.get("format")
    check = _FORMATS.get(fmt) if isinstance(fmt, str) else None
    if check is not None and not check(value):
        out.append(
            fe.type_invalid(_field(path), value, f"{path} in body must be of type {fmt}: {go_quote(value)}")
        )


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": lambda v: _DATE_TIME.match(v) is not None,
    "datetime": lambda v: _DATE_TIME.match(v) is not None,
    "date": lambda v: _DATE.match(v) is not None,
}


def _bound_text(value: float, bound: float) -> str:
    # kube-openapi compares an integer with an integer bound and prints it as one.
    if isinstance(value, int) and float(bound).is_integer():
        return str(int(bound))
    return go_float(float(bound))


def _validate_number(value: float, schema: Schema, path: str, out: list[FieldError]) -> None:
    factor = schema.get("multipleOf")
    if isinstance(factor, int | float) and factor > 0:
        ratio = (1 / factor) * value if factor < 1 else value / factor
        if not (math.isfinite(ratio) and float(ratio).is_integer()):
            detail = f"{path} in body should be a multiple of {_bound_text(value, factor)}"
            out.append(fe.invalid(_field(path), value, detail))
    maximum = schema.get("maximum")
    if isinstance(maximum, int | float):
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > maximum or (exclusive and value == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            detail = f"{path} in body should be {relation} {_bound_text(value, maximum)}"
            out.append(fe.invalid(_field(path), value, detail))
    minimum = schema.get("minimum")
    if isinstance(minimum, int | float):
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < minimum or (exclusive and value == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            detail = f"{path} in body should be {relation} {_bound_text(value, minimum)}"
            out.append(fe.invalid(_field(path), value, detail))


def _validate_array(
    value: list[Any], schema: Schema, path: str, out: list[FieldError], old: list[Any]
) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            stored = old[i] if i < len(old) else _STORED_NOTHING
            if not _unchanged(item, stored):  # checked here: a path costs more than the comparison
                _validate_node(item, items, f"{path}[{i}]", out, stored)
    if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
        detail = f"{path} in body should have at least {schema['minItems']} items"
        out.append(fe.invalid(_field(path), len(value), detail))
    if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
        out.append(fe.too_many(_field(path), len(value), schema["maxItems"]))
    if schema.get("uniqueItems") and len({_canonical(v) for v in value}) != len(value):
        out.append(fe.invalid(_field(path), "", f"{path} in body shouldn't contain duplicates"))


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str, out: list[FieldError], old: dict[str, Any]
) -> None:
    # kube-openapi stops at a property-count failure without looking inside.
    count = len(value)
    if isinstance(schema.get("minProperties"), int) and count < schema["minProperties"]:
        detail = f"{path} in body should have at least {schema['minProperties']} properties"
        out.append(fe.invalid(_field(path), count, detail))
        return
    if isinstance(schema.get("maxProperties"), int) and count > schema["maxProperties"]:
        out.append(fe.too_many(_field(path), count, schema["maxProperties"]))
        return
    properties: dict[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            continue
        if additional is False:
            out.append(fe.invalid(_field(path), name, f"{path}.{name} in body is a forbidden property"))
        elif isinstance(additional, dict):
            _validate_node(item, additional, f"{path}.{name}", out, old.get(name, _STORED_NOTHING))
    for name, subschema in properties.items():
        if name in value:
            _validate_node(value[name], subschema, fe.child(path, name), out, old.get(name, _STORED_NOTHING))
    for name in schema.get("required") or []:
        if name not in value:
            out.append(fe.required(fe.child(path, name)))


def _validate_embedded(value: dict[str, Any], path: str, out: list[FieldError]) -> None:
    """What apiextensions checks of an x-kubernetes-embedded-resource: a typed object of its own."""
    for name in ("apiVersion", "kind"):
        if name not in value:
            out.append(fe.required(fe.child(path, name), "must not be empty"))
    for name in ("apiVersion", "kind"):
        if name not in value:
            continue
        item, where = value[name], fe.child(path, name)
        if not isinstance(item, str):
            out.append(fe.invalid(where, item, "must be a string"))
        elif not item:
            out.append(fe.invalid(where, item, "must not be empty"))
        elif name == "apiVersion" and item.count("/") > 1:
            out.append(fe.invalid(where, item, f"unexpected GroupVersion string: {item}"))
        elif name == "kind" and dns1035_label_errors(item.lower()):
            problems = ",".join(dns1035_label_errors(item.lower()))
            out.append(
                fe.invalid(where, item, f"may have mixed case, but should otherwise match: {problems}")
            )


def _validate_list_types(value: Any, schema: Any, path: str, out: list[FieldError]) -> None:
    """x-kubernetes-list-type set/map uniqueness, walked with field.Path naming."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                _validate_list_types(item, properties[name], fe.child(path, name), out)
            elif isinstance(additional, dict):
                _validate_list_types(item, additional, fe.key(path, name), out)
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            for i in _second_occurrences([_canonical(v) for v in value]):
                out.append(fe.duplicate(fe.index(path, i), value[i]))
        elif list_type == "map":
            out.extend(_list_map_errors(value, schema, path))
        items = schema.get("items")
        for i, item in enumerate(value):
            _validate_list_types(item, items, fe.index(path, i), out)


def _second_occurrences(keys: list[str]) -> list[int]:
    """Indices where a key shows up for the second time (upstream reports each duplicate once)."""
    seen: dict[str, int] = {}
    found = []
    for i, k in enumerate(keys):
        seen[k] = seen.get(k, 0) + 1
        if seen[k] == 2:
            found.append(i)
    return found


def _list_map_errors(value: list[Any], schema: Schema, path: str) -> list[FieldError]:
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            return [fe.invalid(fe.index(path, i), item, "must be an object for an array of list-type map")]
    key_names = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    item_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    assert isinstance(item_schema, dict)
    item_properties = item_schema.get("properties") or {}
    keys: list[str] = []
    present: list[int] = []
    for i, item in enumerate(value):
        if item is None:
            continue
        parts = {}
        for name in key_names:
            if name in item:
                parts[name] = item[name]
            elif "default" in (item_properties.get(name) or {}):
                parts[name] = item_properties[name]["default"]
            else:
                parts[name] = {"$unspecified": True}
        keys.append(_canonical(parts))
        present.append(i)
    duplicates = [present[j] for j in _second_occurrences(keys)]
    return [
        fe.duplicate(fe.index(path, i), {k: value[i][k] for k in key_names if k in value[i]})
        for i in duplicates
    ]
