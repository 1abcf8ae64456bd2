"""The incremental forms give exactly what the full ones give, whatever the order of events.

The operator keeps what `plan()` reads up to date event by event instead of rebuilding it per
reconcile: the observations of a run's Jobs (`ClusterCache`) and the encoded status entries (the
codec's per-entry JSON). `plan()` itself is unchanged and pure, so equal inputs give equal actions:
what is proved here is that the inputs are equal. Random Jobs and Pods arrive in random orders, with
duplicates, stale versions and deletions, as watches deliver them after reconnects and re-lists; the
cache's observations must then equal those made from scratch from the newest version of every
object, and planning from either gives the same Plan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.codec import dump_run_status, load_run_status
from baton.api.instances import COMPACT_FROM
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskPhase, TaskStatus
from baton.controller.cache import ClusterCache
from baton.core.plan import plan
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState
from baton.kube.observe import observe_job
from baton.kube.trim import trim_job, trim_pod

RUN = ("ns", "r")
META = RunMeta(namespace="ns", name="r", uid="u")
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
TASKS = [f"t{i}" for i in range(4)]


def job(task: str, attempt: int, version: int, state: str) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-12-06T08:00:00Z", "active": 1}
    if state != "active":
        kind = "Complete" if state == "done" else "Failed"
        status = {**status, "active": 0, "conditions": [{"type": kind, "status": "True"}]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"r-{task}-{attempt}",
            "namespace": "ns",
            "resourceVersion": str(version),
            "labels": {"baton.dev/run": "r", "baton.dev/task": task, "baton.dev/attempt": str(attempt)},
            "ownerReferences": [{"kind": "PipelineRun", "name": "r", "controller": True}],
        },
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "x"}]}}},
        "status": status,
    }


def pod(task: str, attempt: int, version: int, exit_code: int | None) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {}} if exit_code is None else {"terminated": {"exitCode": exit_code}}
    return {
        "metadata": {
            "name": f"r-{task}-{attempt}-pod",
            "namespace": "ns",
            "resourceVersion": str(version),
            "creationTimestamp": "2026-12-06T08:00:00Z",
            "labels": {"batch.kubernetes.io/job-name": f"r-{task}-{attempt}"},
            "ownerReferences": [{"kind": "Job", "name": f"r-{task}-{attempt}", "controller": True}],
        },
        "spec": {"nodeName": "node-1"},
        "status": {
            "phase": "Running" if exit_code is None else ("Succeeded" if exit_code == 0 else "Failed"),
            "startTime": "2026-12-06T08:00:01Z",
            "containerStatuses": [{"name": "main", "state": state}],
        },
    }


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, str | None, dict[str, Any]]]:
    """Versions of Jobs and Pods of the run (newer versions have higher resourceVersions), delivered in
    a random order with repeats; some objects are deleted at their end."""
    version = 0
    versions: list[tuple[str, str | None, dict[str, Any]]] = []
    for task in draw(st.lists(st.sampled_from(TASKS), unique=True, min_size=1)):
        for attempt in range(1, draw(st.integers(1, 2)) + 1):
            outcome = draw(st.sampled_from(["active", "done", "failed"]))
            steps = ["active"] if outcome == "active" else ["active", outcome]
            for state in steps:
                version += 1
                versions.append(("job", "MODIFIED", job(task, attempt, version, state)))
            if draw(st.booleans()):
                version += 1
                code = None if outcome == "active" else (0 if outcome == "done" else 1)
                versions.append(("pod", "MODIFIED", pod(task, attempt, version, code)))
            if draw(st.booleans()) and draw(st.booleans()):
                version += 1
                gone = job(task, attempt, version, outcome)
                versions.append(("job", "DELETED", gone))
    live = [v for v in versions if v[1] != "DELETED"]
    repeats = draw(st.lists(st.sampled_from(live), max_size=5)) if live else []
    # Any order of the versions of live objects, with repeats (a re-list repeats anything; Job and Pod
    # watches are independent): the cache keeps the newest. An object is not seen after its deletion.
    mixed = draw(st.permutations([*live, *repeats]))
    return [*mixed, *(v for v in versions if v[1] == "DELETED")]


def _name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def from_scratch(events: list[tuple[str, str | None, dict[str, Any]]]) -> dict[str, Any]:
    """The newest version of every Job and Pod, then one observation per Job still there."""
    newest: dict[tuple[str, str], tuple[str | None, dict[str, Any]]] = {}
    for kind, event, obj in events:
        key = (kind, _name(obj))
        rv = int(obj["metadata"]["resourceVersion"])
        if key not in newest or rv >= int(newest[key][1]["metadata"]["resourceVersion"]):
            newest[key] = (event, obj)
    pods = [trim_pod(o) for (kind, _), (e, o) in newest.items() if kind == "pod" and e != "DELETED"]
    seen = {}
    for (kind, name), (event, obj) in newest.items():
        if kind == "job" and event != "DELETED":
            observed = observe_job(
                trim_job(obj), [p for p in pods if p["metadata"]["ownerReferences"][0]["name"] == name]
            )
            if observed is not None:
                seen[name] = observed
    return seen


@settings(max_examples=200, deadline=None)
@given(histories())
def test_observations_kept_event_by_event_equal_those_made_from_scratch(
    events: list[tuple[str, str | None, dict[str, Any]]],
) -> None:
    cache = ClusterCache()
    for kind, event, obj in events:
        if kind == "job":
            cache.observe_job(event, trim_job(obj))
        else:
            cache.observe_pod(event, trim_pod(obj))
    incremental = {o.name: o for o in cache.observed_jobs(RUN)}
    expected = from_scratch(events)
    assert incremental == expected
    pipeline = {"taskDefaults": {"image": "x"}, "tasks": [{"name": t, "command": ["true"]} for t in TASKS]}
    started = start_run(META, {"pipelineSpec": pipeline}, None, NOW)
    state = RunState(META, started.status)
    assert plan(state, list(incremental.values()), NOW) == plan(state, list(expected.values()), NOW)


phases = st.sampled_from([TaskPhase.PENDING, TaskPhase.RUNNING, TaskPhase.SUCCEEDED, TaskPhase.FAILED])


@st.composite
def statuses(draw: st.DrawFn) -> list[PipelineRunStatus]:
    """A sequence of statuses as reconciles make them: each keeps the entries that did not change."""
    width = draw(st.sampled_from([3, COMPACT_FROM + 5]))
    instances = [InstanceStatus(name=f"fan[{k}]", phase=TaskPhase.PENDING) for k in range(width)]
    tasks = [
        TaskStatus(name="a", phase=TaskPhase.PENDING),
        TaskStatus(name="fan", phase=TaskPhase.RUNNING, items=width, instances=instances),
    ]
    sequence = [PipelineRunStatus(tasks=tasks)]
    for _ in range(draw(st.integers(1, 5))):
        changed = draw(st.sets(st.integers(0, width - 1), max_size=width))
        new = list(sequence[-1].tasks[1].instances)
        for k in changed:
            new[k] = InstanceStatus(name=f"fan[{k}]", phase=draw(phases), attempts=draw(st.integers(0, 2)))
        fan = sequence[-1].tasks[1].model_copy(update={"instances": new})
        first = sequence[-1].tasks[0]
        if draw(st.booleans()):
            first = first.model_copy(update={"phase": draw(phases)})
        sequence.append(PipelineRunStatus(tasks=[first, fan]))
    return sequence


@settings(max_examples=100, deadline=None)
@given(statuses())
def test_entries_encoded_once_give_the_same_status_as_encoding_all_afresh(
    sequence: list[PipelineRunStatus],
) -> None:
    for status in sequence:  # as consecutive writes: unchanged entries come from the codec's cache
        incremental = dump_run_status(status)
        fresh = dump_run_status(PipelineRunStatus.model_validate(status.model_dump()))  # no entry seen before
        assert incremental == fresh
        loaded = load_run_status(incremental).tasks[1].instances
        assert [(i.name, i.phase, i.attempts) for i in loaded] == [
            (i.name, i.phase, i.attempts) for i in status.tasks[1].instances
        ]
