"""The Kubernetes JSONPath subset and the printer-column cells made from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.devcluster.jsonpath import JSONPathError, evaluate, format_cell, human_duration, parse

RUN: dict[str, Any] = {
    "apiVersion": "baton.dev/v1",
    "kind": "PipelineRun",
    "metadata": {
        "name": "daily-sales-x7k2p",
        "labels": {"app.kubernetes.io/name": "baton", "tier": "batch"},
        "creationTimestamp": "2024-05-01T10:00:00Z",
    },
    "spec": {"pipelineRef": {"name": "daily-sales"}, "params": {"day": "2024-05-01"}},
    "status": {
        "phase": "Running",
        "progress": {"done": 3, "total": 8, "ratio": 0.375},
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "Running"},
            {"type": "Succeeded", "status": "Unknown"},
            {"type": "Stalled", "status": "False", "priority": 3},
        ],
        "tasks": [
            {"name": "extract", "attempts": 1, "phase": "Succeeded"},
            {"name": "transform", "attempts": 2, "phase": "Running"},
            {"name": "load", "attempts": 0},
        ],
        "empty": None,
    },
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (".status.phase", ["Running"]),
        ("{.status.phase}", ["Running"]),
        ("{ .status.phase }", ["Running"]),
        ("$.status.phase", ["Running"]),
        ("{$.status.phase}", ["Running"]),
        ("status.phase", ["Running"]),  # kubectl custom-columns style
        (".status.missing", []),
        (".status.phase.deeper", []),
        (".status.empty", [None]),
        (".status.progress.done", [3]),
        (".metadata.labels['app.kubernetes.io/name']", ["baton"]),
        ('.metadata.labels["app.kubernetes.io/name"]', ["baton"]),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["baton"]),
        (".status.tasks[0].name", ["extract"]),
        (".status.tasks[-1].name", ["load"]),
        (".status.tasks[-3].name", ["extract"]),
        (".status.tasks[3].name", []),
        (".status.tasks[-4].name", []),
        (".status.tasks[*].name", ["extract", "transform", "load"]),
        (".status.tasks.*.name", ["extract", "transform", "load"]),
        (".status.tasks[0:2].name", ["extract", "transform"]),
        (".status.tasks[1:].name", ["transform", "load"]),
        (".status.tasks[:1].name", ["extract"]),
        (".status.tasks[::2].name", ["extract", "load"]),
        (".status.tasks[0,2].name", ["extract", "load"]),
        (".metadata['name','missing']", ["daily-sales-x7k2p"]),
        (".status.tasks[*].phase", ["Succeeded", "Running"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["False"]),
        (".status.conditions[?(@.type=='Ready')].status", ["False"]),
        ('.status.conditions[?(@.type == "Ready")].reason', ["Running"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Succeeded", "Stalled"]),
        (".status.conditions[?(@.priority)].type", ["Stalled"]),
        (".status.conditions[?(@.priority>2)].type", ["Stalled"]),
        (".status.conditions[?(@.priority>=3)].type", ["Stalled"]),
        (".status.conditions[?(@.priority<3)].type", []),
        (".status.tasks[?(@.attempts>0)].name", ["extract", "transform"]),
        (".status.tasks[?(@.attempts<=1)].name", ["extract", "load"]),
        (".status.tasks[?(@.attempts<1.5)].name", ["extract", "load"]),
        (".status.tasks[?(@.attempts==1)].name", ["extract"]),
        ('.status.tasks[?(@.attempts=="1")].name', []),  # different kinds never compare equal
        ('.status.tasks[?(@.name>"m")].name', ["transform"]),
        ('.status.tasks[?(@.phase=="Running")].attempts', [2]),
        (".status.progress[?(@.done)]", []),  # filters apply to lists only
        ("..name", ["daily-sales-x7k2p", "daily-sales", "extract", "transform", "load"]),
        ("..type", ["Ready", "Succeeded", "Stalled"]),
        (".status..attempts", [1, 2, 0]),
        ("..conditions[0].type", ["Ready"]),
        (".spec.params.*", ["2024-05-01"]),
        (".spec.pipelineRef", [{"name": "daily-sales"}]),
        (".spec.params.day=x", []),
    ],
)
def test_evaluate(expr: str, expected: list[Any]) -> None:
    assert evaluate(expr, RUN) == expected


def test_current_object() -> None:
    assert evaluate(".", {"a": 1}) == [{"a": 1}]
    assert evaluate("{@}", [1, 2]) == [[1, 2]]
    assert evaluate("[*]", [1, 2]) == [1, 2]
    assert evaluate("[?(@.ok==true)].n", [{"ok": True, "n": 1}, {"ok": False, "n": 2}, {"n": 3}]) == [1]
    assert evaluate("[?(@.v==null)].n", [{"v": None, "n": 1}, {"v": 0, "n": 2}]) == [1]
    assert evaluate("[?(@.a==@.b)].n", [{"a": 1, "b": 1, "n": "same"}, {"a": 1, "b": 2, "n": "diff"}]) == [
        "same"
    ]


@pytest.mark.parametrize(
    "expr",
    [
        "{.status.phase",
        ".status.phase}",
        ".status.tasks[",
        ".status.tasks[]",
        ".status.tasks[abc]",
        ".status.tasks[1:2:3:4]",
        ".status.tasks[?(@.x ~ 1)]",
        ".status.tasks[?@.x]",
        ".status.tasks[?(1)]",
        ".status.tasks[?(@.x==foo)]",
        ".status.[0]",
        ".status.tasks[0]!",
        "{.a} {.b}",
    ],
)
def test_syntax_errors(expr: str) -> None:
    with pytest.raises(JSONPathError):
        parse(expr)
    assert issubclass(JSONPathError, ValueError)


@pytest.mark.parametrize(
    ("values", "column_type", "cell"),
    [
        ([], "string", None),
        ([], "integer", None),
        (["Running"], "string", "Running"),
        (["a", "b"], "string", "a"),  # the apiserver uses the first result only
        ([3], "string", "3"),
        ([2.5], "string", "2.5"),
        ([1e6], "string", "1e+06"),
        ([True], "string", "true"),
        ([None], "string", "<no value>"),
        ([{"b": 1, "a": "<x>"}], "string", '{"a":"\\u003cx\\u003e","b":1}'),
        ([[1, "two"]], "string", '[1,"two"]'),
        ([3], "integer", 3),
        ([3.9], "integer", 3),
        ([-3.9], "integer", -3),
        (["3"], "integer", None),
        ([True], "integer", None),
        ([None], "integer", None),
        ([3], "number", 3.0),
        ([0.375], "number", 0.375),
        (["0.5"], "number", None),
        ([True], "boolean", True),
        (["true"], "boolean", None),
        (["2024-05-01T10:00:00Z"], "date", "2024-05-01T10:00:00Z"),
        ([""], "date", "<unknown>"),
        (["yesterday"], "date", "<invalid>"),
        ([5], "date", None),
        (["x"], "mystery", None),
    ],
)
def test_format_cell(values: list[Any], column_type: str, cell: Any) -> None:
    assert format_cell(values, column_type) == cell


def test_date_cells_become_ages_when_the_time_is_known() -> None:
    now = datetime(2024, 5, 1, 10, 5, 30, tzinfo=UTC)
    assert format_cell(["2024-05-01T10:00:00Z"], "date", now=now) == "5m30s"
    assert format_cell(["2024-05-01T12:00:00+02:00"], "date", now=now) == "5m30s"
    assert format_cell(["2024-04-01T10:00:00.5Z"], "date", now=now) == "30d"
    assert format_cell(["2024-05-01T11:00:00Z"], "date", now=now) == "<invalid>"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 15 * 60, "3h15m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 5 * 3600, "2d5h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (2 * 365 * 86400, "2y"),
        (3 * 365 * 86400 + 10 * 86400, "3y10d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


# -- properties -----------------------------------------------------------------------------------

field_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="'\"\\"), min_size=1, max_size=6
)
leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
documents = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(field_names, children, min_size=1, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def document_and_path(draw: st.DrawFn) -> tuple[Any, str, Any]:
    """A document, a JSONPath to some node of it, and that node."""
    doc = draw(documents)
    node, expr = doc, ""
    while isinstance(node, dict | list) and draw(st.booleans()):
        if isinstance(node, dict):
            name = draw(st.sampled_from(sorted(node)))
            expr += f"['{name}']"
            node = node[name]
        else:
            position = draw(st.integers(0, len(node) - 1))
            expr += f"[{position - len(node) if draw(st.booleans()) else position}]"
            node = node[position]
    return doc, expr or ".", node


@given(document_and_path())
def test_a_path_finds_its_node(case: tuple[Any, str, Any]) -> None:
    doc, expr, node = case
    assert evaluate("{" + expr + "}", doc) == [node]


@given(st.lists(st.integers(), max_size=6), st.integers(-8, 8), st.integers(-8, 8))
def test_slices_follow_python(items: list[int], start: int, stop: int) -> None:
    assert evaluate(f"[{start}:{stop}]", items) == items[start:stop]
    assert evaluate("[*]", items) == items
