"""Sub-pipeline tasks: the child run as rendered, observed as an attempt, and the recursion guard."""

from __future__ import annotations

from typing import Any

import pytest

from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus
from baton.core.observed import JobState
from baton.core.reuse import Retry, plan_retry
from baton.core.state import RunMeta
from baton.core.validation import pipeline_errors
from baton.kube.childrun import MAX_DEPTH, observe_child_run, recursion, render_child_run, retry_child

PARENT = RunMeta("etl", "nightly-x7k2p", "uid-1", 1, ("daily",))
TASK = TaskSpec.model_validate(
    {
        "name": "warehouse",
        "pipelineRef": {"name": "load"},
        "params": {"day": "$(params.date)", "n": "$(tasks.a.results.n)"},
    }
)


def test_the_child_is_named_labelled_and_owned_like_the_attempts_job() -> None:
    child = render_child_run(
        PARENT,
        "nightly",
        TASK,
        {"date": "2026-01-31$x"},
        2,
        context={"tasks.a.results.n": "7"},
        timeout_seconds=60,
    )
    meta = child["metadata"]
    assert meta["name"] == "nightly-x7k2p-warehouse-2"
    assert meta["labels"]["baton.dev/run"] == "nightly-x7k2p" and meta["labels"]["baton.dev/attempt"] == "2"
    assert meta["labels"]["baton.dev/pipeline"] == "load"  # as every run of that Pipeline
    assert meta["annotations"]["baton.dev/ancestry"] == "daily,nightly"
    assert meta["ownerReferences"][0]["name"] == "nightly-x7k2p" and meta["ownerReferences"][0]["controller"]
    # Params substituted, without the kubelet's $$ escaping (nobody expands a run's params again).
    assert child["spec"] == {
        "pipelineRef": {"name": "load"},
        "params": {"day": "2026-01-31$x", "n": "7"},
        "timeoutSeconds": 60,
    }
    old = {"metadata": {"name": "old-w-1"}, "status": {"phase": "Failed", "pipelineSpec": {"tasks": []}}}
    assert retry_child(child, old)["spec"] == {"retryOf": "old-w-1", "timeoutSeconds": 60}
    # Not retried (run afresh): a child that never started, one still ending, one that is gone.
    never = {"metadata": {"name": "old-w-1"}, "status": {"phase": "Failed"}}
    ending = {"metadata": {"name": "old-w-1"}, "status": {"phase": "Running", "pipelineSpec": {"tasks": []}}}
    for unusable in (never, ending, None):
        assert retry_child(child, unusable) == child


def child(phase: str | None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "nightly-x7k2p-warehouse-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"baton.dev/task": "warehouse", "baton.dev/attempt": "1"},
            "ownerReferences": [{"kind": "PipelineRun", "name": "nightly-x7k2p", "controller": True}],
        },
        "status": {"phase": phase, **status} if phase else {},
    }


def ended(reason: str, message: str = "") -> list[dict[str, str]]:
    return [{"type": "Succeeded", "reason": reason, "message": message}]


NAME = "nightly-x7k2p-warehouse-1"
DONE = "2026-01-01T00:01:00Z"


@pytest.mark.parametrize(
    ("run", "state", "reason", "message", "started"),
    [
        (child(None), JobState.ACTIVE, None, None, False),
        (child("Pending", conditions=ended("Queued")), JobState.ACTIVE, None, None, False),
        (child("Running", startTime=DONE, pipelineSpec={"tasks": []}), JobState.ACTIVE, None, None, True),
        (
            child("Succeeded", results=[{"name": "rows", "value": "42"}], completionTime=DONE),
            JobState.SUCCEEDED, None, '{"rows":"42"}', False,
        ),
        (
            child("Failed", conditions=ended("Failed", 'task "x" failed')),
            JobState.FAILED, None, f'run {NAME} failed: task "x" failed', False,
        ),
        (
            child("Failed", conditions=ended("Timeout", "took too long")),
            JobState.FAILED, "DeadlineExceeded", f"run {NAME} failed: took too long", False,
        ),
        (child("Cancelled"), JobState.FAILED, "Cancelled", f"run {NAME} cancelled", False),
    ],
)  # fmt: skip
def test_a_child_run_is_observed_as_its_tasks_attempt(
    run: dict[str, Any], state: JobState, reason: str | None, message: str | None, started: bool
) -> None:
    seen = observe_child_run(run)
    assert seen is not None
    assert (seen.task, seen.attempt, seen.name) == ("warehouse", 1, "nightly-x7k2p-warehouse-1")
    assert (seen.state, seen.reason, seen.message) == (state, reason, message)
    assert (seen.pod_started is not None) == started  # a queued child's wait does not count


