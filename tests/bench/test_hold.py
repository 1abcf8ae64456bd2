"""The dev cluster's `hold_jobs`: instant Jobs start and stay active until `release_jobs()` (the benchmark
keeps 1,000 runs active that way), then finish as instant Jobs always do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.devcluster.cluster import DevCluster
from support import wait_for


@pytest.fixture
def held(tmp_path: Path) -> Iterator[DevCluster]:
    cluster = DevCluster(instant=True, hold_jobs=True, workdir=tmp_path)
    with cluster.running():
        yield cluster


def job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
            }
        },
    }


def status(cluster: DevCluster, name: str) -> dict[str, Any]:
    found = cluster.sync(cluster.store.find, ("batch", "jobs"), "default", name)
    return dict((found or {}).get("status") or {})


def conditions(cluster: DevCluster, name: str) -> list[str]:
    return [c["type"] for c in status(cluster, name).get("conditions") or ()]


def test_held_jobs_start_and_stay_active_until_released(held: DevCluster) -> None:
    jobs = held.registry.storage("batch", "jobs")
    for i in range(3):
        held.sync(held.store.create, jobs, "default", job(f"held{i}"))
    wait_for(lambda: all(status(held, f"held{i}").get("active") == 1 for i in range(3)), message="active")
    assert all(status(held, f"held{i}").get("startTime") for i in range(3))
    assert conditions(held, "held0") == []
    assert held.sync(held.store.list, held.registry.storage("", "pods")) == []  # instant: no Pods
    held.release_jobs()
    for i in range(3):
        assert wait_for(lambda i=i: conditions(held, f"held{i}") == ["SuccessCriteriaMet", "Complete"])
        assert status(held, f"held{i}")["succeeded"] == 1 and "active" not in status(held, f"held{i}")
    held.sync(held.store.create, jobs, "default", job("after"))  # no longer held: finishes at once
    wait_for(lambda: "Complete" in conditions(held, "after"), message="the Job created after the release")
    transitions = [t.transition for t in held.audit.transitions("Job") if t.name == "held0"]
    assert transitions == ["Created", "Started", "Complete"]
