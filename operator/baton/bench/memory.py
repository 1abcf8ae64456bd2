"""Scenario 6, memory: 1,000 runs held active (their Jobs start but do not finish), the operator's RSS with
them and per run; then all finishing at once, deleted, and another 1,000 run and deleted, so that a leak
shows as growth from the second thousand (Python keeps memory it freed, so the RSS after a deletion alone
says little)."""

from __future__ import annotations

from pathlib import Path

from . import shapes
from .harness import World, wait_until, world
from .report import ScenarioResult, Target
from .scenarios import MIB, _common, _first, _now_ms, _round, _wait_finished
from .sizes import Sizes


def _delete_runs(w: World, names: list[str], timeout: float) -> int:
    """Delete the runs (their Jobs go with them), and the operator's RSS once it settled."""
    runs_type = w.cluster.registry.storage("baton.dev", "pipelineruns")
    for name in names:
        w.cluster.sync(w.cluster.store.delete, runs_type, w.namespace, name)
    wait_until(lambda: w.job_count() == 0, timeout, "the runs' Jobs to be collected", interval=0.1)
    w.settle(2.0, timeout=timeout)
    return int(w.operator.memory()["VmRSS"])


def rss(sizes: Sizes, logs: Path) -> ScenarioResult:
    runs, width = sizes.rss_runs, sizes.rss_width
    result = ScenarioResult("rss", f"6. Memory: {runs:,} active runs")
    with world("rss", logs, hold_jobs=True) as w:
        w.create(shapes.pipeline("held", shapes.fan_out_in(width)))
        w.begin_workload()
        baseline = w.operator.memory()["VmRSS"]
        names = [f"held-{i:04}" for i in range(runs)]
        started = _now_ms()
        for name in names:
            w.create(shapes.run("held", name))

        def all_active() -> bool:
            phases = w.phases()
            return sum(1 for n in names if phases.get(n) == "Running") == runs and w.job_count() >= runs

        wait_until(all_active, sizes.timeout, f"{runs} runs to be active", interval=0.1)
        active_after = (_now_ms() - started) / 1000
        w.settle(1.0, timeout=sizes.timeout)
        active = w.operator.memory()
        w.cluster.release_jobs()
        released = _now_ms()
        _wait_finished(w, names, sizes.timeout)
        drained = (_now_ms() - released) / 1000
        _common(w, result, names, width + 2)
        w.settle(1.0, timeout=sizes.timeout)
        finished = w.operator.memory()["VmRSS"]
        # The runs deleted (their Jobs go with them): what the operator keeps then is what it leaks.
        deleted = _delete_runs(w, names, sizes.timeout)
        # Python seldom gives freed memory back to the system, so the RSS after deletion says little
        # alone; a second 1,000 runs, run and deleted, must then fit into the memory the first left.
        again = [f"again-{i:04}" for i in range(runs)]
        for name in again:
            w.create(shapes.run("held", name))
        _wait_finished(w, again, sizes.timeout)
        second = _delete_runs(w, again, sizes.timeout)
    per_run = (active["VmRSS"] - baseline) / runs
    result.details.update(
        baseline_rss_bytes=baseline,
        active_rss_bytes=active["VmRSS"],
        finished_rss_bytes=finished,
        deleted_rss_bytes=deleted,
        second_deleted_rss_bytes=second,
        seconds_to_activate=round(active_after, 3),
        seconds_to_finish_after_release=round(drained, 3),
    )
    result.add(
        "active_rss_mib",
        f"operator RSS with {runs:,} active runs",
        _round(active["VmRSS"] / MIB, 1),
        "MiB",
        Target("<", 256, "MiB"),
    )
    result.add(
        "rss_per_run_kib", "RSS per active run (above the idle operator)", _round(per_run / 1024, 1), "KiB"
    )
    result.add("idle_rss_mib", "operator RSS, idle", _round(baseline / MIB, 1), "MiB")
    result.add(
        "finished_rss_mib",
        f"operator RSS once all {runs:,} finished (kept)",
        _round(finished / MIB, 1),
        "MiB",
    )
    result.add(
        "deleted_rss_over_idle_mib",
        "operator RSS once they are deleted, above idle",
        _round((deleted - baseline) / MIB, 1),
        "MiB",
    )
    result.add(
        "leak_per_1000_runs_mib",
        f"RSS growth from {runs:,} more runs, run and deleted (a leak would show here)",
        _round((second - deleted) / MIB, 1),
        "MiB",
    )
    result.add(
        "finish_after_release_s",
        f"all {runs:,} runs finished after their Jobs are released",
        _round(drained, 2),
        "s",
    )
    _first(
        result, "active_rss_mib", "rss_per_run_kib", "idle_rss_mib", "peak_rss_mib", "finish_after_release_s"
    )
    return result
