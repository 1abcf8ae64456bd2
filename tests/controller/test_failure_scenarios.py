"""Failures, end to end: the real operator on the dev cluster (whose Jobs run local processes).

Retries with their backoff, a task's and a run's timeout, every trigger rule, finally after success
and after failure, cancel, suspend and resume, retry-of, and an operator restart while a task waits
for its next attempt. Commands are `sh -c …` so each attempt costs a few milliseconds; backoffs are
fractions of a second.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from operator_kit import Api, phase_of, tasks_of, when

from baton import GROUP, VERSION
from baton.devcluster.cluster import DevCluster
from baton.kube.labels import ATTEMPT, RUN, TASK
from support import wait_for

FINISHED = ("Succeeded", "Failed", "Cancelled")
StartOperator = Callable[[str], Any]


def pipeline(name: str, tasks: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"taskDefaults": {"image": "busybox:1.36"}, "tasks": tasks, **spec},
    }


def sh(name: str, script: str = "true", *after: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": ["sh", "-c", script], "dependsOn": list(after), **extra}


def finished(api: Api, name: str, timeout: float = 30) -> dict[str, Any]:
    return dict(
        wait_for(
            lambda: when(api.run(name), lambda r: phase_of(r) in FINISHED),
            timeout=timeout,
            message=f"run {name} to finish",
        )
    )


def patch_run(k8s_client: Any, api: Api, name: str, spec: dict[str, Any]) -> None:
    """`kubectl patch pipelinerun NAME --type merge -p '{"spec": …}'`, through the official client."""
    from kubernetes import client

    client.CustomObjectsApi(k8s_client).patch_namespaced_custom_object(
        GROUP, VERSION, api.namespace, "pipelineruns", name, {"spec": spec}
    )


def jobs_of(api: Api, run: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (j["metadata"]["labels"][TASK], int(j["metadata"]["labels"][ATTEMPT])): j
        for j in api.jobs()
        if j["metadata"]["labels"][RUN] == run
    }


def transitions(devcluster: DevCluster, namespace: str, job: str) -> dict[str, float]:
    """When the dev cluster's Job controller saw the Job created, failed, … (epoch seconds)."""
    return {
        r.transition: r.ts_ms / 1000
        for r in devcluster.audit.records()
        if getattr(r, "kind", None) == "Job" and r.namespace == namespace and r.name == job
    }


