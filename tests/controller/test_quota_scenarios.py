"""A ResourceQuota, end to end: refused Jobs wait and are tried again, refused Pods do not eat the timeout.

The dev cluster enforces `count/jobs.batch` and `pods` as the apiserver's quota plugin does (403
"exceeded quota"). Nothing here fails a task for quota: the run waits, says why, and finishes once
the quota is raised.
"""

from __future__ import annotations

import time
from typing import Any

from operator_kit import Api, phase_of, tasks_of, when
from test_failure_scenarios import StartOperator, finished, pipeline, sh

from baton.devcluster.cluster import DevCluster
from support import wait_for


def quota(api: Api, hard: dict[str, str]) -> None:
    api.apply(
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": hard}}
    )


def test_jobs_refused_for_quota_wait_and_start_once_it_is_raised(
    api: Api, devcluster: DevCluster, start_operator: StartOperator
) -> None:
    quota(api, {"count/jobs.batch": "1"})
    start_operator(api.namespace)
    api.apply(pipeline("quota-jobs", [sh("a", "sleep 0.2"), sh("b", "sleep 0.2"), sh("c", "true", "a", "b")]))
    name = api.start_run("quota-jobs")

    def waiting(run: dict[str, Any]) -> bool:
        tasks = tasks_of(run)
        return any(t.get("reason") == "ExceededQuota" for t in tasks.values())

    run = wait_for(lambda: when(api.run(name), waiting), timeout=20, message="a task waiting for quota")
    held = [t for t in tasks_of(run).values() if t.get("reason") == "ExceededQuota"]
    assert len(held) == 1 and held[0]["phase"] == "Pending", tasks_of(run)
    assert "exceeded quota: q" in held[0]["message"] and held[0]["message"].startswith("waiting for quota")
    condition = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    assert (
        condition["reason"] == "ExceededQuota"
        and "waiting for quota: 1 Job(s) refused" in condition["message"]
    )
    assert phase_of(run) == "Running"
    events = wait_for(  # posted right after the status write
        lambda: [e for e in api.events() if e.get("reason") == "ExceededQuota"],
        timeout=10,
        message="the Event",
    )
    assert events[0]["type"] == "Warning" and "exceeded quota" in events[0]["message"]

    _set_hard(devcluster, api, {"count/jobs.batch": "10"})
    run = finished(api, name, timeout=40)
    assert phase_of(run) == "Succeeded", run["status"]
    assert all(t["attempts"] == 1 for t in tasks_of(run).values())  # waiting cost no attempt
    condition = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    assert "quota" not in condition["message"]


def test_a_pod_refused_for_quota_does_not_count_against_the_task_timeout(
    api: Api, devcluster: DevCluster, start_operator: StartOperator
) -> None:
    quota(api, {"pods": "0"})
    start_operator(api.namespace)
    api.apply(pipeline("quota-pods", [sh("slowstart", "sleep 0.5", timeoutSeconds=2)]))
    name = api.start_run("quota-pods")
    wait_for(
        lambda: when(api.jobs(), lambda jobs: bool(jobs)),
        timeout=20,
        message="the task's Job (without a Pod)",
    )
    wait_for(
        lambda: when(api.events(), lambda events: any(e.get("reason") == "FailedCreate" for e in events)),
        timeout=20,
        message="the Job controller's FailedCreate",
    )
    time.sleep(3)  # longer than the task's timeout, all of it without a Pod
    assert tasks_of(api.run(name))["slowstart"]["phase"] == "Running"
    _set_hard(devcluster, api, {"pods": "5"})
    run = finished(api, name, timeout=30)
    assert phase_of(run) == "Succeeded", tasks_of(run)


def _set_hard(devcluster: DevCluster, api: Api, hard: dict[str, str]) -> None:
    rt = devcluster.registry.storage("", "resourcequotas")

    def update() -> None:
        current = devcluster.store.find(("", "resourcequotas"), api.namespace, "q")
        assert current is not None
        devcluster.store.update(rt, api.namespace, "q", {**current, "spec": {"hard": hard}})

    devcluster.sync(update)
