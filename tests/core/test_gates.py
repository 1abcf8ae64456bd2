"""Quality gates: a failed Error check stops the dataset's consumers and fails the run; a failed Warn check
only warns."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import Sim, spec, task

from baton.core.gates import QUALITY_GATE_FAILED, QUALITY_WARNING

DAY = {"dataset": "s3://lake/sales", "partition": "2026-12-06"}


def lake(severity: str, **more: Any) -> dict[str, Any]:
    return spec(
        task("extract", outputs=[DAY]),
        task("rows", check={**DAY, "severity": severity}, **more),
        task("load", inputs=[DAY], outputs=["s3://lake/out"]),
        task("report", "load"),
        task("unrelated", "extract"),
        **{"finally": [task("notify", env=[{"name": "S", "value": "$(run.status)"}])]},
    )


def run_with_failing_check(pipeline: dict[str, Any], **control: Any) -> Sim:
    sim = Sim.start(pipeline)
    sim.step(**control)
    sim.finish("extract").step()
    sim.finish("rows", exit_code=1, message="only 3 rows, expected 1000").step()
    for name in ("unrelated", "load", "report"):
        if sim.phases()[name] == "Running":
            sim.finish(name).step()
    sim.finish("notify").step()
    return sim


def test_a_failed_error_check_skips_every_consumer_and_fails_the_run() -> None:
    sim = run_with_failing_check(lake("Error"))
    assert sim.phases() == {
        "extract": "Succeeded",
        "rows": "Failed",
        "load": "Skipped",
        "report": "Skipped",
        "unrelated": "Succeeded",
        "notify": "Succeeded",
    }
    for name in ("load", "report"):
        assert sim.task(name).reason == QUALITY_GATE_FAILED
        assert sim.task(name).message == (
            'quality check "rows" of s3://lake/sales (partition 2026-12-06) failed: exit code 1: '
            "only 3 rows, expected 1000"
        )
    assert sim.status.phase is not None and sim.status.phase.value == "Failed"
    assert sim.status.condition(QUALITY_WARNING) is None


@pytest.mark.parametrize("policy", [None, "FailFast"])
def test_a_failed_warn_check_warns_and_the_run_succeeds(policy: str | None) -> None:
    pipeline = lake("Warn")
    if policy:
        pipeline["failurePolicy"] = policy
    sim = run_with_failing_check(pipeline)
    assert set(sim.phases().values()) == {"Succeeded"}
    rows = sim.task("rows")
    assert (rows.reason, rows.exit_code) == (QUALITY_WARNING, 1)
    assert (
        rows.message
        == "quality check failed (severity Warn, consumers run): exit code 1: only 3 rows, expected 1000"
    )
    assert sim.status.phase is not None and sim.status.phase.value == "Succeeded"
    warning = sim.status.condition(QUALITY_WARNING)
    assert warning is not None and (warning.status, warning.reason) == ("True", "QualityCheckFailed")
    assert warning.message == "quality check rows failed (severity Warn)"


def test_a_check_retries_before_it_counts_as_failed() -> None:
    sim = Sim.start(lake("Error", retries={"limit": 1, "backoff": {"initialSeconds": 1}}))
    sim.step()
    sim.finish("extract").step()
    sim.finish("rows", exit_code=1).step()
    assert sim.phases()["rows"] == "Pending" and sim.phases()["load"] == "Pending"
    sim.at(2).step()
    sim.finish("rows").step()
    assert sim.phases()["load"] == "Running"


def test_a_passed_check_lets_consumers_run_without_warning() -> None:
    sim = Sim.start(lake("Warn"))
    sim.step()
    sim.finish("extract").step()
    assert sim.phases()["load"] == "Pending"  # it waits for the check
    sim.finish("rows").step()
    assert sim.phases()["load"] == "Running"
    assert sim.status.condition(QUALITY_WARNING) is None


@pytest.mark.parametrize("severity", ["Error", "Warn"])
def test_a_check_that_did_not_answer_fails_like_any_task(severity: str) -> None:
    # A timeout (or an OOM kill, a lost Job) says nothing about the data: no gate, no warning.
    sim = Sim.start(lake(severity))
    sim.step()
    sim.finish("extract").step()
    sim.finish("rows", reason="DeadlineExceeded").step()
    rows = sim.task("rows")
    assert (rows.phase.value, rows.reason) == ("Failed", "DeadlineExceeded")
    assert sim.task("load").reason == "UpstreamFailed"
