"""Sub-pipelines, end to end: a task that runs another Pipeline as a child PipelineRun."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, phase_of, tasks_of
from test_failure_scenarios import finished, patch_run, pipeline, sh
from test_steering_cli import Baton

from baton import GROUP, VERSION
from baton.kube.childrun import ANCESTRY
from support import wait_for

StartOperator = Callable[..., Any]


def warehouse(flag: Path) -> dict[str, Any]:
    """The child: stage, then load (which fails until `flag` exists), and a result."""
    return pipeline(
        "load-warehouse",
        [
            sh("stage", 'test "$(params.table)" = sales'),
            {
                **sh("load", f"test -f {shlex.quote(str(flag))}", "stage"),
                "results": [{"name": "rows"}],
                "command": [
                    "sh",
                    "-c",
                    f'test -f {shlex.quote(str(flag))} && echo \'{{"rows": 42}}\' > "$BATON_RESULTS"',
                ],
            },
        ],
        params=[{"name": "table"}],
        results=[{"name": "rows", "value": "$(tasks.load.results.rows)"}],
    )


def parent() -> dict[str, Any]:
    return pipeline(
        "nightly",
        [
            sh("extract"),
            {"name": "warehouse", "pipelineRef": {"name": "load-warehouse"}, "params": {"table": "sales"},
             "dependsOn": ["extract"], "results": [{"name": "rows"}]},
            sh("report", 'test "$(tasks.warehouse.results.rows)" = 42'),
        ],
    )  # fmt: skip


def test_a_child_that_fails_is_retried_through_its_parent(
    api: Api, start_operator: StartOperator, tmp_path: Path
) -> None:
    flag = tmp_path / "fixed"
    start_operator(api.namespace)
    api.apply(warehouse(flag))
    api.apply(parent())
    first = api.start_run("nightly")
    failed = finished(api, first, timeout=30)
    assert phase_of(failed) == "Failed"
    task = tasks_of(failed)["warehouse"]
    assert task["phase"] == "Failed" and task["message"].startswith(f"run {task['jobName']} failed")
    child = api.run(task["jobName"])
    assert phase_of(child) == "Failed" and child["spec"]["pipelineRef"] == {"name": "load-warehouse"}
    assert child["metadata"]["ownerReferences"][0]["name"] == first
    assert child["metadata"]["annotations"][ANCESTRY] == "nightly"
    assert tasks_of(child)["stage"]["phase"] == "Succeeded" and tasks_of(child)["load"]["phase"] == "Failed"
    flag.touch()  # the cause is fixed
    retry = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "nightly-retry-"},
            "spec": {"retryOf": first},
        }
    )["metadata"]["name"]
    done = finished(api, retry, timeout=30)
    assert phase_of(done) == "Succeeded", done["status"]
    assert tasks_of(done)["extract"]["reason"] == "Reused"
    new_child = api.run(tasks_of(done)["warehouse"]["jobName"])
    assert new_child["spec"] == {"retryOf": task["jobName"]}  # from the child's point of failure
    assert tasks_of(new_child)["stage"]["reason"] == "Reused"
    # The child's run-level results are the task's results (as text: a run's results are text).
    assert new_child["status"]["results"] == [{"name": "rows", "value": "42"}]
    assert tasks_of(done)["warehouse"]["results"] == {"rows": '"42"'}
    assert tasks_of(done)["report"]["phase"] == "Succeeded"


def test_cancelling_the_parent_cancels_the_child(
    api: Api, start_operator: StartOperator, tmp_path: Path, k8s_client: Any
) -> None:
    start_operator(api.namespace)
    gate = tmp_path / "never"
    api.apply(pipeline("slow", [sh("wait", f"while [ ! -f {shlex.quote(str(gate))} ]; do sleep 0.05; done")]))
    api.apply(pipeline("outer", [{"name": "inner", "pipelineRef": {"name": "slow"}}]))
    run = api.start_run("outer")
    child = wait_for(lambda: tasks_of(api.run(run)).get("inner", {}).get("jobName"), message="the child")
    wait_for(lambda: phase_of(api.run(child)) == "Running", message="the child to run")
    patch_run(k8s_client, api, run, {"cancel": {}})
    assert phase_of(finished(api, run)) == "Cancelled"
    cancelled = finished(api, child)
    assert phase_of(cancelled) == "Cancelled"


def test_recursion_is_invalid(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("a", [{"name": "b", "pipelineRef": {"name": "b"}}]))
    api.apply(pipeline("b", [{"name": "a", "pipelineRef": {"name": "a"}}]))
    for name, chain in (("a", "a -> b -> a"), ("b", "b -> a -> b")):
        ready = wait_for(
            lambda name=name: next(
                (c for c in ((api.pipeline(name) or {}).get("status") or {}).get("conditions") or ()
                 if c["type"] == "Ready" and c["status"] == "False"), None),
            message=f"{name} not ready",
        )  # fmt: skip
        assert f"sub-pipeline recursion: {chain}" in ready["message"]
    # A run started anyway stops at the first repetition instead of nesting forever.
    run = finished(api, api.start_run("a"), timeout=30)
    assert phase_of(run) == "Failed"


def test_logs_of_a_sub_pipeline_task_name_its_child_run(
    api: Api, start_operator: StartOperator, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("leaf", [sh("say", "echo hello from the leaf")]))
    api.apply(pipeline("tree", [{"name": "branch", "pipelineRef": {"name": "leaf"}}]))
    run = finished(api, api.start_run("tree"))
    child = tasks_of(run)["branch"]["jobName"]
    baton = Baton(api, kubeconfig, capsys)
    code, out, err = baton("logs", run["metadata"]["name"], "branch")
    assert code == 0, err
    assert out == f'task "branch" attempt 1 is pipelinerun {child}: kubectl baton logs {child}\n'
    code, out, _ = baton("logs", child, "say")
    assert code == 0 and "hello from the leaf" in out
