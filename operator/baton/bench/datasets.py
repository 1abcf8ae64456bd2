"""Scenario 13: data awareness, what it costs and what it saves.

- A chain of tasks linked only through datasets (each reads the partition the one before wrote; no
  dependsOn), every task cached: its overhead per task (from the audit log, as scenario 1's chain) and the
  requests the Dataset objects add per task.
- The same run again: every task is served from the cache, no Job is created; the wall time per task.
- A chain of Pipelines triggered by datasets (each Pipeline's run writes the dataset the next one's trigger
  matches): a hop is the Dataset status write that records the upstream write → the triggered run created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton.devcluster.audit import RequestRecord
from baton.kube.datasets import dataset_name

from .composition import _created
from .harness import wait_until, world
from .measures import chain_overheads, job_names_in_order, job_times, percentile, summary
from .report import ScenarioResult
from .scenarios import _common, _first, _wait_finished
from .shapes import pipeline, run, task
from .sizes import Sizes

DATASET = "s3://bench/step-{:04}"
TRIGGERED = "baton.dev/triggered-by-dataset"


def _lake_chain(length: int) -> list[dict[str, Any]]:
    tasks = []
    for i in range(length):
        step = task(f"step-{i:04}")
        step["outputs"] = [{"dataset": DATASET.format(i), "partition": "p"}]
        if i:
            step["inputs"] = [{"dataset": DATASET.format(i - 1), "partition": "p"}]
        step["cache"] = {"ttlSeconds": 3600}
        tasks.append(step)
    return tasks


def _dataset_requests(records: list[Any], since: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in records:
        if isinstance(r, RequestRecord) and r.seq > since and r.resource == "datasets.baton.dev":
            key = f"{r.verb} {r.subresource}".strip()
            found[key] = found.get(key, 0) + 1
    return found


def datasets(sizes: Sizes, logs: Path) -> ScenarioResult:
    n, hops = sizes.datasets, sizes.composed
    title = (
        f"13. Datasets: a chain of {n} tasks through datasets, again from the cache, {hops} dataset triggers"
    )
    result = ScenarioResult("datasets", title)
    with world("datasets", logs) as w:
        w.create(pipeline("lake", _lake_chain(n)))
        links = [f"link-{i:03}" for i in range(hops + 1)]
        for i, name in enumerate(links):
            step = task("write")
            step["outputs"] = [f"s3://bench/{name}"]
            extra = {"triggers": [{"dataset": f"s3://bench/{links[i - 1]}"}]} if i else {}
            w.create(pipeline(name, [step], **extra))
        w.settle(0.5, timeout=sizes.timeout)
        w.begin_workload()
        since = w.workload_from
        w.create(run("lake", "lake-1"))
        _wait_finished(w, ["lake-1"], sizes.timeout)
        records = list(w.cluster.audit.records())
        times = job_times(records, w.namespace)
        gaps = chain_overheads(job_names_in_order(w.run("lake-1") or {}), times)
        written = _dataset_requests(records, since)
        mark = max((r.seq for r in records), default=0)

        w.create(run("lake", "lake-2"))
        _wait_finished(w, ["lake-2"], sizes.timeout)
        records = list(w.cluster.audit.records())
        second = w.run("lake-2") or {}
        status = second.get("status") or {}
        cached = sum(1 for t in status.get("tasks") or () if t.get("reason") == "Cached")
        jobs_second = sum(
            1
            for r in records
            if isinstance(r, RequestRecord)
            and r.seq > mark
            and r.verb == "create"
            and r.resource == "jobs.batch"
        )
        writes = [
            r.ts_ms
            for r in records
            if isinstance(r, RequestRecord) and r.name == "lake-2" and r.subresource == "status"
        ]
        w.create(run(links[0], "link-000-first"))

        def chain_done() -> bool:
            last = [r for r in w.runs() if r["spec"].get("pipelineRef", {}).get("name") == links[-1]]
            return bool(last) and (last[0].get("status") or {}).get("phase") == "Succeeded"

        wait_until(chain_done, sizes.timeout, "the dataset trigger chain", interval=0.05)
        w.settle(0.5, timeout=sizes.timeout)
        records = list(w.cluster.audit.records())
        trigger_hops = []
        for r in w.runs():
            source = (r["metadata"].get("annotations") or {}).get(TRIGGERED)
            if not source:
                continue
            name = r["metadata"]["name"]
            made = _created(records, name)
            dataset = dataset_name(source.split("#", 1)[0])
            wrote = [
                x.ts_ms
                for x in records
                if isinstance(x, RequestRecord)
                and x.resource == "datasets.baton.dev"
                and x.subresource == "status"
                and x.name == dataset
                and made is not None
                and x.ts_ms <= made
            ]
            if made is not None and wrote:
                trigger_hops.append(made - max(wrote))
        every = [
            "lake-1",
            "lake-2",
            *(r["metadata"]["name"] for r in w.runs() if r["metadata"]["name"].startswith("link-")),
        ]
        _common(w, result, every, 1, tasks=2 * n + len(links))
        # The second run's tasks have no Job: the cache served them.
        result.details["job_tasks"] = n + len(links)
    stats = summary(gaps)
    result.details.update(
        overheads_ms=[round(g, 3) for g in gaps],
        dataset_requests_first_run=written,
        trigger_hops_ms=[round(h, 1) for h in trigger_hops],
    )
    result.completed = result.completed and cached == n and jobs_second == 0 and len(trigger_hops) == hops
    result.add("overhead_p50_ms", "chain through datasets: overhead per task, p50", _r(stats["p50"]), "ms")
    result.add("overhead_p99_ms", "chain through datasets: overhead per task, p99", _r(stats["p99"]), "ms")
    per_task = sum(written.values()) / n if n else None
    result.add(
        "dataset_requests_per_task",
        "Dataset requests per task (create, get, status patch)",
        _r(per_task, 2),
        "",
    )
    result.add("cached_tasks", "second run: tasks served from the cache", cached, "")
    result.add("cached_jobs", "second run: Jobs created", jobs_second, "")
    result.add(
        "cached_writes", "second run: its status writes (the cached chain planned at once)", len(writes), ""
    )
    result.add(
        "trigger_hop_p50_ms",
        "dataset trigger hop: Dataset write → triggered run created, p50",
        _r(percentile(trigger_hops, 50)),
        "ms",
    )
    result.add("trigger_hop_max_ms", "dataset trigger hop, max", _r(max(trigger_hops, default=None)), "ms")
    _first(
        result,
        "overhead_p50_ms",
        "overhead_p99_ms",
        "dataset_requests_per_task",
        "cached_tasks",
        "cached_jobs",
        "cached_writes",
        "trigger_hop_p50_ms",
        "trigger_hop_max_ms",
    )
    return result


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
