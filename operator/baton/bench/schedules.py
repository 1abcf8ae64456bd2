"""Scenario 11: many scheduled Pipelines, one slot firing for all of them, then the quiet between slots.

The operator runs with `--schedule-clock-offset`, so that its schedules' next minute comes `lead`
seconds after it started (whatever the wall clock says): time to create the Pipelines, no waiting for a
real minute. Measured: how late each slot's run was created (the cluster's create of the run, against
the slot), that each slot got exactly one run, and the operator's requests and CPU while nothing is due
(the target is no request at all: the operator sleeps until the next slot).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton import GROUP, VERSION

from .harness import World, wait_until, world
from .measures import operator_requests, percentile, request_key
from .report import ScenarioResult, Target
from .scenarios import _common, _first
from .shapes import chain
from .sizes import Sizes

MINUTE = 60.0


def _offset(lead: float) -> tuple[float, float]:
    """The clock offset (≤ 0) and the real monotonic time at which the schedules' next minute starts."""
    real = time.time()
    target = real + lead
    boundary = target - target % MINUTE  # the minute that starts at or before `target`
    offset = boundary - lead - real  # the schedules' now = boundary - lead: `lead` s before a minute
    return offset, time.monotonic() + lead


def scheduled(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {
            "taskDefaults": {"image": "busybox"},
            "tasks": chain(1),
            "schedule": {"cron": "* * * * *", "catchup": "None"},
            "runHistory": {"succeeded": 1},
        },
    }


def _announced(w: World, names: list[str]) -> bool:
    found = [w.find(GROUP, "pipelines", name) or {} for name in names]
    return all((p.get("status") or {}).get("nextScheduleTime") for p in found)


def schedules(sizes: Sizes, logs: Path) -> ScenarioResult:
    count, lead, idle = sizes.schedules, sizes.schedules_lead, sizes.schedules_idle
    result = ScenarioResult("schedules", f"11. Schedules: {count:,} Pipelines firing at one slot, then idle")
    offset, fire_at = _offset(lead)
    with world("schedules", logs, operator_args=["--schedule-clock-offset", f"{offset:.3f}"]) as w:
        names = [f"cron-{i:04}" for i in range(count)]
        for name in names:
            w.create(scheduled(name))
        wait_until(
            lambda: _announced(w, names), max(1.0, fire_at - time.monotonic()), "every slot announced", 0.2
        )
        slot_text = (w.find(GROUP, "pipelines", names[0]) or {})["status"]["nextScheduleTime"]
        slot = datetime.strptime(slot_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        slot_real_ms = (time.time() + (fire_at - time.monotonic())) * 1000
        w.begin_workload()
        expected = {f"{name}-{slot:%Y%m%d%H%M}" for name in names}

        def all_done() -> bool:
            phases = w.phases()
            return all(phases.get(run) == "Succeeded" for run in expected)

        wait_until(
            all_done, fire_at - time.monotonic() + sizes.timeout, f"{count:,} scheduled runs to succeed"
        )
        fired = [r for r in operator_requests(w.cluster.audit.records()) if r.seq > w.workload_from]
        creates = [r for r in fired if r.verb == "create" and r.resource == "pipelineruns.baton.dev"]
        w.settle(1.0, timeout=sizes.timeout)
        _common(w, result, sorted(expected), 1)
        idle_from, cpu_from, began = w.cluster.audit.last_seq, w.operator.cpu(), time.monotonic()
        next_slot = fire_at + MINUTE
        window = max(0.0, min(idle, next_slot - 2.0 - time.monotonic()))
        time.sleep(window)  # the quiet being measured: nothing is due until the next slot
        quiet = [r for r in operator_requests(w.cluster.audit.records()) if r.seq > idle_from]
        idle_cpu, idle_seconds = w.operator.cpu() - cpu_from, time.monotonic() - began
        runs = [r for r in w.runs() if r["metadata"]["name"].startswith("cron-")]
    late = [r.ts_ms - slot_real_ms for r in creates if r.code == 201]
    per_minute = len(quiet) * 60 / idle_seconds if idle_seconds else None
    result.details.update(
        pipelines=count,
        slot=slot_text,
        runs_created=len([r for r in creates if r.code == 201]),
        runs_existing=len(runs),
        duplicate_creates=len([r for r in creates if r.code == 409]),
        idle_seconds=round(idle_seconds, 1),
        idle_requests=sorted({request_key(r) for r in quiet}),
        idle_request_count=len(quiet),
        firing_requests=len(fired),
    )
    result.completed = result.completed and {r["metadata"]["name"] for r in runs} == expected
    idle_rate = None if per_minute is None else round(per_minute, 2)
    idle_cpu_percent = round(100 * idle_cpu / idle_seconds, 2) if idle_seconds else None
    result.add(
        "idle_requests_per_minute", "operator requests/min, no slot due", idle_rate, "", Target("<=", 1)
    )
    result.add("idle_cpu_percent", "operator CPU, no slot due", idle_cpu_percent, "%", Target("<", 2, "%"))
    result.add("fire_p50_ms", "slot → its run created, p50", _ms(percentile(late, 50)), "ms")
    result.add("fire_p99_ms", "slot → its run created, p99", _ms(percentile(late, 99)), "ms")
    last = _ms(max(late, default=None))
    result.add("fire_max_ms", f"slot → the last of {count:,} runs created", last, "ms")
    per_slot = round(len(runs) / count, 3)
    result.add("runs_per_slot", "runs per Pipeline for the slot", per_slot, "", Target("<=", 1))
    per_run = round(len(fired) / count, 2)
    result.add("requests_per_fired_run", "operator requests per scheduled run, all included", per_run, "")
    _first(result, "idle_requests_per_minute", "idle_cpu_percent", "fire_p50_ms", "fire_p99_ms")
    return result


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
