"""The Job controller's pure rules: conditions, what a Pod of a Job looks like, how many to run, when to fail.

No I/O: the controller (jobs.py) observes, calls these and writes the results.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from .defaults import CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL

Obj = dict[str, Any]

INSTANT_EXIT_CODE = "devcluster.baton.dev/instant-exit-code"
JOB_TRACKING = "batch.kubernetes.io/job-tracking"
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"


# -- conditions and counts -------------------------------------------------------------------------------


def condition(type_: str, reason: str, message: str, now: str, *, status: str = "True") -> Obj:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


def set_condition(status: Obj, new: Obj) -> None:
    """Replace the condition of the same type, appending it last (the order kubectl shows)."""
    status["conditions"] = [
        *(c for c in status.get("conditions") or () if c.get("type") != new["type"]),
        new,
    ]


def condition_true(status: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or ())


def finished(status: Obj) -> bool:
    return condition_true(status, "Complete") or condition_true(status, "Failed")


def set_counts(status: Obj, *, active: int, ready: int) -> None:
    # As the API serializes them: active/succeeded/failed are omitted when zero, ready/terminating are not.
    if active:
        status["active"] = active
    else:
        status.pop("active", None)
    status["ready"] = ready
    status["terminating"] = 0
    status["uncountedTerminatedPods"] = {}


def instant_exit_code(job: Obj) -> int:
    annotations = job["metadata"].get("annotations") or {}
    try:
        return int(str(annotations.get(INSTANT_EXIT_CODE, "0")).strip() or 0)
    except ValueError:
        return 1  # an unreadable code is a failure, never a silent success


# -- Pods ---------------------------------------------------------------------------------------------------


def render_pod(job: Obj) -> Obj:
    """A new Pod for `job`, as the real controller makes it from the template."""
    meta, template = job["metadata"], (job.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    name, uid = meta["name"], meta["uid"]
    labels = {
        **(template_meta.get("labels") or {}),
        CONTROLLER_UID_LABEL: uid,
        JOB_NAME_LABEL: name,
        LEGACY_CONTROLLER_UID_LABEL: uid,
        LEGACY_JOB_NAME_LABEL: name,
    }
    owner = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            # `<job>-` plus the 5 random characters the Store adds, within 63 characters.
            "generateName": f"{name}-"[:58],
            "labels": labels,
            "annotations": {**(template_meta.get("annotations") or {}), JOB_TRACKING: ""},
            "ownerReferences": [owner],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def controller_uid(pod: Obj) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: Obj) -> bool:
    return not is_terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def is_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def wanted_active(spec: Obj, succeeded: int, terminating: int) -> int:
    """How many Pods should be active now."""
    parallelism, completions = int(spec.get("parallelism", 1)), spec.get("completions")
    if completions is None:
        wanted = 0 if succeeded else parallelism  # a work queue: once one succeeded, no new Pods
    else:
        wanted = max(0, min(parallelism, int(completions) - succeeded))
    if spec.get("podReplacementPolicy") == "Failed":
        wanted -= terminating  # replacements wait until the terminating Pods are gone
    return max(0, wanted)


def succeeded_enough(spec: Obj, succeeded: int, active: int) -> bool:
    completions = spec.get("completions")
    if completions is None:
        return succeeded > 0 and active == 0
    return succeeded >= int(completions)


def failure(
    spec: Obj, failed: int, active: list[Obj], started: float | None, now: float
) -> tuple[str, str] | None:
    """Why the Job fails now (reason, message), or None. Backoff first, then the deadline."""
    limit = int(spec.get("backoffLimit", 6))
    if failed > limit:
        return "BackoffLimitExceeded", BACKOFF_LIMIT_MESSAGE
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
        # Restarted containers count as failures, as in the real controller's pastBackoffLimitOnFailure.
        restarts = sum(int(c.get("restartCount", 0)) for pod in active for c in _container_statuses(pod))
        if (limit == 0 and restarts > 0) or (limit > 0 and restarts >= limit):
            return "BackoffLimitExceeded", BACKOFF_LIMIT_MESSAGE
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and started is not None and now >= started + float(deadline):
        return "DeadlineExceeded", DEADLINE_MESSAGE
    return None


def _container_statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]


# -- times ------------------------------------------------------------------------------------------------


def epoch(timestamp: Any) -> float | None:
    if not timestamp:
        return None
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def finish_time(status: Obj) -> float | None:
    if status.get("completionTime"):
        return epoch(status["completionTime"])
    for entry in status.get("conditions") or ():
        if entry.get("type") in ("Complete", "Failed") and entry.get("status") == "True":
            return epoch(entry.get("lastTransitionTime"))
    return None
