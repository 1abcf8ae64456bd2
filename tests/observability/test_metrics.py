"""Run and task metrics from watched transitions: counted once, not counted for what happened before the
operator started, and gauges recomputed from the cluster after a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from obs_kit import samples, scrape
from operator_kit import Api, RunningOperator, phase_of
from prometheus_client import REGISTRY

from baton.api.codec import load_run_status
from baton.controller import metrics
from baton.controller.observers import RunObserver
from support import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Runs:
    """PipelineRun and Job objects as the watches deliver them, for one run of a small pipeline."""

    def __init__(self, tasks: dict[str, list[str]], parallelism: int | None = None) -> None:
        self.namespace = f"m-{uuid.uuid4().hex[:8]}"
        self.uid = uuid.uuid4().hex
        self.version = 0
        self.spec: dict[str, Any] = {
            "tasks": [{"name": name, "image": "x", "dependsOn": deps} for name, deps in tasks.items()]
        }
        if parallelism:
            self.spec["parallelism"] = parallelism

    def run(self, phase: str | None = None, **tasks: tuple[str, int]) -> dict[str, Any]:
        self.version += 1
        obj: dict[str, Any] = {
            "metadata": {
                "name": "etl-abcde",
                "namespace": self.namespace,
                "uid": self.uid,
                "resourceVersion": str(self.version),
                "creationTimestamp": "2025-01-31T00:00:00Z",
            },
            "spec": {"pipelineRef": {"name": "etl"}},
        }
        if phase:
            obj["status"] = {
                "phase": phase,
                "pipeline": "etl",
                "startTime": "2025-01-31T00:00:00Z",
                "pipelineSpec": self.spec,
                "tasks": [
                    {"name": name, "phase": task_phase, "attempts": attempts}
                    | ({"startTime": "2025-01-31T00:00:00Z"} if attempts else {})
                    | (
                        {"completionTime": "2025-01-31T00:00:02Z"}
                        if task_phase in ("Succeeded", "Failed")
                        else {}
                    )
                    for name, (task_phase, attempts) in tasks.items()
                ],
            }
            if phase in ("Succeeded", "Failed"):
                obj["status"]["completionTime"] = "2025-01-31T00:00:05Z"
        return obj

    def job(self, task: str, attempt: int = 1, finished: bool = False) -> dict[str, Any]:
        status = {"conditions": [{"type": "Complete", "status": "True"}]} if finished else {"active": 1}
        return {
            "metadata": {
                "name": f"etl-abcde-{task}-{attempt}",
                "namespace": self.namespace,
                "labels": {"baton.dev/task": task, "baton.dev/attempt": str(attempt)},
                "ownerReferences": [{"kind": "PipelineRun", "name": "etl-abcde", "uid": self.uid}],
            },
            "status": status,
        }


def gauge(observer: RunObserver, kind: str, namespace: str) -> dict[Any, float]:
    snapshot = observer.gauges()
    values: dict[Any, float] = getattr(snapshot, kind)
    return {key: v for key, v in values.items() if key[0] == namespace}


class Feed:
    """Hands the observer each event as it comes or, `later`, after all of them with the time each came
    (as the operator's deferred counting does): the counts and latencies must be the same."""

    def __init__(self, observer: RunObserver, clock: Clock, later: bool) -> None:
        self.observer, self.clock, self.later = observer, clock, later
        self.calls: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def run(self, event_type: str, obj: dict[str, Any]) -> None:
        self._call(self.observer.run_event, event_type, obj, self.clock())

    def job(self, event_type: str, obj: dict[str, Any]) -> None:
        self._call(self.observer.job_event, event_type, obj, self.clock())

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self.later:
            self.calls.append((fn, args))
        else:
            fn(*args)

    def counted(self) -> None:
        self.clock.now += 30.0  # counted well after the events came
        for fn, args in self.calls:
            fn(*args)


@pytest.mark.parametrize("later", [False, True], ids=["as-they-come", "counted-later"])
def test_each_transition_is_counted_once_with_latencies_from_the_watches(later: bool) -> None:
    clock, runs = Clock(), Runs({"a": [], "b": ["a"]})
    observer = RunObserver(clock=clock)
    feed = Feed(observer, clock, later)
    ns, labels = runs.namespace, {"namespace": runs.namespace, "pipeline": "etl"}
    feed.run("ADDED", runs.run())  # created: the root's dependencies are met now
    clock.now += 0.5
    feed.job("ADDED", runs.job("a"))
    feed.run("MODIFIED", runs.run("Running", a=("Running", 1), b=("Pending", 0)))
    clock.now += 2.0
    feed.job("MODIFIED", runs.job("a", finished=True))
    clock.now += 0.1
    feed.job("ADDED", runs.job("b"))
    running_b = runs.run("Running", a=("Succeeded", 1), b=("Running", 1))
    feed.run("MODIFIED", running_b)
    feed.run("MODIFIED", running_b)  # the same version again (a relist): nothing new
    clock.now += 1.0
    feed.job("MODIFIED", runs.job("b", finished=True))
    done = runs.run("Succeeded", a=("Succeeded", 1), b=("Succeeded", 1))
    feed.run("MODIFIED", done)
    feed.run("MODIFIED", done)
    feed.counted()

    assert value("baton_runs_started_total", **labels) == 1
    assert value("baton_runs_finished_total", **labels, phase="Succeeded") == 1
    # From the start seen (1000.5) to the end seen (1003.6), at this process's clock.
    assert abs(value("baton_run_duration_seconds_sum", **labels, phase="Succeeded") - 3.1) < 1e-9
    for task, took in (("a", 2.0), ("b", 1.0)):
        assert value("baton_task_attempts_total", **labels, task=task) == 1
        assert value("baton_tasks_finished_total", **labels, task=task, phase="Succeeded") == 1
        assert abs(value("baton_task_duration_seconds_sum", **labels, task=task) - took) < 1e-9
    # a: created at 1000.0, its Job at 1000.5; b: a's Job finished at 1002.5, b's Job at 1002.6.
    assert value("baton_task_scheduling_latency_seconds_count", **labels) == 2
    assert abs(value("baton_task_scheduling_latency_seconds_sum", **labels) - 0.6) < 1e-9
    assert value("baton_task_parallelism_wait_seconds_sum", **labels) == 0
    assert value("baton_task_retries_total", **labels, task="a") == 0
    assert gauge(observer, "runs", ns) == {}  # no Pipeline watched here, and no run active


def test_what_was_listed_at_start_up_is_recorded_not_counted() -> None:
    runs = Runs({"a": [], "b": ["a"]})
    observer = RunObserver()
    labels = {"namespace": runs.namespace, "pipeline": "etl"}
    observer.run_event(None, runs.run("Running", a=("Succeeded", 1), b=("Running", 1)))
    observer.job_event(None, runs.job("b"))
    assert value("baton_runs_started_total", **labels) == 0
    assert value("baton_tasks_finished_total", **labels, task="a", phase="Succeeded") == 0
    assert gauge(observer, "runs", runs.namespace) == {(runs.namespace, "etl", "Running"): 1}
    assert gauge(observer, "tasks", runs.namespace) == {(runs.namespace, "etl", "Running"): 1}
    # What happens afterwards is counted; durations fall back to the status's timestamps.
    observer.run_event("MODIFIED", runs.run("Succeeded", a=("Succeeded", 1), b=("Succeeded", 1)))
    assert value("baton_runs_finished_total", **labels, phase="Succeeded") == 1
    assert value("baton_run_duration_seconds_sum", **labels, phase="Succeeded") == 5.0
    assert value("baton_tasks_finished_total", **labels, task="b", phase="Succeeded") == 1
    assert value("baton_tasks_finished_total", **labels, task="a", phase="Succeeded") == 0
    assert value("baton_runs_started_total", **labels) == 0
    # A run that had finished before the operator started counts nothing at all.
    other = Runs({"a": []})
    observer.run_event(None, other.run("Failed", a=("Failed", 1)))
    assert value("baton_runs_finished_total", namespace=other.namespace, pipeline="etl", phase="Failed") == 0


def test_parallelism_wait_and_throttled_tasks() -> None:
    clock, runs = Clock(), Runs({"a": [], "b": [], "c": []}, parallelism=1)
    observer = RunObserver(clock=clock)
    labels = {"namespace": runs.namespace, "pipeline": "etl"}
    observer.run_event("ADDED", runs.run())
    observer.run_event("MODIFIED", runs.run("Running", a=("Running", 1), b=("Pending", 0), c=("Pending", 0)))
    assert gauge(observer, "throttled", runs.namespace) == {(runs.namespace, "etl"): 2}
    clock.now += 3
    observer.run_event(
        "MODIFIED", runs.run("Running", a=("Succeeded", 1), b=("Running", 1), c=("Pending", 0))
    )
    assert gauge(observer, "throttled", runs.namespace) == {(runs.namespace, "etl"): 1}
    clock.now += 2
    observer.run_event(
        "MODIFIED", runs.run("Running", a=("Succeeded", 1), b=("Succeeded", 1), c=("Running", 1))
    )
    assert value("baton_task_parallelism_wait_seconds_count", **labels) == 3
    assert value("baton_task_parallelism_wait_seconds_sum", **labels) == 3 + 5  # a: 0, b: 3, c: 5
    assert gauge(observer, "tasks", runs.namespace) == {
        (runs.namespace, "etl", "Running"): 1
    }  # finished tasks are not "active"


def test_retries_are_attempts_after_the_first() -> None:
    runs = Runs({"load": []})
    observer = RunObserver()
    labels = {"namespace": runs.namespace, "pipeline": "etl", "task": "load"}
    observer.run_event("ADDED", runs.run())
    observer.run_event("MODIFIED", runs.run("Running", load=("Running", 1)))
    observer.run_event("MODIFIED", runs.run("Running", load=("Pending", 1)))  # failed, waiting to retry
    observer.run_event("MODIFIED", runs.run("Running", load=("Running", 3)))  # two attempts seen at once
    observer.run_event("MODIFIED", runs.run("Failed", load=("Failed", 3)))
    assert value("baton_task_attempts_total", **labels) == 3
    assert value("baton_task_retries_total", **labels) == 2
    assert value("baton_tasks_finished_total", **labels, phase="Failed") == 1
    assert value("baton_task_duration_seconds_count", **labels) == 0  # durations are of successes only


def test_pipelines_show_zeros_and_deleted_runs_vanish() -> None:
    runs = Runs({"a": []})
    observer = RunObserver()
    pipeline = {"metadata": {"name": "etl", "namespace": runs.namespace}, "spec": runs.spec}
    observer.pipeline_event(None, pipeline)
    ns = runs.namespace
    assert gauge(observer, "runs", ns) == {(ns, "etl", "Pending"): 0, (ns, "etl", "Running"): 0}
    assert (
        REGISTRY.get_sample_value(
            "baton_runs_finished_total", {"namespace": ns, "pipeline": "etl", "phase": "Failed"}
        )
        == 0
    )  # created at 0, so that increase() sees the first failure
    observer.run_event("ADDED", runs.run("Running", a=("Running", 1)))
    assert gauge(observer, "runs", ns)[(ns, "etl", "Running")] == 1
    observer.run_event("DELETED", runs.run("Running", a=("Running", 1)))
    assert gauge(observer, "runs", ns)[(ns, "etl", "Running")] == 0
    observer.pipeline_event("DELETED", pipeline)
    assert gauge(observer, "runs", ns) == {}


def test_a_broken_object_never_breaks_the_operator() -> None:
    observer = RunObserver()
    observer.run_event(
        "MODIFIED", {"metadata": {"uid": "x"}, "status": {"phase": "Running", "tasks": "junk"}}
    )
    observer.job_event("MODIFIED", {"metadata": None})
    observer.pipeline_event("ADDED", {"spec": {"tasks": [None]}})
    assert isinstance(observer.gauges(), metrics.GaugeSnapshot)


WAIT_FOR_FILE = (
    "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.02)\nprint('released')"
)


def test_gauges_are_recomputed_from_the_cluster_after_a_restart(
    api: Api, metrics_operator: Callable[[str], tuple[RunningOperator, int]], tmp_path: Path
) -> None:
    release = tmp_path / "release"
    api.apply(
        {
            "apiVersion": "baton.dev/v1alpha1",
            "kind": "Pipeline",
            "metadata": {"name": "gate"},
            "spec": {
                "tasks": [
                    {
                        "name": "wait",
                        "image": "python:3.12-slim",
                        "command": ["python3", "-c", WAIT_FOR_FILE],
                        "args": [str(release)],
                    },
                    {
                        "name": "after",
                        "image": "python:3.12-slim",
                        "command": ["true"],
                        "dependsOn": ["wait"],
                    },
                ]
            },
        }
    )
    first, port = metrics_operator(api.namespace)
    name = api.start_run("gate")
    ns = {"namespace": api.namespace, "pipeline": "gate"}

    def running(port: int) -> str | None:
        text = scrape(port)
        return text if samples(text, "baton_active_runs", **ns, phase="Running") == [1] else None

    before = wait_for(lambda: running(port), timeout=30, message="the run to show as running")
    assert samples(before, "baton_active_tasks", **ns, phase="Running") == [1]
    assert samples(before, "baton_active_tasks", **ns, phase="Pending") == [1]
    # (A scrape is not atomic across metrics: the counter may lag the gauge by one event.)
    wait_for(
        lambda: samples(scrape(port), "baton_runs_started_total", **ns) == [1], message="the start counted"
    )
    first.stop()

    _, port = metrics_operator(api.namespace)  # a new operator: it knows the run only from the cluster
    after = wait_for(lambda: running(port), timeout=30, message="the restarted operator's gauges")
    assert samples(after, "baton_active_tasks", **ns, phase="Running") == [1]
    assert samples(after, "baton_active_tasks", **ns, phase="Pending") == [1]
    assert samples(after, "baton_runs_started_total", **ns) == [1]  # not counted again

    release.touch()
    wait_for(lambda: phase_of(api.run(name)) == "Succeeded", timeout=60, message="the run to succeed")
    final = wait_for(
        lambda: (
            (text := scrape(port))
            and samples(text, "baton_active_runs", **ns, phase="Running") == [0]
            and samples(text, "baton_runs_finished_total", **ns, phase="Succeeded") == [1]
            and text
        ),
        timeout=30,
        message="the run counted as finished and no longer active",
    )
    assert samples(final, "baton_runs_finished_total", **ns, phase="Succeeded") == [1]
    assert samples(final, "baton_run_duration_seconds_count", **ns, phase="Succeeded") == [1]


def test_huge_pipelines_get_no_series_per_task() -> None:
    tasks = {f"shard-{i}": [] for i in range(150)}
    runs = Runs(tasks)
    observer = RunObserver()
    labels = {"namespace": runs.namespace, "pipeline": "etl"}
    observer.run_event("ADDED", runs.run())
    observer.run_event("MODIFIED", runs.run("Running", **{name: ("Running", 1) for name in tasks}))
    assert value("baton_task_attempts_total", **labels, task="*") == 150
    assert REGISTRY.get_sample_value("baton_task_attempts_total", {**labels, "task": "shard-1"}) is None


def test_a_status_handed_with_the_event_is_counted_without_parsing_the_stored_one() -> None:
    # The operator finds its own write's status as the event comes; counted later, the status cache may
    # have moved on, and parsing a 10,000-task status again costs tens of MB.
    runs = Runs({"a": []})
    observer = RunObserver(statuses=lambda uid, version: None)
    labels = {"namespace": runs.namespace, "pipeline": "etl"}
    observer.run_event("ADDED", runs.run())
    done = runs.run("Succeeded", a=("Succeeded", 1))
    parsed = load_run_status(done["status"])
    done["status"] = {**done["status"], "tasks": "not a list: parsing it would fail"}
    observer.run_event("MODIFIED", done, status=parsed)
    assert value("baton_runs_finished_total", **labels, phase="Succeeded") == 1
    assert value("baton_tasks_finished_total", **labels, task="a", phase="Succeeded") == 1
