"""`$(params.NAME)` references: finding them, checking them, resolving a run's values, substituting.

Syntax and escaping follow Kubernetes' own `$(VAR)` expansion, which the kubelet applies to the same
fields (command, args, env values) after Baton:

- ``$(params.NAME)`` is replaced by the param's value. NAME is a declared param; anything else inside
  ``$(params.…)`` is an error, so a typo never reaches a Job.
- ``$$`` is an escape: Baton leaves it alone and the kubelet turns it into ``$``. So ``$$(params.x)``
  reaches the container as the literal text ``$(params.x)``.
- Other ``$(…)`` references (``$(HOME)``, ``$(POD_NAME)`` from env) are Kubernetes' and pass through.
- A substituted value is inserted literally: every ``$`` in it is doubled, so the kubelet's expansion
  cannot reinterpret a value such as ``$(HOME)``. (The dev cluster applies the same kubelet rules.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from baton.api.pipeline import PARAM_NAME, PipelineSpec, TaskSpec

_TOKEN = re.compile(r"\$\$|\$\(params\.([^)]*)\)")
_NAME = re.compile(PARAM_NAME)


class UndeclaredParam(KeyError):
    """A reference to a param without a value; validation reports these before anything runs."""


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    valid: bool
    """False when NAME is not a well-formed param name (``$(params.a b)``)."""


def references(text: str) -> list[Reference]:
    """The `$(params.…)` references in ``text``, in order, skipping escaped ones."""
    return [
        Reference(match.group(1), _NAME.match(match.group(1)) is not None)
        for match in _TOKEN.finditer(text)
        if match.group(0) != "$$"
    ]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every `$(params.NAME)` replaced by its (kubelet-escaped) value."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return token
        name = match.group(1)
        if name not in values:
            raise UndeclaredParam(name)
        return values[name].replace("$", "$$")

    return _TOKEN.sub(replace, text)


def task_fields(task: TaskSpec) -> Iterator[tuple[str, str]]:
    """(field path, text) of every field of a task where params are substituted."""
    for i, arg in enumerate(task.command):
        yield f"command[{i}]", arg
    for i, arg in enumerate(task.args):
        yield f"args[{i}]", arg
    for var in task.env:
        if var.value is not None:
            yield f'env "{var.name}"', var.value
    for name, value in task.params.items():  # a sub-pipeline's params
        yield f'params "{name}"', value


def reference_errors(spec: PipelineSpec) -> list[str]:
    """Undeclared or malformed references, naming the task (or taskDefaults) and the field."""
    declared = [param.name for param in spec.params]
    errors: list[str] = []
    if spec.task_defaults is not None:
        for var in spec.task_defaults.env:
            if var.value is not None:
                errors.extend(param_field_errors("taskDefaults", f'env "{var.name}"', var.value, declared))
    for task in spec.tasks:
        for field, text in task_fields(task):
            errors.extend(param_field_errors(f'task "{task.name}"', field, text, declared))
    for task in spec.finally_:
        for field, text in task_fields(task):
            errors.extend(param_field_errors(f'finally task "{task.name}"', field, text, declared))
    return errors


def param_field_errors(owner: str, field: str, text: str, declared: Collection[str]) -> Iterator[str]:
    """Malformed and undeclared `$(params.…)` references in one field's ``text``."""
    for ref in references(text):
        if not ref.valid:
            yield f'{owner}: {field} has a malformed reference "$(params.{ref.name})"'
        elif ref.name not in declared:
            hint = declared_hint(ref.name, declared)
            yield f'{owner}: {field} references undeclared param "{ref.name}"{hint}'


def resolve_params(spec: PipelineSpec, given: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The run's param values (given ones over defaults) and the problems: unknown or missing params."""
    declared = [param.name for param in spec.params]
    errors = [
        f'unknown param "{name}"{declared_hint(name, declared)}' for name in given if name not in declared
    ]
    values: dict[str, str] = {}
    for param in spec.params:
        if param.name in given:
            values[param.name] = given[param.name]
        elif param.default is not None:
            values[param.name] = param.default
        else:
            errors.append(f'missing value for required param "{param.name}" (it has no default)')
    return values, errors


def declared_hint(name: str, declared: Collection[str], none: str = "the pipeline declares no params") -> str:
    """What to say after an unknown name: that nothing is declared (``none``), the closest declared name, or
    the declared names."""
    if not declared:
        return f" ({none})"
    close = difflib.get_close_matches(name, list(declared), n=1)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (declared: {', '.join(declared)})"
