"""The labels Baton puts on its Jobs and Pods, and the selectors that find them again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baton.kube.names import label_value

PIPELINE = "baton.dev/pipeline"
RUN = "baton.dev/run"
TASK = "baton.dev/task"
ATTEMPT = "baton.dev/attempt"
WORKSPACE = "baton.dev/workspace"
INSTANCE = "baton.dev/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "baton"


def job_labels(pipeline: str | None, run: str, task: str, attempt: int) -> dict[str, str]:
    """Labels of a task attempt's Job and of its Pod template.

    Task names are DNS-1123 labels, so the task label is the name itself; run and pipeline names may be
    longer than a label value allows and are shortened by ``label_value``. Runs of an inline spec have no
    pipeline label.
    """
    labels = {MANAGED_BY: MANAGER}
    if pipeline:
        labels[PIPELINE] = label_value(pipeline)
    labels[RUN] = label_value(run)
    labels[TASK] = label_value(task)
    labels[ATTEMPT] = str(attempt)
    return labels


def attempt_selector(run: str, task: str, instance: int | None, attempt: int) -> str:
    """Label selector of one attempt's Job and Pod (of one forEach instance when ``instance`` is set)."""
    parts = [f"{RUN}={label_value(run)}", f"{TASK}={label_value(task)}"]
    if instance is not None:
        parts.append(f"{INSTANCE}={instance}")
    return ",".join([*parts, f"{ATTEMPT}={attempt}"])


def run_selector(run: str) -> str:
    """Label selector of all Jobs of a run."""
    return f"{MANAGED_BY}={MANAGER},{RUN}={label_value(run)}"


def managed_selector() -> str:
    """Label selector of all Jobs Baton manages (for one watch or index over every run)."""
    return f"{MANAGED_BY}={MANAGER},{RUN}"


def claim_labels(pipeline: str | None, run: str, workspace: str) -> dict[str, str]:
    """Labels of a run's PersistentVolumeClaim."""
    labels = {MANAGED_BY: MANAGER}
    if pipeline:
        labels[PIPELINE] = label_value(pipeline)
    labels[RUN] = label_value(run)
    labels[WORKSPACE] = label_value(workspace)
    return labels


def missing_run_labels(run: Mapping[str, Any], pipeline: str | None) -> dict[str, str]:
    """The labels a run should carry and does not: ``baton.dev/pipeline`` (so that `kubectl get pipelineruns
    -l baton.dev/pipeline=NAME` finds every run of a Pipeline, however it was created)."""
    if not pipeline:
        return {}
    have = (run.get("metadata") or {}).get("labels") or {}
    want = label_value(pipeline)
    return {} if have.get(PIPELINE) == want else {PIPELINE: want}
