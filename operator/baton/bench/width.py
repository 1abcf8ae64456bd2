"""Scenarios 8 to 10, the cost of width: the fan-out curve, the join on real processes, 100,000 instances.

8. `width`: 1 → W → 1 for W on a curve (100, 1,000, 3,000, 10,000, up to `width_max`), each in a fresh
   world, and the layered DAG at a tenth of `large` against `large` itself: the operator's and the dev
   cluster's CPU per task at every point (linear cost means flat lines), the wall time and the join
   latency (the last worker's Job complete → the join's Job created).
9. `realjoin`: the dev cluster in normal mode (every container's command is a real process): the join
   latency after 1 → `realjoin_width` → 1 of `true` (the median of `realjoin_runs` runs), against the
   chain's overhead per task measured in the same world (a chain before each fan-out), because a join
   should cost no more than any other step.
10. `huge`: `huge_tasks` forEach tasks of `huge_items` items each from a param, one after another: the
   largest the run's stored status ever was (etcd's limit is per object), the operator's peak memory and
   the wall time.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from . import shapes
from .harness import World, world
from .measures import chain_overheads, job_names_in_order, job_times, join_latency, status_patches, summary
from .report import ScenarioResult, Target
from .scenarios import MIB, _common, _first, _round, follow_run
from .sizes import Sizes

CURVE = (100, 1000, 3000, 10_000)


def curve_points(largest: int) -> list[int]:
    """The widths measured: the standard points up to `largest`, and `largest` itself."""
    return sorted({w for w in CURVE if w < largest} | {largest})


def _one_fanout(w: World, result: ScenarioResult, name: str, width: int, timeout: float) -> dict[str, Any]:
    """Run 1 → width → 1 once in `w`: its wall, join latency and per-task CPU, as a point of a curve."""
    w.create(shapes.pipeline("fan", shapes.fan_out_in(width)))
    w.begin_workload()
    w.create(shapes.run("fan", name))
    created = time.time() * 1000
    biggest = follow_run(w, name, timeout)
    records = _common(w, result, [name], width + 2)
    run = w.run(name) or {}
    times = job_times(records, w.namespace)
    names = job_names_in_order(run)
    last_write = max((r.ts_ms for r in status_patches(records, name)), default=None)
    return {
        "width": width,
        "completed": result.completed,
        "wall_s": _round((last_write - created) / 1000, 3) if last_write else None,
        "join_latency_ms": _round(join_latency(times, names[1:-1], names[-1]), 1) if names else None,
        "operator_cpu_ms_per_task": result.value("operator_cpu_ms_per_task"),
        "cluster_cpu_ms_per_task": result.value("cluster_cpu_ms_per_task"),
        "reconciles": result.details.get("reconciles"),
        "peak_rss_mib": result.value("peak_rss_mib"),
        "status_bytes": biggest,
    }


def _layered(w: World, result: ScenarioResult, tasks: int, timeout: float) -> dict[str, Any]:
    w.create(shapes.pipeline("big", shapes.layered(tasks)))
    w.begin_workload()
    w.create(shapes.run("big", "big-1"))
    follow_run(w, "big-1", timeout)
    _common(w, result, ["big-1"], tasks)
    return {
        "tasks": tasks,
        "completed": result.completed,
        "operator_cpu_ms_per_task": result.value("operator_cpu_ms_per_task"),
        "cluster_cpu_ms_per_task": result.value("cluster_cpu_ms_per_task"),
        "peak_rss_mib": result.value("peak_rss_mib"),
    }


def spread(values: list[float | None]) -> float | None:
    """The largest relative distance of a value from the values' median, in percent."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    middle = statistics.median(known)
    return round(100 * max(abs(v - middle) for v in known) / middle, 1) if middle else None


