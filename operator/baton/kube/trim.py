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

from . import labels as baton_labels
from .render import CONTAINER

_METADATA = ("name", "resourceVersion")
_SHARED_METADATA = ("namespace", "creationTimestamp", "deletionTimestamp")
_OWNER = ("kind", "name", "uid", "controller")
_JOB_STATUS = ("active", "succeeded", "failed")
_JOB_TIMES = ("startTime", "completionTime")
_CONDITION = ("type", "status", "reason", "message", "lastTransitionTime")
_POD_STATUS = ("phase", "reason", "message", "startTime")
_CONTAINER_STATUS = ("name", "state")
_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
_LABELS = (baton_labels.TASK, baton_labels.ATTEMPT, baton_labels.INSTANCE, _JOB_NAME_LABEL)
"""The labels anyone reads of a cached Job or Pod (`baton.kube.observe`, the run observer)."""
_intern = sys.intern
"""Most strings of a Job are the same in every Job of a run (namespace, owner, timestamps to the
second, condition words and messages): interned, 10,000 Jobs hold one copy of each."""


def _shared(value: Any) -> Any:
    return _intern(value) if type(value) is str else value


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    kept: dict[str, Any] = {k: meta[k] for k in _METADATA if k in meta}
    for k in _SHARED_METADATA:
        if k in meta:
            kept[k] = _shared(meta[k])
    labels = meta.get("labels") or {}
    name = kept.get("name")
    # The job-name label is the Job's name: the one string, not a copy of it.
    kept["labels"] = {k: (name if labels[k] == name else _shared(labels[k])) for k in _LABELS if k in labels}
    owners = meta.get("ownerReferences")
    if owners:
        kept["ownerReferences"] = [{k: _shared(ref[k]) for k in _OWNER if k in ref} for ref in owners]
    return kept


def _conditions(status: Mapping[str, Any], final: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The conditions; only the `final` ones once one of them holds (a Job's Complete or Failed makes
    SuccessCriteriaMet or FailureTarget say nothing more)."""
    conditions = status.get("conditions") or ()
    ended = [c for c in conditions if c.get("type") in final and c.get("status") == "True"]
    return [{k: _shared(c[k]) for k in _CONDITION if k in c} for c in ended or conditions]


def trim_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The Job's name, owner, the labels read of it and its status (its spec is what Baton itself
    rendered)."""
    status = job.get("status") or {}
    kept: dict[str, Any] = {k: status[k] for k in _JOB_STATUS if k in status}
    for k in _JOB_TIMES:
        if k in status:
            kept[k] = _shared(status[k])
    if status.get("conditions"):
        kept["conditions"] = _conditions(status, ("Complete", "Failed"))
    return {"metadata": _metadata(job), "status": kept}


def trim_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod's identity, node, phase, conditions and its main container's status."""
    status = pod.get("status") or {}
    kept: dict[str, Any] = {k: _shared(status[k]) for k in _POD_STATUS if k in status}
    if status.get("conditions"):
        kept["conditions"] = _conditions(status)
    containers = status.get("containerStatuses") or []
    main = next((c for c in containers if c.get("name") == CONTAINER), containers[0] if containers else None)
    if main is not None:
        kept["containerStatuses"] = [{k: main[k] for k in _CONTAINER_STATUS if k in main}]
    node = (pod.get("spec") or {}).get("nodeName")
    return {"metadata": _metadata(pod), "spec": {"nodeName": node} if node else {}, "status": kept}
