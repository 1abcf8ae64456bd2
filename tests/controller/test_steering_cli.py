"""`kubectl baton cancel` and `kubectl baton retry` against the dev cluster with the real operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, phase_of, tasks_of, when

from baton import GROUP, VERSION
from baton.cli.main import main
from baton.core.actors import ACTED_GENERATION, ACTION, ACTOR
from support import wait_for

FINISHED = ("Succeeded", "Failed", "Cancelled")


def pipeline(name: str, tasks: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"taskDefaults": {"image": "busybox:1.36"}, "tasks": tasks, **spec},
    }


def sh(name: str, script: str = "true", *after: str) -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script], "dependsOn": list(after)}


def finished(api: Api, name: str) -> dict[str, Any]:
    return dict(
        wait_for(lambda: when(api.run(name), lambda r: phase_of(r) in FINISHED), message=f"run {name} to end")
    )


def told(api: Api) -> str:
    """The namespace's Event messages, in one text (an Event may tell several transitions)."""
    return " | ".join(e["message"] for e in api.events())


class Baton:
    def __init__(self, api: Api, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.api, self.kubeconfig, self.capsys = api, kubeconfig, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "-n", self.api.namespace, "--kubeconfig", str(self.kubeconfig)])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def baton(
    api: Api, kubeconfig: Path, capsys: pytest.CaptureFixture[str], start_operator: Callable[[str], Any]
) -> Baton:
    start_operator(api.namespace)
    return Baton(api, kubeconfig, capsys)


def test_cancel_a_running_run(baton: Baton, api: Api) -> None:
    api.apply(
        pipeline("long", [sh("wait", "sleep 30"), sh("after", "true", "wait")], **{"finally": [sh("notify")]})
    )
    name = api.start_run("long")
    wait_for(lambda: tasks_of(api.run(name)).get("wait", {}).get("phase") == "Running", message="wait to run")
    code, out, err = baton("cancel", name, "--message", "not today")
    assert (code, err) == (0, "")
    assert (
        out == f"pipelinerun.baton.dev/{name} cancelled (running Jobs are deleted; finally tasks still run)\n"
    )
    cancelled = api.run(name)
    assert cancelled["spec"]["cancel"] == {"runFinally": True, "message": "not today"}
    annotations = cancelled["metadata"]["annotations"]
    assert annotations[ACTOR] == "devcluster-admin"  # the dev cluster's SelfSubjectReview
    assert annotations[ACTION] == "cancel"
    assert annotations[ACTED_GENERATION] == str(cancelled["metadata"]["generation"])
    run = finished(api, name)
    assert phase_of(run) == "Cancelled"
    wait_for(lambda: "(cancelled by devcluster-admin at " in told(api), message="the actor in an Event")
    assert {n: t["phase"] for n, t in tasks_of(run).items()} == {
        "wait": "Cancelled",
        "after": "Skipped",
        "notify": "Succeeded",
    }
    code, _, err = baton("cancel", name)
    assert (
        code == 1
        and err
        == f'error: pipelinerun "{name}" has already finished (Cancelled): there is nothing to cancel\n'
    )


def test_cancel_an_unknown_run_says_which_runs_exist(baton: Baton, api: Api) -> None:
    api.apply(pipeline("tiny", [sh("a")]))
    name = api.start_run("tiny")
    code, out, err = baton("cancel", "tinny")
    assert code == 1 and out == ""
    assert err.startswith(f'error: pipelinerun "tinny" not found in namespace "{api.namespace}"')
    assert name in err


