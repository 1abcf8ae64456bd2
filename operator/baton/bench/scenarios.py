"""The scenarios of issue 6 (scenario 6, memory, is in `memory`). Each gets its own dev cluster and
operator (`harness.world`), drives its runs, and turns the audit log, the operator's metrics and its
memory into a `ScenarioResult`.

Reconciles per run come from the operator's own `baton_reconcile_duration_seconds_count{kind="run"}`
(scraped from its metrics endpoint when the scenario ends); status writes per run from the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import shapes
from .harness import World, wait_until, world
from .measures import (
    chain_overhead_split,
    chain_overheads,
    completions_between,
    job_names_in_order,
    job_times,
    join_latency,
    request_summary,
    status_bytes,
    status_patches,
    summary,
    task_phases,
)
from .planning import Snapshot, time_reconcile
from .report import ScenarioResult, Target
from .sizes import Sizes

MIB = 1024 * 1024
FINISHED = ("Succeeded", "Failed")

Scenario = Callable[[Sizes, Path], ScenarioResult]


def _now_ms() -> float:
    return time.time() * 1000


def _wait_finished(world: World, names: list[str], timeout: float) -> None:
    pending = set(names)

    def done() -> bool:
        phases = world.phases()
        pending.difference_update(n for n in list(pending) if phases.get(n) in FINISHED)
        return not pending

    wait_until(done, timeout, f"{len(names)} run(s) to finish", interval=0.02)


def follow_run(world: World, name: str, timeout: float) -> int:
    """Wait for one run to finish; the largest size its stored status had on the way."""
    biggest = 0

    def done() -> bool:
        nonlocal biggest
        run = world.run(name)
        if run is None:
            return False
        biggest = max(biggest, status_bytes(run))
        return (run.get("status") or {}).get("phase") in FINISHED

    wait_until(done, timeout, f"run {name} to finish", interval=0.05)
    return biggest


def _records(world: World) -> list[Any]:
    return list(world.cluster.sync(world.cluster.audit.records))


def _common(
    world: World, result: ScenarioResult, runs: list[str], tasks_per_run: int, *, tasks: int | None = None
) -> list[Any]:
    """What every scenario reports: task outcomes, requests, reconciles, status writes, memory. `tasks`
    is the total when the runs differ in size."""
    records = _records(world)
    stored = [world.run(name) or {} for name in runs]
    phases: dict[str, int] = {}
    for run in stored:
        for phase, count in task_phases(run).items():
            phases[phase] = phases.get(phase, 0) + count
    tasks = tasks if tasks is not None else tasks_per_run * len(runs)
    run_phases = [(run.get("status") or {}).get("phase") for run in stored]
    metrics = world.operator.metrics()
    reconciles = metrics.get('baton_reconcile_duration_seconds_count{kind="run"}', 0.0)
    reconcile_seconds = metrics.get('baton_reconcile_duration_seconds_sum{kind="run"}', 0.0)
    memory = world.operator.memory()
    cpu = [now - then for now, then in zip(world.cpu(), world.cpu_from, strict=True)]
    requests = request_summary([r for r in records if r.seq > world.workload_from], tasks)
    requests["startup"] = request_summary([r for r in records if r.seq <= world.workload_from], 0)["by_verb"]
    patches = len(status_patches(records))
    result.details.update(
        runs=len(runs),
        tasks=tasks,
        runs_succeeded=sum(1 for p in run_phases if p == "Succeeded"),
        task_phases=phases,
        tasks_succeeded=phases.get("Succeeded", 0),
        requests=requests,
        reconciles=reconciles,
        reconcile_seconds=reconcile_seconds,
        status_writes=patches,
        operator_cpu_seconds=round(cpu[0], 3),
        operator_cpu_total_seconds=round(world.operator.cpu(), 3),
        cluster_cpu_seconds=round(cpu[1], 3),
        operator_rss_bytes=memory.get("VmRSS"),
        operator_peak_rss_bytes=memory.get("VmHWM"),
        operator_log=str(world.operator.log_path),
        operator_log_errors=_log_errors(world.operator.log_path),
    )
    result.completed = phases.get("Succeeded", 0) == tasks and len(run_phases) == len(runs)
    result.add(
        "requests_per_task",
        "operator requests per task",
        _round(requests["per_task"], 2),
        "",
        Target("<=", 2),
    )
    result.add("reconciles_per_run", "reconciles per run", _round(reconciles / max(1, len(runs)), 1))
    result.add("status_writes_per_run", "status writes per run", _round(patches / max(1, len(runs)), 1))
    result.add(
        "mean_reconcile_ms",
        "mean reconcile time (operator's metric)",
        _round(1000 * reconcile_seconds / reconciles, 2) if reconciles else None,
        "ms",
    )
    result.add("operator_cpu_ms_per_task", "operator CPU per task", _round(1000 * cpu[0] / tasks, 2), "ms")
    result.add(
        "cluster_cpu_ms_per_task",
        "dev cluster (API server) CPU per task",
        _round(1000 * cpu[1] / tasks, 2),
        "ms",
    )
    result.add("peak_rss_mib", "operator peak RSS", _round((memory.get("VmHWM") or 0) / MIB, 1), "MiB")
    return records


def _log_errors(path: Path) -> int:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0
    return sum(1 for line in lines if '"level": "error"' in line or '"level": "critical"' in line)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# -- 1. the chain ----------------------------------------------------------------------------------


def chain(sizes: Sizes, logs: Path) -> ScenarioResult:
    n = sizes.chain
    result = ScenarioResult("chain", f"1. Chain of {n}")
    with world("chain", logs) as w:
        w.create(shapes.pipeline("chain", shapes.chain(n)))
        w.begin_workload()
        w.create(shapes.run("chain", "chain-1"))
        created = _now_ms()
        _wait_finished(w, ["chain-1"], sizes.timeout)
        records = _common(w, result, ["chain-1"], n)
        run = w.run("chain-1") or {}
        times = job_times(records, w.namespace)
        names = job_names_in_order(run)
        gaps = chain_overheads(names, times)
        stats = summary(gaps)
        writes = [r.ts_ms for r in status_patches(records, "chain-1")]
        last_write = max(writes, default=None)
        split = chain_overhead_split(names, times, writes)
        result.details.update(
            overhead_ms=stats,
            overheads_ms=[round(g, 3) for g in gaps],
            overhead_split_ms={part: summary(values) for part, values in split.items()},
        )
        result.add(
            "overhead_p50_ms", "overhead per task, p50", _round(stats["p50"], 1), "ms", Target("<", 20, "ms")
        )
        result.add(
            "overhead_p99_ms", "overhead per task, p99", _round(stats["p99"], 1), "ms", Target("<", 100, "ms")
        )
        result.add("overhead_max_ms", "overhead per task, max", _round(stats["max"], 1), "ms")
        result.add(
            "overhead_write_p50_ms",
            "of which waiting for the previous status write, p50",
            _round(summary(split["write"])["p50"], 1),
            "ms",
        )
        result.add(
            "wall_s",
            "wall time, run created → final status",
            _round((last_write - created) / 1000, 2) if last_write else None,
            "s",
        )
        _first(
            result, "overhead_p50_ms", "overhead_p99_ms", "overhead_max_ms", "overhead_write_p50_ms", "wall_s"
        )
    return result


def _first(result: ScenarioResult, *keys: str) -> None:
    """Put these metrics first in the table (the scenario's headline before the common ones)."""
    head = [m for k in keys for m in result.metrics if m.key == k]
    result.metrics[:] = head + [m for m in result.metrics if m not in head]


# -- 2. requests per task ------------------------------------------------------------------------


def requests(sizes: Sizes, logs: Path) -> ScenarioResult:
    width = sizes.requests_width
    tasks = 2 + 2 * width
    result = ScenarioResult(
        "requests", f"2. Requests: {sizes.requests_runs} runs of {tasks} tasks, one by one"
    )
    with world("requests", logs) as w:
        w.create(shapes.pipeline("diamond", shapes.diamond(width)))
        w.begin_workload()
        names = []
        for i in range(sizes.requests_runs):
            name = f"diamond-{i:03}"
            w.create(shapes.run("diamond", name))
            _wait_finished(w, [name], sizes.timeout)
            names.append(name)
        _common(w, result, names, tasks)
        _first(result, "requests_per_task", "reconciles_per_run", "status_writes_per_run")
    return result


# -- 3. fan-out / fan-in ---------------------------------------------------------------------------


def fanout(sizes: Sizes, logs: Path) -> ScenarioResult:
    width, repeats = sizes.fanout, sizes.fanout_runs
    result = ScenarioResult("fanout", f"3. Fan-out 1 → {width:,} → 1, {repeats} runs one after another")
    created_all: list[float] = []
    joins: list[float] = []
    walls: list[float] = []
    biggest = 0
    with world("fanout", logs) as w:
        w.create(shapes.pipeline("fan", shapes.fan_out_in(width)))
        w.begin_workload()
        names = [f"fan-{i + 1}" for i in range(repeats)]
        for name in names:
            w.create(shapes.run("fan", name))
            created = _now_ms()
            biggest = max(biggest, follow_run(w, name, sizes.timeout))
            walls.append(created)
        records = _common(w, result, names, width + 2)
        times = job_times(records, w.namespace)
        for i, name in enumerate(names):
            run = w.run(name) or {}
            order = job_names_in_order(run)
            split_done = times.get(order[0], {}).get("Complete") if order else None
            middle = [times[n]["Created"] for n in order[1:-1] if "Created" in times.get(n, {})]
            if split_done is not None and len(middle) == width:
                created_all.append((max(middle) - split_done) / 1000)
            latency = join_latency(times, order[1:-1], order[-1]) if order else None
            if latency is not None:
                joins.append(latency)
            last_write = max((r.ts_ms for r in status_patches(records, name)), default=None)
            walls[i] = (last_write - walls[i]) / 1000 if last_write else float("nan")
        final_bytes = status_bytes(w.run(names[-1]) or {})
    result.details.update(
        status_bytes_final=final_bytes,
        create_all_s=[round(v, 3) for v in created_all],
        join_latency_ms=[round(v, 1) for v in joins],
        wall_s=[round(v, 3) for v in walls],
    )
    result.add(
        "create_all_s",
        f"all {width:,} Jobs created, after the first task's completion, median",
        _round(summary(created_all)["p50"], 3),
        "s",
        Target("<=", 5, "s"),
    )
    result.add(
        "join_latency_p50_ms",
        "join latency (last worker's Job complete → join's Job created), p50",
        _round(summary(joins)["p50"], 1),
        "ms",
        Target("<=", 50, "ms"),
    )
    result.add(
        "wall_s",
        "wall time, run created → final status, median",
        _round(summary(walls)["p50"], 2),
        "s",
        Target("<=", 3, "s"),
    )
    result.add(
        "status_bytes",
        "run status size, largest seen",
        max(biggest, final_bytes),
        "bytes",
        Target("<", MIB, "bytes"),
    )
    _first(result, "create_all_s", "join_latency_p50_ms", "wall_s", "status_bytes")
    return result


# -- 4. the 10,000-task run ------------------------------------------------------------------------


def large(sizes: Sizes, logs: Path) -> ScenarioResult:
    n = sizes.large
    result = ScenarioResult("large", f"4. Layered random DAG of {n:,} tasks")
    dag = shapes.layered(n)
    with world("large", logs) as w:
        w.create(shapes.pipeline("big", dag))
        w.begin_workload()
        w.create(shapes.run("big", "big-1"))
        created = _now_ms()
        snapshots: list[Snapshot] = []
        biggest = 0
        next_at = 0.0

        def done() -> bool:
            nonlocal biggest, next_at
            run = w.run("big-1")
            if run is None:
                return False
            status = run.get("status") or {}
            finished = status.get("phase") in FINISHED
            if status.get("phase"):
                biggest = max(biggest, status_bytes(run))
                progress = _progress(status.get("progress"))
                if progress >= next_at and not finished:
                    snapshots.append(Snapshot(run, w.jobs(), datetime.now(UTC)))
                    next_at = progress + 1 / sizes.snapshots
            return finished

        wait_until(done, sizes.timeout, "the large run to finish", interval=0.1)
        records = _common(w, result, ["big-1"], n)
        run = w.run("big-1") or {}
        last_write = max((r.ts_ms for r in status_patches(records, "big-1")), default=None)
        final_bytes = status_bytes(run)
    timings = [time_reconcile(s) for s in snapshots]
    plan_ms = [t["plan_ms"] for t in timings]
    whole_ms = [t["observe_ms"] + t["plan_ms"] + (t["encode_ms"] or 0.0) for t in timings]
    encode_ms = [t["encode_ms"] for t in timings if t["encode_ms"] is not None]
    result.details.update(
        snapshots=timings, status_bytes_final=final_bytes, layers=len({t["name"][:4] for t in dag})
    )
    result.add(
        "plan_p50_ms",
        "planning per reconcile (plan(), best of 5), median of snapshots",
        _round(summary(plan_ms)["p50"], 2),
        "ms",
        Target("<", 50, "ms"),
    )
    result.add(
        "plan_max_ms",
        "planning per reconcile, slowest snapshot",
        _round(max(plan_ms, default=0.0), 2),
        "ms",
        Target("<", 50, "ms"),
    )
    result.add(
        "reconcile_max_ms",
        "whole reconcile (observe + plan + encode), slowest snapshot",
        _round(max(whole_ms, default=0.0), 2),
        "ms",
        Target("<", 50, "ms"),
    )
    result.add(
        "observe_max_ms",
        "reading the observations of the run's Jobs per reconcile, slowest snapshot",
        _round(max((t["observe_ms"] for t in timings), default=0.0), 2),
        "ms",
    )
    result.add(
        "observe_all_max_ms",
        "observing every Job from scratch (once, after a restart), slowest snapshot",
        _round(max((t["observe_all_ms"] for t in timings), default=0.0), 2),
        "ms",
    )
    result.add(
        "encode_p50_ms",
        "encoding the status per write (dump_run_status), median",
        _round(summary(encode_ms)["p50"], 2),
        "ms",
    )
    result.add(
        "status_bytes",
        "run status size, largest seen",
        max(biggest, final_bytes),
        "bytes",
        Target("<", MIB, "bytes"),
    )
    result.add(
        "wall_s",
        "wall time, run created → final status",
        _round((last_write - created) / 1000, 2) if last_write else None,
        "s",
    )
    peak = result.value("peak_rss_mib")
    result.metrics[:] = [m for m in result.metrics if m.key != "peak_rss_mib"]
    result.add("peak_rss_mib", "operator peak RSS", peak, "MiB", Target("<", 200, "MiB"))
    _first(
        result,
        "plan_p50_ms",
        "plan_max_ms",
        "reconcile_max_ms",
        "observe_max_ms",
        "encode_p50_ms",
        "status_bytes",
        "peak_rss_mib",
        "wall_s",
    )
    return result


def _progress(text: str | None) -> float:
    done, _, total = (text or "0/1").partition("/")
    try:
        return int(done) / max(1, int(total))
    except ValueError:
        return 0.0


# -- 5. sustained throughput -----------------------------------------------------------------------


def throughput(sizes: Sizes, logs: Path) -> ScenarioResult:
    tasks, in_flight, total = sizes.throughput_tasks, sizes.throughput_in_flight, sizes.throughput_runs
    result = ScenarioResult("throughput", f"5. Throughput: {in_flight} runs of {tasks} tasks in flight")
    with world("throughput", logs) as w:
        w.create(shapes.pipeline("tp", shapes.chain(tasks)))
        w.begin_workload()
        names: list[str] = []
        running: set[str] = set()
        window_start = window_end = 0.0

        def feed() -> bool:
            nonlocal window_start, window_end
            if running:
                phases = w.phases()
                running.difference_update([n for n in list(running) if phases.get(n) in FINISHED])
            while len(running) < in_flight and len(names) < total:
                name = f"tp-{len(names):04}"
                w.create(shapes.run("tp", name))
                names.append(name)
                running.add(name)
                if len(names) == in_flight:
                    window_start = _now_ms()
                if len(names) == total:
                    window_end = _now_ms()
            return not running and len(names) == total

        wait_until(feed, sizes.timeout, "the throughput runs to finish", interval=0.02)
        finished_at = _now_ms()
        records = _common(w, result, names, tasks)
        times = job_times(records, w.namespace)
        if window_end <= window_start:  # fewer runs than the in-flight count: measure the whole
            window_start, window_end = min(t.get("Created", finished_at) for t in times.values()), finished_at
        steady = completions_between(times, window_start, window_end)
        first = min((t["Created"] for t in times.values() if "Created" in t), default=finished_at)
        overall = completions_between(times, first, finished_at)
        steady_rate = steady / ((window_end - window_start) / 60_000) if window_end > window_start else None
        overall_rate = overall / ((finished_at - first) / 60_000) if finished_at > first else None
        result.details.update(window_ms=[window_start, window_end], steady_completions=steady)
        result.add(
            "tasks_per_minute",
            f"tasks per minute, steady ({in_flight} runs in flight)",
            _round(steady_rate, 0),
            "",
            Target(">=", 3000),
        )
        result.add("tasks_per_minute_overall", "tasks per minute, whole scenario", _round(overall_rate, 0))
        _first(result, "tasks_per_minute", "tasks_per_minute_overall")
    return result
