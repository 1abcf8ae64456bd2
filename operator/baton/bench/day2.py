"""Scenario 14: the night a pipeline fails (issue 15), on real processes (the dev cluster in normal mode).

- `day2_runs` runs of a Pipeline whose task sleeps past the run's 1 s timeout, with a finally task: when
  the cleanup starts, against the moment the timeout stopped the task (the finally task's Job created minus
  the task's Job deleted: negative when both came from one reconcile, which creates before it deletes),
  and how soon the run ends once the cleanup is done (its Job complete → the run's last status write).
- One run of `day2_width` tasks that fail on every one of their 3 attempts: what `attemptHistory` adds
  to the stored status per task, and how long `kubectl baton why` takes to explain the run from it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from baton.api.codec import dump_run_status, load_run_status
from baton.core.explain import explain

from .harness import world
from .measures import first_request, job_times, object_bytes, percentile, status_bytes, status_patches
from .report import ScenarioResult
from .scenarios import _common, _first, _round, _wait_finished
from .shapes import pipeline, run
from .sizes import Sizes


def _sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script], **extra}


def day2(sizes: Sizes, logs: Path) -> ScenarioResult:
    runs, width = sizes.day2_runs, sizes.day2_width
    title = f"14. Day 2: cleanup after {runs} run timeouts; a run of {width} tasks failing 3 times each"
    result = ScenarioResult("day2", title)
    with world("day2", logs, instant=False) as w:
        finally_ = [_sh("cleanup", "true")]
        w.create(pipeline("nightly", [_sh("load", "sleep 30")], timeoutSeconds=1, **{"finally": finally_}))
        retries = {"limit": 2, "backoff": {"initialSeconds": 0.05}}
        failing = [_sh(f"t-{i:03}", "echo reading; echo 'ValueError: bad row' >&2; exit 3", retries=retries)
                   for i in range(width)]  # fmt: skip
        w.create(pipeline("flaky", failing))
        w.settle(0.5, timeout=sizes.timeout)
        w.begin_workload()
        names = [f"nightly-{i:03}" for i in range(runs)]
        for name in names:
            w.create(run("nightly", name))
        w.create(run("flaky", "flaky-1"))
        _wait_finished(w, [*names, "flaky-1"], sizes.timeout)
        records = _common(w, result, [*names, "flaky-1"], 0, tasks=2 * runs + width)
        times = job_times(records, w.namespace)
        starts, ends, outcomes = [], [], []
        for name in names:
            stored = w.run(name) or {}
            condition: dict[str, Any] = next(iter((stored.get("status") or {}).get("conditions") or ()), {})
            outcomes.append(
                (stored.get("status") or {}).get("phase") == "Failed" and condition.get("reason") == "Timeout"
            )
            stopped = first_request(records, "delete", "jobs.batch", f"{name}-load-1")
            cleanup = times.get(f"{name}-cleanup-1", {})
            if stopped is not None and "Created" in cleanup:
                starts.append(cleanup["Created"] - stopped)
            writes = [r.ts_ms for r in status_patches(records, name)]
            if "Complete" in cleanup and writes:
                ends.append(max(writes) - cleanup["Complete"])
        flaky = w.run("flaky-1") or {}
        stored_bytes = status_bytes(flaky)
        status = load_run_status(flaky.get("status"))
        began = time.perf_counter()
        explained = explain("flaky-1", status)
        explain_ms = (time.perf_counter() - began) * 1000
        bare = status.model_copy(
            update={"tasks": [t.model_copy(update={"attempt_history": []}) for t in status.tasks]}
        )
        without = object_bytes(dump_run_status(bare))
        with_history = object_bytes(dump_run_status(status))
        histories = sum(len(t.attempt_history) for t in status.tasks)
    # Failures are this scenario's workload: the loads its timeouts stop, and every flaky task.
    result.details.update(
        job_tasks=2 * runs + 3 * width,
        tasks_failed_on_purpose=runs + width,
        runs_failed_on_purpose=runs + 1,
        cleanup_start_ms=[round(s, 1) for s in starts],
        run_end_ms=[round(e, 1) for e in ends],
    )
    result.completed = all(outcomes) and len(starts) == runs and histories == 3 * width and bool(explained)
    result.add(
        "cleanup_start_p50_ms",
        "after a run timeout: finally task's Job created minus stopped task's Job deleted, p50 "
        "(negative: the same reconcile, which creates before it deletes)",
        _round(percentile(starts, 50), 1),
        "ms",
    )
    result.add("cleanup_start_max_ms", "the same, max", _round(max(starts, default=None), 1), "ms")
    result.add(
        "timeout_end_p50_ms",
        "finally task's Job complete → the run's last status write (Failed, Timeout), p50",
        _round(percentile(ends, 50), 1),
        "ms",
    )
    result.add(
        "history_bytes_per_task",
        "attemptHistory of a task failed 3 times: bytes it adds to the stored status",
        _round((with_history - without) / max(1, width), 1),
        "B",
    )
    result.add("failed_run_status_kib", "that run's stored status", _round(stored_bytes / 1024, 1), "KiB")
    result.add(
        "why_ms", "kubectl baton why: explaining that run from its status", _round(explain_ms, 2), "ms"
    )
    _first(
        result,
        "cleanup_start_p50_ms",
        "cleanup_start_max_ms",
        "timeout_end_p50_ms",
        "history_bytes_per_task",
        "failed_run_status_kib",
        "why_ms",
    )
    return result