def test_retry_reuses_succeeded_tasks_and_from_reruns_a_sub_dag(
    baton: Baton, api: Api, tmp_path: Path
) -> None:
    flag = tmp_path / "fixed"
    api.apply(
        pipeline(
            "etl",
            [sh("extract"), sh("transform", f"test -f '{flag}'", "extract"), sh("load", "true", "transform")],
        )
    )
    old = api.start_run("etl")
    assert phase_of(finished(api, old)) == "Failed"
    code, _, err = baton("retry", old, "--from", "transfrom")
    assert code == 1 and 'has no task "transfrom" (did you mean "transform"?)' in err
    flag.touch()
    code, out, err = baton("retry", old)
    assert code == 0, err
    retry = out.strip().removeprefix("pipelinerun.baton.dev/").removesuffix(" created")
    assert retry.startswith("etl-retry-")
    created = api.run(retry)
    assert created["spec"] == {"retryOf": old}
    assert created["metadata"]["labels"] == {"baton.dev/retry-of": old, "baton.dev/pipeline": "etl"}
    assert created["metadata"]["annotations"][ACTION] == "retry"
    assert created["metadata"]["annotations"][ACTOR] == "devcluster-admin"
    run = finished(api, retry)
    assert phase_of(run) == "Succeeded", run["status"]
    assert {n: t.get("reusedFrom") for n, t in tasks_of(run).items()} == {
        "extract": old,
        "transform": None,
        "load": None,
    }
    code, _, err = baton("retry", retry)
    assert code == 1 and "succeeded: there is nothing to retry (use --from TASK" in err
    code, out, err = baton("retry", retry, "--from", "transform", "--watch")
    assert code == 0, err
    again = out.splitlines()[0].removeprefix("pipelinerun.baton.dev/").removesuffix(" created")
    rerun = finished(api, again)
    # A Pipeline's name means its newest run, a retry too (it names no Pipeline; its status and label do).
    # (Both retries may have been created in the same second, the precision of creationTimestamp.)
    code, out, err = baton("describe", "etl")
    newest = out.splitlines()[0].removeprefix("Name:").strip()
    assert code == 0 and newest in (retry, again), out + err
    assert f"(the newest run of pipeline etl: {newest})" in err
    assert "Retry of:     " in out and "reused from " + old in out
    assert {n: t.get("reusedFrom") for n, t in tasks_of(rerun).items()} == {
        "extract": old,  # where it really ran, two retries back
        "transform": None,
        "load": None,
    }


def test_retry_refuses_a_run_that_has_not_finished(baton: Baton, api: Api) -> None:
    api.apply(pipeline("slow", [sh("wait", "sleep 30")]))
    name = api.start_run("slow")
    wait_for(lambda: phase_of(api.run(name)) == "Running", message="the run to start")
    code, _, err = baton("retry", name)
    assert code == 1
    assert err == (
        f'error: pipelinerun "{name}" has not finished (it is Running): wait for it to end, '
        f"or cancel it first (kubectl baton cancel {name})\n"
    )
    assert baton("cancel", name, "--no-finally")[0] == 0
    assert api.run(name)["spec"]["cancel"] == {"runFinally": False}


def test_suspend_and_resume_a_run(baton: Baton, api: Api, tmp_path: Path) -> None:
    gate = tmp_path / "go"
    api.apply(
        pipeline(
            "held",
            [sh("first", f"while [ ! -f {gate} ]; do sleep 0.05; done"), sh("second", "true", "first")],
        )
    )
    name = api.start_run("held")
    wait_for(lambda: when(tasks_of(api.run(name)).get("first") or {}, lambda t: t.get("phase") == "Running"))
    code, out, _ = baton("suspend", name)
    assert (code, out) == (
        0,
        f"pipelinerun.{GROUP}/{name} suspended (no new task starts; running ones finish)\n",
    )
    assert baton("suspend", name)[1] == f"pipelinerun.{GROUP}/{name} is already suspended\n"
    gate.write_text("")
    suspended = wait_for(
        lambda: when(api.run(name), lambda r: tasks_of(r)["first"]["phase"] == "Succeeded"),
        message="the running task to finish",
    )
    assert phase_of(suspended) == "Suspended"
    assert tasks_of(suspended)["second"]["phase"] == "Pending"  # held while suspended
    code, out, _ = baton("resume", name)
    assert (code, out) == (0, f"pipelinerun.{GROUP}/{name} resumed (its tasks start again)\n")
    assert phase_of(finished(api, name)) == "Succeeded"
    wait_for(lambda: "(resumed by devcluster-admin at " in told(api), message="the actor in an Event")
    assert "run suspended: " in told(api) and "(suspended by devcluster-admin at " in told(api)
    code, _, err = baton("resume", name)
    assert code == 1 and "has already finished (Succeeded): there is nothing to resume" in err
