"""A status the API server refuses as too large ends the run Failed, with a small write, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from baton.controller.cache import ClusterCache
from baton.controller.client import ApiFailure
from baton.controller.reconciler import RunReconciler

NOW = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
RUN = {
    "apiVersion": "baton.dev/v1alpha1",
    "kind": "PipelineRun",
    "metadata": {"name": "big", "namespace": "ns", "uid": "u-1", "resourceVersion": "1", "generation": 1},
    "spec": {"pipelineSpec": {"taskDefaults": {"image": "x"}, "tasks": [{"name": "a", "command": ["true"]}]}},
}


class Client:
    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.patches: list[dict[str, Any]] = []
        self.created: list[str] = []

    async def create(self, path: str, obj: dict[str, Any], *, resource: str) -> dict[str, Any]:
        self.created.append(obj["metadata"]["name"])
        return {**obj, "metadata": {**obj["metadata"], "resourceVersion": "2"}}

    async def merge_patch(self, path: str, patch: dict[str, Any], *, resource: str) -> dict[str, Any]:
        self.patches.append(patch)
        if len(self.patches) <= self.refuse:
            raise ApiFailure(500, "InternalError", "etcdserver: request is too large")
        return {**RUN, "metadata": {**RUN["metadata"], "resourceVersion": str(2 + len(self.patches))}}


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def record(self, obj: Any, events: list[Any]) -> None:
        self.events += events


def reconciler(client: Client, recorder: Recorder) -> RunReconciler:
    cache = ClusterCache()
    cache.observe_run("ADDED", RUN)
    return RunReconciler(cache, client, recorder, lambda key, delay: None, clock=lambda: NOW)  # type: ignore[arg-type]


async def test_a_refused_status_ends_the_run_with_a_small_write() -> None:
    client, recorder = Client(refuse=1), Recorder()
    await reconciler(client, recorder).reconcile(("ns", "big"))
    first, second = client.patches
    assert first["status"]["pipelineSpec"] and first["status"]["phase"] == "Running"
    status = second["status"]
    assert status["phase"] == "Failed" and "pipelineSpec" not in status and "tasks" not in status
    condition = status["conditions"][0]  # Succeeded; then Ready and Stalled (for GitOps tools)
    assert condition["reason"] == "StatusTooLarge"
    assert condition["message"].startswith("the run's status would be ")
    assert "which the API server refuses (etcdserver: request is too large)" in condition["message"]
    assert [(e.reason, e.type.value) for e in recorder.events] == [("StatusTooLarge", "Warning")]


async def test_it_gives_up_once_and_then_lets_the_work_queue_back_off() -> None:
    client = Client(refuse=2)
    try:
        await reconciler(client, Recorder()).reconcile(("ns", "big"))
    except ApiFailure as failure:
        assert failure.code == 500
    else:
        raise AssertionError("a refused small write is an error for the work queue to retry with backoff")
    assert len(client.patches) == 2