def test_runs_that_are_no_child_are_not_observed_as_one() -> None:
    orphan = child("Running")
    orphan["metadata"]["ownerReferences"] = [{"kind": "Pipeline", "name": "load", "controller": True}]
    assert observe_child_run(orphan) is None
    unlabelled = child("Running")
    unlabelled["metadata"]["labels"] = {}
    assert observe_child_run(unlabelled) is None


@pytest.mark.parametrize(
    ("ancestry", "pipeline", "problem"),
    [
        ((), "load", None),
        (("daily", "nightly"), "load", None),
        (("daily", "nightly"), "daily", "sub-pipeline recursion: daily -> nightly -> daily"),
        (("daily", "nightly"), "nightly", "sub-pipeline recursion: nightly -> nightly"),
        (
            tuple(f"p{i}" for i in range(MAX_DEPTH)),
            "q",
            f"sub-pipelines nest at most {MAX_DEPTH} deep: p0 -> ",
        ),
    ],
)
def test_recursion_and_depth_are_refused(
    ancestry: tuple[str, ...], pipeline: str, problem: str | None
) -> None:
    found = recursion(ancestry, pipeline)
    assert (found is None) == (problem is None)
    if problem is not None:
        assert found is not None and found.startswith(problem)


def test_a_sub_pipeline_task_has_no_container_settings() -> None:
    spec = PipelineSpec.model_validate(
        {
            "tasks": [
                {"name": "a", "pipelineRef": {"name": "x"}, "image": "busybox", "command": ["true"]},
                {"name": "b", "pipelineRef": {"name": "x"}, "params": {"p": "$(params.nope)"}},
                {"name": "c", "image": "busybox", "params": {"p": "1"}},
            ]
        }
    )
    errors = pipeline_errors(spec)
    assert 'task "a" runs pipeline "x" (pipelineRef), so image, command cannot apply: remove them' in errors
    assert 'task "c": params are for a sub-pipeline (pipelineRef): it has none' in errors
    assert any('params "p" references undeclared param "nope"' in e for e in errors), errors
    assert not any('"b" has no image' in e or '"a" has no image' in e for e in errors)


def test_a_retry_retries_the_failed_child() -> None:
    spec = PipelineSpec.model_validate(
        {
            "tasks": [
                {"name": "a", "image": "x"},
                {"name": "w", "pipelineRef": {"name": "load"}, "dependsOn": ["a"]},
            ]
        }
    )
    old = PipelineRunStatus(
        phase=RunPhase.FAILED,
        pipeline_spec=spec,
        tasks=[
            TaskStatus(name="a", phase=TaskPhase.SUCCEEDED, job_name="old-a-1"),
            TaskStatus(name="w", phase=TaskPhase.FAILED, job_name="old-w-1", attempts=1),
        ],
    )
    retry = plan_retry("old", old, [], "etl")
    assert isinstance(retry, Retry)
    assert [(t.name, t.phase, t.job_name, t.attempts) for t in retry.tasks] == [
        ("a", TaskPhase.SUCCEEDED, "old-a-1", 0),
        ("w", TaskPhase.PENDING, "old-w-1", 0),  # its first child retries old-w-1
    ]
    fresh = plan_retry("old", old, ["w"], "etl")  # retryFrom: the sub-pipeline again from the start
    assert isinstance(fresh, Retry) and fresh.tasks[1].job_name is None
