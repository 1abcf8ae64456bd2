"""Where each field of a YAML document is, so that `baton lint` reports `file:line: message` and an editor
or a CI annotation points at the offending task, not at the top of the file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

_FIELD = re.compile(r"^((?:spec|metadata)(?:\.[\w.-]+?|\[\d+\])*)(?::|\s|$)")
_TASK = re.compile(r'\b(?:finally )?task "([^"]+)"')


def load_with_lines(text: str, loader: Any) -> list[tuple[Any, dict[str, int]]]:
    """Each document of ``text`` as `yaml.load_all` gives it (parsed once), with where its fields are:
    each field path ("spec.tasks[2].command", "" for the document itself) and "task:NAME" → its 1-based
    line."""
    reader = loader(text)
    try:
        documents = []
        while reader.check_node():
            node = reader.get_node()
            documents.append((reader.construct_document(node), _lines(node)))
        return documents
    finally:
        reader.dispose()


def items_lines(lines: Mapping[str, int], index: int) -> dict[str, int]:
    """The lines of item ``index`` of a List document, with paths relative to the item."""
    prefix = f"items[{index}]"
    return {path[len(prefix) :].lstrip("."): line for path, line in lines.items() if path.startswith(prefix)}


def line_of(lines: Mapping[str, int], message: str) -> int | None:
    """The line a finding's ``message`` is about: the field it names, the task it names, else the
    document's own line."""
    match = _FIELD.match(message)
    if match is not None:
        path = match.group(1)
        while path:
            if path in lines:
                return lines[path]
            path = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)
    task = _TASK.search(message)
    if task is not None and f"task:{task.group(1)}" in lines:
        return lines[f"task:{task.group(1)}"]
    return lines.get("metadata.name", lines.get(""))


_TASKS = re.compile(r"(^|\.)spec\.(tasks|finally)$")


def _task_line(found: dict[str, int], prefix: str, item: yaml.MappingNode) -> None:
    for key, value in item.value:
        if key.value == "name" and isinstance(value, yaml.ScalarNode):
            found.setdefault(f"{prefix}task:{value.value}", item.start_mark.line + 1)


def _lines(root: yaml.Node) -> dict[str, int]:
    found: dict[str, int] = {"": root.start_mark.line + 1}
    stack: list[tuple[str, yaml.Node]] = [("", root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value)
                child = f"{path}.{name}" if path else name
                found.setdefault(child, key.start_mark.line + 1)
                stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                found.setdefault(child, item.start_mark.line + 1)
                stack.append((child, item))
                if _TASKS.search(path) and isinstance(item, yaml.MappingNode):
                    _task_line(found, path.rsplit("spec.", 1)[0], item)
    return found
