from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.core.pipelines import RunSeen, last_run, pipeline_status

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


def seen(name: str, phase: str | None, started: str | None, created: str = "2026-12-06T10:00:00Z") -> RunSeen:
    return RunSeen(name, phase, started, created)


BEFORE = PipelineStatus(last_run="p-0", last_run_status="Succeeded")


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([], ("p-0", "Succeeded")),  # nothing to say: as it was
        ([seen("p-1", None, None)], ("p-0", "Succeeded")),  # not taken up yet
        ([seen("p-1", "Pending", None)], ("p-1", "Pending")),  # queued: taken up
        (
            [seen("p-1", "Running", "2026-12-06T10:00:05Z"), seen("p-2", "Failed", "2026-12-06T10:00:09Z")],
            ("p-2", "Failed"),  # failed at once: still the newest
        ),
        (
            [
                seen("p-2", "Succeeded", "2026-12-06T10:00:09Z"),
                seen("p-1", "Running", "2026-12-06T10:00:05Z"),
            ],
            ("p-2", "Succeeded"),  # an older run changing phase does not become the last
        ),
        (
            [seen("b", "Running", "2026-12-06T10:00:05Z"), seen("a", "Running", "2026-12-06T10:00:05Z")],
            ("b", "Running"),  # a tie: by name, so every reconcile says the same
        ),
        (
            [
                seen("old", "Succeeded", "2026-12-06T09:00:00Z", "2026-12-06T09:00:00Z"),
                seen("new", "Pending", None, "2026-12-06T11:00:00Z"),
            ],
            ("new", "Pending"),  # not started: by creation
        ),
    ],
    ids=["none", "untouched", "queued", "failed-at-once", "older-moves", "tie", "by-creation"],
)
def test_last_run_is_the_newest_run_taken_up(runs: list[RunSeen], expected: tuple[str, str]) -> None:
    status = last_run(BEFORE, runs)
    assert (status.last_run, status.last_run_status) == expected
