"""Whole runs of random DAGs with forEach tasks: every instance runs once, after its task's dependencies,
within the parallelism, whatever the order Jobs finish in and whichever status writes are lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_properties import META, T0

from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase
from baton.core.observed import JobState, ObservedJob
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunState


@st.composite
def fan_out_pipelines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=8))
    tasks = []
    for i in range(n):
        task: dict[str, Any] = {"name": f"t{i}"}
        if i:
            task["dependsOn"] = sorted(
                draw(st.sets(st.sampled_from([f"t{j}" for j in range(i)]), max_size=2))
            )
        if draw(st.booleans()):
            task["forEach"] = {"items": list(range(draw(st.integers(min_value=0, max_value=4))))}
        tasks.append(task)
    spec: dict[str, Any] = {"taskDefaults": {"image": "x"}, "tasks": tasks}
    parallelism = draw(st.none() | st.integers(min_value=1, max_value=3))
    if parallelism is not None:
        spec["parallelism"] = parallelism
    return spec


def units(spec: dict[str, Any]) -> dict[str, str]:
    """Every Job the run must create (a task, or an instance TASK[K]) → its task."""
    out = {}
    for task in spec["tasks"]:
        if "forEach" in task:
            out.update({f"{task['name']}[{k}]": task["name"] for k in range(len(task["forEach"]["items"]))})
        else:
            out[task["name"]] = task["name"]
    return out


def run(
    spec: dict[str, Any], data: st.DataObject, failures: bool
) -> tuple[PipelineRunStatus, dict[str, Any]]:
    """Plan and finish Jobs until the run ends: (its final status, what each Job saw when created)."""
    status: PipelineRunStatus = start_run(META, {"pipelineSpec": spec}, None, T0).status
    jobs: dict[str, ObservedJob] = {}
    seen_done: dict[str, set[str]] = {}
    now = T0
    for _ in range(20 * len(units(spec)) + 20):
        p = plan(RunState(META, status), list(jobs.values()), now)
        # As the pass that starts a task sees them (a forEach task of no items succeeds within it).
        seen = p.status if p.status is not None else status
        done = {t.name for t in seen.tasks if t.phase is TaskPhase.SUCCEEDED}
        for create in p.create_jobs:
            assert create.task not in jobs, f"{create.task} created twice"
            labels = create.body["metadata"]["labels"]
            instance = labels.get("baton.dev/instance")
            jobs[create.task] = ObservedJob(
                labels["baton.dev/task"], 1, create.name, JobState.ACTIVE, start_time=now,
                instance=int(instance) if instance is not None else None,
            )  # fmt: skip
            seen_done[create.task] = done
        active = [name for name, job in jobs.items() if job.state is JobState.ACTIVE]
        limit = spec.get("parallelism")
        assert limit is None or len(active) <= limit
        if p.status is not None and not data.draw(st.booleans(), label="lose this status write"):
            status = p.status
        if status.phase is not None and status.phase.finished:
            return status, {"jobs": jobs, "seen_done": seen_done}
        if active:
            for name in data.draw(st.lists(st.sampled_from(sorted(active)), min_size=1, unique=True)):
                ok = not failures or data.draw(st.booleans(), label=f"{name} succeeds")
                state, code = (JobState.SUCCEEDED, None) if ok else (JobState.FAILED, 1)
                jobs[name] = replace(jobs[name], state=state, exit_code=code, completion_time=now)
        now += timedelta(seconds=1)
    raise AssertionError(f"the run did not end: {[(t.name, t.phase) for t in status.tasks]}")


@settings(max_examples=80, deadline=None)
@given(fan_out_pipelines(), st.data())
def test_every_instance_runs_once_after_its_dependencies(spec: dict[str, Any], data: st.DataObject) -> None:
    status, seen = run(spec, data, failures=False)
    deps = {t["name"]: t.get("dependsOn", []) for t in spec["tasks"]}
    assert status.phase is RunPhase.SUCCEEDED, [(t.name, t.phase) for t in status.tasks]
    assert set(seen["jobs"]) == set(units(spec))  # every task and instance ran, exactly once
    for unit, task in units(spec).items():
        assert set(deps[task]) <= seen["seen_done"][unit]
    total = len(spec["tasks"]) + sum(
        max(0, len(t["forEach"]["items"]) - 1) for t in spec["tasks"] if "forEach" in t
    )
    assert status.progress == f"{total}/{total}"


@settings(max_examples=80, deadline=None)
@given(fan_out_pipelines(), st.data())
def test_a_failed_instance_fails_its_task_and_skips_what_follows(
    spec: dict[str, Any], data: st.DataObject
) -> None:
    status, seen = run(spec, data, failures=True)
    final = {t.name: t for t in status.tasks}
    assert all(t.phase.finished for t in final.values())
    for task in final.values():
        if task.items:
            failed = [i for i in task.instances if i.phase is TaskPhase.FAILED]
            assert (task.phase is TaskPhase.FAILED) == bool(failed) or task.phase is TaskPhase.SKIPPED
    failed_tasks = {name for name, t in final.items() if t.phase is TaskPhase.FAILED}
    assert status.phase is (RunPhase.FAILED if failed_tasks else RunPhase.SUCCEEDED)
    for name, task in final.items():
        if task.phase is TaskPhase.SKIPPED:  # never started: no Job for it or any of its instances
            assert not [u for u, t in units(spec).items() if t == name and u in seen["jobs"]]
