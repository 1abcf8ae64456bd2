"""Helpers for the workload tests: a Store with the GC, the volume controller, the scheduler, the kubelet and
the Job controller on the test's loop.

Nothing here sleeps for a fixed time: `eventually` polls the store every 10 ms up to a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from baton.devcluster.audit import AuditLog
from baton.devcluster.defaults import default_object
from baton.devcluster.gc import GarbageCollector
from baton.devcluster.jobs import JobController
from baton.devcluster.kubelet import Kubelet
from baton.devcluster.resources import Registry, ResourceType
from baton.devcluster.scheduler import Scheduler
from baton.devcluster.store import Store
from baton.devcluster.volumecontroller import VolumeController

Obj = dict[str, Any]
T = TypeVar("T")
PY = sys.executable


async def eventually(condition: Callable[[], T | None], within: float = 10.0, what: str = "condition") -> T:
    """Poll `condition()` every 10 ms until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Workload:
    def __init__(self, workdir: Path, *, instant: bool = False) -> None:
        self.registry = Registry.with_builtins()
        self.store = Store(self.registry, admit=default_object)
        self.audit = AuditLog()
        self.workdir = workdir
        self.gc = GarbageCollector(self.store)
        self.volumes = VolumeController(self.store, workdir, instant=instant)
        self.scheduler = Scheduler(self.store)
        self.kubelet = Kubelet(self.store, self.audit, workdir)
        self.jobs = JobController(self.store, self.audit, instant=instant)
        self.instant = instant
        self.create(
            "", "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
        )

    def rt(self, group: str, plural: str) -> ResourceType:
        rt = self.registry.storage(group, plural)
        assert rt is not None
        return rt

    def create(self, group: str, plural: str, namespace: str, body: Obj) -> Obj:
        return self.store.create(self.rt(group, plural), namespace, body)

    def job(self, name: str) -> Obj | None:
        return self.store.find(("batch", "jobs"), "default", name)

    def pods(self, job: str | None = None) -> list[Obj]:
        pods = self.store.list(self.rt("", "pods"), "default")
        if job is None:
            return pods
        return [
            p for p in pods if (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") == job
        ]

    def pod(self, name: str) -> Obj | None:
        return self.store.find(("", "pods"), "default", name)

    def phase(self, name: str) -> str | None:
        pod = self.pod(name)
        return None if pod is None else (pod.get("status") or {}).get("phase")

    def events(self, name: str) -> list[tuple[str, str]]:
        return [
            (e["reason"], e["message"])
            for e in self.store.list(self.rt("", "events"), "default")
            if e["involvedObject"]["name"] == name
        ]

    async def job_condition(self, name: str, kind: str, within: float = 10.0) -> Obj:
        def finished() -> Obj | None:
            job = self.job(name)
            conditions = ((job or {}).get("status") or {}).get("conditions") or []
            if any(c["type"] == kind and c["status"] == "True" for c in conditions):
                return job
            return None

        return await eventually(finished, within, f"job {name} {kind}")

    async def pod_phase(self, name: str, *phases: str, within: float = 10.0) -> Obj:
        def reached() -> Obj | None:
            pod = self.pod(name)
            return pod if pod is not None and (pod.get("status") or {}).get("phase") in phases else None

        return await eventually(reached, within, f"pod {name} in {phases}")

    async def log(self, pod: str, container: str | None = None, **options: Any) -> bytes:
        settings: dict[str, Any] = {
            "follow": False,
            "tail_lines": None,
            "since_seconds": None,
            "timestamps": False,
            "limit_bytes": None,
            "previous": False,
        }
        settings.update(options)
        return b"".join(
            [chunk async for chunk in self.kubelet.stream_log("default", pod, container, **settings)]
        )


@contextlib.asynccontextmanager
async def running(workdir: Path, *, instant: bool = False, kubelet: bool = True) -> AsyncIterator[Workload]:
    workload = Workload(workdir, instant=instant)
    workload.gc.start()
    workload.volumes.start()
    if kubelet:
        workload.scheduler.start()
        workload.kubelet.start()
    workload.jobs.start()
    try:
        yield workload
    finally:
        await workload.jobs.stop()
        await workload.kubelet.stop()
        await workload.scheduler.stop()
        await workload.volumes.stop()
        await workload.gc.stop()


def pod_body(name: str, *commands: list[str], restart: str = "Never", **container: Any) -> Obj:
    """A Pod whose containers (c0, c1, ...) run the given command lines."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "demo"}, "annotations": {"note": "n1"}},
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {
                    "name": f"c{i}" if len(commands) > 1 else "main",
                    "image": "python:3.12",
                    "command": command,
                    **container,
                }
                for i, command in enumerate(commands)
            ],
        },
    }


def job_body(name: str, command: list[str], *, restart: str = "Never", **spec: Any) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": restart,
                    "containers": [{"name": "main", "image": "python:3.12", "command": command}],
                }
            },
        },
    }


def container_status(pod: Obj, name: str | None = None) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return next(s for s in statuses if name is None or s["name"] == name)


def pid_of(pod: Obj, name: str | None = None) -> int:
    return int(container_status(pod, name)["containerID"].removeprefix("devcluster://"))
