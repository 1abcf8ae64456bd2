"""Scenario 7: a forEach fan-out, 1 → forEach of N items from a param → 1, in instant mode.

The DAG grows while the run runs: `fan` expands into N instances once `split` has succeeded, each with
its own Job and status entry. What it costs is measured as for the static fan-out (scenario 3): how long
after `split` all N instance Jobs exist, how long `join` waits after the last instance, the wall time and
the size of the status. Tasks write no results (instant-mode Jobs run nothing).
"""

from __future__ import annotations

import time
from pathlib import Path

from . import shapes
from .harness import world
from .measures import job_times, join_latency, status_patches
from .report import ScenarioResult, Target
from .scenarios import _common, _first, _round, follow_run
from .sizes import Sizes


def foreach(sizes: Sizes, logs: Path) -> ScenarioResult:
    width = sizes.foreach
    result = ScenarioResult("foreach", f"7. forEach 1 → {width:,} items (from a param) → 1")
    tasks = [
        shapes.task("split"),
        shapes.for_each("fan", "split", max_items=max(width, 1)),
        shapes.task("join", "fan"),
    ]
    with world("foreach", logs) as w:
        w.create(shapes.pipeline("each", tasks, params=[{"name": "items"}]))
        w.begin_workload()
        w.create(shapes.run("each", "each-1", items=width))
        created = time.time() * 1000
        biggest = follow_run(w, "each-1", sizes.timeout)
        records = _common(w, result, ["each-1"], width + 2)
        final = w.run("each-1") or {}
        times = job_times(records, w.namespace)
        # The split's and the join's Jobs are named in the status; every other Job of the run is an
        # instance's (a wide forEach keeps no instance Job names, and its Jobs are deleted once recorded).
        plain = {t["name"]: t.get("jobName") for t in (final.get("status") or {}).get("tasks") or ()}
        split, join = plain.get("split"), plain.get("join")
        split_done = times.get(split or "", {}).get("Complete")
        workers = [n for n in times if n not in (split, join)]
        instances = [times[n] for n in workers]
        complete = (
            split_done is not None and len(instances) == width and all("Created" in t for t in instances)
        )
        last_write = max((r.ts_ms for r in status_patches(records, "each-1")), default=None)
        result.add(
            "create_all_s",
            f"all {width:,} instance Jobs created, after the first task's completion",
            _round((max(t["Created"] for t in instances) - split_done) / 1000, 3)
            if complete and split_done is not None
            else None,
            "s",
            Target("<=", 5, "s"),
        )
        result.add(
            "join_latency_ms",
            "join latency: last instance's Job complete → join's Job created",
            _round(join_latency(times, workers, join or ""), 1),
            "ms",
        )
        result.add(
            "wall_s",
            "wall time, run created → final status",
            _round((last_write - created) / 1000, 2) if last_write else None,
            "s",
        )
        result.add(
            "status_bytes", "run status size, largest seen", biggest, "bytes", Target("<", 1_048_576, "bytes")
        )
        _first(result, "create_all_s", "join_latency_ms", "wall_s", "status_bytes")
    return result
