"""A progress write goes on behind the next reconcile: Jobs the run needs are created before it lands.

A scripted API: status patches block until the test lets them through, so the test decides when a
write is "still in flight". The chain a → b → c shows the point: when a's Job completes while the
write that recorded a's start is in flight, b's Job is created at once, and the run's status is planned
again (and written) only once that write is stored.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from baton.controller.cache import ClusterCache
from baton.controller.reconciler import NEXT_RECONCILE, RunReconciler
from baton.core.bursts import first_slice

PIPELINE = {
    "taskDefaults": {"image": "x"},
    "tasks": [
        {"name": "a", "command": ["true"]},
        {"name": "b", "command": ["true"], "dependsOn": ["a"]},
        {"name": "c", "command": ["true"], "dependsOn": ["b"]},
    ],
}
RUN = {
    "apiVersion": "baton.dev/v1alpha1",
    "kind": "PipelineRun",
    "metadata": {"name": "r", "namespace": "ns", "uid": "u-1", "resourceVersion": "1", "generation": 1},
    "spec": {"pipelineSpec": PIPELINE},
}


class Api:
    def __init__(self) -> None:
        self.run: dict[str, Any] = copy.deepcopy(RUN)
        self.created: list[str] = []
        self.patches: list[dict[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.version = 1

    async def create(self, path: str, obj: dict[str, Any], *, resource: str) -> dict[str, Any]:
        self.created.append(obj["metadata"]["name"])
        self.version += 1
        return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self.version)}}

    async def merge_patch(self, path: str, patch: dict[str, Any], *, resource: str) -> dict[str, Any]:
        await self.gate.wait()
        self.patches.append(patch)
        self.version += 1
        status = {**(self.run.get("status") or {}), **patch["status"]}
        self.run = {**self.run, "status": {k: v for k, v in status.items() if v is not None}}
        self.run["metadata"] = {**self.run["metadata"], "resourceVersion": str(self.version)}
        return self.run


class Quiet:
    async def record(self, *_: Any) -> None:
        pass


def complete(cache: ClusterCache, api: Api, name: str) -> None:
    """The Job `name` completes, as the Job watch would tell it."""
    task = name.split("-")[1]
    api.version += 1
    cache.observe_job(
        "MODIFIED",
        {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "resourceVersion": str(api.version),
                "labels": {"baton.dev/task": task, "baton.dev/attempt": "1", "baton.dev/run": "r"},
                "ownerReferences": [{"kind": "PipelineRun", "name": "r", "controller": True}],
            },
            "status": {
                "succeeded": 1,
                "startTime": "2025-01-31T10:00:00Z",
                "completionTime": "2025-01-31T10:00:01Z",
                "conditions": [{"type": "Complete", "status": "True"}],
            },
        },
    )


async def test_a_job_the_run_needs_is_created_while_the_last_write_is_still_in_flight() -> None:
    api, cache = Api(), ClusterCache()
    requeued: list[float] = []
    cache.observe_run("ADDED", api.run)
    reconciler = RunReconciler(
        cache,
        api,
        Quiet(),
        lambda _, delay: requeued.append(delay),  # type: ignore[arg-type]
    )
    key = ("ns", "r")
    await reconciler.reconcile(key)  # starts the run and a's Job: written at once (the run's start)
    assert api.created == ["r-a-1"] and len(api.patches) == 1
    # a's start is recorded behind: make a later write wait in flight
    complete(cache, api, "r-a-1")
    api.gate.clear()
    reconciler.writer.last_write.clear()  # no progress interval to wait for
    await reconciler.reconcile(key)  # a succeeded, b created; the write (progress only) goes behind
    assert api.created == ["r-a-1", "r-b-1"]
    in_flight = reconciler.writer.in_flight(key)
    assert in_flight is not None and not in_flight.done()

    complete(cache, api, "r-b-1")
    await reconciler.reconcile(key)  # the write is still in flight: c is created anyway, nothing written
    assert api.created == ["r-a-1", "r-b-1", "r-c-1"]
    assert len(api.patches) == 1

    requeued.clear()
    api.gate.set()
    await in_flight  # the write lands, and the writer brings the run back
    assert requeued == [0.0] and len(api.patches) == 2
    assert reconciler.writer.in_flight(key) is None
    reconciler.writer.last_write.clear()
    await reconciler.reconcile(key)  # planned again from what was written: c's start is recorded
    await asyncio.sleep(0)
    behind = reconciler.writer.in_flight(key)
    if behind is not None:
        await behind
    assert api.created == ["r-a-1", "r-b-1", "r-c-1"]  # nothing created twice
    tasks = {t["name"]: t["phase"] for t in api.run["status"]["tasks"]}
    assert tasks == {"a": "Succeeded", "b": "Succeeded", "c": "Running"}


async def test_a_wide_burst_is_created_in_two_slices_and_a_finished_run_keeps_no_memo() -> None:
    workers = [{"name": f"w{i:03}", "command": ["true"], "dependsOn": ["a"]} for i in range(300)]
    spec = {
        "tasks": [
            {"name": "a", "command": ["true"]},
            *workers,
            {"name": "join", "command": ["true"], "dependsOn": [w["name"] for w in workers]},
        ]
    }
    api, cache = Api(), ClusterCache()
    api.run["spec"] = {"pipelineSpec": {**PIPELINE, **spec}}
    requeued: list[float] = []
    cache.observe_run("ADDED", api.run)
    reconciler = RunReconciler(cache, api, Quiet(), lambda _, delay: requeued.append(delay))  # type: ignore[arg-type]
    key = ("ns", "r")

    async def reconcile() -> None:
        cache.observe_run("MODIFIED", api.run)
        reconciler.writer.last_write.clear()
        await reconciler.reconcile(key)
        if (behind := reconciler.writer.in_flight(key)) is not None:
            await behind

    await reconcile()
    complete(cache, api, "r-a-1")
    patches = len(api.patches)
    await reconcile()  # 300 to create: all but the last eighth, then a plan
    assert len(api.created) == 1 + first_slice(300) and NEXT_RECONCILE in requeued
    assert len(api.patches) == patches  # nothing written: the next plan writes
    await reconcile()  # the rest, each once
    assert sorted(api.created) == sorted({"r-a-1", *(f"r-{w['name']}-1" for w in workers)})
    for worker in workers:
        complete(cache, api, f"r-{worker['name']}-1")
    await reconcile()
    assert api.created[-1] == "r-join-1"
    assert reconciler._memos  # the run is still going: its plans keep what they found
    complete(cache, api, "r-join-1")
    await reconcile()
    assert api.run["status"]["phase"] == "Succeeded"
    await reconcile()  # a finished run's reconcile keeps nothing for it
    assert not reconciler._memos