def width(sizes: Sizes, logs: Path) -> ScenarioResult:
    points = curve_points(sizes.width_max)
    widths = ", ".join(f"{p:,}" for p in points)
    result = ScenarioResult("width", f"8. Cost of width: 1 → W → 1 for W = {widths}")
    curve: list[dict[str, Any]] = []
    widest = ScenarioResult("width", "")
    for point in points:
        widest = ScenarioResult("width", f"1 → {point} → 1")
        with world(f"width-{point}", logs) as w:
            curve.append(_one_fanout(w, widest, f"fan-{point}", point, sizes.timeout))
        result.details.update(widest.details)  # the common details of the widest point stay
    small = max(2, sizes.large // 10)
    layered: list[dict[str, Any]] = []
    for tasks in (small, sizes.large):
        part = ScenarioResult("width", f"layered {tasks}")
        with world(f"width-layered-{tasks}", logs) as w:
            layered.append(_layered(w, part, tasks, sizes.timeout))
    result.details.update(curve=curve, layered=layered)
    result.completed = all(p["completed"] for p in curve + layered)
    for p in curve:
        result.add(
            f"operator_cpu_ms_per_task_w{p['width']}",
            f"W = {p['width']:,}: operator CPU per task",
            p["operator_cpu_ms_per_task"],
            "ms",
        )
    for p in curve:
        result.add(
            f"cluster_cpu_ms_per_task_w{p['width']}",
            f"W = {p['width']:,}: dev cluster CPU per task",
            p["cluster_cpu_ms_per_task"],
            "ms",
        )
    for p in curve:
        result.add(f"wall_s_w{p['width']}", f"W = {p['width']:,}: wall time", p["wall_s"], "s")
    for p in curve:
        result.add(
            f"join_latency_ms_w{p['width']}", f"W = {p['width']:,}: join latency", p["join_latency_ms"], "ms"
        )
    result.add(
        "operator_cpu_spread_pct",
        "operator CPU per task, largest distance from the curve's median",
        spread([p["operator_cpu_ms_per_task"] for p in curve]),
        "%",
        Target("<=", 30, "%"),
    )
    low, high = (p["operator_cpu_ms_per_task"] for p in layered)
    result.add(
        "layered_cpu_ratio",
        f"layered DAG: operator CPU per task at {sizes.large:,} tasks / at {small:,}",
        _round(high / low, 2) if low and high else None,
        "",
        Target("<=", 1.3),
    )
    for metric in widest.metrics:
        if metric.key in ("requests_per_task", "reconciles_per_run", "peak_rss_mib"):
            result.add(metric.key, f"W = {points[-1]:,}: {metric.label}", metric.value, metric.unit)
    if sizes.width_max >= 10_000:
        result.add(
            "wall_s_10000",
            "1 → 10,000 → 1: wall time",
            next((p["wall_s"] for p in curve if p["width"] == 10_000), None),
            "s",
            Target("<=", 30, "s"),
        )
    return result


def realjoin(sizes: Sizes, logs: Path) -> ScenarioResult:
    width, length, runs = sizes.realjoin_width, sizes.realjoin_chain, sizes.realjoin_runs
    result = ScenarioResult(
        "realjoin",
        f"9. Real processes: join after 1 → {width} → 1 against a chain of {length}, {runs} runs each",
    )
    fans = [f"fan-{i + 1}" for i in range(runs)]
    chains = [f"chain-{i + 1}" for i in range(runs)]
    with world("realjoin", logs, instant=False) as w:
        w.create(shapes.pipeline("chain", shapes.chain(length)))
        w.create(shapes.pipeline("fan", shapes.fan_out_in(width)))
        w.begin_workload()
        # One run at a time, each with nothing else running, and a chain before each fan-out: this
        # machine's speed moves from one second to the next, so both are timed across the same moments.
        for chain, fan in zip(chains, fans, strict=True):
            for name, pipeline in ((chain, "chain"), (fan, "fan")):
                w.create(shapes.run(pipeline, name))
                follow_run(w, name, sizes.timeout)
        records = _common(w, result, [*chains, *fans], 0, tasks=runs * (length + width + 2))
        ahead = w.operator.metrics().get("baton_prepared_starts_total", 0.0)
        times = job_times(records, w.namespace)
        gaps = [g for name in chains for g in chain_overheads(job_names_in_order(w.run(name) or {}), times)]
        latencies = []
        for name in fans:
            jobs = job_names_in_order(w.run(name) or {})
            latency = join_latency(times, jobs[1:-1], jobs[-1]) if jobs else None
            if latency is not None:
                latencies.append(latency)
    chain_p50 = summary(gaps)["p50"]
    join_p50 = statistics.median(latencies) if len(latencies) == runs else None
    result.details.update(chain_overhead_ms=summary(gaps), join_latency_ms=summary(latencies))
    result.completed = result.details.get("runs_succeeded") == 2 * runs
    result.add(
        "join_latency_ms",
        f"join latency p50 of {runs} runs (last worker complete → join created)",
        _round(join_p50, 1),
        "ms",
    )
    result.add(
        "created_ahead",
        "Jobs created as their last parent succeeded, ahead of the plan (share of all Jobs)",
        _round(ahead / (runs * (length + width + 2)), 2),
        "",
    )
    result.add(
        "join_latency_max_ms", "join latency, the slowest run", _round(max(latencies, default=None), 1), "ms"
    )
    result.add(
        "chain_overhead_p50_ms", f"chain overhead per task, p50 of {len(gaps)}", _round(chain_p50, 1), "ms"
    )
    result.add(
        "join_over_chain",
        "join latency p50 / chain overhead p50",
        _round(join_p50 / chain_p50, 2) if join_p50 is not None and chain_p50 else None,
        "",
        Target("<=", 1.0),
    )
    _first(result, "join_latency_ms", "join_latency_max_ms", "chain_overhead_p50_ms", "join_over_chain")
    return result


def huge(sizes: Sizes, logs: Path) -> ScenarioResult:
    count, items = sizes.huge_tasks, sizes.huge_items
    result = ScenarioResult(
        "huge", f"10. {count} forEach tasks of {items:,} items: {count * items:,} instances"
    )
    tasks: list[dict[str, Any]] = []
    for i in range(count):
        after = [f"each-{i - 1:02}"] if i else []
        tasks.append(shapes.for_each(f"each-{i:02}", *after, max_items=items))
    with world("huge", logs) as w:
        w.create(shapes.pipeline("huge", tasks, params=[{"name": "items"}]))
        w.begin_workload()
        w.create(shapes.run("huge", "huge-1", items=items))
        created = time.time() * 1000
        biggest = follow_run(w, "huge-1", sizes.timeout)
        records = _common(w, result, ["huge-1"], count * items)
        last_write = max((r.ts_ms for r in status_patches(records, "huge-1")), default=None)
        jobs_left = w.job_count()
    result.details.update(jobs_left=jobs_left)
    result.add(
        "wall_s",
        "wall time, run created → final status",
        _round((last_write - created) / 1000, 1) if last_write else None,
        "s",
    )
    result.add("status_bytes", "run status size, largest seen", biggest, "bytes", Target("<", MIB, "bytes"))
    peak = result.value("peak_rss_mib")
    result.metrics[:] = [m for m in result.metrics if m.key != "peak_rss_mib"]
    result.add("peak_rss_mib", "operator peak RSS", peak, "MiB", Target("<", 1024, "MiB"))
    result.add("jobs_left", "Jobs still stored when the run finished", jobs_left, "")
    _first(result, "wall_s", "status_bytes", "peak_rss_mib", "jobs_left")
    return result