def condition(run: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")


# -- retries ---------------------------------------------------------------------------------------


def test_a_flaky_task_succeeds_on_its_third_attempt_with_the_backoff_observed(
    api: Api, start_operator: StartOperator, devcluster: DevCluster
) -> None:
    start_operator(api.namespace)
    flaky = sh(
        "flaky",
        'echo "attempt $BATON_ATTEMPT" >&2; [ "$BATON_ATTEMPT" -ge 3 ]',
        retries={"limit": 3, "backoff": {"initialSeconds": 0.3, "factor": 2}},
    )
    api.apply(pipeline("flaky", [flaky, sh("after", "true", "flaky")]))
    name = api.start_run("flaky")
    waiting = wait_for(
        lambda: when(tasks_of(api.run(name)).get("flaky") or {}, lambda t: t.get("nextAttemptAt")),
        message="flaky to wait for its second attempt",
    )
    assert (waiting["phase"], waiting["attempts"], waiting["reason"], waiting["exitCode"]) == (
        "Pending",
        1,
        "Failed",
        1,
    )
    assert waiting["message"].startswith("attempt 1 of 4 failed: exit code 1")
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    tasks = tasks_of(run)
    assert tasks["flaky"]["attempts"] == 3 and tasks["after"]["phase"] == "Succeeded"
    jobs = jobs_of(api, name)
    assert sorted(jobs) == [("after", 1), ("flaky", 1), ("flaky", 2), ("flaky", 3)]
    assert [jobs[("flaky", n)]["metadata"]["name"] for n in (1, 2, 3)] == [
        f"{name}-flaky-{n}" for n in (1, 2, 3)
    ]
    # Each attempt's Job is created no sooner than the backoff after the previous one failed.
    for attempt, backoff in ((2, 0.3), (3, 0.6)):
        failed = transitions(devcluster, api.namespace, f"{name}-flaky-{attempt - 1}")["Failed"]
        created = transitions(devcluster, api.namespace, f"{name}-flaky-{attempt}")["Created"]
        assert created - failed >= backoff - 0.02, (attempt, created - failed)
        assert created - failed < backoff + 2.5, (attempt, created - failed)
    wait_for(
        lambda: any(
            "will be retried" in e["message"] for e in api.events() if e["involvedObject"]["name"] == name
        ),
        message="an Event for the retries",
    )


def test_an_operator_restart_keeps_the_retry_schedule(
    api: Api, start_operator: StartOperator, devcluster: DevCluster
) -> None:
    operator = start_operator(api.namespace)
    api.apply(
        pipeline(
            "patient",
            [
                sh(
                    "once",
                    '[ "$BATON_ATTEMPT" -ge 2 ]',
                    retries={"limit": 1, "backoff": {"initialSeconds": 2}},
                )
            ],
        )
    )
    name = api.start_run("patient")
    waiting = wait_for(
        lambda: when(tasks_of(api.run(name)).get("once") or {}, lambda t: t.get("nextAttemptAt")),
        message="the task to wait for its retry",
    )
    operator.stop()
    start_operator(api.namespace)  # a new process: only the status remembers the schedule
    restarted = time.time()
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    due = datetime.fromisoformat(waiting["nextAttemptAt"].replace("Z", "+00:00")).timestamp()
    assert restarted < due, "the restart should happen while the task waits"
    created = transitions(devcluster, api.namespace, f"{name}-once-2")["Created"]
    assert due - 0.05 <= created < due + 3, created - due
    assert sorted(jobs_of(api, name)) == [("once", 1), ("once", 2)]


# -- timeouts --------------------------------------------------------------------------------------


def test_a_task_timeout_fails_the_attempt_with_deadline_exceeded(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("slow-task", [sh("slow", "sleep 30", timeoutSeconds=1), sh("after", "true", "slow")]))
    name = api.start_run("slow-task")
    run = finished(api, name, timeout=20)
    tasks = tasks_of(run)
    assert (tasks["slow"]["phase"], tasks["slow"]["reason"]) == ("Failed", "DeadlineExceeded"), tasks
    assert (tasks["after"]["phase"], tasks["after"]["reason"]) == ("Skipped", "UpstreamFailed")
    assert jobs_of(api, name)[("slow", 1)]["spec"]["template"]["spec"]["activeDeadlineSeconds"] == 1
    assert phase_of(run) == "Failed"


def test_a_run_timeout_deletes_running_jobs_skips_the_rest_runs_finally_and_fails_with_reason_timeout(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "slow-run",
            [sh("quick"), sh("slow", "sleep 30"), sh("after", "true", "slow")],
            timeoutSeconds=60,
            **{"finally": [sh("notify", "true")]},
        )
    )
    run = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "slow-run-"},
            "spec": {"pipelineRef": {"name": "slow-run"}, "timeoutSeconds": 2},  # overrides the 60 s
        }
    )
    name = run["metadata"]["name"]
    run = finished(api, name, timeout=20)
    assert phase_of(run) == "Failed"
    assert condition(run)["reason"] == "Timeout"
    assert condition(run)["message"].startswith("timed out: the run's timeout of 2s passed")
    tasks = tasks_of(run)
    phases = {n: (t["phase"], t.get("reason")) for n, t in tasks.items()}
    assert phases == {
        "quick": ("Succeeded", None),
        "slow": ("Cancelled", "RunTimeout"),
        "after": ("Skipped", "RunTimeout"),
        "notify": ("Succeeded", None),  # the finally tasks have a budget of their own
    }
    wait_for(lambda: ("slow", 1) not in jobs_of(api, name), message="the slow Job to be deleted")


# -- trigger rules and finally ---------------------------------------------------------------------

