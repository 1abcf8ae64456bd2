"""Task results: parsing the termination message, substitution values, and what a consumer may read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baton.api.run import TaskPhase, TaskStatus
from baton.core.results import collect_results, display, parse_results

NOW = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
WROTE_NONE = (
    "the task declares results (rows) but wrote none: write one JSON object to the file $BATON_RESULTS"
)


@pytest.mark.parametrize(
    ("declared", "message", "expected"),
    [
        (["rows"], '{"rows": 1234}', {"rows": "1234"}),
        (
            ["rows", "regions"],
            '{"regions": ["eu", "us"], "rows": 1}',
            {"rows": "1", "regions": '["eu","us"]'},
        ),
        (["name"], '  {"name": "straße"}\n', {"name": '"straße"'}),
        (["x"], '{"x": {"a": null, "b": [1.5, true]}}', {"x": '{"a":null,"b":[1.5,true]}'}),
        (
            ["rows"],
            "",
            WROTE_NONE,
        ),
        (
            ["rows"],
            None,
            WROTE_NONE,
        ),
        (["rows"], "rows=3", "results are not valid JSON (Expecting value at character 0): 'rows=3'"),
        (["rows"], '"3"', "results must be one JSON object of declared names (rows), not a JSON str"),
        (["rows"], '{"rows": 1, "Rows": 2}', 'undeclared result(s) "Rows": the task declares rows'),
        (
            ["rows", "bytes"],
            '{"rows": 1}',
            'declared result(s) "bytes" missing from the JSON object the task wrote',
        ),
        (
            ["rows"],
            '{"rows": "' + "a" * 4090,
            "results are limited to 4096 bytes, the Kubernetes termination message; "
            "write large outputs to a workspace",
        ),
    ],
)
def test_parse_results(declared: list[str], message: str | None, expected: dict[str, str] | str) -> None:
    assert parse_results(declared, message) == expected


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [('"eu"', "eu"), ("1234", "1234"), ('["eu","us"]', '["eu","us"]'), ('"a\\"b"', 'a"b'), ("null", "null")],
)
def test_display(recorded: str, shown: str) -> None:
    assert display(recorded) == shown


def test_collect_results_keeps_a_task_without_declared_results_as_it_is() -> None:
    task = TaskStatus(name="a", phase=TaskPhase.SUCCEEDED)
    assert collect_results(task, (), "garbage", NOW) is task


def test_collect_results_fails_a_task_with_bad_results() -> None:
    task = TaskStatus(name="a", phase=TaskPhase.SUCCEEDED, completion_time="2025-01-31T09:59:59Z")
    failed = collect_results(task, ("rows",), "{", NOW)
    assert (failed.phase, failed.reason, failed.completion_time) == (
        TaskPhase.FAILED,
        "InvalidResults",
        "2025-01-31T09:59:59Z",
    )
