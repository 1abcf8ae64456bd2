"""Which run is the newest, when creation times (second precision) tie."""

from __future__ import annotations

from typing import Any

from baton.cli.kubeapi import newest_first


def run(name: str, second: int, retry_of: str | None = None) -> dict[str, Any]:
    spec = {"retryOf": retry_of} if retry_of else {"pipelineRef": {"name": "etl"}}
    return {"metadata": {"name": name, "creationTimestamp": f"2026-12-07T00:00:{second:02}Z"}, "spec": spec}


def names(runs: list[dict[str, Any]]) -> list[str]:
    return [r["metadata"]["name"] for r in newest_first(runs)]


def test_later_seconds_first() -> None:
    assert names([run("etl-a", 1), run("etl-b", 3), run("etl-c", 2)]) == ["etl-b", "etl-c", "etl-a"]


def test_a_retry_in_the_same_second_is_newer_than_the_run_it_retries_whatever_the_names() -> None:
    runs = [
        run("etl-tpbxc", 5),
        run("etl-retry-aaaaa", 5, "etl-tpbxc"),
        run("etl-retry-bbbbb", 5, "etl-retry-aaaaa"),
    ]
    assert names(runs) == ["etl-retry-bbbbb", "etl-retry-aaaaa", "etl-tpbxc"]


def test_unrelated_runs_of_one_second_go_by_name_and_a_retry_loop_ends() -> None:
    assert names([run("etl-a", 5), run("etl-b", 5)]) == ["etl-b", "etl-a"]
    assert names([run("x", 5, "y"), run("y", 5, "x")]) == ["y", "x"]  # a loop someone wrote by hand
