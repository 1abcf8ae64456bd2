"""The dev cluster's Job controller, with real processes (and in instant mode, without any)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from workload_kit import PY, Workload, alive, container_status, eventually, job_body, pid_of, running

from baton.devcluster.store import WatchEvent

HELLO = [PY, "-c", "print('hi')"]
FAIL = [PY, "-c", "import sys; sys.exit(4)"]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Workload]:
    async with running(tmp_path) as workload:
        yield workload


def job(cluster: Workload, body: dict[str, Any]) -> dict[str, Any]:
    return cluster.create("batch", "jobs", "default", body)


def condition_types(job_obj: dict[str, Any]) -> list[str]:
    return [c["type"] for c in job_obj["status"]["conditions"]]


async def test_a_job_runs_a_pod_to_completion(cluster: Workload) -> None:
    created = job(cluster, job_body("hello", HELLO))
    done = await cluster.job_condition("hello", "Complete")
    status = done["status"]
    assert condition_types(done) == ["SuccessCriteriaMet", "Complete"]
    complete = status["conditions"][1]
    assert (complete["reason"], complete["message"]) == (
        "CompletionsReached",
        "Reached expected number of succeeded pods",
    )
    assert status["succeeded"] == 1 and "failed" not in status and "active" not in status
    assert (status["ready"], status["terminating"], status["uncountedTerminatedPods"]) == (0, 0, {})
    assert status["startTime"] and status["completionTime"]
    [pod] = cluster.pods("hello")
    meta, uid = pod["metadata"], created["metadata"]["uid"]
    assert meta["name"].startswith("hello-") and len(meta["name"]) == len("hello-") + 5
    assert meta["labels"]["batch.kubernetes.io/controller-uid"] == meta["labels"]["controller-uid"] == uid
    assert meta["labels"]["batch.kubernetes.io/job-name"] == meta["labels"]["job-name"] == "hello"
    assert meta["annotations"]["batch.kubernetes.io/job-tracking"] == ""
    assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert created["metadata"]["labels"]["controller-uid"] == uid
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "hello",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    terminated = container_status(pod)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert await cluster.log(meta["name"]) == b"hi\n"
    events = cluster.events("hello")
    assert ("SuccessfulCreate", f"Created pod: {meta['name']}") in events and (
        "Completed",
        "Job completed",
    ) in events
    transitions = [t.transition for t in cluster.audit.transitions("Job")]
    assert transitions == ["Created", "Started", "Complete"]


async def test_backoff_limit_zero_fails_on_the_first_failure(cluster: Workload) -> None:
    job(cluster, job_body("once", FAIL, backoffLimit=0))
    done = await cluster.job_condition("once", "Failed")
    assert condition_types(done) == ["FailureTarget", "Failed"]
    failed = done["status"]["conditions"][1]
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert done["status"]["failed"] == 1 and "completionTime" not in done["status"]
    [pod] = cluster.pods("once")
    assert container_status(pod)["state"]["terminated"]["exitCode"] == 4
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in cluster.events("once")
    assert [t.transition for t in cluster.audit.transitions("Job")][-1] == "Failed"


async def test_backoff_limit_two_makes_three_pods(cluster: Workload) -> None:
    job(cluster, job_body("thrice", FAIL, backoffLimit=2))
    done = await cluster.job_condition("thrice", "Failed")
    assert done["status"]["failed"] == 3
    pods = cluster.pods("thrice")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Failed" for p in pods)


async def test_on_failure_restarts_count_against_the_backoff_limit(cluster: Workload) -> None:
    job(cluster, job_body("restarts", FAIL, restart="OnFailure", backoffLimit=1))
    done = await cluster.job_condition("restarts", "Failed")
    assert done["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    assert cluster.pods("restarts") == []  # the failed Job's active Pod was deleted


async def test_parallelism_and_completions(cluster: Workload) -> None:
    job(cluster, job_body("many", HELLO, parallelism=2, completions=3))
    done = await cluster.job_condition("many", "Complete")
    assert done["status"]["succeeded"] == 3
    assert len(cluster.pods("many")) == 3


async def test_active_deadline_kills_the_pods(cluster: Workload) -> None:
    job(cluster, job_body("slow", ["sleep", "60"], activeDeadlineSeconds=1))
    [pod] = await eventually(lambda: cluster.pods("slow"))
    running_pod = await cluster.pod_phase(pod["metadata"]["name"], "Running")
    pid = pid_of(running_pod)
    done = await cluster.job_condition("slow", "Failed", within=5)
    failed = done["status"]["conditions"][-1]
    assert (failed["reason"], failed["message"]) == (
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    )
    assert cluster.pods("slow") == []
    await eventually(lambda: not alive(pid), within=5, what="the pod's process to end")
    assert ("DeadlineExceeded", "Job was active longer than specified deadline") in cluster.events("slow")


async def test_deleting_a_job_in_the_background_removes_pods_and_processes(cluster: Workload) -> None:
    job(cluster, job_body("doomed", ["sleep", "60"]))
    [pod] = await eventually(lambda: cluster.pods("doomed"))
    pid = pid_of(await cluster.pod_phase(pod["metadata"]["name"], "Running"))
    cluster.store.delete(cluster.rt("batch", "jobs"), "default", "doomed", propagation="Background")
    await eventually(lambda: not cluster.pods("doomed"), what="pods collected")
    await eventually(lambda: not alive(pid), within=5, what="process killed")
    assert [t.transition for t in cluster.audit.transitions("Job")][-1] == "Deleted"


async def test_suspend_and_resume(cluster: Workload) -> None:
    job(cluster, job_body("paused", HELLO, suspend=True))
    suspended = await cluster.job_condition("paused", "Suspended")
    condition = suspended["status"]["conditions"][0]
    assert (condition["reason"], condition["message"]) == ("JobSuspended", "Job suspended")
    assert "startTime" not in suspended["status"] and cluster.pods("paused") == []
    jobs = cluster.rt("batch", "jobs")
    cluster.store.update(
        jobs, "default", "paused", {**suspended, "spec": {**suspended["spec"], "suspend": False}}
    )
    done = await cluster.job_condition("paused", "Complete")
    resumed = next(c for c in done["status"]["conditions"] if c["type"] == "Suspended")
    assert (resumed["status"], resumed["reason"]) == ("False", "JobResumed")
    assert done["status"]["startTime"]


async def test_suspending_a_running_job_deletes_its_pods(cluster: Workload) -> None:
    job(cluster, job_body("interrupted", ["sleep", "60"]))
    [pod] = await eventually(lambda: cluster.pods("interrupted"))
    pid = pid_of(await cluster.pod_phase(pod["metadata"]["name"], "Running"))
    current = cluster.job("interrupted")
    assert current is not None
    jobs = cluster.rt("batch", "jobs")
    cluster.store.update(
        jobs, "default", "interrupted", {**current, "spec": {**current["spec"], "suspend": True}}
    )
    suspended = await cluster.job_condition("interrupted", "Suspended")
    assert cluster.pods("interrupted") == [] and "failed" not in suspended["status"]
    await eventually(lambda: not alive(pid), within=5, what="process killed")


async def test_ttl_after_finished_deletes_the_job_and_its_pods(cluster: Workload) -> None:
    job(cluster, job_body("shortlived", HELLO, ttlSecondsAfterFinished=0))
    await eventually(lambda: cluster.job("shortlived") is None, what="job deleted")
    await eventually(lambda: not cluster.pods("shortlived"), what="pods collected")
    assert [t.transition for t in cluster.audit.transitions("Job")] == [
        "Created",
        "Started",
        "Complete",
        "Deleted",
    ]


async def test_a_pod_deleted_by_someone_else_counts_as_failed_and_is_replaced(cluster: Workload) -> None:
    job(cluster, job_body("replaced", ["sleep", "60"], backoffLimit=3))
    [first] = await eventually(lambda: cluster.pods("replaced"))
    cluster.store.delete(cluster.rt("", "pods"), "default", first["metadata"]["name"])
    [second] = await eventually(
        lambda: [p for p in cluster.pods("replaced") if p["metadata"]["uid"] != first["metadata"]["uid"]]
    )
    current = await eventually(
        lambda: (j := cluster.job("replaced")) and j["status"].get("failed") == 1 and j
    )
    assert current["status"]["active"] == 1 and second["metadata"]["name"] != first["metadata"]["name"]


# -- instant mode ----------------------------------------------------------------------------------------


@pytest.fixture
async def instant(tmp_path: Path) -> AsyncIterator[Workload]:
    async with running(tmp_path, instant=True, kubelet=False) as workload:
        yield workload


async def test_instant_mode_completes_a_job_in_one_write_without_pods(instant: Workload) -> None:
    seen = instant.store.subscribe()
    for i in range(20):
        job(instant, job_body(f"quick{i}", HELLO))
    for i in range(20):
        done = await instant.job_condition(f"quick{i}", "Complete")
        status = done["status"]
        assert status["startTime"] == status["completionTime"] and status["succeeded"] == 1
        assert condition_types(done) == ["SuccessCriteriaMet", "Complete"]
    await asyncio.sleep(0)  # let the controller see its own writes come back (they must cause nothing)
    await eventually(lambda: instant.jobs._queue is not None and instant.jobs._queue.empty())
    events: list[WatchEvent] = []
    while not seen.empty():
        events.append(seen.get_nowait())
    writes = [(e.type, e.group_resource) for e in events]
    assert writes.count(("ADDED", ("batch", "jobs"))) == 20
    assert writes.count(("MODIFIED", ("batch", "jobs"))) == 20  # exactly one status write per Job
    assert len(writes) == 40 and instant.pods() == []
    transitions = [t.transition for t in instant.audit.transitions("Job") if t.name == "quick0"]
    assert transitions == ["Created", "Started", "Complete"]


async def test_instant_exit_code_annotation_fails_the_job(instant: Workload) -> None:
    body = job_body("broken", HELLO, backoffLimit=2)
    body["metadata"]["annotations"] = {"devcluster.baton.dev/instant-exit-code": "3"}
    job(instant, body)
    done = await instant.job_condition("broken", "Failed")
    assert condition_types(done) == ["FailureTarget", "Failed"]
    assert done["status"]["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    assert done["status"]["failed"] == 3 and "succeeded" not in done["status"]


async def test_instant_mode_honours_suspend_and_ttl(instant: Workload) -> None:
    job(instant, job_body("held", HELLO, suspend=True, ttlSecondsAfterFinished=0))
    suspended = await instant.job_condition("held", "Suspended")
    jobs = instant.rt("batch", "jobs")
    instant.store.update(
        jobs, "default", "held", {**suspended, "spec": {**suspended["spec"], "suspend": False}}
    )
    await eventually(lambda: instant.job("held") is None, what="job deleted after its TTL")
