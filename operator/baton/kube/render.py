"""Render one attempt of one task as a batch/v1 Job.

The Job is as restricted as the Pod Security Standard "restricted" asks, by default: a non-root UID,
no privilege escalation, no capabilities, the runtime's seccomp profile, and no API token unless the task
asks for one. ``backoffLimit: 0``: a failed Pod fails the Job, because retries are Baton's (each attempt
is a new Job with its own name, labels and status entry). A task's timeout is the Job's
``activeDeadlineSeconds``, so each attempt gets the whole timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from baton.api.common import EnvVar, to_dict
from baton.api.pipeline import TaskDefaults, TaskSpec
from baton.core.foreach import instance_name
from baton.core.params import substitute
from baton.core.results import RESULTS_ENV, RESULTS_PATH
from baton.core.state import RunMeta
from baton.core.variables import substitute_runtime
from baton.kube.labels import INSTANCE, job_labels
from baton.kube.names import job_name
from baton.kube.owners import run_owner
from baton.kube.podspec import (
    Claim,
    path_variables,
    pod_metadata,
    pod_security_context,
    pod_settings,
    volumes_and_mounts,
)

CONTAINER = "main"


def render_job(
    run: RunMeta,
    pipeline: str | None,
    task: TaskSpec,
    defaults: TaskDefaults | None,
    params: Mapping[str, str],
    attempt: int,
    *,
    context: Mapping[str, str] | None = None,
    timeout_seconds: int | None = None,
    claims: Mapping[str, Claim] | None = None,
    node: str | None = None,
    instance: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """The Job of ``attempt`` of ``task``, owned by the run. ``params`` must cover every reference
    (validation guarantees it; ``UndeclaredParam`` otherwise). ``context`` holds the values of run-time
    variables (`$(run.status)`, `$(tasks.NAME.status)`, `$(tasks.NAME.results.R)`) the task uses;
    ``timeout_seconds`` (the task's, or taskDefaults') becomes the Job's activeDeadlineSeconds.
    ``claims`` names the claim of every workspace the task mounts; ``node`` is where the run's
    ReadWriteOnce claim is attached (see ``baton.core.workspaces``). ``instance`` is (index, item) of an
    instance of a forEach task: its `$(item)` and `$(item.index)`, and its Job's name and labels."""
    defaults = defaults or TaskDefaults()
    if timeout_seconds is None:
        timeout_seconds = task.timeout_seconds or defaults.timeout_seconds
    variables = {**path_variables(task), **(context or {})}
    unit = task.name
    if instance is not None:
        unit = instance_name(task.name, instance[0])
        variables.update({"item": instance[1], "item.index": str(instance[0])})

    def expand(text: str) -> str:
        text = substitute(text, params)
        return substitute_runtime(text, variables) if variables else text

    labels = job_labels(pipeline, run.name, task.name, attempt)
    if instance is not None:
        labels[INSTANCE] = str(instance[0])
    image = task.image or defaults.image
    if image is None:
        raise ValueError(f'task "{task.name}" has no image and taskDefaults.image is not set')
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "env": _env(run, pipeline, task, defaults, expand, attempt, instance),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if task.command:
        container["command"] = [expand(arg) for arg in task.command]
    if task.args:
        container["args"] = [expand(arg) for arg in task.args]
    if task.working_dir:
        container["workingDir"] = task.working_dir
    resources = task.resources or defaults.resources
    if resources is not None and to_dict(resources):
        container["resources"] = to_dict(resources)
    volumes, mounts = volumes_and_mounts(task, claims or {})
    if mounts:
        container["volumeMounts"] = mounts
    if task.results:
        container["terminationMessagePath"] = RESULTS_PATH
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": bool(task.automount_service_account_token),
        "securityContext": pod_security_context(task, defaults),
        "containers": [container],
        **pod_settings(task, defaults, node),
    }
    if volumes:
        pod["volumes"] = volumes
    service_account = task.service_account_name or defaults.service_account_name
    if service_account:
        pod["serviceAccountName"] = service_account
    node_selector = task.node_selector or defaults.node_selector
    if node_selector:
        pod["nodeSelector"] = dict(node_selector)
    tolerations = task.tolerations or defaults.tolerations
    if tolerations:
        pod["tolerations"] = [to_dict(toleration) for toleration in tolerations]
    if timeout_seconds is not None:
        # On the Pod, not the Job: a Pod's deadline counts from when the kubelet took it on, a Job's from
        # the Job's start, which would count time its Pod could not be created (quota) or scheduled.
        pod["activeDeadlineSeconds"] = timeout_seconds
    job_spec: dict[str, Any] = {"backoffLimit": 0}
    job_spec["template"] = {"metadata": pod_metadata(task, defaults, labels), "spec": pod}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(run.name, unit, attempt),
            "namespace": run.namespace,
            "labels": labels,
            "ownerReferences": [run_owner(run, controller=True)],
        },
        "spec": job_spec,
    }


def _env(
    run: RunMeta,
    pipeline: str | None,
    task: TaskSpec,
    defaults: TaskDefaults,
    expand: Callable[[str], str],
    attempt: int,
    instance: tuple[int, str] | None,
) -> list[dict[str, Any]]:
    """Baton's own variables first (so user values may refer to them as `$(BATON_RUN)`), then the
    defaults, then the task's; a later variable of the same name replaces an earlier one in place."""
    merged: dict[str, dict[str, Any]] = {
        "BATON_PIPELINE": {"name": "BATON_PIPELINE", "value": pipeline or ""},
        "BATON_RUN": {"name": "BATON_RUN", "value": run.name},
        "BATON_TASK": {"name": "BATON_TASK", "value": task.name},
        "BATON_ATTEMPT": {"name": "BATON_ATTEMPT", "value": str(attempt)},
    }
    if task.results:
        merged[RESULTS_ENV] = {"name": RESULTS_ENV, "value": RESULTS_PATH}
    if instance is not None:
        index, item = instance
        merged["BATON_ITEM"] = {"name": "BATON_ITEM", "value": item.replace("$", "$$")}
        merged["BATON_ITEM_INDEX"] = {"name": "BATON_ITEM_INDEX", "value": str(index)}
    for var in [*defaults.env, *task.env]:
        merged[var.name] = _env_var(var, expand)
    return list(merged.values())


def _env_var(var: EnvVar, expand: Callable[[str], str]) -> dict[str, Any]:
    if var.value_from is not None:
        return {"name": var.name, "valueFrom": to_dict(var.value_from)}
    return {"name": var.name, "value": expand(var.value or "")}
