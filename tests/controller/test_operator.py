"""The operator's guarantees: invalid input is reported, restarts lose and duplicate nothing,
Jobs created before a crash are adopted, and each task costs few API requests."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, RunningOperator, phase_of, tasks_of, when

from baton import GROUP, VERSION
from baton.api.pipeline import PipelineSpec
from baton.cli.dev import install_crds
from baton.core.start import start_run
from baton.core.state import RunMeta, RunState
from baton.devcluster.cluster import DevCluster
from baton.kube.labels import TASK
from baton.kube.render import render_job
from support import wait_for

FINISHED = ("Succeeded", "Failed")


def pipeline(name: str, tasks: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"taskDefaults": {"image": "python:3.12-slim"}, "tasks": tasks, **spec},
    }


def task(name: str, *after: str, command: str = "pass") -> dict[str, Any]:
    return {"name": name, "command": ["python3", "-c", command], "dependsOn": list(after)}


def chain(length: int, command: str = "pass") -> list[dict[str, Any]]:
    return [
        task(f"step-{i:03}", *([f"step-{i - 1:03}"] if i else []), command=command) for i in range(length)
    ]


def finished(api: Api, name: str, timeout: float = 90) -> dict[str, Any]:
    return dict(
        wait_for(
            lambda: when(api.run(name), lambda r: phase_of(r) in FINISHED),
            timeout=timeout,
            message=f"run {name} to finish",
        )
    )


def test_invalid_pipeline_is_not_ready_and_its_runs_fail_at_once(
    api: Api, start_operator: Callable[[str], Any]
) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline("broken", [task("extract", "load"), task("load", "extract"), task("report", "transfrom")])
    )
    ready = wait_for(
        lambda: when(
            api.pipeline("broken"),
            lambda p: any(c["type"] == "Ready" for c in (p.get("status") or {}).get("conditions") or ()),
        ),
        message="the Pipeline's Ready condition",
    )
    condition = next(c for c in ready["status"]["conditions"] if c["type"] == "Ready")
    assert (condition["status"], condition["reason"]) == ("False", "Invalid")
    assert (
        "extract -> load -> extract" in condition["message"]
        or "load -> extract -> load" in condition["message"]
    )
    assert '"transfrom"' in condition["message"]
    name = api.start_run("broken")
    run = finished(api, name)
    assert phase_of(run) == "Failed"
    succeeded = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    assert succeeded["reason"] == "Invalid" and "transfrom" in succeeded["message"]
    assert api.jobs() == [], "nothing is created for an invalid run"
    # The Warning Event follows the status write that failed the run.
    warnings = wait_for(
        lambda: [e for e in api.events() if e["involvedObject"]["name"] == name and e["type"] == "Warning"],
        message="the run's Warning Event",
    )
    assert "transfrom" in warnings[0]["message"]


def test_unknown_and_missing_params_fail_the_run(api: Api, start_operator: Callable[[str], Any]) -> None:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "needs-date", [task("extract", command="print('$(params.date)')")], params=[{"name": "date"}]
        )
    )
    missing = finished(api, api.start_run("needs-date"))
    assert phase_of(missing) == "Failed" and '"date"' in str(missing["status"]["conditions"])
    unknown = finished(api, api.start_run("needs-date", {"date": "2026-01-01", "colour": "red"}))
    assert phase_of(unknown) == "Failed" and '"colour"' in str(unknown["status"]["conditions"])
    good = finished(api, api.start_run("needs-date", {"date": "2026-01-01"}))
    assert phase_of(good) == "Succeeded"


def test_restart_mid_run_duplicates_nothing_and_loses_nothing(
    api: Api, start_operator: Callable[[str], Any], devcluster: DevCluster
) -> None:
    operator = start_operator(api.namespace)
    api.apply(pipeline("slow-chain", chain(6, command="import time; time.sleep(0.4)")))
    name = api.start_run("slow-chain")
    wait_for(
        lambda: sum(1 for t in tasks_of(api.run(name)).values() if t["phase"] == "Succeeded") >= 2,
        timeout=60,
        message="two tasks to succeed",
    )
    operator.stop()
    # While the operator is down a Job finishes; the next operator must see it (level-triggered).
    wait_for(
        lambda: any(
            j.get("status", {}).get("succeeded")
            for j in api.jobs()
            if j["metadata"]["labels"][TASK] == "step-002"
        ),
        timeout=30,
        message="step-002 to finish",
    )
    start_operator(api.namespace)
    run = finished(api, name)
    assert phase_of(run) == "Succeeded", run["status"]
    per_task = Counter(j["metadata"]["labels"][TASK] for j in api.jobs())
    assert per_task == {f"step-{i:03}": 1 for i in range(6)}, per_task
    created = [
        r
        for r in devcluster.audit.requests("baton-operator")
        if r.verb == "create"
        and r.resource == "jobs.batch"
        and r.namespace == api.namespace
        and r.code == 201
    ]
    assert len(created) == 6


def test_a_job_created_before_a_crash_is_adopted(
    api: Api, start_operator: Callable[[str], Any], devcluster: DevCluster
) -> None:
    """The operator died after creating a Job and before recording it in the run's status."""
    api.apply(pipeline("adopt", [task("only", command="print('adopted')")]))
    run = api.start_run("adopt")
    stored = api.run(run)
    spec = PipelineSpec.model_validate(api.pipeline("adopt")["spec"])  # type: ignore[index]
    meta = RunMeta.from_metadata(stored["metadata"])
    state = RunState(meta, start_run(meta, stored["spec"], spec, datetime.now(UTC)).status)
    job = render_job(meta, "adopt", spec.tasks[0], spec.task_defaults, state.params, 1)
    api.apply(job)
    start_operator(api.namespace)
    finished_run = finished(api, run)
    assert phase_of(finished_run) == "Succeeded"
    assert [j["metadata"]["name"] for j in api.jobs()] == [job["metadata"]["name"]]


