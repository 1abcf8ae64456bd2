from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.pipeline import PipelineSpec
from baton.core.params import (
    Reference,
    UndeclaredParam,
    reference_errors,
    references,
    resolve_params,
    substitute,
)


def spec(params: list[dict[str, Any]], **task: Any) -> PipelineSpec:
    return PipelineSpec.model_validate({"params": params, "tasks": [{"name": "load", "image": "x", **task}]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", []),
        ("$(params.date)", [Reference("date", True)]),
        ("--from=$(params.a)/$(params.b_2-x)", [Reference("a", True), Reference("b_2-x", True)]),
        ("$$(params.date)", []),  # escaped
        ("$$$(params.date)", [Reference("date", True)]),  # an escaped $ then a reference
        ("$(HOME) $(params)", []),  # Kubernetes' own references pass through
        ("$(params.a b)", [Reference("a b", False)]),
        ("$(params.)", [Reference("", False)]),
        ("$(params.x", []),  # unterminated: not a reference, as in Kubernetes
    ],
)
def test_references(text: str, expected: list[Reference]) -> None:
    assert references(text) == expected


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("$(params.date)", {"date": "2025-01-31"}, "2025-01-31"),
        ("a-$(params.x)-$(params.x)-b", {"x": "1"}, "a-1-1-b"),
        ("$$(params.x)", {}, "$$(params.x)"),  # the kubelet makes it $(params.x)
        ("$(params.x)", {"x": "$(HOME) costs $5"}, "$$(HOME) costs $$5"),  # values are literal
        ("no refs $HOME", {}, "no refs $HOME"),
    ],
)
def test_substitute(text: str, values: dict[str, str], expected: str) -> None:
    assert substitute(text, values) == expected


def test_substitute_undeclared_raises() -> None:
    with pytest.raises(UndeclaredParam):
        substitute("$(params.nope)", {})


def kubelet_expand(text: str) -> str:
    """Kubernetes' expansion with no variables defined: $$ -> $, unknown $(X) kept."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text) and text[i + 1] == "$":
            out.append("$")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab$()", max_size=12))
def test_values_reach_the_container_literally(value: str) -> None:
    assert kubelet_expand(substitute("<$(params.v)>", {"v": value})) == f"<{value}>"


def test_reference_errors_name_the_task_and_field() -> None:
    s = PipelineSpec.model_validate(
        {
            "params": [{"name": "date"}],
            "taskDefaults": {"env": [{"name": "D", "value": "$(params.dat)"}]},
            "tasks": [
                {
                    "name": "load",
                    "image": "x",
                    "command": ["run", "$(params.date)"],
                    "args": ["--region=$(params.region)", "$(params.a b)"],
                    "env": [
                        {"name": "WHEN", "value": "$(params.dte)"},
                        {"name": "OK", "value": "$$(params.nope)"},
                    ],
                }
            ],
        }
    )
    assert reference_errors(s) == [
        'taskDefaults: env "D" references undeclared param "dat" (did you mean "date"?)',
        'task "load": args[0] references undeclared param "region" (declared: date)',
        'task "load": args[1] has a malformed reference "$(params.a b)"',
        'task "load": env "WHEN" references undeclared param "dte" (did you mean "date"?)',
    ]


def test_reference_errors_without_any_params() -> None:
    assert reference_errors(spec([], command=["$(params.x)"])) == [
        'task "load": command[0] references undeclared param "x" (the pipeline declares no params)'
    ]


@pytest.mark.parametrize(
    ("given_params", "values", "errors"),
    [
        ({"date": "2025-01-31"}, {"date": "2025-01-31", "region": "eu"}, []),
        ({"date": "d", "region": "us"}, {"date": "d", "region": "us"}, []),
        ({}, {"region": "eu"}, ['missing value for required param "date" (it has no default)']),
        (
            {"date": "d", "regoin": "us"},
            {"date": "d", "region": "eu"},
            ['unknown param "regoin" (did you mean "region"?)'],
        ),
        (
            {"date": "d", "zzz": "1"},
            {"date": "d", "region": "eu"},
            ['unknown param "zzz" (declared: date, region)'],
        ),
    ],
)
def test_resolve_params(given_params: dict[str, str], values: dict[str, str], errors: list[str]) -> None:
    s = spec([{"name": "date"}, {"name": "region", "default": "eu"}])
    assert resolve_params(s, given_params) == (values, errors)


def test_empty_default_counts_as_a_default() -> None:
    assert resolve_params(spec([{"name": "suffix", "default": ""}]), {}) == ({"suffix": ""}, [])
