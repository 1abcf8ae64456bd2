"""The Kubernetes JSONPath subset (k8s.io/client-go/util/jsonpath) and printer-column cells.

Evaluation behaves as the apiserver's printer columns use it, with missing keys allowed: a path that
finds nothing yields no results rather than an error. Out-of-range indices also yield nothing (the
Go implementation errors, which the table convertor turns into an empty cell just the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .printcolumns import format_cell, human_duration

__all__ = ["JSONPathError", "compare", "evaluate", "format_cell", "human_duration", "parse"]


class JSONPathError(ValueError):
    """A JSONPath expression that does not parse."""


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Recursive:
    pass


@dataclass(frozen=True)
class Current:
    """A lone `.` or `@`: the object itself."""


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None
    single: bool  # [n] rather than [a:b]


@dataclass(frozen=True)
class Union:
    parts: tuple[Slice | Field, ...]


@dataclass(frozen=True)
class Filter:
    left: tuple[Step, ...] | Literal
    operator: str  # ==, !=, <, >, <=, >=, or "exists"
    right: tuple[Step, ...] | Literal | None


@dataclass(frozen=True)
class Literal:
    value: Any


Step = Field | Wildcard | Recursive | Current | Slice | Union | Filter

# Where a field name ends (client-go's isTerminator); anything else, even "=", belongs to the name.
_TERMINATORS = set(" \t\r\n.,[]$@{}")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")


def parse(expr: str) -> tuple[Step, ...]:
    """Parse `{.a.b[0]}`, `.a.b[0]` or `$.a.b[0]` into steps; raise JSONPathError if malformed."""
    text = expr.strip()
    if text.startswith("{"):
        if not text.endswith("}"):
            raise JSONPathError(f"unclosed action in {expr!r}")
        text = text[1:-1].strip()
    elif text.endswith("}"):
        raise JSONPathError(f"unexpected '}}' in {expr!r}")
    parser = _Parser(text)
    steps = parser.path(top=True)
    if parser.position != len(text):
        raise JSONPathError(f"unrecognized character in action: {text[parser.position]!r} in {expr!r}")
    return steps


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def peek(self, ahead: int = 0) -> str:
        at = self.position + ahead
        return self.text[at] if at < len(self.text) else ""

    def path(self, *, top: bool = False) -> tuple[Step, ...]:
        steps: list[Step] = []
        if self.peek() in ("$", "@"):
            self.position += 1
        elif top and self.peek() and self.peek() not in ".[":
            steps.append(Field(self.name()))  # a bare leading field, as kubectl's custom columns allow
        while True:
            char = self.peek()
            if char == "." and self.peek(1) == ".":
                self.position += 2
                steps.append(Recursive())
                if self.peek() == "[":
                    continue
                steps.append(self.field_after_dot())
            elif char == ".":
                self.position += 1
                steps.append(self.field_after_dot())
            elif char == "[":
                steps.append(self.bracket())
            else:
                return tuple(steps)

    def field_after_dot(self) -> Step:
        if self.peek() == "*":
            self.position += 1
            return Wildcard()
        if self.peek() == "":
            return Current()  # a lone "." (or a trailing one) is the object itself
        if self.peek() in (".", "["):
            raise JSONPathError(f"expected a field name at position {self.position} in {self.text!r}")
        return Field(self.name())

    def name(self) -> str:
        out = []
        while self.peek() and (self.peek() not in _TERMINATORS or self.peek() == "\\"):
            if self.peek() == "\\" and self.peek(1):
                self.position += 1  # \. keeps a dot inside a field name
            out.append(self.peek())
            self.position += 1
        if not out:
            raise JSONPathError(f"expected a field name at position {self.position} in {self.text!r}")
        return "".join(out)

    def bracket(self) -> Step:
        close = self._matching_bracket()
        inner = self.text[self.position + 1 : close].strip()
        self.position = close + 1
        if not inner:
            raise JSONPathError(f"empty array index in {self.text!r}")
        if inner == "*":
            return Wildcard()
        if inner.startswith("?"):
            return self.filter(inner)
        parts = [_index_or_key(part.strip(), self.text) for part in _split_outside_quotes(inner, ",")]
        return parts[0] if len(parts) == 1 else Union(tuple(parts))

    def _matching_bracket(self) -> int:
        depth, quote = 0, ""
        for at in range(self.position, len(self.text)):
            char = self.text[at]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
                if depth == 0:
                    return at
        raise JSONPathError(f"unterminated array in {self.text!r}")

    def filter(self, inner: str) -> Filter:
        body = inner[1:].strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise JSONPathError(f"unterminated filter in {self.text!r}")
        body = body[1:-1].strip()
        for operator in _COMPARATORS:
            pieces = _split_outside_quotes(body, operator, limit=1)
            if len(pieces) == 2:
                return Filter(_operand(pieces[0], self.text), operator, _operand(pieces[1], self.text))
        operand = _operand(body, self.text)
        if isinstance(operand, Literal):
            raise JSONPathError(f"invalid filter {body!r} in {self.text!r}")
        return Filter(operand, "exists", None)


def _split_outside_quotes(text: str, separator: str, limit: int = -1) -> list[str]:
    parts: list[str] = []
    start, quote, depth, at = 0, "", 0, 0
    while at < len(text):
        char = text[at]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif depth == 0 and text.startswith(separator, at) and (limit < 0 or len(parts) < limit):
            # "<" must not split "<=", and "=" inside "==" is handled by trying longer operators first.
            if not (separator in "<>" and text.startswith("=", at + 1)):
                parts.append(text[start:at])
                at += len(separator)
                start = at
                continue
        at += 1
    parts.append(text[start:])
    return parts


def _unquote(text: str) -> str | None:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return None


def _index_or_key(part: str, whole: str) -> Slice | Field:
    quoted = _unquote(part)
    if quoted is not None:
        return Field(quoted)
    pieces = part.split(":")
    if len(pieces) > 3:
        raise JSONPathError(f"invalid array index {part!r} in {whole!r}")
    numbers: list[int | None] = []
    for piece in pieces:
        piece = piece.strip()
        if piece and not re.fullmatch(r"-?\d+", piece):
            raise JSONPathError(f"invalid array index {part!r} in {whole!r}")
        numbers.append(int(piece) if piece else None)
    if len(numbers) == 1:
        return Slice(numbers[0], None, None, single=True)
    return Slice(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else None, single=False)


def _operand(text: str, whole: str) -> tuple[Step, ...] | Literal:
    text = text.strip()
    if text.startswith(("@", "$")):
        parser = _Parser(text)
        steps = parser.path()
        if parser.position != len(text):
            raise JSONPathError(f"invalid filter operand {text!r} in {whole!r}")
        return steps
    quoted = _unquote(text)
    if quoted is not None:
        return Literal(quoted)
    if text in ("true", "false"):
        return Literal(text == "true")
    if text == "null":
        return Literal(None)
    if _NUMBER.match(text):
        return Literal(float(text) if re.search(r"[.eE]", text) else int(text))
    raise JSONPathError(f"unrecognized filter operand {text!r} in {whole!r}")


# -- evaluation ------------------------------------------------------------------------------------


def evaluate(expr: str, obj: Any) -> list[Any]:
    """Every value `expr` selects in `obj`, in document order; [] when nothing matches."""
    return _run(parse(expr), [obj])


def _run(steps: tuple[Step, ...], values: list[Any]) -> list[Any]:
    for step in steps:
        values = _apply(step, values)
    return values


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descend(value: Any, out: list[Any]) -> None:
    # Pre-order, containers only: the node itself, then everything below it.
    if isinstance(value, dict | list):
        out.append(value)
        for child in _children(value):
            _descend(child, out)


def _apply(step: Step, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(step, Field):
            if isinstance(value, dict) and step.name in value:
                out.append(value[step.name])
        elif isinstance(step, Wildcard):
            out.extend(_children(value))
        elif isinstance(step, Recursive):
            _descend(value, out)
        elif isinstance(step, Current):
            out.append(value)
        elif isinstance(step, Slice):
            out.extend(_slice(step, value))
        elif isinstance(step, Union):
            for part in step.parts:
                out.extend(_apply(part, [value]))
        elif isinstance(step, Filter) and isinstance(value, list):
            out.extend(item for item in value if _passes(step, item))
    return out


def _slice(step: Slice, value: Any) -> list[Any]:
    if not isinstance(value, list):
        return []
    if step.single:
        assert step.start is not None
        position = step.start + len(value) if step.start < 0 else step.start
        return [value[position]] if 0 <= position < len(value) else []
    if step.step == 0:
        return []
    return value[step.start : step.stop : step.step]


def _operand_values(operand: tuple[Step, ...] | Literal | None, item: Any) -> list[Any]:
    if isinstance(operand, Literal):
        return [operand.value]
    return _run(operand or (), [item])


def _passes(step: Filter, item: Any) -> bool:
    lefts = _operand_values(step.left, item)
    if step.operator == "exists":
        return bool(lefts)
    rights = _operand_values(step.right, item)
    if len(lefts) != 1 or len(rights) != 1:
        return False
    return compare(lefts[0], step.operator, rights[0])


def compare(left: Any, operator: str, right: Any) -> bool:
    """text/template's eq/ne/lt/...: values of different kinds never compare."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if not numeric and type(left) is not type(right):
        return operator == "!="
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if not (numeric or isinstance(left, str)):
        return False
    return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator])
