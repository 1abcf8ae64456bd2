"""What a finally task reads of how the run went: $(run.status), $(run.reason), $(run.failedTasks)."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import Sim, spec, task

from baton.core.validation import check_pipeline_spec

NOTIFY = task(
    "notify",
    env=[
        {"name": "STATUS", "value": "$(run.status)"},
        {"name": "REASON", "value": "$(run.reason)"},
        {"name": "FAILED", "value": "$(run.failedTasks)"},
    ],
)


def pipeline(**extra: Any) -> dict[str, Any]:
    return spec(task("extract"), task("audit"), task("load", "extract"), **{"finally": [NOTIFY]}, **extra)


def env_of(sim: Sim, unit: str) -> dict[str, str]:
    container = sim.bodies[(unit, 1)]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def values(sim: Sim) -> tuple[str, str, str]:
    env = env_of(sim, "notify")
    return env["STATUS"], env["REASON"], env["FAILED"]


def test_a_run_that_succeeded() -> None:
    sim = Sim.start(pipeline())
    sim.step()
    sim.finish("extract").finish("audit").step()
    sim.finish("load").step()
    assert values(sim) == ("Succeeded", "Succeeded", "")


@pytest.mark.parametrize(
    ("extract", "audit", "expected"),
    [
        ({"exit_code": 1}, {}, ("Failed", "Failed", "extract")),
        ({"reason": "OOMKilled"}, {"exit_code": 2}, ("Failed", "OOMKilled", "extract,audit")),
    ],
)
def test_a_run_that_failed_names_the_first_failures_reason_and_every_failed_task(
    extract: dict[str, Any], audit: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    sim = Sim.start(pipeline())
    sim.step()
    sim.finish("extract", **extract).finish("audit", **audit).step()
    assert values(sim) == expected


def test_a_cancelled_run() -> None:
    sim = Sim.start(pipeline())
    sim.step()
    sim.step(cancel=True)
    assert values(sim) == ("Cancelled", "Cancelled", "")


def test_only_finally_tasks_may_read_them() -> None:
    _, errors = check_pipeline_spec(spec(task("a", env=[{"name": "R", "value": "$(run.reason)"}])))
    assert errors == [
        'task "a": env "R" reads $(run.reason), which only finally tasks can read (the run has not ended '
        "while its other tasks run)"
    ]
    _, errors = check_pipeline_spec(spec(task("a"), **{"finally": [task("b", args=["$(run.failed)"])]}))
    assert errors == [
        'finally task "b": args[0] references unknown "$(run.failed)" (the run offers $(run.status), '
        "$(run.reason) and $(run.failedTasks))"
    ]
