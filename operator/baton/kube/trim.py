"""Jobs and Pods cut down to what the operator reads of them, before they enter its cache.

A Job as the API returns it carries its whole Pod template (command, env, volumes, security context),
a Pod its spec and every container's status: several kilobytes, held for every task of every active
run. The operator reads only names, labels, owners and the status (`baton.kube.observe`, the run
observer), so it keeps only those, as client-go's informer transforms do. A 10,000-task run then costs
a fraction of the memory, and nothing downstream can tell the difference.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from .render import CONTAINER

_METADATA = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp")
_OWNER = ("kind", "name", "uid", "controller")
_JOB_STATUS = ("startTime", "completionTime", "active", "succeeded", "failed")
_CONDITION = ("type", "status", "reason", "message", "lastTransitionTime")
_POD_STATUS = ("phase", "reason", "message", "startTime")
_LABELS = "baton.dev/"
_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
_intern = sys.intern  # the same few words ("True", "Complete", label keys) in every object


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    kept: dict[str, Any] = {k: meta[k] for k in _METADATA if k in meta}
    labels = meta.get("labels") or {}
    kept["labels"] = {
        _intern(k): v for k, v in labels.items() if k.startswith(_LABELS) or k == _JOB_NAME_LABEL
    }
    owners = meta.get("ownerReferences")
    if owners:
        kept["ownerReferences"] = [
            {_intern(k): (_intern(v) if k == "kind" else v) for k, v in ref.items() if k in _OWNER}
            for ref in owners
        ]
    return kept


def _conditions(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: (_intern(v) if k in ("type", "status") else v) for k, v in c.items() if k in _CONDITION}
        for c in status.get("conditions") or ()
    ]


def trim_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The Job's identity, Baton's labels and its status (its spec is what Baton itself rendered)."""
    status = job.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in _JOB_STATUS if k in status}
    if status.get("conditions"):
        kept["conditions"] = _conditions(status)
    return {"metadata": _metadata(job), "status": kept}


def trim_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod's identity, node, phase, conditions and its main container's status."""
    status = pod.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in _POD_STATUS if k in status}
    if status.get("conditions"):
        kept["conditions"] = _conditions(status)
    containers = status.get("containerStatuses") or []
    main = next((c for c in containers if c.get("name") == CONTAINER), containers[0] if containers else None)
    if main is not None:
        kept["containerStatuses"] = [main]
    node = (pod.get("spec") or {}).get("nodeName")
    return {"metadata": _metadata(pod), "spec": {"nodeName": node} if node else {}, "status": kept}
