from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from baton.core.observed import JobState, ObservedJob
from baton.kube.observe import observe_job
from baton.kube.trim import trim_job, trim_pod

T0 = "2025-01-31T10:00:00Z"
T1 = "2025-01-31T10:01:23Z"


def job(status: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "run-extract-1",
            "creationTimestamp": T0,
            "labels": {"baton.dev/task": "extract", "baton.dev/attempt": "1"} if labels is None else labels,
        },
        "status": status,
    }


def pod(
    state: dict[str, Any],
    *,
    reason: str | None = None,
    message: str | None = None,
    name: str = "run-extract-1-abcde",
    created: str = T0,
    conditions: list[Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"containerStatuses": [{"name": "main", "state": state}]}
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    if conditions:
        status["conditions"] = conditions
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {"batch.kubernetes.io/job-name": "run-extract-1"},
        },
        "status": status,
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


COMPLETE = {"type": "Complete", "status": "True", "lastTransitionTime": T1}


def failed(
    reason: str = "BackoffLimitExceeded", message: str = "Job has reached the specified backoff limit"
) -> dict[str, Any]:
    return {
        "type": "Failed",
        "status": "True",
        "reason": reason,
        "message": message,
        "lastTransitionTime": T1,
    }


@pytest.mark.parametrize(
    ("status", "pods", "expected"),
    [
        pytest.param(
            {"active": 1, "startTime": T0},
            [],
            ObservedJob("extract", 1, "run-extract-1", JobState.ACTIVE, start_time=at(T0)),
            id="active",
        ),
        pytest.param(
            {"active": 1, "startTime": T0},
            [pod({"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope"'}})],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.ACTIVE,
                "ImagePullBackOff",
                message='Back-off pulling image "nope"',
                start_time=at(T0),
            ),
            id="image-pull-backoff",
        ),
        pytest.param(
            {"active": 1},
            [pod({"waiting": {"reason": "ContainerCreating"}})],
            ObservedJob("extract", 1, "run-extract-1", JobState.ACTIVE, start_time=at(T0)),
            id="routine-waiting-is-not-news",
        ),
        pytest.param(
            {"active": 1},
            [
                pod(
                    {},
                    conditions=[
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": "0/3 nodes are available",
                        }
                    ],
                )
            ],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.ACTIVE,
                "Unschedulable",
                message="0/3 nodes are available",
                start_time=at(T0),
            ),
            id="unschedulable",
        ),
        pytest.param(
            {"succeeded": 1, "startTime": T0, "completionTime": T1, "conditions": [COMPLETE]},
            [pod({"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": T1}})],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.SUCCEEDED,
                exit_code=0,
                start_time=at(T0),
                completion_time=at(T1),
            ),
            id="succeeded",
        ),
        pytest.param(
            {"failed": 1, "startTime": T0, "conditions": [failed()]},
            [pod({"terminated": {"exitCode": 3, "reason": "Error", "message": "bad input\n"}})],
            ObservedJob(
                "extract", 1, "run-extract-1", JobState.FAILED, "Error", 3, "bad input\n", at(T0), at(T1)
            ),
            id="failed-with-termination-message",
        ),
        pytest.param(
            {"failed": 1, "startTime": T0, "conditions": [failed()]},
            [pod({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.FAILED,
                "OOMKilled",
                137,
                "Job has reached the specified backoff limit",
                at(T0),
                at(T1),
            ),
            id="oom-killed",
        ),
        pytest.param(
            {"failed": 1, "startTime": T0, "conditions": [failed()]},
            [pod({}, reason="Evicted", message="The node was low on resource: memory.")],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.FAILED,
                "Evicted",
                None,
                "The node was low on resource: memory.",
                at(T0),
                at(T1),
            ),
            id="evicted",
        ),
        pytest.param(
            {
                "failed": 1,
                "startTime": T0,
                "conditions": [failed("DeadlineExceeded", "Job was active longer than specified deadline")],
            },
            [],
            ObservedJob(
                "extract",
                1,
                "run-extract-1",
                JobState.FAILED,
                "DeadlineExceeded",
                None,
                "Job was active longer than specified deadline",
                at(T0),
                at(T1),
            ),
            id="deadline-exceeded-without-pods",
        ),
        pytest.param(
            {"failed": 1, "active": 0, "conditions": [{"type": "FailureTarget", "status": "True"}]},
            [],
            ObservedJob("extract", 1, "run-extract-1", JobState.ACTIVE, start_time=at(T0)),
            id="failure-target-is-not-terminal-yet",
        ),
        pytest.param(
            {"succeeded": 1},
            [],
            # No Pod seen yet: a task with results waits a little for its termination message.
            ObservedJob(
                "extract", 1, "run-extract-1", JobState.SUCCEEDED, start_time=at(T0), pod_pending=True
            ),
            id="counters-when-a-server-writes-no-conditions",
        ),
    ],
)
def test_observe_job(status: dict[str, Any], pods: list[dict[str, Any]], expected: ObservedJob) -> None:
    assert observe_job(job(status), pods) == expected
    # What the operator's cache keeps of Jobs and Pods (trimmed) tells the planner exactly the same.
    noisy = {**job(status), "spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}}
    noisy["metadata"]["labels"] = {**noisy["metadata"]["labels"], "app.kubernetes.io/managed-by": "baton"}
    assert observe_job(trim_job(noisy), [trim_pod(p) for p in pods]) == expected


def test_the_newest_pod_of_the_job_counts() -> None:
    pods = [
        pod({"terminated": {"exitCode": 1, "reason": "Error", "message": "old"}}, name="a", created=T0),
        pod({"terminated": {"exitCode": 2, "reason": "Error", "message": "new"}}, name="b", created=T1),
    ]
    observed = observe_job(job({"failed": 2, "conditions": [failed()]}), list(reversed(pods)))
    assert observed is not None and observed.exit_code == 2 and observed.message == "new"


def test_pods_of_other_jobs_are_ignored() -> None:
    other = pod({"terminated": {"exitCode": 9, "reason": "Error"}})
    other["metadata"]["labels"]["batch.kubernetes.io/job-name"] = "someone-else"
    observed = observe_job(job({"failed": 1, "conditions": [failed()]}), [other])
    assert observed is not None and observed.exit_code is None


@pytest.mark.parametrize(
    "labels", [{}, {"baton.dev/task": "extract"}, {"baton.dev/task": "x", "baton.dev/attempt": "one"}]
)
def test_jobs_without_baton_labels_are_not_observed(labels: dict[str, str]) -> None:
    assert observe_job(job({"active": 1}, labels)) is None


def test_a_failed_job_whose_pod_has_not_reported_its_end_is_pending_details() -> None:
    status = {"failed": 1, "startTime": T0, "conditions": [failed()]}
    running = pod({"running": {"startedAt": T0}})
    seen = observe_job(job(status), [running])
    assert seen is not None and seen.state is JobState.FAILED and seen.pod_pending
    ended = pod({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": T1}})
    seen = observe_job(job(status), [ended])
    assert seen is not None and not seen.pod_pending and seen.exit_code == 1
    no_pods = observe_job(job(status), [])  # no Pod at all (never created, or gone): nothing to wait for
    assert no_pods is not None and not no_pods.pod_pending
