"""Jobs and Pods cut down to what the operator reads of them, before they enter its cache.

A Job as the API returns it carries its whole Pod template (command, env, volumes, security context),
a Pod its spec and every container's status: several kilobytes, held for every task of every active
run. The operator reads only names, labels, owners and the status (`baton.kube.observe`, the run
observer), so it keeps only those, as client-go's informer transforms do. A 10,000-task run then costs
a fraction of the memory, and nothing downstream can tell the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .render import CONTAINER

_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "labels",
    "ownerReferences",
)
_POD_STATUS = ("phase", "reason", "message", "conditions", "startTime")


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {k: meta[k] for k in _METADATA if k in meta}


def trim_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The Job's identity and status (its spec is what Baton itself rendered)."""
    return {"metadata": _metadata(job), "status": job.get("status") or {}}


def trim_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod's identity, node, phase, conditions and its main container's status."""
    status = pod.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in _POD_STATUS if k in status}
    containers = status.get("containerStatuses") or []
    main = next((c for c in containers if c.get("name") == CONTAINER), containers[0] if containers else None)
    if main is not None:
        kept["containerStatuses"] = [main]
    node = (pod.get("spec") or {}).get("nodeName")
    return {"metadata": _metadata(pod), "spec": {"nodeName": node} if node else {}, "status": kept}
