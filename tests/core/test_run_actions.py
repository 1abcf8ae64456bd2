"""What each action on a run changes, or why it is refused: one decision for the CLI and the UI."""

from __future__ import annotations

from typing import Any

import pytest

from baton.core.run_actions import (
    ActionRefused,
    cancel_change,
    new_run,
    not_ready,
    param_problems,
    retry_run,
    suspend_change,
)


def run(phase: str | None = "Running", **spec: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase} if phase else {}
    return {"metadata": {"name": "r1", "namespace": "etl"}, "spec": spec, "status": status}


def timed_out(**spec: Any) -> dict[str, Any]:
    r = run(**spec)
    r["status"]["conditions"] = [{"type": "Succeeded", "status": "Unknown", "reason": "TimingOut"}]
    return r


@pytest.mark.parametrize(
    ("target", "run_finally", "patch", "said"),
    [
        (
            run(),
            True,
            {"spec": {"cancel": {"runFinally": True, "message": "why"}}},
            "cancelled (running Jobs",
        ),
        (
            run(None),
            False,
            {"spec": {"cancel": {"runFinally": False, "message": "why"}}},
            "finally tasks are stopped",
        ),
        (run(cancel={"runFinally": True}), True, None, "is already being cancelled"),
        (run(cancel={"runFinally": False}), False, None, "is already being cancelled"),
        (run(cancel={"runFinally": True}), False, {"spec": {"cancel": {"runFinally": False}}}, "stopped too"),
        (timed_out(), False, {"spec": {"cancel": {"runFinally": False}}}, "stopped too"),
        (timed_out(), True, None, "has timed out already"),
    ],
)
def test_cancel(target: dict[str, Any], run_finally: bool, patch: dict[str, Any] | None, said: str) -> None:
    change = cancel_change(target, run_finally=run_finally, message="why")
    assert change.patch == patch
    assert said in change.message


@pytest.mark.parametrize("phase", ["Succeeded", "Failed", "Cancelled"])
def test_a_finished_run_cannot_be_cancelled_suspended_or_resumed(phase: str) -> None:
    for act in (
        lambda: cancel_change(run(phase), run_finally=True, message=None),
        lambda: suspend_change(run(phase), True),
        lambda: suspend_change(run(phase, suspend=True), False),
    ):
        with pytest.raises(ActionRefused, match=f"has already finished \\({phase}\\)"):
            act()


@pytest.mark.parametrize(
    ("target", "suspend", "patch"),
    [
        (run(), True, {"spec": {"suspend": True}}),
        (run(suspend=True), True, None),
        (run(suspend=True), False, {"spec": {"suspend": False}}),
        (run(), False, None),
    ],
)
def test_suspend_and_resume(target: dict[str, Any], suspend: bool, patch: dict[str, Any] | None) -> None:
    assert suspend_change(target, suspend).patch == patch


PIPELINE = {
    "metadata": {"name": "etl"},
    "spec": {
        "params": [
            {"name": "date"},
            {"name": "region", "default": "eu"},
            {"name": "shards", "default": "[]"},
        ],
        "tasks": [
            {"name": "load", "image": "busybox", "forEach": {"param": "shards"}},
        ],
    },
}


@pytest.mark.parametrize(
    ("params", "problems"),
    [
        ({"date": "2026-12-06"}, []),
        ({}, ['missing value for required param "date" (pass -p date=VALUE)']),
        (
            {"date": "x", "regoin": "us"},
            ['unknown param "regoin" (did you mean "region"?); Pipeline etl declares'],
        ),
    ],
)
def test_param_problems(params: dict[str, str], problems: list[str]) -> None:
    found = param_problems(PIPELINE, params)
    assert len(found) == len(problems)
    for message, start in zip(found, problems, strict=True):
        assert message.startswith(start)


def test_a_new_run_is_labelled_with_its_pipeline() -> None:
    body = new_run("etl", "data", {"date": "x"})
    assert body["metadata"] == {
        "generateName": "etl-",
        "namespace": "data",
        "labels": {"baton.dev/pipeline": "etl"},
    }
    assert body["spec"] == {"pipelineRef": {"name": "etl"}, "params": {"date": "x"}}


@pytest.mark.parametrize(
    ("old", "message"),
    [
        (run("Running"), "has not finished (it is Running)"),
        (run(None), "has not finished (it is Pending)"),
        (run("Failed"), "never started: there is nothing to retry"),
    ],
)
def test_retry_refuses(old: dict[str, Any], message: str) -> None:
    with pytest.raises(ActionRefused, match=message.replace("(", "\\(").replace(")", "\\)")):
        retry_run(old, [], "etl")


@pytest.mark.parametrize(
    ("generation", "condition", "refused"),
    [
        (2, {"type": "Ready", "status": "False", "observedGeneration": 2, "message": "cycle: a → a"},
         'pipeline "p" is not ready: cycle: a → a'),
        # Judged an older spec: no verdict on this one yet.
        (3, {"type": "Ready", "status": "False", "observedGeneration": 2, "message": "cycle"}, None),
        (2, {"type": "Ready", "status": "True", "observedGeneration": 2}, None),
        (2, None, None),  # nothing judged it yet (no operator): let the run say
    ],
)  # fmt: skip
def test_a_pipeline_its_operator_found_not_ready_is_not_run(
    generation: int, condition: dict[str, Any] | None, refused: str | None
) -> None:
    pipeline = {
        "metadata": {"name": "p", "generation": generation},
        "status": {"conditions": [condition] if condition else []},
    }
    assert not_ready(pipeline) == refused
