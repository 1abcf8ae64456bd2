"""The Dataset keeper against API failures: conflicts are re-read and recorded once, a refusal for good
does not hold up the run, a transient failure makes the run's write wait (and be retried)."""

from __future__ import annotations

from typing import Any

import pytest

from baton.api.dataset import TaskRef
from baton.controller.cache import ClusterCache
from baton.controller.client import ApiFailure
from baton.controller.datasets import DatasetKeeper
from baton.core.dataset_status import Role, Touch
from baton.kube.datasets import dataset_body

URI = "s3://lake/sales"
WROTE = Touch(
    URI, Role.PRODUCED, TaskRef(run="r1", task="extract", time="2026-12-06T10:00:00Z", partition="d")
)


class FakeClient:
    def __init__(self, failures: list[int]) -> None:
        self.failures = failures
        self.stored: dict[str, Any] = {**dataset_body("lake", URI)}
        self.stored["metadata"] = {**self.stored["metadata"], "resourceVersion": "1"}
        self.patches: list[dict[str, Any]] = []

    async def create(self, path: str, obj: dict[str, Any], *, resource: str) -> dict[str, Any]:
        raise ApiFailure(409, "AlreadyExists", "exists")

    async def get(self, path: str, *, resource: str) -> dict[str, Any]:
        return self.stored

    async def merge_patch(self, path: str, patch: dict[str, Any], *, resource: str) -> dict[str, Any]:
        if self.failures:
            code = self.failures.pop(0)
            if code == 409:  # someone else wrote it: a new version
                version = int(self.stored["metadata"]["resourceVersion"]) + 1
                self.stored["metadata"] = {**self.stored["metadata"], "resourceVersion": str(version)}
            raise ApiFailure(code, "Failure", f"code {code}")
        assert patch["metadata"]["resourceVersion"] == self.stored["metadata"]["resourceVersion"]
        self.patches.append(patch)
        self.stored = {**self.stored, "status": patch["status"]}
        return self.stored


def keeper(client: FakeClient) -> DatasetKeeper:
    return DatasetKeeper(ClusterCache(), client, recorder=None)  # type: ignore[arg-type]


async def test_a_conflict_is_read_again_and_the_write_recorded_once() -> None:
    client = FakeClient([409])
    await keeper(client).record("lake", [WROTE, WROTE])
    assert len(client.patches) == 1 and client.stored["status"]["updates"] == 1


async def test_a_refusal_for_good_does_not_hold_up_the_run() -> None:
    client = FakeClient([403])
    await keeper(client).record("lake", [WROTE])  # logged, not raised
    assert client.patches == []


@pytest.mark.parametrize("code", [429, 503])
async def test_a_transient_failure_is_raised_so_that_the_run_waits(code: int) -> None:
    with pytest.raises(ApiFailure):
        await keeper(FakeClient([code])).record("lake", [WROTE])


def test_a_partition_the_dataset_no_longer_lists_stands_for_the_dataset_in_cache_keys() -> None:
    from baton.controller.taskcache import TaskCache

    cache = ClusterCache()
    status = {
        "lastUpdated": "2026-12-06T10:00:00Z",
        "partitions": [
            {"name": "2026-12-06", "lastUpdated": "2026-12-06T09:00:00Z", "run": "r", "task": "t"}
        ],
    }
    cache.observe_dataset("ADDED", {**dataset_body("lake", URI), "status": status})
    view = TaskCache().view("lake", "etl", cache)
    assert view is not None
    assert view.updated(URI, "2026-12-06") == "2026-12-06T09:00:00Z"
    assert view.updated(URI, "2025-01-01") == "2026-12-06T10:00:00Z"  # pushed out: any later write is a miss
    assert view.updated("s3://never/written", "p") is None