RULES = [
    sh("ok"),
    sh("bad", "exit 1"),
    sh("all-succeeded", "true", "ok", "bad"),
    sh("all-done", "true", "ok", "bad", when="allDone"),
    sh("any-failed", "true", "ok", "bad", when="anyFailed"),
    sh("any-failed-not", "true", "ok", when="anyFailed"),
    sh("all-failed", "true", "bad", when="allFailed"),
    sh("all-failed-not", "true", "ok", "bad", when="allFailed"),
    sh("none-failed", "true", "ok", when="noneFailed"),
    sh("none-failed-not", "true", "ok", "bad", when="noneFailed"),
    sh("always", "true", "bad", when="always"),
    sh("after-skip", "true", "any-failed-not"),
]


def test_every_trigger_rule_and_finally_after_a_failure(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    report = sh("report", 'echo "$0 $1"', "handle")
    report["command"] = ["sh", "-c", "true", "$(run.status)", "$(tasks.bad.status)"]
    api.apply(
        pipeline(
            "rules",
            RULES,
            **{
                "finally": [
                    sh("handle", "true", when="anyFailed"),
                    sh("cleanup", "true", when="noneFailed"),
                    report,
                ]
            },
        )
    )
    name = api.start_run("rules")
    run = finished(api, name)
    phases = {n: (t["phase"], t.get("reason")) for n, t in tasks_of(run).items()}
    assert phases == {
        "ok": ("Succeeded", None),
        "bad": ("Failed", "Failed"),
        "all-succeeded": ("Skipped", "UpstreamFailed"),
        "all-done": ("Succeeded", None),
        "any-failed": ("Succeeded", None),
        "any-failed-not": ("Skipped", "WhenNotMet"),
        "all-failed": ("Succeeded", None),
        "all-failed-not": ("Skipped", "WhenNotMet"),
        "none-failed": ("Succeeded", None),
        "none-failed-not": ("Skipped", "WhenNotMet"),
        "always": ("Succeeded", None),
        "after-skip": ("Skipped", "UpstreamSkipped"),
        "handle": ("Succeeded", None),
        "cleanup": ("Skipped", "WhenNotMet"),
        "report": ("Succeeded", None),
    }, phases
    assert phase_of(run) == "Failed" and condition(run)["message"].startswith('task "bad" failed')
    command = jobs_of(api, name)[("report", 1)]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["sh", "-c", "true", "Failed", "Failed"]
    # Finally tasks started only after every other task had ended.
    tasks = tasks_of(run)
    ends = [t.get("completionTime", "") for n, t in tasks.items() if n not in ("handle", "cleanup", "report")]
    last_end = max(ends)
    assert tasks["handle"]["startTime"] >= last_end


def test_finally_after_success_reads_the_outcome(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    notify = sh("notify")
    notify["command"] = [
        "sh",
        "-c",
        '[ "$0" = Succeeded ] && [ "$1" = Succeeded ]',
        "$(run.status)",
        "$(tasks.load.status)",
    ]
    api.apply(pipeline("happy", [sh("extract"), sh("load", "true", "extract")], **{"finally": [notify]}))
    name = api.start_run("happy")
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    assert {n: t["phase"] for n, t in tasks_of(run).items()} == dict.fromkeys(
        ("extract", "load", "notify"), "Succeeded"
    )


def test_fail_fast(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "fail-fast",
            [sh("bad", "exit 1"), sh("gate", "sleep 0.5"), sh("later", "true", "gate")],
            failurePolicy="FailFast",
            **{"finally": [sh("notify")]},
        )
    )
    run = finished(api, api.start_run("fail-fast"))
    phases = {n: (t["phase"], t.get("reason")) for n, t in tasks_of(run).items()}
    assert phases == {
        "bad": ("Failed", "Failed"),
        "gate": ("Succeeded", None),  # it was running: it finishes
        "later": ("Skipped", "FailFast"),
        "notify": ("Succeeded", None),
    }


# -- cancel, suspend -------------------------------------------------------------------------------


def test_cancel_mid_run_with_a_kubectl_patch(
    api: Api, start_operator: StartOperator, k8s_client: Any
) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "cancel-me",
            [sh("first"), sh("long", "sleep 30", "first"), sh("after", "true", "long")],
            **{"finally": [sh("notify")]},
        )
    )
    name = api.start_run("cancel-me")
    wait_for(lambda: tasks_of(api.run(name)).get("long", {}).get("phase") == "Running", message="long to run")
    patch_run(k8s_client, api, name, {"cancel": {"message": "wrong input"}})
    run = finished(api, name, timeout=15)
    assert phase_of(run) == "Cancelled"
    assert (condition(run)["status"], condition(run)["reason"]) == ("False", "Cancelled")
    phases = {n: (t["phase"], t.get("reason")) for n, t in tasks_of(run).items()}
    assert phases == {
        "first": ("Succeeded", None),
        "long": ("Cancelled", "Cancelled"),
        "after": ("Skipped", "Cancelled"),
        "notify": ("Succeeded", None),
    }
    assert tasks_of(run)["long"]["message"] == "stopped: the run was cancelled: wrong input"
    wait_for(lambda: ("long", 1) not in jobs_of(api, name), message="the long Job to be deleted")
    wait_for(
        lambda: any(
            "run cancelled: wrong input" in e["message"]
            for e in api.events()
            if e["involvedObject"]["name"] == name
        ),
        message="an Event for the cancel",
    )


