"""Render a run's PersistentVolumeClaim from its workspace's volumeClaimTemplate."""

from __future__ import annotations

from typing import Any

from baton.api.common import to_dict
from baton.api.dataflow import Workspace
from baton.core.state import RunMeta
from baton.kube.labels import claim_labels
from baton.kube.owners import run_owner


def render_claim(run: RunMeta, pipeline: str | None, workspace: Workspace, name: str) -> dict[str, Any]:
    """The claim of ``workspace`` for ``run``: the template's spec, labels and annotations (Baton's labels
    win), named ``name`` and owned by the run, so that it is deleted with it."""
    template = workspace.volume_claim_template
    assert template is not None
    labels = {**template.metadata.labels, **claim_labels(pipeline, run.name, workspace.name)}
    body_meta: dict[str, Any] = {
        "name": name,
        "namespace": run.namespace,
        "labels": labels,
        "ownerReferences": [run_owner(run, controller=True)],
    }
    if template.metadata.annotations:
        body_meta["annotations"] = dict(template.metadata.annotations)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": body_meta,
        "spec": to_dict(template.spec),
    }
