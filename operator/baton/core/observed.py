"""What the core knows about a Job: the few facts ``baton.kube.observe`` extracts from a Job and its Pods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JobState(StrEnum):
    ACTIVE = "Active"
    """Created and not finished (including Pods waiting to be scheduled or pulling their image)."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class ObservedJob:
    task: str
    attempt: int
    name: str
    state: JobState
    reason: str | None = None
    """Why it failed (OOMKilled, Evicted, DeadlineExceeded, Error, BackoffLimitExceeded, …) or, while
    active, why its container waits (ImagePullBackOff, CreateContainerConfigError, …)."""
    exit_code: int | None = None
    """Exit code of the main container, once terminated."""
    message: str | None = None
    """The container's termination message (or log tail), or the Pod's/Job's message."""
    start_time: datetime | None = None
    completion_time: datetime | None = None
    pod_pending: bool = False
    """Finished, but its Pod, as last seen, has not ended yet (or, for a success, has not been seen): the
    Pod's watch event with the exit code and termination message is still on its way (Jobs and Pods are
    watched separately)."""
    node: str | None = None
    """The node its Pod was bound to (spec.nodeName), once known."""
    pod_started: datetime | None = None
    """When the kubelet took its Pod on (the Pod's status.startTime): a task's timeout counts from here,
    so time spent without a Pod (a ResourceQuota refusing it, no node free) does not count."""
    instance: int | None = None
    """For a Job of an instance of a forEach task: the instance's index."""
    child: bool = False
    """Not a Job but the child PipelineRun of a sub-pipeline task: its message holds the child run's
    results (which may name more than the task declares)."""

    @property
    def finished(self) -> bool:
        return self.state is not JobState.ACTIVE
