"""A run driven by ``plan`` step by step, with Jobs the test finishes by hand (for the failure tests)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.api.codec import dump_run_status, load_run_status
from baton.api.run import PipelineRunStatus, RunPhase, TaskStatus
from baton.core.cache import CacheView
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import Plan, plan
from baton.core.start import start_run
from baton.core.state import RunControl, RunMeta, RunState

T0 = datetime(2025, 1, 31, 10, 0, 0, tzinfo=UTC)
META = RunMeta(namespace="data", name="run-1", uid="uid-1", generation=1)


def spec(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"taskDefaults": {"image": "python:3.12-slim"}, "tasks": list(tasks), **extra}


def task(name: str, *after: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "dependsOn": list(after), **extra}


@dataclass
class Sim:
    status: PipelineRunStatus
    control: RunControl = field(default_factory=RunControl)
    now: datetime = T0
    meta: RunMeta = META
    jobs: dict[tuple[str, int], ObservedJob] = field(default_factory=dict)
    bodies: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    last: Plan = field(default_factory=Plan)
    no_pods: bool = False
    """New Jobs get no Pod (a ResourceQuota refuses it) until `pod_starts`."""

    @classmethod
    def start(cls, pipeline: dict[str, Any], control: RunControl | None = None, **run_spec: Any) -> Sim:
        result = start_run(META, {"pipelineSpec": pipeline, **run_spec}, None, T0)
        assert result.started, result.status
        return cls(result.status, control or RunControl())

    def at(self, seconds: float) -> Sim:
        self.now = T0 + timedelta(seconds=seconds)
        return self

    def step(self, *, quota: int | None = None, cache: CacheView | None = None, **control: Any) -> Plan:
        """Plan once at the current time and apply the plan as the shell would. With `quota`, the API
        server admits only that many more Jobs: the rest are refused, and the shell plans again knowing."""
        if control:
            self.control = replace(self.control, **control)
        p = plan(
            RunState(self.meta, self.status, self.control), list(self.jobs.values()), self.now, cache=cache
        )
        if quota is not None and len(p.create_jobs) > quota:
            message = f"jobs.batch is forbidden: exceeded quota: q, limited: count/jobs.batch={quota}"
            refused = {create.task: message for create in p.create_jobs[quota:]}
            self._create(p.create_jobs[:quota])
            p = plan(
                RunState(self.meta, self.status, self.control), list(self.jobs.values()), self.now, refused
            )
            assert not p.create_jobs, "a plan that knows of refusals creates nothing"
        self._create(p.create_jobs)
        self.deleted += p.delete_jobs
        for name in p.delete_jobs:
            self.jobs = {k: j for k, j in self.jobs.items() if j.name != name}
        if p.status is not None:
            self.status = p.status
        self.last = p
        return p

    def _create(self, creates: Any) -> None:
        for create in creates:
            key = (create.task, create.attempt)
            assert key not in self.jobs, f"{key} created twice"
            labels = create.body["metadata"]["labels"]
            instance = labels.get("baton.dev/instance")
            self.jobs[key] = ObservedJob(
                labels["baton.dev/task"],
                create.attempt,
                create.name,
                JobState.ACTIVE,
                start_time=self.now,
                instance=int(instance) if instance is not None else None,
                pod_started=None if self.no_pods else self.now,
            )
            self.bodies[key] = create.body

    def finish(
        self,
        name: str,
        exit_code: int = 0,
        attempt: int | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> Sim:
        """End the newest attempt of task (or instance, "task[k]") ``name``; ``message`` is the Pod's
        termination message (a task's results)."""
        attempt = attempt or max(a for t, a in self.jobs if t == name)
        job = self.jobs[(name, attempt)]
        state = JobState.SUCCEEDED if exit_code == 0 and reason is None else JobState.FAILED
        self.jobs[(name, attempt)] = replace(
            job,
            state=state,
            exit_code=exit_code if state is JobState.FAILED else None,
            reason=reason,
            message=message,
            completion_time=self.now,
        )
        return self

    def pod_starts(self, name: str) -> Sim:
        """The Pod of the newest attempt of `name` is taken on by a kubelet now."""
        attempt = max(a for t, a in self.jobs if t == name)
        self.jobs[(name, attempt)] = replace(self.jobs[(name, attempt)], pod_started=self.now)
        return self

    def restart(self) -> Sim:
        """What a new operator reads back: the status as written to the API server."""
        self.status = load_run_status(dump_run_status(self.status))
        return self

    def task(self, name: str) -> TaskStatus:
        return next(t for t in self.status.tasks if t.name == name)

    def phases(self) -> dict[str, str]:
        return {t.name: t.phase.value for t in self.status.tasks}

    def reasons(self) -> dict[str, str | None]:
        return {t.name: t.reason for t in self.status.tasks}

    @property
    def phase(self) -> RunPhase | None:
        return self.status.phase

    def condition(self) -> tuple[str, str, str]:
        (c,) = self.status.conditions
        return c.status.value, c.reason, c.message

    def command(self, name: str, attempt: int = 1) -> list[str]:
        return list(
            self.bodies[(name, attempt)]["spec"]["template"]["spec"]["containers"][0].get("command", [])
        )

    def created(self) -> list[str]:
        return [c.name for c in self.last.create_jobs]