def test_suspend_and_resume(api: Api, start_operator: StartOperator, k8s_client: Any) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("pausable", [sh("first", "sleep 0.3"), sh("second", "true", "first")]))
    name = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "pausable-"},
            "spec": {"pipelineRef": {"name": "pausable"}, "suspend": True},
        }
    )["metadata"]["name"]
    run = wait_for(lambda: when(api.run(name), lambda r: phase_of(r) == "Suspended"), message="Suspended")
    assert jobs_of(api, name) == {}
    patch_run(k8s_client, api, name, {"suspend": False})  # resume
    wait_for(lambda: tasks_of(api.run(name)).get("first", {}).get("phase") == "Running", message="first")
    patch_run(k8s_client, api, name, {"suspend": True})  # first finishes, second must not start
    run = wait_for(
        lambda: when(
            api.run(name),
            lambda r: phase_of(r) == "Suspended" and tasks_of(r)["first"]["phase"] == "Succeeded",
        ),
        message="first to finish while suspended",
    )
    assert tasks_of(run)["second"]["phase"] == "Pending" and ("second", 1) not in jobs_of(api, name)
    patch_run(k8s_client, api, name, {"suspend": False})
    run = finished(api, name)
    assert phase_of(run) == "Succeeded"


# -- retry from the point of failure ---------------------------------------------------------------


def test_retry_of_reuses_what_succeeded(api: Api, start_operator: StartOperator, tmp_path: Path) -> None:
    start_operator(api.namespace)
    flag = tmp_path / "input-fixed"
    api.apply(
        pipeline(
            "etl",
            [
                sh("extract"),
                sh("transform", f"test -f {shlex.quote(str(flag))}", "extract"),
                sh("load", "true", "transform"),
                sh("audit", "true", "extract"),
            ],
            **{"finally": [sh("notify")]},
        )
    )
    old = api.start_run("etl")
    failed = finished(api, old)
    assert phase_of(failed) == "Failed"
    flag.touch()  # the cause is fixed
    retry = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "etl-retry-"},
            "spec": {"retryOf": old},
        }
    )["metadata"]["name"]
    run = finished(api, retry)
    assert phase_of(run) == "Succeeded", run["status"]
    tasks = tasks_of(run)
    assert {n for n, t in tasks.items() if t.get("reason") == "Reused"} == {"extract", "audit"}
    assert tasks["extract"]["reusedFrom"] == old and run["status"]["pipeline"] == "etl"
    assert sorted(jobs_of(api, retry)) == [("load", 1), ("notify", 1), ("transform", 1)]
    assert api.run(old)["status"] == failed["status"]  # the old run is left as it was


def test_a_retry_of_an_unknown_run_fails_at_once(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    name = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "ghost-retry-"},
            "spec": {"retryOf": "ghost"},
        }
    )["metadata"]["name"]
    run = finished(api, name)
    assert phase_of(run) == "Failed" and condition(run)["reason"] == "RetryOfNotFound"
    assert 'run "ghost" to retry (retryOf) not found' in condition(run)["message"]
    wait_for(
        lambda: any(e["type"] == "Warning" and "ghost" in e["message"] for e in api.events()),
        message="a Warning Event",
    )
