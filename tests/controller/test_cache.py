"""The operator's cache: newest object wins, Jobs are found by their run, observations are reused."""

from __future__ import annotations

from typing import Any

import pytest

from baton.controller import cache as cache_module
from baton.controller.cache import ClusterCache, newer


def job(name: str, rv: str, *, succeeded: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-01-01T00:00:00Z"}
    if succeeded:
        status.update(
            succeeded=1,
            completionTime="2026-01-01T00:00:05Z",
            conditions=[{"type": "Complete", "status": "True"}],
        )
    return {
        "metadata": {
            "name": name,
            "namespace": "data",
            "resourceVersion": rv,
            "labels": {"baton.dev/task": name, "baton.dev/attempt": "1"},
            "ownerReferences": [{"kind": "PipelineRun", "name": "etl-1", "controller": True}],
        },
        "status": status,
    }


def pod_of(job_name: str, rv: str, *, phase: str | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {
            "name": f"{job_name}-abc",
            "namespace": "data",
            "resourceVersion": rv,
            "ownerReferences": [{"kind": "Job", "name": job_name, "controller": True}],
        }
    }
    if phase is not None:
        pod["status"] = {"phase": phase}
    return pod


@pytest.mark.parametrize(
    ("candidate", "current", "expected"),
    [("5", "4", True), ("4", "5", False), ("5", "5", True), ("x", "5", True)],
)
def test_newer_compares_resource_versions(candidate: str, current: str, expected: bool) -> None:
    assert (
        newer({"metadata": {"resourceVersion": candidate}}, {"metadata": {"resourceVersion": current}})
        is expected
    )


def test_a_stale_event_does_not_replace_a_newer_job() -> None:
    cache = ClusterCache()
    cache.observe_job("MODIFIED", job("extract", "9", succeeded=True))
    cache.observe_job("MODIFIED", job("extract", "8"))
    assert cache.jobs_of(("data", "etl-1"))[0]["metadata"]["resourceVersion"] == "9"
    assert cache.run_of_job(("data", "extract")) == ("data", "etl-1")


def test_observations_are_made_when_a_job_or_its_pods_change_never_per_reconcile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = cache_module.observe_job

    def counting(obj: Any, pods: Any = ()) -> Any:
        calls.append(obj["metadata"]["name"])
        return real(obj, pods)

    monkeypatch.setattr(cache_module, "observe_job", counting)
    cache = ClusterCache()
    cache.observe_job("ADDED", job("extract", "1"))
    cache.observe_job("ADDED", job("load", "2"))
    assert [o.name for o in cache.observed_jobs(("data", "etl-1"))] == ["extract", "load"]
    assert cache.observed_jobs(("data", "etl-1")) and calls == ["extract", "load"]
    cache.observe_job("MODIFIED", job("extract", "3", succeeded=True))
    observed = {o.name: o for o in cache.observed_jobs(("data", "etl-1"))}
    assert calls == ["extract", "load", "extract"] and observed["extract"].finished
    pod = pod_of("extract", "4")
    cache.observe_pod("ADDED", pod)
    assert calls[-1] == "extract" and len(calls) == 4
    for _ in range(3):  # reconciles read what is observed; they observe nothing themselves
        cache.observed_jobs(("data", "etl-1"))
    assert len(calls) == 4
    cache.observe_pod("ADDED", pod)  # the same Pod again (a re-list): nothing new
    assert len(calls) == 4
    cache.observe_job("DELETED", job("extract", "5"))
    assert [o.name for o in cache.observed_jobs(("data", "etl-1"))] == ["load"]
    cache.observe_run("DELETED", {"metadata": {"namespace": "data", "name": "etl-1"}})
    assert ("data", "etl-1") not in cache.observations and not cache.pods


def test_a_pod_names_its_run_to_plan_again_only_once_its_job_has_ended() -> None:
    cache = ClusterCache()
    ended_pod = pod_of("extract", "2", phase="Succeeded")
    assert cache.run_of_ended_job(("data", "extract")) is None  # a Job not seen
    cache.observe_job("ADDED", job("extract", "1"))
    cache.observe_pod("MODIFIED", ended_pod)
    assert cache.run_of_ended_job(("data", "extract")) is None  # the Job runs: its own event follows
    cache.observe_job("MODIFIED", job("extract", "3", succeeded=True))
    assert cache.run_of_ended_job(("data", "extract")) == ("data", "etl-1")


def test_a_dataset_a_user_created_under_any_name_holds_its_uri() -> None:
    from baton.kube.datasets import dataset_name

    cache = ClusterCache()
    uri = "s3://lake/sales"
    ours = {
        "metadata": {
            "namespace": "lake",
            "name": dataset_name(uri),
            "labels": {"app.kubernetes.io/managed-by": "baton"},
            "resourceVersion": "1",
        },
        "spec": {"uri": uri},
    }
    mine = {"metadata": {"namespace": "lake", "name": "sales", "resourceVersion": "2"}, "spec": {"uri": uri}}
    assert cache.dataset_for("lake", uri) == ("lake", dataset_name(uri))  # none yet: the derived name
    cache.observe_dataset("ADDED", ours)
    assert cache.dataset_for("lake", uri) == ("lake", dataset_name(uri))
    cache.observe_dataset("ADDED", mine)
    assert cache.dataset_for("lake", uri) == ("lake", "sales")  # the user's wins
    cache.observe_dataset("MODIFIED", {**ours, "metadata": {**ours["metadata"], "resourceVersion": "3"}})
    assert cache.dataset_for("lake", uri) == ("lake", "sales")
    cache.observe_dataset("DELETED", mine)
    assert cache.dataset_for("lake", uri) == ("lake", dataset_name(uri))  # back to the operator's
