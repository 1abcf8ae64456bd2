"""The parts of a task's Pod that come from its data flow and Pod settings: volumes and mounts, the
security context's IDs, labels and annotations, affinity, and the paths its variables stand for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baton.api.common import to_dict
from baton.api.pipeline import TaskDefaults, TaskSpec
from baton.core.results import RESULTS_PATH

WORKSPACE_ROOT = "/workspace"
VOLUME_ROOT = "/volumes"
DEFAULT_ID = 65532
"""The conventional "nonroot" UID and GID of distroless images; any non-zero UID satisfies "restricted"."""
SECRET_MODE = 0o440
"""Secret files are readable by the Pod's fsGroup (the task's own group), not by everyone."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The claim behind a workspace in this run, and whether the workspace is read-only for all tasks."""

    name: str
    read_only: bool = False


def workspace_path(task: TaskSpec, name: str) -> str:
    mount = next((m for m in task.workspaces if m.name == name), None)
    return (mount.mount_path if mount is not None else None) or f"{WORKSPACE_ROOT}/{name}"


def volume_path(task: TaskSpec, name: str) -> str:
    volume = next((v for v in task.volumes if v.name == name), None)
    return (volume.mount_path if volume is not None else None) or f"{VOLUME_ROOT}/{name}"


def path_variables(task: TaskSpec) -> dict[str, str]:
    """Values of `$(workspaces.W.path)`, `$(volumes.V.path)` and `$(results.path)` in this task."""
    values = {f"workspaces.{m.name}.path": workspace_path(task, m.name) for m in task.workspaces}
    values.update({f"volumes.{v.name}.path": volume_path(task, v.name) for v in task.volumes})
    if task.results:
        values["results.path"] = RESULTS_PATH
    return values


def volumes_and_mounts(
    task: TaskSpec, claims: Mapping[str, Claim]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Pod's volumes and the container's volumeMounts for the task's workspaces and volumes.
    Volume names are prefixed (ws-, vol-) so that a workspace and a volume may share a name."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for mount in task.workspaces:
        claim = claims[mount.name]
        read_only = mount.read_only or claim.read_only
        source: dict[str, Any] = {"claimName": claim.name}
        if read_only:
            source["readOnly"] = True
        volumes.append({"name": f"ws-{mount.name}", "persistentVolumeClaim": source})
        entry: dict[str, Any] = {"name": f"ws-{mount.name}", "mountPath": workspace_path(task, mount.name)}
        if mount.sub_path:
            entry["subPath"] = mount.sub_path
        if read_only:
            entry["readOnly"] = True
        mounts.append(entry)
    for volume in task.volumes:
        name = f"vol-{volume.name}"
        if volume.config_map is not None:
            cm = to_dict(volume.config_map)
            volumes.append({"name": name, "configMap": cm})
        else:
            assert volume.secret is not None
            volumes.append({"name": name, "secret": {**to_dict(volume.secret), "defaultMode": SECRET_MODE}})
        mounts.append({"name": name, "mountPath": volume_path(task, volume.name), "readOnly": True})
    return volumes, mounts


def pod_security_context(task: TaskSpec, defaults: TaskDefaults) -> dict[str, Any]:
    """The Pod's security context: non-root IDs (the task's, taskDefaults', or 65532), and an fsGroup
    so that a fresh claim is writable by the task (OnRootMismatch: no recursive chown of a large volume
    that already has the right owner)."""
    user = task.run_as_user or defaults.run_as_user or DEFAULT_ID
    group = _first(task.run_as_group, defaults.run_as_group, DEFAULT_ID)
    fs_group = _first(task.fs_group, defaults.fs_group, group)
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": group,
        "fsGroup": fs_group,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_metadata(task: TaskSpec, defaults: TaskDefaults, labels: Mapping[str, str]) -> dict[str, Any]:
    """The Pod template's metadata: the user's labels and annotations, with Baton's labels over them."""
    metadata: dict[str, Any] = {"labels": {**defaults.pod_labels, **task.pod_labels, **labels}}
    annotations = {**defaults.pod_annotations, **task.pod_annotations}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def pod_settings(task: TaskSpec, defaults: TaskDefaults, node: str | None) -> dict[str, Any]:
    """priorityClassName, imagePullSecrets and affinity, with a required node affinity to ``node`` (the
    node of the run's ReadWriteOnce claim) added to every node selector term."""
    out: dict[str, Any] = {}
    priority = task.priority_class_name or defaults.priority_class_name
    if priority:
        out["priorityClassName"] = priority
    secrets = task.image_pull_secrets or defaults.image_pull_secrets
    if secrets:
        out["imagePullSecrets"] = [{"name": secret.name} for secret in secrets]
    chosen = task.affinity if task.affinity is not None else defaults.affinity
    affinity = to_dict(chosen) if chosen is not None else None
    if node is not None:
        affinity = pin_to_node(affinity or {}, node)
    if affinity:
        out["affinity"] = affinity
    return out


def pin_to_node(affinity: Mapping[str, Any], node: str) -> dict[str, Any]:
    """``affinity`` with its required node affinity narrowed to ``node``. Node selector terms are ORed
    and the requirements within a term ANDed, so the pin joins every term (or is the only term)."""
    pin = {"key": "metadata.name", "operator": "In", "values": [node]}
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    required = dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = [dict(term) for term in required.get("nodeSelectorTerms") or ()] or [{}]
    for term in terms:
        term["matchFields"] = [*(term.get("matchFields") or ()), pin]
    required["nodeSelectorTerms"] = terms
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required
    return {**affinity, "nodeAffinity": node_affinity}


def _first(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")
