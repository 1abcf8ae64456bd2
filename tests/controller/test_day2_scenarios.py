"""Day 2 on the dev cluster with the real operator: cleanup runs after a run timeout, within a budget of
its own; `cancel --no-finally` stops it; a failure explains itself from `kubectl describe`, `kubectl
baton logs` and `kubectl baton why` after its Pods and Jobs were deleted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from operator_kit import Api, phase_of, tasks_of
from test_steering_cli import Baton, baton, finished, pipeline, sh

from support import Kubectl, wait_for

__all__ = ["baton"]  # the fixture, shared with the steering tests


def condition(run: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")


def reason_of(api: Api, name: str) -> str | None:
    conditions = (api.run(name).get("status") or {}).get("conditions") or []
    return next((c.get("reason") for c in conditions if c["type"] == "Succeeded"), None)


def job_names(api: Api, run: str) -> set[str]:
    return {j["metadata"]["name"] for j in api.jobs() if j["metadata"]["labels"]["baton.dev/run"] == run}


def test_a_timed_out_run_still_runs_its_finally_task(baton: Baton, api: Api, tmp_path: Path) -> None:
    said = tmp_path / "said"
    cleanup = sh("cleanup", f"sleep 1; echo '$(run.status) $(run.reason) $(run.failedTasks)' > '{said}'")
    api.apply(pipeline("nightly", [sh("load", "sleep 30")], timeoutSeconds=2, **{"finally": [cleanup]}))
    name = api.start_run("nightly")
    wait_for(lambda: reason_of(api, name) == "TimingOut", message="the run to say TimingOut")
    run = finished(api, name)
    assert (phase_of(run), condition(run)["reason"]) == ("Failed", "Timeout")
    assert "finally: cleanup Succeeded" in condition(run)["message"]
    assert {n: (t["phase"], t.get("reason")) for n, t in tasks_of(run).items()} == {
        "load": ("Cancelled", "RunTimeout"),
        "cleanup": ("Succeeded", None),
    }
    assert said.read_text() == "Failed Timeout \n"
    assert run["status"]["finallyStartTime"]


def test_a_finally_task_past_its_budget_is_stopped(baton: Baton, api: Api) -> None:
    api.apply(
        pipeline(
            "stuck", [sh("load", "sleep 30")], timeoutSeconds=1, **{"finally": [sh("cleanup", "sleep 30")]}
        )
    )
    run = api.apply(
        {
            "apiVersion": "baton.dev/v1alpha1",
            "kind": "PipelineRun",
            "metadata": {"generateName": "stuck-"},
            "spec": {"pipelineRef": {"name": "stuck"}, "finallyTimeoutSeconds": 1},
        }
    )
    name = run["metadata"]["name"]
    run = finished(api, name)
    assert (phase_of(run), condition(run)["reason"]) == ("Failed", "Timeout")
    cleanup = tasks_of(run)["cleanup"]
    assert (cleanup["phase"], cleanup["reason"]) == ("Failed", "DeadlineExceeded")
    assert cleanup["message"] == "stopped: the finally tasks' budget of 1s passed"
    assert "finally: cleanup Failed (DeadlineExceeded)" in condition(run)["message"]
    wait_for(lambda: not job_names(api, name), message="the run's Jobs to be deleted")


def test_cancel_no_finally_stops_finally_tasks_already_running(baton: Baton, api: Api) -> None:
    api.apply(
        pipeline(
            "hung", [sh("load", "sleep 30")], timeoutSeconds=1, **{"finally": [sh("cleanup", "sleep 30")]}
        )
    )
    name = api.start_run("hung")
    wait_for(
        lambda: tasks_of(api.run(name)).get("cleanup", {}).get("phase") == "Running",
        message="the finally task to run after the timeout",
    )
    code, out, err = baton("cancel", name, "--no-finally")
    assert (code, err) == (0, "")
    assert out == f"pipelinerun.baton.dev/{name}: its finally tasks are stopped too\n"
    run = finished(api, name)
    assert (phase_of(run), condition(run)["reason"]) == ("Failed", "Timeout")
    assert (tasks_of(run)["cleanup"]["phase"], tasks_of(run)["cleanup"]["reason"]) == (
        "Cancelled",
        "Cancelled",
    )
    wait_for(lambda: not job_names(api, name), message="the finally task's Job to be deleted")


def test_a_cancelled_run_whose_finally_task_runs_can_be_stopped_too(baton: Baton, api: Api) -> None:
    api.apply(pipeline("slow", [sh("load", "sleep 30")], **{"finally": [sh("cleanup", "sleep 30")]}))
    name = api.start_run("slow")
    wait_for(lambda: tasks_of(api.run(name)).get("load", {}).get("phase") == "Running", message="load to run")
    assert baton("cancel", name)[0] == 0
    wait_for(
        lambda: tasks_of(api.run(name)).get("cleanup", {}).get("phase") == "Running",
        message="the finally task to run after the cancel",
    )
    code, out, _ = baton("cancel", name, "--no-finally")
    assert code == 0 and out == f"pipelinerun.baton.dev/{name}: its finally tasks are stopped too\n"
    assert api.run(name)["spec"]["cancel"]["runFinally"] is False
    run = finished(api, name)
    assert phase_of(run) == "Cancelled" and tasks_of(run)["cleanup"]["phase"] == "Cancelled"


def test_a_failure_explains_itself_after_its_pods_and_jobs_are_deleted(
    baton: Baton, api: Api, kubectl: Kubectl
) -> None:
    failing = {
        **sh("extract", "echo reading day 17; echo 'ValueError: bad row 17' >&2; exit 3"),
        "retries": {"limit": 1, "backoff": {"initialSeconds": 0.2}},
    }
    counted = {
        **sh("count", """printf '{"rows": 3}' > "$BATON_RESULTS"; echo partial; exit 2"""),
        "results": [{"name": "rows"}],
    }
    api.apply(pipeline("broken", [failing, sh("load", "true", "extract"), counted]))
    name = api.start_run("broken")
    run = finished(api, name)
    assert phase_of(run) == "Failed"
    message = condition(run)["message"]  # led by the first task to fail, whichever it was
    assert message.startswith(
        ('2 tasks failed (extract, count); "extract"', '2 tasks failed (count, extract); "count"')
    )
    kubectl("delete", "jobs", "-l", f"baton.dev/run={name}", "-n", api.namespace)
    wait_for(lambda: not job_names(api, name), message="the Jobs to be deleted")
    wait_for(
        lambda: not kubectl("get", "pods", "-n", api.namespace, "-o", "name").stdout.strip(),
        message="their Pods to be deleted",
    )

    described = kubectl("describe", "pipelinerun", name, "-n", api.namespace).stdout
    assert re.search(r"Exit Code:\s+3\n", described) and "ValueError: bad row 17" in described
    assert "Attempt History:" in described  # the exit code of every attempt

    code, out, err = baton("logs", name, "extract")
    assert code == 0
    assert out.endswith("ValueError: bad row 17\n") and "reading day 17" in out
    assert "attempt 2 is gone (its Job or Pod was deleted); the log tail recorded on the run" in err
    code, _, err = baton("logs", name, "extract", "--attempt", "1")
    assert code == 1
    gone = "attempt 1 is gone (its Job or Pod was deleted)"
    assert f"{gone}; exit code 3; the run's status kept no log tail" in err

    code, out, _ = baton("why", name)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"pipelinerun {name}: Failed" + lines[0].split("Failed", 1)[1]
    assert 'task "extract" failed (Failed, 2 attempts), exit codes 3, 3' in out
    assert "  last line: ValueError: bad row 17" in lines
    assert "  skipped because of it: load (1)" in lines
    assert 'task "count" failed (Failed), exit code 2' in out
    assert "no log tail was kept: the task wrote its results file before it failed" in out
