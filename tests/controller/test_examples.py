"""Every example, run by the real operator on the dev cluster, ends as its comments say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from operator_kit import Api, example, phase_of, tasks_of, when

from baton.kube.labels import RUN, TASK
from support import wait_for

FINISHED = ("Succeeded", "Failed")


def run_example(api: Api, start_operator: Callable[[str], Any], file: str) -> dict[str, Any]:
    start_operator(api.namespace)
    pipeline = None
    for doc in example(file):
        api.apply(doc)
        if doc["kind"] == "Pipeline":
            pipeline = doc["metadata"]["name"]
    assert pipeline is not None
    name = api.start_run(pipeline)
    return dict(
        wait_for(
            lambda: when(api.run(name), lambda r: phase_of(r) in FINISHED),
            timeout=120,
            message=f"run {name} to finish",
        )
    )


def run_events(api: Api, run: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in api.events() if e["involvedObject"]["name"] == run["metadata"]["name"]]


def test_daily_sales_succeeds_in_dependency_order(api: Api, start_operator: Callable[[str], Any]) -> None:
    run = run_example(api, start_operator, "daily-sales.yaml")
    status = run["status"]
    assert status["phase"] == "Succeeded", status
    assert status["progress"] == "8/8"  # six tasks, extract counted as its three instances
    tasks = tasks_of(run)
    assert all(t["phase"] == "Succeeded" for t in tasks.values())
    # Never before its dependencies: a task's Job starts after its upstream tasks completed.
    assert tasks["extract"]["completionTime"] <= tasks["revenue-by-region"]["startTime"]
    assert tasks["revenue-by-region"]["completionTime"] <= tasks["load"]["startTime"]
    assert tasks["load"]["completionTime"] <= tasks["report"]["startTime"]
    condition = next(c for c in status["conditions"] if c["type"] == "Succeeded")
    assert (condition["status"], condition["reason"]) == ("True", "Succeeded")
    assert status["duration"] and status["completionTime"] >= status["startTime"]
    assert [(r["name"], r["value"].splitlines()[0]) for r in status["results"]] == [
        ("revenue", "10043.25"),
        ("report", "Daily sales report for 2025-01-31 (regions: apac, eu, us)"),
    ]
    assert [i["item"] for i in tasks["extract"]["instances"]] == ["eu", "us", "apac"]
    assert [i["results"]["rows"] for i in tasks["extract"]["instances"]] == ["24", "24", "24"]
    # The ReadWriteOnce claim is pinned to the node of the first Pod that mounted it.
    claim = f"{run['metadata']['name']}-data"
    assert status["workspaces"] == [{"name": "data", "claimName": claim, "node": "devcluster"}]
    jobs = api.jobs()
    assert len(jobs) == 8, [j["metadata"]["name"] for j in jobs]
    for job in jobs:
        labels = job["metadata"]["labels"]
        assert labels[RUN] == run["metadata"]["name"] and labels[TASK] in tasks
        owner = job["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"], owner["controller"]) == (
            "PipelineRun",
            run["metadata"]["uid"],
            True,
        )
        assert job["spec"]["backoffLimit"] == 0
    pipeline = wait_for(
        lambda: when(
            api.pipeline("daily-sales"), lambda p: (p.get("status") or {}).get("lastRunStatus") == "Succeeded"
        ),
        message="the Pipeline to record its last run",
    )
    assert pipeline["status"]["lastRun"] == run["metadata"]["name"]
    assert pipeline["status"]["taskCount"] == 6
    # The outcome's Event follows the status write that finished the run.
    reasons = wait_for(
        lambda: when(run_events(api, run), lambda events: "RunSucceeded" in {e["reason"] for e in events}),
        message="the RunSucceeded Event",
    )
    # The tasks' progress rides with the outcome (a short run's whole story in one Event).
    (outcome,) = [e for e in reasons if e["reason"] == "RunSucceeded"]
    assert 'task "regions" started: Job ' in outcome["message"], outcome["message"]


def test_fan_out_honours_parallelism(api: Api, start_operator: Callable[[str], Any]) -> None:
    run = run_example(api, start_operator, "fan-out.yaml")
    assert phase_of(run) == "Succeeded", run["status"]
    tasks = tasks_of(run)
    assert len(tasks) == 22
    # At no moment were more than `parallelism` (8) tasks running: check every start against the others.
    spans = [(t["startTime"], t["completionTime"]) for t in tasks.values()]
    for start, _ in spans:
        running = sum(1 for s, e in spans if s <= start < e)
        assert running <= 8, f"{running} tasks running at {start}"


def test_failing_example_fails_with_a_reason(api: Api, start_operator: Callable[[str], Any]) -> None:
    run = run_example(api, start_operator, "failing.yaml")
    assert phase_of(run) == "Failed"
    tasks = tasks_of(run)
    failed = [t for t in tasks.values() if t["phase"] == "Failed"]
    assert failed and all(t.get("exitCode") not in (None, 0) and t.get("message") for t in failed)
    skipped = [t for t in tasks.values() if t["phase"] == "Skipped"]
    assert skipped and all(t.get("message") for t in skipped)
    assert any(t["phase"] == "Succeeded" for t in tasks.values()), "the independent branch still ran"
    condition = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    assert condition["status"] == "False" and failed[0]["name"] in condition["message"]
    events = wait_for(
        lambda: when(run_events(api, run), lambda events: "RunFailed" in {e["reason"] for e in events}),
        message="the RunFailed Event",
    )
    assert all(e["type"] == "Warning" for e in events if e["reason"] == "RunFailed")


def test_resilient_example_retries_and_runs_finally(api: Api, start_operator: Callable[[str], Any]) -> None:
    run = run_example(api, start_operator, "resilient.yaml")
    assert phase_of(run) == "Succeeded", run["status"]
    tasks = tasks_of(run)
    assert tasks["fetch"]["attempts"] == 3
    assert {n: (t["phase"], t.get("reason")) for n, t in tasks.items()} == {
        "fetch": ("Succeeded", None),
        "transform": ("Succeeded", None),
        "publish": ("Succeeded", None),
        "quarantine": ("Skipped", "WhenNotMet"),
        "notify": ("Succeeded", None),
    }
    notify = next(j for j in api.jobs() if j["metadata"]["labels"][TASK] == "notify")
    command = notify["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-1] == "print('run Succeeded (Succeeded): fetch Succeeded, publish Succeeded')"
    history = [(r["attempt"], r.get("exitCode"), r.get("reason")) for r in tasks["fetch"]["attemptHistory"]]
    assert history == [(1, 75, "Failed"), (2, 75, "Failed"), (3, 0, None)]
    assert "giving up for now" in tasks["fetch"]["attemptHistory"][1]["tail"]


@pytest.mark.kubectl
def test_kubectl_shows_runs_and_pipelines(
    api: Api, start_operator: Callable[[str], Any], kubectl: Any
) -> None:
    run = run_example(api, start_operator, "daily-sales.yaml")
    name = run["metadata"]["name"]
    out = kubectl("get", "pipelineruns", "-n", api.namespace).stdout
    header = out.splitlines()[0].split()
    assert header == ["NAME", "PIPELINE", "STATUS", "PROGRESS", "STARTED", "DURATION"], out
    assert name in out and "Succeeded" in out and "8/8" in out
    wide = kubectl("get", "pipelineruns", "-n", api.namespace, "-o", "wide").stdout
    assert "MESSAGE" in wide.splitlines()[0] and "all 6 tasks succeeded" in wide
    pipelines = kubectl("get", "pipelines", "-n", api.namespace).stdout
    assert pipelines.splitlines()[0].split() == [
        "NAME",
        "TASKS",
        "READY",
        "LAST",
        "RUN",
        "LAST",
        "STATUS",
        "SCHEDULE",
        "NEXT",
        "LAST",
        "AGE",
    ]
    # The example's own hint finds the run, created without labels: the operator labelled it.
    created = api.run(name)["metadata"]
    assert created["labels"] == {"baton.dev/pipeline": "daily-sales"}, created
    selector = "baton.dev/pipeline=daily-sales"
    listed = kubectl("get", "pipelineruns", "-l", selector, "-n", api.namespace).stdout
    assert name in listed, listed
    both = kubectl("get", "baton", "-n", api.namespace).stdout
    assert "pipeline.baton.dev/daily-sales" in both and f"pipelinerun.baton.dev/{name}" in both
    described = kubectl("describe", "pipelinerun", name, "-n", api.namespace).stdout
    assert "RunSucceeded" in described and 'task "regions" started' in described
