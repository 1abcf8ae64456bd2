"""Workspaces: the claim behind each, claims to create or adopt, and keeping ReadWriteOnce claims on a "
"node."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus, WorkspaceStatus
from baton.core.state import RunMeta
from baton.core.workspaces import (
    ClaimToAdopt,
    ClaimToCreate,
    claim_actions,
    claim_failed,
    pinned_workspaces,
    placement,
    record_nodes,
    run_workspaces,
)

NOW = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
RUN = RunMeta("data", "run-2", "uid-2")


def claim(*modes: str) -> dict[str, Any]:
    return {"spec": {"accessModes": list(modes), "resources": {"requests": {"storage": "1Gi"}}}}


SPEC = PipelineSpec.model_validate(
    {
        "taskDefaults": {"image": "x"},
        "workspaces": [
            {"name": "data", "volumeClaimTemplate": claim("ReadWriteOnce")},
            {"name": "shared", "volumeClaimTemplate": claim("ReadWriteMany")},
            {"name": "ref", "persistentVolumeClaim": {"claimName": "reference"}},
        ],
        "tasks": [
            {"name": "a", "workspaces": [{"name": "data"}, {"name": "ref"}]},
            {"name": "b", "workspaces": [{"name": "data"}, {"name": "shared"}]},
            {"name": "c", "workspaces": [{"name": "shared"}]},
        ],
    }
)


def test_a_new_run_gets_its_own_claims_and_mounts_existing_ones() -> None:
    workspaces = run_workspaces(SPEC, "run-2", None)
    assert [(w.name, w.claim_name) for w in workspaces] == [
        ("data", "run-2-data"),
        ("shared", "run-2-shared"),
        ("ref", "reference"),
    ]
    actions = claim_actions(SPEC, RUN, "sales", workspaces)
    assert [type(a) for a in actions] == [ClaimToCreate, ClaimToCreate]
    assert actions[0].body["metadata"]["name"] == "run-2-data"


def test_a_retry_mounts_the_claims_of_the_run_it_retries_and_adopts_them() -> None:
    old = PipelineRunStatus(
        workspaces=[WorkspaceStatus(name="data", claim_name="run-1-data", node="n1")],
    )
    workspaces = run_workspaces(SPEC, "run-2", old)
    assert [(w.name, w.claim_name, w.node) for w in workspaces] == [
        ("data", "run-1-data", "n1"),
        ("shared", "run-2-shared", None),
        ("ref", "reference", None),
    ]
    actions = claim_actions(SPEC, RUN, "sales", workspaces)
    assert actions[0] == ClaimToAdopt("data", "run-1-data")
    assert isinstance(actions[1], ClaimToCreate)


def test_only_read_write_once_claims_are_pinned() -> None:
    assert pinned_workspaces(SPEC) == {"data": [0, 1]}


def test_the_node_of_the_first_pod_is_recorded_once() -> None:
    workspaces = run_workspaces(SPEC, "run-2", None)
    pinned = pinned_workspaces(SPEC)
    assert record_nodes(pinned, workspaces, {2: "n9"}) is workspaces  # c does not mount data
    recorded = record_nodes(pinned, workspaces, {1: "n3"})
    assert recorded[0].node == "n3" and recorded[1:] == workspaces[1:]
    assert record_nodes(pinned, recorded, {0: "n4"}) is recorded


@pytest.mark.parametrize(
    ("node", "a_phase", "index", "siblings", "expected"),
    [
        (None, TaskPhase.PENDING, 1, False, (False, None)),  # nobody mounts it yet: b goes first
        (None, TaskPhase.RUNNING, 1, False, (True, None)),  # a runs, its node is not known: b waits
        ("n1", TaskPhase.RUNNING, 1, False, (False, "n1")),  # known: b joins a on n1
        (None, TaskPhase.PENDING, 1, True, (True, None)),  # another instance of b runs on an unknown node
        (None, TaskPhase.RUNNING, 2, False, (False, None)),  # c mounts only the ReadWriteMany claim
    ],
)
def test_placement(
    node: str | None, a_phase: TaskPhase, index: int, siblings: bool, expected: tuple[bool, str | None]
) -> None:
    workspaces = [
        w.model_copy(update={"node": node}) if w.name == "data" else w
        for w in run_workspaces(SPEC, "run-2", None)
    ]
    tasks = [TaskStatus(name=n, phase=TaskPhase.PENDING) for n in "abc"]
    tasks[0] = tasks[0].model_copy(update={"phase": a_phase})
    task = SPEC.tasks[index]
    assert placement(pinned_workspaces(SPEC), workspaces, task, index, tasks, siblings) == expected


def test_a_claim_that_cannot_be_created_fails_the_run_with_the_api_reason() -> None:
    status = PipelineRunStatus(
        phase=RunPhase.PENDING,
        tasks=[TaskStatus(name="a", phase=TaskPhase.PENDING)],
        start_time="2025-01-31T10:00:00Z",
    )
    failed, event = claim_failed(status, "run-2-data", "Forbidden", "exceeded quota: storage", 1, NOW)
    assert failed.phase is RunPhase.FAILED
    assert failed.conditions[0].reason == "WorkspaceClaimFailed"
    assert failed.conditions[0].message == 'workspace claim "run-2-data": Forbidden: exceeded quota: storage'
    assert [t.phase for t in failed.tasks] == [TaskPhase.SKIPPED]
    assert (event.reason, event.type.value) == ("WorkspaceClaimFailed", "Warning")
