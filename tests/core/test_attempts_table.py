"""The attempts of every task, made once per spec and run: the same as asking task by task."""

from __future__ import annotations

import pytest

from baton.api.pipeline import PipelineSpec
from baton.core import tasks
from baton.core.tasks import attempts_of, attempts_table

SPEC = {
    "taskDefaults": {"image": "x", "timeoutSeconds": 60},
    "tasks": [
        {"name": "plain"},
        {"name": "retried", "retries": {"limit": 2}},
        {"name": "reads", "results": [{"name": "rows"}], "dependsOn": ["plain"]},
    ],
    "finally": [{"name": "tidy", "timeoutSeconds": 5}],
}


def test_the_table_is_attempts_of_each_task_in_index_order() -> None:
    spec = PipelineSpec.model_validate(SPEC)
    table = attempts_table(spec, "uid-1")
    assert table == tuple(attempts_of(spec, task, "uid-1") for task in spec.all_tasks())
    assert [a.seed for a in table] == ["uid-1/plain", "uid-1/retried", "uid-1/reads", "uid-1/tidy"]
    assert attempts_table(spec, "uid-1") is table  # made once
    other = attempts_table(spec, "uid-2")  # another run of the same parsed spec: its own jitter seeds
    assert [a.seed for a in other][1] == "uid-2/retried" and attempts_table(spec, "uid-1") is table


def test_a_spec_keeps_a_bounded_number_of_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "TABLES_PER_SPEC", 2)
    spec = PipelineSpec.model_validate(SPEC)
    first = attempts_table(spec, "a")
    attempts_table(spec, "b")
    attempts_table(spec, "c")  # past the bound: the tables start again
    assert attempts_table(spec, "a") is not first and attempts_table(spec, "a") == first
