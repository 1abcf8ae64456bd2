from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from baton.api.pipeline import PipelineSpec
from baton.api.run import RunPhase, TaskPhase
from baton.core.events import Event, EventType
from baton.core.pipelines import pipeline_status
from baton.core.start import start_run
from baton.core.state import RunMeta

NOW = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)
META = RunMeta(namespace="data", name="daily-sales-x7k2p", uid="uid-1", generation=4)
PIPELINE: dict[str, Any] = {
    "params": [{"name": "date"}, {"name": "region", "default": "eu"}],
    "taskDefaults": {"image": "python:3.12-slim"},
    "tasks": [{"name": "extract", "args": ["$(params.date)"]}, {"name": "load", "dependsOn": ["extract"]}],
}


def test_a_valid_run_freezes_spec_and_params() -> None:
    result = start_run(
        META, {"pipelineRef": {"name": "daily-sales"}, "params": {"date": "2025-01-31"}}, PIPELINE, NOW
    )
    assert result.started and result.events == ()
    status = result.status
    assert status.phase is RunPhase.PENDING
    assert status.pipeline == "daily-sales"
    assert status.start_time == "2025-01-31T10:00:00Z" and status.progress == "0/2"
    assert status.observed_generation == 4
    assert status.params == {"date": "2025-01-31", "region": "eu"}
    assert status.pipeline_spec == PipelineSpec.model_validate(PIPELINE)
    assert [(t.name, t.phase) for t in status.tasks] == [
        ("extract", TaskPhase.PENDING),
        ("load", TaskPhase.PENDING),
    ]
    (condition,) = status.conditions
    assert (condition.status.value, condition.reason, condition.observed_generation) == (
        "Unknown",
        "Pending",
        4,
    )


def test_an_inline_spec_has_no_pipeline_name() -> None:
    result = start_run(META, {"pipelineSpec": PIPELINE, "params": {"date": "d"}}, None, NOW)
    assert result.started and result.status.pipeline is None


def test_models_are_accepted_as_well_as_dicts() -> None:
    from baton.api.run import PipelineRunSpec

    run_spec = PipelineRunSpec.model_validate({"pipelineRef": {"name": "p"}, "params": {"date": "d"}})
    assert start_run(META, run_spec, PipelineSpec.model_validate(PIPELINE), NOW).started


@pytest.mark.parametrize(
    ("run_spec", "pipeline", "reason", "message"),
    [
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}},
            PIPELINE,
            "Invalid",
            'missing value for required param "date" (it has no default)',
            id="missing-param",
        ),
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}, "params": {"date": "d", "regoin": "us"}},
            PIPELINE,
            "Invalid",
            'unknown param "regoin" (did you mean "region"?)',
            id="unknown-param",
        ),
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}, "params": {"date": "d"}},
            {
                **PIPELINE,
                "tasks": [
                    {"name": "extract", "dependsOn": ["load"]},
                    {"name": "load", "dependsOn": ["extract"]},
                ],
            },
            "Invalid",
            "dependency cycle: extract -> load -> extract",
            id="invalid-pipeline",
        ),
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}},
            {"tasks": [{"name": "Bad Name", "image": "x"}]},
            "Invalid",
            'spec.tasks[0].name: "Bad Name" must be a DNS-1123 label: lowercase letters, digits and '
            "'-', starting "
            "and ending with a letter or digit",
            id="schema-invalid-pipeline",
        ),
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}},
            None,
            "PipelineNotFound",
            'pipeline "daily-sales" not found in namespace "data"',
            id="no-pipeline",
        ),
        pytest.param(
            {"pipelineRef": {"name": "daily-sales"}, "pipelineSpec": PIPELINE},
            None,
            "Invalid",
            "spec: set exactly one of pipelineRef, pipelineSpec and retryOf",
            id="both",
        ),
    ],
)
def test_a_run_that_cannot_run_fails_at_once(
    run_spec: dict[str, Any], pipeline: dict[str, Any] | None, reason: str, message: str
) -> None:
    result = start_run(META, run_spec, pipeline, NOW)
    assert not result.started
    status = result.status
    assert status.phase is RunPhase.FAILED and status.tasks == [] and status.pipeline_spec is None
    assert (status.start_time, status.completion_time, status.duration) == (
        "2025-01-31T10:00:00Z",
        "2025-01-31T10:00:00Z",
        "0s",
    )
    (condition,) = status.conditions
    assert (condition.type, condition.status.value, condition.reason, condition.message) == (
        "Succeeded",
        "False",
        reason,
        message,
    )
    assert result.events == (Event(EventType.WARNING, reason, message),)


def test_the_run_fails_with_the_message_of_the_pipeline_ready_condition() -> None:
    broken = {**PIPELINE, "tasks": [{"name": "load", "dependsOn": ["transfrom"]}, {"name": "transform"}]}
    pipeline = pipeline_status(broken, 1, None, NOW)
    assert pipeline is not None
    run = start_run(META, {"pipelineRef": {"name": "p"}, "params": {"date": "d"}}, broken, NOW)
    assert (
        run.status.conditions[0].message
        == pipeline.conditions[0].message
        == ('task "load" depends on unknown task "transfrom" (did you mean "transform"?)')
    )
