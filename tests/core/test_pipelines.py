from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baton.api.pipeline import PipelineSpec
from baton.api.run import RunPhase
from baton.core.pipelines import pipeline_status, record_run

NOW = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)
VALID = {"taskDefaults": {"image": "x"}, "tasks": [{"name": "a"}, {"name": "b", "dependsOn": ["a"]}]}
INVALID = {
    "taskDefaults": {"image": "x"},
    "tasks": [{"name": "a", "dependsOn": ["b"]}, {"name": "b", "dependsOn": ["a"]}],
}


def test_a_valid_pipeline_is_ready() -> None:
    status = pipeline_status(VALID, 3, None, NOW)
    assert status is not None
    assert (status.task_count, status.observed_generation) == (2, 3)
    (ready,) = status.conditions
    assert (ready.type, ready.status.value, ready.reason, ready.message) == (
        "Ready",
        "True",
        "Valid",
        "2 tasks, valid",
    )
    assert pipeline_status(PipelineSpec.model_validate(VALID), 3, status, NOW + timedelta(hours=1)) is None


def test_an_invalid_pipeline_is_not_ready_and_says_why() -> None:
    valid = pipeline_status(VALID, 1, None, NOW)
    status = pipeline_status(INVALID, 2, valid, NOW + timedelta(minutes=1))
    assert status is not None
    ready, stalled = status.conditions  # Stalled too, for kstatus (Flux): Failed
    assert (ready.status.value, ready.reason, ready.message) == (
        "False",
        "Invalid",
        "dependency cycle: a -> b -> a",
    )
    assert ready.last_transition_time == "2025-01-31T10:01:00Z" and ready.observed_generation == 2
    assert (stalled.type, stalled.status.value, stalled.message) == ("Stalled", "True", ready.message)
    fixed = pipeline_status(VALID, 3, status, NOW + timedelta(minutes=2))
    assert fixed is not None and [c.type for c in fixed.conditions] == ["Ready"]  # abnormal-true: gone


def test_a_pipeline_the_schema_rejects_is_not_ready() -> None:
    status = pipeline_status({"tasks": [{"name": "a", "image": "x", "bogus": 1}]}, 1, None, NOW)
    assert status is not None and status.task_count == 1
    assert status.conditions[0].message == "spec.tasks[0].bogus: unknown field"


def test_last_run() -> None:
    status = record_run(None, "p-1", RunPhase.PENDING, started=True)
    assert status is not None and (status.last_run, status.last_run_status) == ("p-1", "Pending")
    status = record_run(status, "p-1", RunPhase.RUNNING)
    assert status is not None and status.last_run_status == "Running"
    assert record_run(status, "p-0", RunPhase.FAILED) is None  # an older run
    assert record_run(status, "p-1", RunPhase.RUNNING) is None  # nothing new
    status = record_run(status, "p-2", RunPhase.FAILED, started=True)  # failed at once
    assert status is not None and (status.last_run, status.last_run_status) == ("p-2", "Failed")
