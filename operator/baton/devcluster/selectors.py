"""Label and field selectors, parsed and matched as k8s.io/apimachinery's labels and fields packages do.

The grammar, the normalisation (values sorted, requirements sorted by key) and the error messages
follow upstream, because kubectl prints the apiserver's message verbatim:
`unable to parse requirement: <nil>: Invalid value: "a@b": name part must consist of ...`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fielderrors import FieldError, aggregate_message, invalid, not_supported
from .goformat import go_quote, go_value
from .namerules import label_value_errors, qualified_name_errors

_INT64 = re.compile(r"^[+-]?[0-9]+$")
_OPERATORS = ("in", "notin", "=", "==", "!=", "gt", "lt")
_SUPPORTED_OPERATORS = ["!", "!=", "=", "==", "exists", "gt", "in", "lt", "notin"]


class SelectorError(ValueError):
    """A selector the apiserver would answer with 400 BadRequest; the message is upstream's."""


def _string_slice(values: Sequence[str] | None) -> str:
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def _as_int64(text: str) -> int | None:
    if not _INT64.match(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector; `operator` is one of =, ==, !=, in, notin, exists, !, gt, lt."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        if self.operator in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if not present or len(self.values) != 1:
            return False
        have, want = _as_int64(labels[self.key]), _as_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if self.operator == "gt" else have < want

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return "!" + self.key
        values = ",".join(sorted(self.values))
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({values})"
        symbol = {"gt": ">", "lt": "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements. No requirements selects everything, unless `nothing` is set
    (what a nil metav1.LabelSelector means)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements and not self.nothing

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def new_requirement(key: str, operator: str, values: Sequence[str], *, key_path: str = "key") -> Requirement:
    """labels.NewRequirement: validate the key, the operator's arity and every value."""
    errors: list[FieldError] = []
    key_problems = qualified_name_errors(key)
    if key_problems:
        errors.append(invalid(key_path, key, "; ".join(key_problems)))
    if operator in ("in", "notin") and not values:
        errors.append(_invalid_values(values, "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in ("=", "==", "!=") and len(values) != 1:
        errors.append(_invalid_values(values, "exact-match compatibility requires one single value"))
    elif operator in ("exists", "!") and values:
        errors.append(_invalid_values(values, "values set must be empty for exists and does not exist"))
    elif operator in ("gt", "lt"):
        if len(values) != 1:
            errors.append(_invalid_values(values, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, value in enumerate(values):
            if _as_int64(value) is None:
                errors.append(
                    invalid(f"values[{i}]", value, "for 'Gt', 'Lt' operators, the value must be an integer")
                )
    elif operator not in _SUPPORTED_OPERATORS:
        errors.append(not_supported("operator", operator, _SUPPORTED_OPERATORS))
    for i, value in enumerate(values):
        problems = label_value_errors(value)
        if problems:
            errors.append(invalid(f"values[{i}][{key}]", value, "; ".join(problems)))
    if errors:
        raise SelectorError(aggregate_message(errors))
    return Requirement(key, operator, tuple(values))


def _invalid_values(values: Sequence[str], detail: str) -> FieldError:
    return FieldError("values", "FieldValueInvalid", f"Invalid value: {_string_slice(values)}: {detail}")


# -- label selector text ---------------------------------------------------------------------------

_SPECIAL = "=!(),><"
_SYMBOLS = {"!", "!=", "=", "==", "(", ")", ",", ">", "<"}
_KEYWORDS = {"in", "notin"}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is "ident", "end", "error", a symbol, or a keyword."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            tokens.append(("end", ""))
            return tokens
        if text[position] in _SPECIAL:
            # The longest run of special characters that still spells a symbol.
            buffer, best = "", ""
            while position < len(text) and text[position] in _SPECIAL:
                if buffer + text[position] in _SYMBOLS:
                    buffer += text[position]
                    best = buffer
                    position += 1
                elif best:
                    break
                else:
                    buffer += text[position]
                    position += 1
            tokens.append((best, best) if best else ("error", f"error expected: keyword found '{buffer}'"))
            continue
        start = position
        while position < len(text) and text[position] not in _SPECIAL and text[position] not in " \t\r\n":
            position += 1
        word = text[start:position]
        tokens.append((word, word) if word in _KEYWORDS else ("ident", word))


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        kind, literal = self.tokens[min(self.position, len(self.tokens) - 1)]
        # Where a value is expected, the keywords in and notin are plain identifiers.
        return ("ident", literal) if values and kind in _KEYWORDS else (kind, literal)

    def take(self, values: bool = True) -> tuple[str, str]:
        token = self.peek(values)
        self.position += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == "end":
                return requirements
            if kind not in ("ident", "!"):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as error:
                raise SelectorError(f"unable to parse requirement: {error}") from None
            kind, literal = self.take()
            if kind == "end":
                return requirements
            if kind != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek()
            if kind not in ("ident", "!"):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, literal = self.take()
        negated = kind == "!"
        if negated:
            kind, literal = self.take()
        if kind != "ident":
            raise SelectorError(f"found '{literal}', expected: identifier")
        key = literal
        problems = qualified_name_errors(key)
        if problems:
            raise SelectorError(invalid("<nil>", key, "; ".join(problems)).render())
        if negated or self.peek()[0] in ("end", ","):
            return new_requirement(key, "!" if negated else "exists", [])
        kind, literal = self.take(values=False)
        operator = {"in": "in", "notin": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}.get(
            kind
        )
        if operator is None:
            raise SelectorError(f"found '{literal}', expected: {', '.join(_OPERATORS)}")
        values = self.value_set() if operator in ("in", "notin") else self.exact_value()
        return new_requirement(key, operator, sorted(values))

    def exact_value(self) -> set[str]:
        if self.peek()[0] in ("end", ","):
            return {""}
        kind, literal = self.take()
        if kind != "ident":
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}

    def value_set(self) -> set[str]:
        kind, literal = self.take()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self.peek()
        if kind == ")":
            self.take()
            return {""}
        if kind not in ("ident", ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.take()[0] != ")":
            raise SelectorError(f"found '{literal}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            kind, literal = self.take()
            if kind == "ident":
                values.add(literal)
                after, after_literal = self.peek()
                if after == ")":
                    return values
                if after != ",":
                    raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            elif kind == ",":
                # "(,a" and "a,,b" and "a,)" all mean the empty value too.
                if not values:
                    values.add("")
                after = self.peek()[0]
                if after == ")":
                    values.add("")
                    return values
                if after == ",":
                    self.take()
                    values.add("")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse: `app=web,tier!=db,env in (a,b),!legacy`; blank selects everything."""
    requirements = _LabelParser(text).parse()
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: matchLabels and matchExpressions; None selects nothing."""
    if selector is None:
        return LabelSelector(nothing=True)
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise SelectorError("matchLabels must be a map and matchExpressions a list")
    requirements = []
    for key in sorted(match_labels):
        value = match_labels[key]
        if not isinstance(value, str):
            raise SelectorError(f"matchLabels[{key}]: Invalid value: {go_value(value)}: must be a string")
        requirements.append(new_requirement(str(key), "=", [value]))
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in expressions:
        if not isinstance(expression, Mapping):
            raise SelectorError("matchExpressions entries must be objects")
        operator = expression.get("operator")
        if operator not in operators:
            raise SelectorError(f"{go_quote(str(operator or ''))} is not a valid label selector operator")
        values = [str(v) for v in expression.get("values") or []]
        requirements.append(new_requirement(str(expression.get("key", "")), operators[operator], values))
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


# -- field selectors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    """`field=value` (also written `==`) or `field!=value` against a dotted path into the object."""

    field: str
    operator: str
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = field_value(obj, self.field) == self.value
        return not equal if self.operator == "!=" else equal

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'!=' if self.operator == '!=' else '='}{escaped}"


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def exact(self, field: str) -> str | None:
        """The value `field` must equal, if the selector pins it (e.g. a watch on metadata.name=x)."""
        for r in self.requirements:
            if r.field == field and r.operator != "!=":
                return r.value
        return None

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The text a field selector compares with; anything missing reads as ""."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    if value is None:
        return ""
    return value if isinstance(value, str) else go_value(value)


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, i):
                return term[:i], operator, term[i + len(operator) :]
    return None


def _unescape(value: str) -> str:
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {char}")
        else:
            out.append(char)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str, supported: Collection[str]) -> FieldSelector:
    """fields.ParseSelector plus the per-resource check that each field is one the resource indexes."""
    requirements = []
    for term in sorted(_split_terms(text)) if text else []:
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, operator, raw = split
        value = _unescape(raw)
        if field not in supported:
            raise SelectorError(f"field label not supported: {field}")
        requirements.append(FieldRequirement(field, operator, value))
    return FieldSelector(tuple(requirements))
