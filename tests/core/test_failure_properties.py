"""Whole runs of random DAGs with random trigger rules, retries, finally tasks and failure policies:
whatever fails, every run ends, nothing is left Pending, and no task starts before its time."""

from __future__ import annotations

from typing import Any

from failure_kit import Sim
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.pipeline import TriggerRule
from baton.api.run import RunPhase, TaskPhase
from baton.core.observed import JobState
from baton.core.rules import Verdict, count_upstream, judge

RULES = [rule.value for rule in TriggerRule]


@st.composite
def pipelines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=10))
    names = [f"t{i}" for i in range(n)]
    tasks = []
    for i, name in enumerate(names):
        deps = sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=3))) if i else []
        task: dict[str, Any] = {"name": name, "dependsOn": deps}
        if deps and draw(st.booleans()):
            task["when"] = draw(st.sampled_from(RULES))
        limit = draw(st.integers(min_value=0, max_value=2))
        if limit:
            task["retries"] = {"limit": limit, "backoff": {"initialSeconds": 1}}
        tasks.append(task)
    finals = []
    for j in range(draw(st.integers(min_value=0, max_value=2))):
        final: dict[str, Any] = {"name": f"f{j}", "dependsOn": [f"f{k}" for k in range(j)]}
        if draw(st.booleans()):
            final["when"] = draw(st.sampled_from(RULES))
        finals.append(final)
    spec: dict[str, Any] = {"taskDefaults": {"image": "x"}, "tasks": tasks, "finally": finals}
    spec["failurePolicy"] = draw(st.sampled_from(["Continue", "FailFast"]))
    parallelism = draw(st.none() | st.integers(min_value=1, max_value=3))
    if parallelism is not None:
        spec["parallelism"] = parallelism
    return spec


@settings(max_examples=80, deadline=None)
@given(pipelines(), st.data())
def test_every_run_ends_and_every_start_was_allowed(spec: dict[str, Any], data: st.DataObject) -> None:
    sim = Sim.start(spec)
    limits = {t["name"]: t.get("retries", {}).get("limit", 0) for t in spec["tasks"]}
    limits.update({f["name"]: 0 for f in spec["finally"]})
    finals = {f["name"] for f in spec["finally"]}
    deps = {t["name"]: t["dependsOn"] for t in [*spec["tasks"], *spec["finally"]]}
    rules = {t["name"]: TriggerRule(t.get("when") or "allSucceeded") for t in spec["tasks"]}
    rules.update({f["name"]: TriggerRule(f.get("when") or "allDone") for f in spec["finally"]})
    for second in range(40 * (len(deps) + 1)):
        sim.at(second).step()
        # The dependencies' states this plan decided on (a started task's own start changes none of them).
        decided = {t.name: t for t in sim.status.tasks}
        for create in sim.last.create_jobs:
            assert create.attempt <= limits[create.task] + 1
            if create.attempt > 1:
                continue
            upstream = [decided[d] for d in deps[create.task]]
            if create.task in finals:
                assert all(t.phase.finished for n, t in decided.items() if n not in finals)
                if not upstream:
                    continue
            assert all(t.phase.finished for t in upstream), create.task
            assert judge(rules[create.task], count_upstream(upstream)) is Verdict.RUN
        if sim.phase is not None and sim.phase.finished:
            break
        active = sorted(k for k, j in sim.jobs.items() if j.state is JobState.ACTIVE)
        if active:
            done = data.draw(st.lists(st.sampled_from(active), min_size=1, unique=True), label="finish")
            for name, attempt in done:
                ok = data.draw(st.booleans(), label=f"{name}/{attempt} succeeds")
                sim.finish(name, 0 if ok else 1, attempt=attempt)
    else:
        raise AssertionError(f"run did not end: {sim.phases()}")
    assert all(t.phase.finished for t in sim.status.tasks), sim.phases()
    ran = {name for name, _ in sim.jobs}
    for t in sim.status.tasks:
        assert (t.name in ran) == (t.phase is not TaskPhase.SKIPPED), (t.name, t.phase)
        assert t.next_attempt_at is None
    failed = any(t.phase is TaskPhase.FAILED for t in sim.status.tasks)
    assert sim.phase is (RunPhase.FAILED if failed else RunPhase.SUCCEEDED)
