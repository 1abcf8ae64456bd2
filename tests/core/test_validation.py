from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from baton.api.pipeline import PipelineSpec
from baton.core.pipelines import pipeline_status
from baton.core.validation import (
    check_pipeline_spec,
    check_run_spec,
    join_errors,
    pipeline_errors,
    run_errors,
)


def tasks(*items: dict[str, Any]) -> dict[str, Any]:
    return {"taskDefaults": {"image": "python:3.12-slim"}, "tasks": list(items)}


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        pytest.param(tasks({"name": "extract"}, {"name": "load", "dependsOn": ["extract"]}), [], id="valid"),
        pytest.param(
            tasks({"name": "extract"}, {"name": "extract"}),
            ['task name "extract" is used more than once'],
            id="duplicate-task",
        ),
        pytest.param(
            tasks({"name": "transform"}, {"name": "load", "dependsOn": ["transfrom"]}),
            ['task "load" depends on unknown task "transfrom" (did you mean "transform"?)'],
            id="unknown-dependency",
        ),
        pytest.param(
            tasks({"name": "extract", "dependsOn": ["load"]}, {"name": "load", "dependsOn": ["extract"]}),
            ["dependency cycle: extract -> load -> extract"],
            id="cycle",
        ),
        pytest.param(
            {"tasks": [{"name": "a"}, {"name": "b", "image": "x"}]},
            ['task "a" has no image (set image, or taskDefaults.image)'],
            id="no-image",
        ),
        pytest.param(
            {**tasks({"name": "a"}), "params": [{"name": "p"}, {"name": "p"}]},
            ['param name "p" is used more than once'],
            id="duplicate-param",
        ),
        pytest.param(
            tasks({"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]}),
            ['task "a": env name "X" is used more than once'],
            id="duplicate-env",
        ),
        pytest.param(
            tasks({"name": "a", "args": ["$(params.date)"]}),
            ['task "a": args[0] references undeclared param "date" (the pipeline declares no params)'],
            id="undeclared-param",
        ),
    ],
)
def test_pipeline_errors(raw: dict[str, Any], errors: list[str]) -> None:
    assert pipeline_errors(PipelineSpec.model_validate(raw)) == errors
    spec, checked = check_pipeline_spec(raw)
    assert checked == errors
    assert (spec is None) == bool(errors)


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        pytest.param(
            tasks({"name": "Extract_Data"}),
            [
                'spec.tasks[0].name: "Extract_Data" must be a DNS-1123 label: lowercase letters, digits and '
                "'-', starting and ending with a letter or digit"
            ],
            id="invalid-task-name",
        ),
        pytest.param(
            tasks({"name": "x" * 64}),
            ["spec.tasks[0].name: String should have at most 63 characters"],
            id="too-long",
        ),
        pytest.param(
            {**tasks({"name": "a"}), "parallelism": 0},
            ["spec.parallelism: Input should be greater than or equal to 1"],
            id="parallelism",
        ),
        pytest.param(
            {"tasks": []},
            ["spec.tasks: List should have at least 1 item after validation, not 0"],
            id="no-tasks",
        ),
        pytest.param(
            tasks({"name": "a", "comand": ["x"]}), ["spec.tasks[0].comand: unknown field"], id="typo"
        ),
        pytest.param(
            tasks(
                {
                    "name": "a",
                    "env": [{"name": "A", "value": "1", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}],
                }
            ),
            ['spec.tasks[0].env[0]: env var "A" sets both value and valueFrom; keep one'],
            id="value-and-value-from",
        ),
        pytest.param(
            tasks({"name": "a", "resources": {"limits": {"memory": "lots"}}}),
            ['spec.tasks[0].resources.limits.memory: "lots" must be a quantity such as 500m, 2, 1.5 or 1Gi'],
            id="bad-quantity",
        ),
    ],
)
def test_schema_errors_are_readable(raw: dict[str, Any], errors: list[str]) -> None:
    assert check_pipeline_spec(raw) == (None, errors)


def test_run_errors() -> None:
    spec = PipelineSpec.model_validate({**tasks({"name": "a"}), "params": [{"name": "date"}]})
    assert run_errors(spec, {"date": "d"}, "a-run") == []
    assert run_errors(spec, {"dat": "d"}, "x" * 253) == [
        'unknown param "dat" (did you mean "date"?)',
        'missing value for required param "date" (it has no default)',
    ]


def test_check_run_spec() -> None:
    assert check_run_spec({"pipelineRef": {"name": "p"}})[1] == []
    assert check_run_spec({"params": {"a": "b"}}) == (
        None,
        ["spec: set exactly one of pipelineRef, pipelineSpec and retryOf"],
    )
    assert check_run_spec({"pipelineRef": {"name": "p"}, "params": {"n": 3}}) == (
        None,
        ["spec.params.n: Input should be a valid string"],
    )


def test_join_errors_keeps_the_first_ones_and_counts_the_rest() -> None:
    assert join_errors(["a", "b"]) == "a; b"
    many = [f"problem number {i}" for i in range(200)]
    joined = join_errors(many, limit=100)
    assert joined.startswith("problem number 0; problem number 1")
    assert joined.endswith("more problems") and len(joined) <= 100
    assert len(join_errors(["x" * 5000])) == 1024  # one huge problem alone is cut too
    assert len(join_errors(["x" * 5000, "y"])) <= 1024 and join_errors(["x" * 5000, "y"]).endswith(
        "1 more problem"
    )
    assert len(join_errors(["x" * 1010, "y"])) <= 1024


NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_a_cycle_through_5000_tasks_is_summarised_in_the_ready_condition() -> None:
    tasks = [{"name": f"t{i:04}", "dependsOn": [f"t{(i - 1) % 5000:04}"]} for i in range(5000)]
    status = pipeline_status({"taskDefaults": {"image": "x"}, "tasks": tasks}, 1, None, NOW)
    assert status is not None
    ready = status.conditions[0]
    assert ready.reason == "Invalid" and len(ready.message) <= 1024
    assert ready.message.startswith("dependency cycle of 5000 tasks: t0000 -> t0001 -> t0002")
    assert ready.message.endswith("-> … -> t4999 -> t0000")