@pytest.fixture(scope="module")
def instant_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevCluster, Path]]:
    cluster = DevCluster(instant=True, workdir=tmp_path_factory.mktemp("instant"))
    with cluster.running():
        cluster.sync(install_crds, cluster)
        yield cluster, cluster.write_kubeconfig(tmp_path_factory.mktemp("instant-kube") / "config")


def test_api_requests_per_task(
    instant_cluster: tuple[DevCluster, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, kubeconfig = instant_cluster
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    api = Api(cluster, "default")
    length = 40
    api.apply(pipeline("chain", chain(length)))
    operator = RunningOperator("default").start()
    try:
        name = api.start_run("chain")
        run = finished(api, name, timeout=120)
    finally:
        operator.stop()
    assert phase_of(run) == "Succeeded", run["status"]
    writes = [r for r in cluster.audit.requests("baton-operator") if r.verb not in ("watch", "list")]
    by_verb = Counter(f"{r.verb} {r.resource}" for r in writes)
    per_task = len(writes) / length
    # The budget is at most 3 requests per task, aiming at 2; watches and the initial lists are
    # free. One create per Job, and progress-only status writes coalesced per run, keep it under 2.
    assert per_task <= 2, f"{per_task:.2f} requests per task: {dict(by_verb)}"
    assert by_verb["create jobs.batch"] == length
    assert by_verb["patch pipelineruns.baton.dev"] < length, "progress writes are coalesced"
    statuses = {t["phase"] for t in tasks_of(run).values()}
    assert statuses == {"Succeeded"} and run["status"]["progress"] == f"{length}/{length}"


def test_editing_the_pipeline_never_changes_a_run_in_flight(
    api: Api, start_operator: Callable[[str], Any], devcluster: DevCluster
) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("evolving", chain(3, command="import time; time.sleep(0.3)")))
    name = api.start_run("evolving")
    wait_for(lambda: phase_of(api.run(name)) == "Running", message="the run to start")
    rt = devcluster.registry.get(GROUP, VERSION, "pipelines")
    assert rt is not None

    def edit() -> None:  # read and write in one step on the cluster's loop: the operator patches status too
        stored = devcluster.store.get(rt, api.namespace, "evolving")
        edited = {**stored, "spec": {**stored["spec"], "tasks": [task("replacement")]}}
        devcluster.store.update(rt, api.namespace, "evolving", edited)

    devcluster.sync(edit)
    run = finished(api, name)
    assert phase_of(run) == "Succeeded"
    assert list(tasks_of(run)) == ["step-000", "step-001", "step-002"]
    assert [t["name"] for t in run["status"]["pipelineSpec"]["tasks"]] == ["step-000", "step-001", "step-002"]
    later = finished(api, api.start_run("evolving"))
    assert list(tasks_of(later)) == ["replacement"], "a new run takes the edited spec"


def test_liveness_endpoint_answers(
    api: Api, crds_installed: None, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    operator = RunningOperator(api.namespace, liveness_endpoint=f"http://127.0.0.1:{port}/healthz").start()
    try:
        body = wait_for(lambda: _get(f"http://127.0.0.1:{port}/healthz"), message="the liveness endpoint")
        assert "queue" in body
    finally:
        operator.stop()


def _get(url: str) -> str | None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode() if response.status == 200 else None
    except (urllib.error.URLError, ConnectionError):
        return None


def test_a_broken_status_is_reported_not_retried_forever(
    api: Api, start_operator: Callable[[str], Any], devcluster: DevCluster
) -> None:
    """Someone overwrote a run's status: the operator says so with a Warning Event and does not guess."""
    start_operator(api.namespace)
    api.apply(pipeline("tampered", chain(2, command="import time; time.sleep(0.5)")))
    name = api.start_run("tampered")
    wait_for(lambda: phase_of(api.run(name)) == "Running", message="the run to start")
    rt = devcluster.registry.get(GROUP, VERSION, "pipelineruns")
    assert rt is not None
    broken = {**api.run(name), "status": {"phase": "Running"}}  # no frozen spec any more
    devcluster.sync(devcluster.store.update, rt, api.namespace, name, broken, subresource="status")
    warning = wait_for(
        lambda: [
            e
            for e in api.events()
            if e["reason"] == "StatusUnreadable" and e["involvedObject"]["name"] == name
        ],
        message="a StatusUnreadable Event",
    )
    assert warning[0]["type"] == "Warning" and "pipelineSpec" in warning[0]["message"]
    assert phase_of(api.run(name)) == "Running" and "tasks" not in api.run(name)["status"]


def test_a_restart_reads_runs_that_ended_before_they_started_as_finished(
    api: Api, start_operator: Callable[[str], Any], caplog: pytest.LogCaptureFixture
) -> None:
    operator = start_operator(api.namespace)
    api.apply(pipeline("needs-it", [task("a")], params=[{"name": "it"}]))
    invalid = finished(api, api.start_run("needs-it"))  # a required param is missing: fails at once
    assert phase_of(invalid) == "Failed"
    operator.stop()
    caplog.clear()
    start_operator(api.namespace)
    # A run started after the restart has finished once the restarted operator is through its start-up
    # listing, which held the finished invalid run.
    assert phase_of(finished(api, api.start_run("needs-it", {"it": "x"}))) == "Succeeded"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert not [e for e in api.events() if e["reason"] == "StatusUnreadable"]


def test_a_run_says_at_once_that_it_waits_for_its_pipeline(
    api: Api, start_operator: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from baton.controller import reconciler

    monkeypatch.setattr(reconciler, "PIPELINE_GRACE_SECONDS", 3.0)
    start_operator(api.namespace)
    name = api.start_run("late")
    waiting = wait_for(lambda: when(api.run(name), phase_of), message="the run's first status")
    condition = waiting["status"]["conditions"][0]
    assert (waiting["status"]["phase"], waiting["status"]["pipeline"]) == ("Pending", "late")
    assert (condition["status"], condition["reason"]) == ("Unknown", "WaitingForPipeline")
    assert condition["message"].startswith(
        f'waiting for pipeline "late" to appear in namespace "{api.namespace}"'
    )
    api.apply(pipeline("late", [task("a")]))  # it comes in time: the run starts as any other
    assert phase_of(finished(api, name)) == "Succeeded"
    never = finished(api, api.start_run("never"))
    condition = never["status"]["conditions"][0]
    assert (never["status"]["phase"], condition["reason"]) == ("Failed", "PipelineNotFound")
