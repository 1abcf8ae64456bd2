"""Field errors as k8s.io/apimachinery/pkg/util/validation/field builds and prints them.

A 422 Status carries one cause per field error: `reason` is the cause type (`FieldValueInvalid`),
`field` the path (`spec.tasks[2].name`) and `message` the error body without the path
(`Invalid value: "x": ...`). The top-level message joins `<field>: <body>` of every error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .goformat import go_float, go_quote, go_syntax

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
TYPE_INVALID = "FieldValueTypeInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"

_TITLES = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    TYPE_INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    DUPLICATE: "Duplicate value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    NOT_FOUND: "Not found",
}
# These kinds never show the offending value (it may be huge or secret).
_VALUELESS = {REQUIRED, FORBIDDEN, TOO_LONG}


@dataclass(frozen=True)
class FieldError:
    """One cause of a 422: `type` is the CauseType, `message` the body without the field path."""

    field: str
    type: str
    message: str

    def render(self) -> str:
        return f"{self.field}: {self.message}"


def render_value(value: Any) -> str:
    """How field.Error's ErrorBody prints a bad value (Go's %v, %q or %#v depending on its type)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_syntax(value)


def body(error_type: str, value: Any, detail: str, *, show_value: bool = True) -> str:
    text = _TITLES[error_type]
    if show_value and error_type not in _VALUELESS:
        text += ": " + render_value(value)
    return f"{text}: {detail}" if detail else text


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, REQUIRED, body(REQUIRED, None, detail))


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, INVALID, body(INVALID, value, detail))


def type_invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, TYPE_INVALID, body(TYPE_INVALID, value, detail))


def not_supported(field: str, value: Any, supported: Sequence[str]) -> FieldError:
    detail = "supported values: " + ", ".join(go_quote(v) for v in supported) if supported else ""
    return FieldError(field, NOT_SUPPORTED, body(NOT_SUPPORTED, value, detail))


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, DUPLICATE, body(DUPLICATE, value, ""))


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(field, NOT_FOUND, body(NOT_FOUND, value, ""))


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, FORBIDDEN, body(FORBIDDEN, None, detail))


def too_long(field: str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    detail = f"may not be more than {max_length} {unit}" if max_length >= 0 else "value is too long"
    return FieldError(field, TOO_LONG, body(TOO_LONG, None, detail))


def too_many(field: str, actual: int, maximum: int) -> FieldError:
    unit = "item" if maximum == 1 else "items"
    detail = f"must have at most {maximum} {unit}" if maximum >= 0 else "has too many items"
    return FieldError(field, TOO_MANY, body(TOO_MANY, actual, detail, show_value=actual >= 0))


def child(path: str, name: str) -> str:
    """field.Path.Child: `spec` + `replicas` -> `spec.replicas`."""
    return f"{path}.{name}" if path else name


def index(path: str, position: int) -> str:
    """field.Path.Index: `spec.tasks` + 2 -> `spec.tasks[2]`."""
    return f"{path}[{position}]"


def key(path: str, name: str) -> str:
    """field.Path.Key: `spec.params` + `foo` -> `spec.params[foo]`."""
    return f"{path}[{name}]"


def aggregate_message(errors: Sequence[FieldError]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several as `[a, b]`, duplicates once."""
    seen: list[str] = []
    for error in errors:
        text = error.render()
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]" if seen else ""
