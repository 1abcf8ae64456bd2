"""Ready, Reconciling and Stalled as GitOps tools read them, checked against kstatus' own rules (the
library behind Flux's health checks): Reconciling and Stalled are abnormal-true, absent means fine, and a
status whose observedGeneration trails the object's generation is InProgress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.api.common import Condition, ConditionStatus
from baton.api.run import PipelineRunStatus, RunPhase
from baton.core.kstatus import with_gitops_conditions
from baton.core.pipelines import pipeline_status

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def kstatus(obj: dict[str, Any]) -> str:
    """sigs.k8s.io/cli-utils kstatus, its generic rules (what it applies to a custom resource)."""
    generation = obj["metadata"].get("generation")
    status = obj.get("status") or {}
    if generation is not None and status.get("observedGeneration") != generation:
        return "InProgress"
    conditions = {c["type"]: c for c in status.get("conditions") or ()}
    if conditions.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if conditions.get("Stalled", {}).get("status") == "True":
        return "Failed"
    return "Current"


def run_status(phase: RunPhase, reason: str, generation: int = 1) -> PipelineRunStatus:
    succeeded = Condition(
        type="Succeeded",
        status={RunPhase.SUCCEEDED: ConditionStatus.TRUE, RunPhase.FAILED: ConditionStatus.FALSE}.get(
            phase, ConditionStatus.FALSE if phase is RunPhase.CANCELLED else ConditionStatus.UNKNOWN
        ),
        reason=reason,
        message=f"the run is {phase.value.lower()}",
        last_transition_time="2026-12-06T11:00:00Z",
        observed_generation=generation,
    )
    return PipelineRunStatus(phase=phase, observed_generation=generation, conditions=[succeeded])


@pytest.mark.parametrize(
    ("phase", "reason", "ready", "reconciling", "stalled", "health"),
    [
        (RunPhase.PENDING, "Pending", ("False", "Pending"), "Pending", None, "InProgress"),
        (RunPhase.PENDING, "Queued", ("False", "Pending"), "Pending", None, "InProgress"),
        (RunPhase.RUNNING, "Running", ("False", "Running"), "Running", None, "InProgress"),
        (RunPhase.RUNNING, "TimingOut", ("False", "Running"), "Running", None, "InProgress"),
        (RunPhase.SUSPENDED, "Suspended", ("False", "Suspended"), None, None, "Current"),
        (RunPhase.SUCCEEDED, "Succeeded", ("True", "Succeeded"), None, None, "Current"),
        (RunPhase.FAILED, "Failed", ("False", "Failed"), None, "Failed", "Failed"),
        (RunPhase.FAILED, "Timeout", ("False", "Failed"), None, "Timeout", "Failed"),
        (RunPhase.FAILED, "Invalid", ("False", "Failed"), None, "Invalid", "Failed"),
        (RunPhase.CANCELLED, "Cancelled", ("False", "Cancelled"), None, "Cancelled", "Failed"),
    ],
)
def test_a_runs_conditions_and_what_kstatus_makes_of_them(
    phase: RunPhase,
    reason: str,
    ready: tuple[str, str],
    reconciling: str | None,
    stalled: str | None,
    health: str,
) -> None:
    status = with_gitops_conditions(run_status(phase, reason), 1, NOW)
    found = {c.type: c for c in status.conditions}
    assert (found["Ready"].status.value, found["Ready"].reason) == ready
    assert found["Ready"].message == f"the run is {phase.value.lower()}"
    assert (found["Reconciling"].reason if "Reconciling" in found else None) == reconciling
    assert (found["Stalled"].reason if "Stalled" in found else None) == stalled
    assert all(c.status is ConditionStatus.TRUE for t, c in found.items() if t in ("Reconciling", "Stalled"))
    obj = {"metadata": {"generation": 1}, "status": status.model_dump(by_alias=True, mode="json")}
    assert kstatus(obj) == health
    obj["metadata"]["generation"] = 2  # a spec change the operator has not seen yet
    assert kstatus(obj) == "InProgress"


def test_the_conditions_follow_the_run_and_keep_their_transition_times() -> None:
    running = with_gitops_conditions(run_status(RunPhase.RUNNING, "Running"), 1, NOW)
    again = with_gitops_conditions(running, 1, NOW + timedelta(minutes=5))
    assert again is running  # nothing to change: the same object (no write)
    done = with_gitops_conditions(
        running.model_copy(update={"phase": RunPhase.SUCCEEDED, "conditions": [
            *(c for c in running.conditions if c.type != "Succeeded"),
            run_status(RunPhase.SUCCEEDED, "Succeeded").conditions[0],
        ]}),
        1,
        NOW + timedelta(minutes=9),
    )  # fmt: skip
    found = {c.type: c for c in done.conditions}
    assert "Reconciling" not in found and "Stalled" not in found
    assert (found["Ready"].status.value, found["Ready"].last_transition_time) == (
        "True",
        "2026-12-06T12:09:00Z",
    )


@pytest.mark.parametrize(
    ("tasks", "ready", "stalled", "health"),
    [
        ([{"name": "a"}], "True", False, "Current"),
        ([{"name": "a", "dependsOn": ["a"]}], "False", True, "Failed"),
    ],
)
def test_a_pipeline_is_stalled_while_invalid(
    tasks: list[dict[str, Any]], ready: str, stalled: bool, health: str
) -> None:
    status = pipeline_status({"taskDefaults": {"image": "x"}, "tasks": tasks}, 3, None, NOW)
    assert status is not None
    found = {c.type: c for c in status.conditions}
    assert found["Ready"].status.value == ready and ("Stalled" in found) is stalled
    obj = {"metadata": {"generation": 3}, "status": status.model_dump(by_alias=True, mode="json")}
    assert kstatus(obj) == health
