"""Scenario 12: Pipelines made of Pipelines, a hop at a time: a trigger chain and a chain of sub-pipelines.

A trigger hop is an upstream run's last status write (the one that records it Succeeded) → the create of
the run it triggers; a sub-pipeline hop is a child run's last status write → the create of the next
task's child. Both come from the dev cluster's audit log, as the chain's overhead per task does
(scenario 1), which is the figure to compare them with: a hop through a run costs a run's start and end
on top of a Job's.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from baton import GROUP
from baton.devcluster.audit import RequestRecord

from .harness import World, wait_until, world
from .measures import first_request, percentile
from .report import ScenarioResult
from .scenarios import _common, _first
from .shapes import pipeline, run, task
from .sizes import Sizes

TRIGGERED_BY = "baton.dev/triggered-by"


def _last_status_write(records: list[Any], name: str) -> float | None:
    writes = [
        r.ts_ms
        for r in records
        if isinstance(r, RequestRecord) and r.verb == "patch" and r.subresource == "status" and r.name == name
    ]
    return max(writes, default=None)


def _created(records: list[Any], name: str) -> float | None:
    return first_request(records, "create", "pipelineruns.baton.dev", name, code=201)


def _succeeded(w: World, names: list[str]) -> bool:
    phases = w.phases()
    return all(phases.get(name) == "Succeeded" for name in names)


def composition(sizes: Sizes, logs: Path) -> ScenarioResult:
    hops = sizes.composed
    title = f"12. Pipelines of Pipelines: {hops} trigger hops, {hops} sub-pipelines in a chain"
    result = ScenarioResult("composition", title)
    with world("composition", logs) as w:
        names = [f"link-{i:03}" for i in range(hops + 1)]
        for i, name in enumerate(names):
            extra = {"triggers": [{"pipeline": names[i - 1]}]} if i else {}
            w.create(pipeline(name, [task("step")], **extra))
        w.create(pipeline("leaf", [task("step")]))
        nested: list[dict[str, Any]] = [
            {"name": f"sub-{i:03}", "pipelineRef": {"name": "leaf"}} for i in range(hops)
        ]
        for i in range(1, hops):
            nested[i]["dependsOn"] = [f"sub-{i - 1:03}"]
        w.create(pipeline("composite", nested))
        wait_until(lambda: all(w.find(GROUP, "pipelines", n) for n in [*names, "composite"]), 30, "Pipelines")
        w.settle(0.5, timeout=sizes.timeout)
        w.begin_workload()
        w.create(run(names[0], "link-000-first"))
        w.create(run("composite", "composite-first"))

        def chain_done() -> bool:
            runs = w.runs()
            last = [r for r in runs if r["spec"].get("pipelineRef", {}).get("name") == names[-1]]
            composite = w.run("composite-first") or {}
            return (
                bool(last)
                and _succeeded(w, [last[0]["metadata"]["name"]])
                and ((composite.get("status") or {}).get("phase") == "Succeeded")
            )

        wait_until(chain_done, sizes.timeout, "the trigger chain and the composite run", interval=0.05)
        w.settle(0.5, timeout=sizes.timeout)
        records = list(w.cluster.audit.records())
        runs = w.runs()
        trigger_hops = [
            created - ended
            for r in runs
            if (upstream := (r["metadata"].get("annotations") or {}).get(TRIGGERED_BY))
            and (created := _created(records, r["metadata"]["name"])) is not None
            and (ended := _last_status_write(records, upstream.split("/", 1)[1])) is not None
        ]
        composite = w.run("composite-first") or {}
        children = [t.get("jobName") for t in (composite.get("status") or {}).get("tasks") or ()]
        child_hops = [
            created - ended
            for before, after in itertools.pairwise(children)
            if before
            and after
            and (created := _created(records, after)) is not None
            and (ended := _last_status_write(records, before)) is not None
        ]
        every = [r["metadata"]["name"] for r in runs]
        tasks = sum(len((r.get("status") or {}).get("tasks") or ()) for r in runs)
        _common(w, result, every, 1, tasks=tasks)
        # A sub-pipeline task's attempt is a child run, not a Job: its Job is counted with the child's task.
        result.details["job_tasks"] = tasks - hops
    result.details.update(
        trigger_hops_ms=[round(h, 1) for h in trigger_hops], child_hops_ms=[round(h, 1) for h in child_hops]
    )
    result.completed = result.completed and len(trigger_hops) == hops and len(child_hops) == hops - 1
    for key, label, values in (
        ("trigger_hop", "trigger hop: upstream run ended → downstream run created", trigger_hops),
        ("child_hop", "sub-pipeline hop: child run ended → next child created", child_hops),
    ):
        result.add(f"{key}_p50_ms", f"{label}, p50", _ms(percentile(values, 50)), "ms")
        result.add(f"{key}_max_ms", f"{label}, max", _ms(max(values, default=None)), "ms")
    _first(result, "trigger_hop_p50_ms", "trigger_hop_max_ms", "child_hop_p50_ms", "child_hop_max_ms")
    return result


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
