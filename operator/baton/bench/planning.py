"""Planning time per reconcile, measured in-process on snapshots of a real run.

`plan()` is a pure function of (status, observed Jobs, now), so timing it here on exactly what the
operator saw is honest and far more precise than timing it from outside. A snapshot is the run as the
operator last wrote it plus the Jobs stored at that moment: the input of the operator's next reconcile.
The store never changes a stored object (it replaces it), so keeping references is a free snapshot.

Besides `plan()` itself this times the other per-reconcile costs of a large run that live in the core
and the API codec: decoding the stored status (the operator skips it when the run comes back with the
resourceVersion of its own last write), reading the observations of the run's Jobs, and encoding the
new status. Jobs are observed as their events arrive (`ClusterCache`), so a reconcile only reads what
is observed; observing all of them from scratch, as after a restart, is reported beside it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from baton.api.codec import dump_run_status, load_run_status
from baton.controller.cache import ClusterCache
from baton.core.plan import plan
from baton.core.state import RunMeta, RunState
from baton.kube.observe import observe_job
from baton.kube.trim import trim_job

from .measures import status_bytes

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    run: Mapping[str, Any]
    jobs: Sequence[Mapping[str, Any]]
    at: datetime


def _timed(fn: Callable[[], T], repeats: int) -> tuple[T, float, float]:
    """fn's result and its best and median times in milliseconds over `repeats` calls. The best is the
    cost itself; the others add whatever else the machine did meanwhile (it runs other work too)."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return result, min(times), statistics.median(times)  # type: ignore[return-value]


def time_reconcile(snapshot: Snapshot, repeats: int = 5) -> dict[str, Any]:
    """The core's costs of one reconcile of `snapshot`, in milliseconds (best of `repeats` calls)."""
    run = snapshot.run
    raw_status = run.get("status") or {}
    meta = RunMeta.from_metadata(run["metadata"])
    status, decode_ms, _ = _timed(lambda: load_run_status(raw_status), repeats)
    _, observe_all_ms, _ = _timed(
        lambda: [seen for job in snapshot.jobs if (seen := observe_job(job)) is not None], repeats
    )
    cache = ClusterCache()
    for job in snapshot.jobs:
        cache.observe_job("ADDED", trim_job(job))
    run_key = (meta.namespace, meta.name)
    observed, observe_ms, _ = _timed(lambda: cache.observed_jobs(run_key), repeats)
    state = RunState(meta, status)
    started = time.perf_counter()
    decision = plan(state, observed, snapshot.at)  # the first call also builds the DAG (cached per spec)
    first_ms = (time.perf_counter() - started) * 1000
    decision, plan_ms, plan_median_ms = _timed(lambda: plan(state, observed, snapshot.at), repeats)
    encode_ms = None
    if decision.status is not None:
        new_status = decision.status
        # As in the operator: the status it starts from was encoded by the previous write, so this write
        # encodes the entries that changed (the codec keeps each entry's JSON by identity). Timed once:
        # a second call would find every entry encoded.
        dump_run_status(status)
        _, encode_ms, _ = _timed(lambda: dump_run_status(new_status), 1)
    return {
        "tasks": len(status.tasks),
        "progress": status.progress,
        "jobs": len(observed),
        "status_bytes": status_bytes(run),
        "creates": len(decision.create_jobs),
        "decode_ms": round(decode_ms, 3),
        "observe_ms": round(observe_ms, 3),
        "observe_all_ms": round(observe_all_ms, 3),
        "plan_first_ms": round(first_ms, 3),
        "plan_ms": round(plan_ms, 3),
        "plan_median_ms": round(plan_median_ms, 3),
        "encode_ms": round(encode_ms, 3) if encode_ms is not None else None,
    }
