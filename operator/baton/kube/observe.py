"""Turn a Job (and its Pods) as read from the API into the few facts the planner needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from baton.core.observed import JobState, ObservedJob
from baton.core.status import parse_time
from baton.kube import labels
from baton.kube.render import CONTAINER

# Container reasons that say no more than "it exited non-zero" / "it exited zero".
_GENERIC = {"Error", "Completed", "BackoffLimitExceeded"}
# Waiting reasons that are routine, not worth a message in the task's status.
_ROUTINE_WAITING = {"ContainerCreating", "PodInitializing"}

Obj = Mapping[str, Any]
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def observe_job(job: Obj, pods: Sequence[Obj] = ()) -> ObservedJob | None:
    """The state of a Baton Job; ``None`` for a Job without Baton's task and attempt labels.

    ``pods`` are the Job's Pods (any order; others are ignored). They add the container's exit code,
    reason and termination message, which the Job itself does not carry.
    """
    metadata = job.get("metadata") or {}
    job_labels = metadata.get("labels") or {}
    task, attempt = job_labels.get(labels.TASK), job_labels.get(labels.ATTEMPT)
    if not task or not attempt or not attempt.isdigit():
        return None
    instance_label = job_labels.get(labels.INSTANCE)
    status = job.get("status") or {}
    state, condition = _job_state(status)
    pod = _newest_pod(pods, metadata.get("name", "")) if pods else None
    container = _main_container(pod)
    terminated = (container.get("state") or {}).get("terminated") or {}
    pod_status = (pod or {}).get("status") or {}
    reason = message = completion = exit_code = None
    pending = False
    if state is JobState.ACTIVE:
        reason, message = _waiting(pod, container)
    else:
        completion = _time(
            status.get("completionTime")
            or condition.get("lastTransitionTime")
            or terminated.get("finishedAt")
        )
        exit_code = terminated.get("exitCode")
    if state is JobState.SUCCEEDED:
        # The termination message carries the task's results; a Pod not seen ended may still bring it.
        message = terminated.get("message")
        pending = not terminated and pod_status.get("phase") not in ("Succeeded", "Failed")
    elif state is JobState.FAILED:
        reason = _first_specific(pod_status.get("reason"), terminated.get("reason"), condition.get("reason"))
        message = terminated.get("message") or pod_status.get("message") or condition.get("message")
        # The Pod as last seen still runs (no terminated state, no verdict of its own such as Evicted):
        # its watch event is behind the Job's, and the exit code and message it brings are worth waiting
        # for.
        pending = (
            pod is not None
            and not terminated
            and not pod_status.get("reason")
            and pod_status.get("phase") not in ("Succeeded", "Failed")
        )
    # Built once: this runs for every Job and Pod event (dataclasses.replace would build it again).
    return ObservedJob(
        task,
        int(attempt),
        metadata["name"],
        state,
        reason=reason,
        exit_code=exit_code,
        message=message,
        start_time=_time(status.get("startTime") or metadata.get("creationTimestamp")),
        completion_time=completion,
        pod_pending=pending,
        node=((pod or {}).get("spec") or {}).get("nodeName") or None,
        pod_started=_time(pod_status.get("startTime")),
        instance=int(instance_label) if instance_label and instance_label.isdigit() else None,
    )


def job_finished(job: Obj) -> bool:
    """Whether the Job has ended, as `observe_job(job).finished` says, without observing all the rest."""
    return _job_state(job.get("status") or {})[0] is not JobState.ACTIVE


def _job_state(status: Obj) -> tuple[JobState, Obj]:
    """Terminal only on the Complete/Failed conditions (since Kubernetes 1.31 a Job reports
    SuccessCriteriaMet/FailureTarget first, while its Pods still terminate). Servers that write no
    conditions at all are judged by the counters."""
    conditions = status.get("conditions") or []
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return JobState.SUCCEEDED, condition
        if condition.get("type") == "Failed":
            return JobState.FAILED, condition
    if not conditions:
        if (status.get("succeeded") or 0) > 0:
            return JobState.SUCCEEDED, {}
        if (status.get("failed") or 0) > 0 and not status.get("active"):
            return JobState.FAILED, {}
    return JobState.ACTIVE, {}


def _newest_pod(pods: Sequence[Obj], job_name: str) -> Obj | None:
    mine = [
        pod
        for pod in pods
        if ((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL, job_name) == job_name
    ]
    if not mine:
        return None
    return max(
        mine, key=lambda pod: (pod["metadata"].get("creationTimestamp") or "", pod["metadata"].get("name"))
    )


def _main_container(pod: Obj | None) -> Obj:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return next((s for s in statuses if s.get("name") == CONTAINER), statuses[0] if statuses else {})


def _waiting(pod: Obj | None, container: Obj) -> tuple[str | None, str | None]:
    waiting = (container.get("state") or {}).get("waiting") or {}
    if waiting.get("reason") and waiting["reason"] not in _ROUTINE_WAITING:
        return waiting["reason"], waiting.get("message")
    for condition in ((pod or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return condition.get("reason") or "Unschedulable", condition.get("message")
    return None, None


def _first_specific(*reasons: str | None) -> str | None:
    present = [reason for reason in reasons if reason]
    return next((r for r in present if r not in _GENERIC), present[0] if present else None)


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None
