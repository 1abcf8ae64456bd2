"""Helpers for operator tests: read and write Baton objects on the dev cluster, load examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from support import RunningOperator

__all__ = ["RunningOperator"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Api:
    """Reads and writes Baton objects in one namespace, on the cluster's own loop."""

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        rt = self.cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None, doc["kind"]
        result: dict[str, Any] = self.cluster.sync(self.cluster.store.create, rt, self.namespace, doc)
        return result

    def run(self, name: str) -> dict[str, Any]:
        found = self.cluster.sync(self.cluster.store.find, (GROUP, "pipelineruns"), self.namespace, name)
        assert found is not None, f"no run {name}"
        return dict(found)

    def pipeline(self, name: str) -> dict[str, Any] | None:
        found = self.cluster.sync(self.cluster.store.find, (GROUP, "pipelines"), self.namespace, name)
        return dict(found) if found is not None else None

    def jobs(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage("batch", "jobs")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def events(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage("", "events")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def start_run(self, pipeline: str, params: dict[str, str] | None = None) -> str:
        run = self.apply(
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "PipelineRun",
                "metadata": {"generateName": f"{pipeline}-"},
                "spec": {"pipelineRef": {"name": pipeline}, "params": params or {}},
            }
        )
        return str(run["metadata"]["name"])


def example(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


def phase_of(run: dict[str, Any]) -> str | None:
    return (run.get("status") or {}).get("phase")


def tasks_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in (run.get("status") or {}).get("tasks") or ()}


def when(value: Any, predicate: Any) -> Any:
    """`value` if `predicate(value)` holds, else None: for `wait_for(lambda: when(read(), ok))`."""
    return value if predicate(value) else None
