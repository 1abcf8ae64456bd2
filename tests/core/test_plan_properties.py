"""Whole runs of random DAGs, simulated by calling plan repeatedly and finishing Jobs in random orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase
from baton.core.dag import build_dag
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState

META = RunMeta(namespace="ns", name="sim", uid="uid", generation=1)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@st.composite
def pipelines(draw: st.DrawFn, max_tasks: int = 15) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=max_tasks))
    names = [f"t{i}" for i in range(n)]
    tasks = [
        {
            "name": names[i],
            "dependsOn": sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=3))) if i else [],
        }
        for i in range(n)
    ]
    spec: dict[str, Any] = {"taskDefaults": {"image": "x"}, "tasks": draw(st.permutations(tasks))}
    parallelism = draw(st.none() | st.integers(min_value=1, max_value=4))
    if parallelism is not None:
        spec["parallelism"] = parallelism
    return spec


@dataclass
class Simulation:
    spec: dict[str, Any]
    status: PipelineRunStatus
    now: datetime = T0
    jobs: dict[tuple[str, int], ObservedJob] = field(default_factory=dict)
    started_when: dict[str, dict[str, TaskPhase]] = field(default_factory=dict)

    @classmethod
    def start(cls, spec: dict[str, Any]) -> Simulation:
        result = start_run(META, {"pipelineSpec": spec}, None, T0)
        assert result.started
        return cls(spec, result.status)

    def reconcile(self, apply_status: bool = True) -> None:
        p = plan(RunState(META, self.status), list(self.jobs.values()), self.now)
        truth = {t.name: t.phase for t in self.status.tasks}
        for job in self.jobs.values():  # what the Jobs say, even when a status patch was lost
            if job.state is JobState.SUCCEEDED:
                truth[job.task] = TaskPhase.SUCCEEDED
        for create in p.create_jobs:
            assert (create.task, create.attempt) not in self.jobs, f"{create.task} created twice"
            assert create.attempt == 1
            self.started_when[create.task] = dict(truth)
            self.jobs[(create.task, 1)] = ObservedJob(
                create.task, 1, create.name, JobState.ACTIVE, start_time=self.now
            )
        limit = self.spec.get("parallelism")
        active = sum(1 for j in self.jobs.values() if j.state is JobState.ACTIVE)
        assert limit is None or active <= limit
        if p.status is not None and apply_status:
            self.status = p.status
        self.now += timedelta(seconds=1)

    def finish(self, task: str, ok: bool) -> None:
        job = self.jobs[(task, 1)]
        state = JobState.SUCCEEDED if ok else JobState.FAILED
        self.jobs[(task, 1)] = ObservedJob(
            task, 1, job.name, state, None, None if ok else 1, None, job.start_time, self.now
        )

    def active(self) -> list[str]:
        return sorted(j.task for j in self.jobs.values() if j.state is JobState.ACTIVE)


def run_to_the_end(sim: Simulation, data: st.DataObject, failures: bool, crashes: bool) -> None:
    for _ in range(10 * len(sim.spec["tasks"]) + 10):
        crash = crashes and data.draw(st.booleans(), label="lose this status patch")
        sim.reconcile(apply_status=not crash)
        if sim.status.phase is not None and sim.status.phase.finished:
            return
        active = sim.active()
        if active:
            done = data.draw(st.lists(st.sampled_from(active), min_size=1, unique=True), label="finish")
            for task in done:
                sim.finish(task, ok=not failures or data.draw(st.booleans(), label=f"{task} succeeds"))
    raise AssertionError(
        f"run did not finish: {sim.status.phase}, {[(t.name, t.phase) for t in sim.status.tasks]}"
    )


def dependencies(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {t["name"]: t["dependsOn"] for t in spec["tasks"]}


@settings(max_examples=60, deadline=None)
@given(pipelines(), st.data(), st.booleans())
def test_every_task_runs_once_after_its_dependencies_and_the_run_succeeds(
    spec: dict[str, Any], data: st.DataObject, crashes: bool
) -> None:
    sim = Simulation.start(spec)
    run_to_the_end(sim, data, failures=False, crashes=crashes)
    assert sim.status.phase is RunPhase.SUCCEEDED
    assert {task for task, _ in sim.jobs} == set(dependencies(spec))  # every task ran, exactly once
    for task, deps in dependencies(spec).items():
        assert all(sim.started_when[task][dep] is TaskPhase.SUCCEEDED for dep in deps)
    assert all(t.phase is TaskPhase.SUCCEEDED for t in sim.status.tasks)
    assert sim.status.progress == f"{len(spec['tasks'])}/{len(spec['tasks'])}"


@settings(max_examples=60, deadline=None)
@given(pipelines(), st.data(), st.booleans())
def test_nothing_runs_after_a_failed_dependency_and_nothing_is_left_pending(
    spec: dict[str, Any], data: st.DataObject, crashes: bool
) -> None:
    sim = Simulation.start(spec)
    run_to_the_end(sim, data, failures=True, crashes=crashes)
    final = {t.name: t for t in sim.status.tasks}
    failed = {name for name, t in final.items() if t.phase is TaskPhase.FAILED}
    assert sim.status.phase is (RunPhase.FAILED if failed else RunPhase.SUCCEEDED)
    assert all(t.phase.finished for t in final.values())
    dag = build_dag([(t["name"], t["dependsOn"]) for t in spec["tasks"]])
    downstream_of_failure = dag.downstream(failed)
    for name, t in final.items():
        if name in downstream_of_failure:
            assert t.phase is TaskPhase.SKIPPED and (name, 1) not in sim.jobs
            assert t.message is not None and t.message.startswith("upstream task ")
            root = t.message.split('"')[1]
            assert root in failed and root in dag.upstream([name])
        else:
            assert t.phase in (TaskPhase.SUCCEEDED, TaskPhase.FAILED) and (name, 1) in sim.jobs
