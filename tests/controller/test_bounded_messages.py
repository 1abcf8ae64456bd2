"""Every condition and Event message the operator writes is bounded and readable, however large the
problem: a cycle through 5,000 tasks is summarised (its start, its end, its length), not spelled out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from operator_kit import Api, phase_of

from baton import GROUP, VERSION
from support import wait_for

LIMIT = 1024


def test_a_cycle_through_5000_tasks_is_summarised_everywhere(
    api: Api, start_operator: Callable[..., Any]
) -> None:
    start_operator(api.namespace)
    tasks = [{"name": f"t{i:04}", "dependsOn": [f"t{(i - 1) % 5000:04}"]} for i in range(5000)]
    api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Pipeline",
            "metadata": {"name": "loop"},
            "spec": {"taskDefaults": {"image": "busybox"}, "tasks": tasks},
        }
    )
    ready = wait_for(
        lambda: next(
            (c for c in ((api.pipeline("loop") or {}).get("status") or {}).get("conditions") or ()), None
        ),
        message="the Pipeline's Ready condition",
    )
    assert ready["reason"] == "Invalid" and len(ready["message"]) <= LIMIT
    assert ready["message"].startswith("dependency cycle of 5000 tasks: t0000 -> t0001")
    name = api.start_run("loop")
    run = wait_for(
        lambda: (lambda r: r if phase_of(r) == "Failed" else None)(api.run(name)), message="the run"
    )
    condition = run["status"]["conditions"][0]
    assert all(len(c["message"]) <= LIMIT for c in run["status"]["conditions"])
    assert condition["reason"] == "Invalid" and len(condition["message"]) <= LIMIT
    events: list[dict[str, Any]] = wait_for(
        lambda: [e for e in api.events() if e["involvedObject"]["name"] in ("loop", name)] or None,
        message="the Invalid Events",
    )
    assert events and all(len(e["message"]) <= LIMIT for e in events), [len(e["message"]) for e in events]
