"""Chaos for the operator: runs of mixed shapes, each with a known right outcome, and the checks that
every one reached it with no Job created twice and no attempt too many.

`make test` runs a reduced version; `make chaos` (CHAOS=full) the full one. The sizes are here.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from baton import GROUP, VERSION
from baton.devcluster.audit import RequestRecord
from baton.devcluster.cluster import DevCluster
from support import wait_for

FULL = os.environ.get("CHAOS") == "full"
RUNS_PER_PROFILE = 50 if FULL else 7
KILL_RUNS, KILLS = (100, 20) if FULL else (20, 5)
DOWN_SECONDS = 20.0 if FULL else 3.0
SEED = int(os.environ.get("CHAOS_SEED", "20261206"))
FINISHED = ("Succeeded", "Failed", "Cancelled")


def _sh(name: str, script: str = "true", *after: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script], "dependsOn": list(after), **extra}


@dataclass(frozen=True)
class Shape:
    name: str
    tasks: list[dict[str, Any]]
    phase: str
    attempts: dict[str, int]
    finally_: tuple[dict[str, Any], ...] = ()
    cancel: bool = False

    def pipeline(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"taskDefaults": {"image": "busybox:1.36"}, "tasks": self.tasks}
        if self.finally_:
            spec["finally"] = list(self.finally_)
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Pipeline",
            "metadata": {"name": self.name},
            "spec": spec,
        }


RETRY = {"limit": 2, "backoff": {"initialSeconds": 0.2}}
FAN = [_sh("start"), *(_sh(f"w{i}", "true", "start") for i in range(5)), _sh("end", "true", "w0", "w4")]
DIAMOND = [_sh("a"), _sh("b", "true", "a"), _sh("c", "true", "a"), _sh("d", "true", "b", "c")]
SHAPES = [
    Shape("chain", [_sh("a"), _sh("b", "true", "a"), _sh("c", "true", "b")], "Succeeded", {}),
    Shape("diamond", DIAMOND, "Succeeded", {}),
    Shape("fanout", FAN, "Succeeded", {}),
    Shape(
        "retries",
        [_sh("fetch", 'test "$BATON_ATTEMPT" -ge 2', retries=RETRY), _sh("load", "true", "fetch")],
        "Succeeded",
        {"fetch": 2},
        (_sh("notify", 'echo "$(run.status)"'),),
    ),
    Shape("failing", [_sh("bad", "exit 3"), _sh("after", "true", "bad")], "Failed", {}, (_sh("notify"),)),
    Shape("finally", [_sh("work")], "Succeeded", {}, (_sh("cleanup"), _sh("page", "true", "cleanup"))),
    Shape(
        "cancel",
        [_sh("long", "sleep 60"), _sh("after", "true", "long")],
        "Cancelled",
        {},
        (_sh("notify"),),
        True,
    ),
]


class Workload:
    """Applies the shapes' Pipelines to a namespace of ``cluster``, starts runs, and checks them."""

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.runs: dict[str, Shape] = {}
        self.since = cluster.audit.last_seq
        for shape in SHAPES:
            self._create("Pipeline", shape.pipeline())

    def _create(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        rt = self.cluster.registry.by_kind(f"{GROUP}/{VERSION}", kind)
        assert rt is not None
        created: dict[str, Any] = self.cluster.sync(self.cluster.store.create, rt, self.namespace, doc)
        return created

    def start(self, count: int, offset: int = 0) -> list[str]:
        names = []
        for i in range(count):
            shape = SHAPES[(offset + i) % len(SHAPES)]
            run = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "PipelineRun",
                "metadata": {"generateName": f"{shape.name}-"},
                "spec": {"pipelineRef": {"name": shape.name}},
            }
            name = str(self._create("PipelineRun", run)["metadata"]["name"])
            self.runs[name] = shape
            names.append(name)
        return names

    def run(self, name: str) -> dict[str, Any]:
        found = self.cluster.sync(self.cluster.store.find, (GROUP, "pipelineruns"), self.namespace, name)
        return dict(found or {})

    def cancel_when_running(self, timeout: float) -> None:
        """Cancel each `cancel` run once its long task runs (as `kubectl baton cancel` does)."""
        for name, shape in self.runs.items():
            if not shape.cancel or (self.run(name).get("spec") or {}).get("cancel") is not None:
                continue
            wait_for(
                lambda name=name: _tasks(self.run(name)).get("long", {}).get("phase") == "Running",
                timeout=timeout,
                message=f"{name}'s long task to run",
            )

            def patch(name: str = name) -> None:
                rt = self.cluster.registry.storage(GROUP, "pipelineruns")
                current = self.cluster.store.find((GROUP, "pipelineruns"), self.namespace, name)
                assert rt is not None and current is not None
                body = {**current, "spec": {**current["spec"], "cancel": {"message": "chaos"}}}
                self.cluster.store.update(rt, self.namespace, name, body)

            self.cluster.sync(patch)

    def check(self, timeout: float) -> dict[str, Any]:
        """Wait for every run to end; assert each reached its shape's outcome with the right attempts and
        that no Job was created twice. Returns a summary for the report."""
        for name in self.runs:
            wait_for(
                lambda name=name: _phase(self.run(name)) in FINISHED,
                timeout=timeout,
                message=f"run {name} to end",
            )
        wrong = []
        for name, shape in self.runs.items():
            run = self.run(name)
            tasks = _tasks(run)
            if _phase(run) != shape.phase:
                wrong.append(f"{name}: {_phase(run)}, expected {shape.phase}")
            for task, state in tasks.items():
                if state.get("phase") in ("Pending", "Running"):
                    wrong.append(f"{name}/{task}: still {state.get('phase')} in a finished run")
                if task in shape.attempts and state.get("attempts") != shape.attempts[task]:
                    wrong.append(
                        f"{name}/{task}: {state.get('attempts')} attempts, expected {shape.attempts[task]}"
                    )
        created = Counter(
            r.name
            for r in self.cluster.audit.records(self.since)
            if isinstance(r, RequestRecord)
            and r.verb == "create"
            and r.resource == "jobs.batch"
            and r.namespace == self.namespace
            and r.code == 201
        )
        duplicates = sorted(name for name, count in created.items() if count > 1)
        assert not wrong, wrong
        assert not duplicates, duplicates
        extra = [
            n
            for n, s in self.runs.items()
            for t, a in s.attempts.items()
            if _tasks(self.run(n))[t]["attempts"] > a
        ]
        return {
            "runs": len(self.runs),
            "wrong": len(wrong),
            "duplicate_jobs": len(duplicates),
            "extra_attempts": len(extra),
        }


def _phase(run: dict[str, Any]) -> str | None:
    return (run.get("status") or {}).get("phase")


def _tasks(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in (run.get("status") or {}).get("tasks") or ()}
