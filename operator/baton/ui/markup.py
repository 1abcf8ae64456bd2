"""HTML built so that nothing from the cluster can become markup: every string is escaped unless it is
`Markup`, which only this module's builders make. A task named `<script>` or a log line full of tags is
shown as text, by construction rather than by remembering to escape at each use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Union

Child = Union["Markup", str, int, float, None, Iterable["Child"]]


class Markup(str):
    """Text that is already HTML (made here, from escaped parts)."""


def text(value: object) -> Markup:
    return Markup(escape(str(value), quote=True))


def render(child: Child) -> Markup:
    if child is None:
        return Markup("")
    if isinstance(child, Markup):
        return child
    if isinstance(child, (str, int, float)):
        return text(child)
    return Markup("".join(render(part) for part in child))


def element(name: str, attrs: Mapping[str, object] | None = None, *children: Child) -> Markup:
    """`<name attrs>children</name>`; attributes whose value is None or False are left out, True ones are
    written bare. Names are this module's callers' own, never data."""
    parts = [name]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(key if value is True else f'{key}="{text(value)}"')
    return Markup(f"<{' '.join(parts)}>{render(children)}</{name}>")


def void(name: str, attrs: Mapping[str, object] | None = None) -> Markup:
    """An element without content (`<meta>`, `<input>`)."""
    return Markup(element(name, attrs).removesuffix(f"</{name}>"))


def join(parts: Iterable[Child]) -> Markup:
    return render(list(parts))
