"""The Pod settings real clusters need, shared by tasks and taskDefaults.

Everything here stays within the Pod Security Standard "restricted": user and group IDs are chosen, root
is not (runAsUser 0 is refused), and no field here can add privilege.
"""

from __future__ import annotations

from pydantic import Field

from baton.api.common import LIST_ATOMIC, DnsSubdomain, SpecModel
from baton.api.kubetypes import Affinity


class LocalObjectReference(SpecModel):
    """Names an object in the run's namespace."""

    name: DnsSubdomain
    """Name of the object."""


class PodSettings(SpecModel):
    """Settings of the Pod a task runs in. On a task they win over taskDefaults; podLabels and
    podAnnotations are merged by key (the task's value wins)."""

    pod_labels: dict[str, str] = Field(default_factory=dict)
    """Labels of the task's Pod. Baton's own labels (baton.dev/*, app.kubernetes.io/managed-by) cannot
    be set here."""
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations of the task's Pod, e.g. `sidecar.istio.io/inject: "false"`: a mesh sidecar would
    otherwise keep a Job's Pod running after the task ended."""
    priority_class_name: DnsSubdomain | None = None
    """PriorityClass of the Pod."""
    affinity: Affinity | None = None
    """Node affinity, pod affinity and pod anti-affinity of the Pod (Kubernetes' core/v1 Affinity)."""
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list, json_schema_extra=LIST_ATOMIC
    )
    """Secrets to pull the image with."""
    run_as_user: int | None = Field(default=None, ge=1, le=2147483647)
    """UID of the container's process (65532 by default; root is not allowed)."""
    run_as_group: int | None = Field(default=None, ge=0, le=2147483647)
    """GID of the container's process (65532 by default)."""
    fs_group: int | None = Field(default=None, ge=0, le=2147483647)
    """Group that owns mounted volumes, so that a fresh claim is writable by the task (runAsGroup by
    default)."""


__all__ = ["LocalObjectReference", "PodSettings"]
