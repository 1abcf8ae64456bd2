"""Numbers from the dev cluster's audit log: percentiles, per-task overhead, requests, status bytes.

Timestamps are the audit log's wall-clock milliseconds. A Job's creation is its "Created" transition
(the Job controller records it when it sees the new Job, right after the create request is stored; the
create request itself does not carry the Job's name), its completion the "Complete" transition.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from baton.devcluster.audit import Record, RequestRecord, TransitionRecord

OPERATOR_CLIENTS = ("baton-operator", "kopf")
"""User agents of the operator process: Baton's own client (writes) and kopf's (lists and watches)."""
STREAMS = ("watch", "list")
"""Verbs an operator spends per process (lists at start, long-lived watches), not per task."""


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 to 100), interpolated between closest ranks as numpy's default does."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "min": min(values) if values else None,
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }


def job_times(records: Iterable[Record], namespace: str) -> dict[str, dict[str, float]]:
    """Per Job name, the first timestamp of each transition (Created, Started, Complete, Failed, …)."""
    times: dict[str, dict[str, float]] = {}
    for record in records:
        if isinstance(record, TransitionRecord) and record.kind == "Job" and record.namespace == namespace:
            times.setdefault(record.name, {}).setdefault(record.transition, record.ts_ms)
    return times


def chain_overheads(job_names: Sequence[str], times: Mapping[str, Mapping[str, float]]) -> list[float]:
    """For each task k > 0 of a chain: Job k created - Job k-1 complete, in milliseconds."""
    gaps = []
    for previous, current in itertools.pairwise(job_names):
        done, created = times.get(previous, {}).get("Complete"), times.get(current, {}).get("Created")
        if done is not None and created is not None:
            gaps.append(created - done)
    return gaps


def chain_overhead_split(
    job_names: Sequence[str], times: Mapping[str, Mapping[str, float]], writes: Sequence[float]
) -> dict[str, list[float]]:
    """Each chain gap split at the first run-status write that ends inside it: "write" is the time from
    Job k-1's completion to the end of the status write still in flight then (the reconcile that created
    Job k-1 ends with it; the run's next reconcile cannot start before), "next" the rest, up to Job k's
    creation. `writes` are the response timestamps of the run's status writes, in order."""
    split: dict[str, list[float]] = {"write": [], "next": []}
    for previous, current in itertools.pairwise(job_names):
        done, created = times.get(previous, {}).get("Complete"), times.get(current, {}).get("Created")
        if done is None or created is None:
            continue
        at = bisect.bisect_right(writes, done)
        write = writes[at] if at < len(writes) and writes[at] <= created else done
        split["write"].append(write - done)
        split["next"].append(created - write)
    return split


def join_latency(times: Mapping[str, Mapping[str, float]], workers: Sequence[str], join: str) -> float | None:
    """Milliseconds from the last worker's Job completion to the join's Job creation."""
    done = [times.get(n, {}).get("Complete") for n in workers]
    created = times.get(join, {}).get("Created")
    if not done or any(d is None for d in done) or created is None:
        return None
    return created - max(d for d in done if d is not None)


def first_request(
    records: Iterable[Record], verb: str, resource: str, name: str, code: int | None = None
) -> float | None:
    """When (ms) the first request of ``verb`` on ``resource`` named ``name`` (answered with ``code``,
    when given) was answered, if any."""
    return next(
        (
            r.ts_ms
            for r in records
            if isinstance(r, RequestRecord)
            and (r.verb, r.resource, r.name) == (verb, resource, name)
            and (code is None or r.code == code)
        ),
        None,
    )


def operator_requests(records: Iterable[Record]) -> list[RequestRecord]:
    return [r for r in records if isinstance(r, RequestRecord) and r.client in OPERATOR_CLIENTS]


def request_key(record: RequestRecord) -> str:
    resource = record.resource + (f"/{record.subresource}" if record.subresource else "")
    return f"{record.verb} {resource}"


def request_summary(records: Iterable[Record], tasks: int) -> dict[str, Any]:
    """The operator's requests: all of them by verb and resource, and those per task (without the
    watches and start-up lists, which an operator makes once per process, not per task)."""
    mine = operator_requests(records)
    per_task_requests = [r for r in mine if r.verb not in STREAMS]
    by_verb = Counter(request_key(r) for r in per_task_requests)
    return {
        "tasks": tasks,
        "total": len(mine),
        "per_task_total": len(per_task_requests),
        "per_task": len(per_task_requests) / tasks if tasks else None,
        "by_verb": dict(sorted(Counter(request_key(r) for r in mine).items())),
        "by_client": dict(sorted(Counter(r.client for r in mine).items())),
        "per_task_by_verb": {k: round(v / tasks, 3) for k, v in sorted(by_verb.items())} if tasks else {},
        "errors": dict(sorted(Counter(f"{request_key(r)} {r.code}" for r in mine if r.code >= 400).items())),
    }


def status_patches(records: Iterable[Record], run: str | None = None) -> list[RequestRecord]:
    """The operator's writes of runs' status (of one run, or of all)."""
    return [
        r
        for r in operator_requests(records)
        if r.verb == "patch"
        and r.resource == "pipelineruns.baton.dev"
        and r.subresource == "status"
        and (run is None or r.name == run)
    ]


def status_bytes(run: Mapping[str, Any]) -> int:
    """Size of the run's status as compact JSON (what counts toward etcd's object limit)."""
    return len(json.dumps(run.get("status") or {}, separators=(",", ":"), ensure_ascii=False).encode())


def object_bytes(obj: Mapping[str, Any]) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def completions_between(times: Mapping[str, Mapping[str, float]], start_ms: float, end_ms: float) -> int:
    return sum(1 for t in times.values() if "Complete" in t and start_ms <= t["Complete"] <= end_ms)


def task_phases(run: Mapping[str, Any]) -> Counter[str]:
    """Task phases of a run's status (plain task list; a compressed one is expanded); the instances of a
    forEach task count one by one."""
    from baton.api.codec import load_run_status

    counts: Counter[str] = Counter()
    for task in load_run_status(run.get("status") or {}).tasks:
        if task.items:  # a forEach task counts as its instances: each is a Job
            counts.update(i.phase.value for i in task.instances)
        else:
            counts[task.phase.value] += 1
    return counts


def job_names_in_order(run: Mapping[str, Any]) -> list[str]:
    from baton.api.codec import load_run_status

    names = []
    for task in load_run_status(run.get("status") or {}).tasks:
        if task.items:
            names += [i.job_name or "" for i in task.instances]
        else:
            names.append(task.job_name or "")
    return names
