"""Server-side printing: `meta.k8s.io/v1 Table` responses for `kubectl get`.

kubectl shows custom columns only from the server's Table, so custom resources get their CRD's
additionalPrinterColumns (evaluated with the JSONPath subset the apiserver supports) and the built-in
kinds get the columns users know from a real cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from .claims import BETA_CLASS_ANNOTATION, access_modes_text
from .jsonpath import JSONPathError, evaluate
from .printcolumns import format_cell, human_duration
from .resources import ResourceType
from .store import Obj

Column = dict[str, Any]

_NAME: Column = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace.",
}
_AGE: Column = {
    "name": "Age",
    "type": "string",
    "format": "",
    "priority": 0,
    "description": "CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: Any, now: datetime) -> str:
    moment = _parse_time(value)
    return "<unknown>" if moment is None else human_duration(now - moment)


def _custom_cell(column: Column, obj: Obj, now: datetime) -> Any:
    try:
        results = evaluate(column.get("jsonPath", ""), obj)
    except JSONPathError:
        return None
    # apiextensions-apiserver's convertor: the first result only, typed by the column (printcolumns.py).
    return format_cell(results, column.get("type", "string"), now=now)


def _pod_status(pod: Obj) -> str:
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = status.get("reason") or status.get("phase") or "Pending"
    for cs in status.get("containerStatuses") or ():
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or (
                f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            )
    return str(reason)


def _pod_ready(pod: Obj) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    total = len((pod.get("spec") or {}).get("containers") or ())
    return f"{sum(1 for cs in statuses if cs.get('ready'))}/{total}"


def _job_status(job: Obj) -> str:
    # The precedence of the apiserver's printJob: a Failed Job also carries FailureTarget.
    true = {
        c.get("type") for c in (job.get("status") or {}).get("conditions") or () if c.get("status") == "True"
    }
    if "Complete" in true:
        return "Complete"
    if "Failed" in true:
        return "Failed"
    if job["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for condition in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if condition in true:
            return condition
    return "Running"


def _job_duration(job: Obj, now: datetime) -> str:
    status = job.get("status") or {}
    start = _parse_time(status.get("startTime"))
    if start is None:
        return ""
    end = _parse_time(status.get("completionTime")) or now
    return human_duration(end - start)


def _claim_cells(claim: Obj, now: datetime) -> list[Any]:
    """printPersistentVolumeClaim: capacity and access modes come from the status once bound."""
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    phase = "Terminating" if claim["metadata"].get("deletionTimestamp") else status.get("phase", "")
    volume = spec.get("volumeName") or ""
    annotations = claim["metadata"].get("annotations") or {}
    return [
        claim["metadata"]["name"],
        phase,
        volume,
        (status.get("capacity") or {}).get("storage", "") if volume else "",
        access_modes_text(status.get("accessModes") or []) if volume else "",
        annotations.get(BETA_CLASS_ANNOTATION, spec.get("storageClassName") or ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        age(claim["metadata"].get("creationTimestamp"), now),
        spec.get("volumeMode") or "<unset>",
    ]


def _col(name: str, ctype: str = "string", priority: int = 0, fmt: str = "") -> Column:
    return {"name": name, "type": ctype, "format": fmt, "priority": priority, "description": ""}


Builtin = tuple[list[Column], Callable[[Obj, datetime], list[Any]]]

_BUILTIN: dict[tuple[str, str], Builtin] = {
    ("", "pods"): (
        [
            _NAME,
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "string"),
            _AGE,
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        lambda o, now: [
            o["metadata"]["name"],
            _pod_ready(o),
            _pod_status(o),
            str(
                sum(
                    cs.get("restartCount", 0) for cs in (o.get("status") or {}).get("containerStatuses") or ()
                )
            ),
            age(o["metadata"].get("creationTimestamp"), now),
            (o.get("status") or {}).get("podIP", "<none>"),
            (o.get("spec") or {}).get("nodeName", "<none>"),
        ],
    ),
    ("batch", "jobs"): (
        [
            _NAME,
            _col("Status"),
            _col("Completions"),
            _col("Duration"),
            _AGE,
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        lambda o, now: [
            o["metadata"]["name"],
            _job_status(o),
            f"{(o.get('status') or {}).get('succeeded', 0)}/{(o.get('spec') or {}).get('completions', 1)}",
            _job_duration(o, now),
            age(o["metadata"].get("creationTimestamp"), now),
            ",".join(c.get("name", "") for c in _containers(o)),
            ",".join(c.get("image", "") for c in _containers(o)),
            ",".join(
                f"{k}={v}"
                for k, v in ((o.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items()
            ),
        ],
    ),
    ("", "namespaces"): (
        [_NAME, _col("Status"), _AGE],
        lambda o, now: [
            o["metadata"]["name"],
            (o.get("status") or {}).get("phase", "Active"),
            age(o["metadata"].get("creationTimestamp"), now),
        ],
    ),
    ("", "configmaps"): (
        [_NAME, _col("Data", "integer"), _AGE],
        lambda o, now: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o["metadata"].get("creationTimestamp"), now),
        ],
    ),
    ("", "persistentvolumeclaims"): (
        [
            _NAME,
            _col("Status"),
            _col("Volume"),
            _col("Capacity"),
            _col("Access Modes"),
            _col("StorageClass"),
            _col("VolumeAttributesClass"),
            _AGE,
            _col("VolumeMode", priority=1),
        ],
        _claim_cells,
    ),
    ("", "secrets"): (
        [_NAME, _col("Type"), _col("Data", "integer"), _AGE],
        lambda o, now: [
            o["metadata"]["name"],
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            age(o["metadata"].get("creationTimestamp"), now),
        ],
    ),
    ("", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        lambda o, now: [
            age(o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp"), now),
            o.get("type", ""),
            o.get("reason", ""),
            f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/"
            f"{(o.get('involvedObject') or {}).get('name', '')}",
            o.get("message", ""),
        ],
    ),
    ("events.k8s.io", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        lambda o, now: [
            age(
                o.get("deprecatedLastTimestamp")
                or o.get("eventTime")
                or o["metadata"].get("creationTimestamp"),
                now,
            ),
            o.get("type", ""),
            o.get("reason", ""),
            f"{(o.get('regarding') or {}).get('kind', '').lower()}/"
            f"{(o.get('regarding') or {}).get('name', '')}",
            o.get("note", ""),
        ],
    ),
    ("coordination.k8s.io", "leases"): (
        [_NAME, _col("Holder"), _AGE],
        lambda o, now: [
            o["metadata"]["name"],
            (o.get("spec") or {}).get("holderIdentity") or "",
            age(o["metadata"].get("creationTimestamp"), now),
        ],
    ),
    ("", "serviceaccounts"): (
        [_NAME, _col("Secrets", "integer"), _AGE],
        lambda o, now: [
            o["metadata"]["name"],
            len(o.get("secrets") or ()),
            age(o["metadata"].get("creationTimestamp"), now),
        ],
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        [_NAME, _col("Created At", "date")],
        lambda o, now: [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")],
    ),
}


def _containers(job: Obj) -> list[dict[str, Any]]:
    return list((((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])


def columns_for(rt: ResourceType) -> list[Column]:
    if rt.custom:
        if not rt.printer_columns:
            return [_NAME, _AGE]
        return [_NAME] + [
            {
                "name": c["name"],
                "type": c.get("type", "string"),
                "format": c.get("format", ""),
                "description": c.get("description")
                or f"Custom resource definition column (in JSONPath format): {c.get('jsonPath', '')}",
                "priority": c.get("priority", 0),
            }
            for c in rt.printer_columns
        ]
    builtin = _BUILTIN.get(rt.group_resource)
    return builtin[0] if builtin else [_NAME, _AGE]


def cells_for(rt: ResourceType, obj: Obj, now: datetime) -> list[Any]:
    if rt.custom:
        if not rt.printer_columns:
            return [obj["metadata"]["name"], age(obj["metadata"].get("creationTimestamp"), now)]
        return [obj["metadata"]["name"]] + [_custom_cell(c, obj, now) for c in rt.printer_columns]
    builtin = _BUILTIN.get(rt.group_resource)
    if builtin is None:
        return [obj["metadata"]["name"], age(obj["metadata"].get("creationTimestamp"), now)]
    return builtin[1](obj, now)


def row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(
    rt: ResourceType,
    items: Sequence[Obj],
    *,
    resource_version: str,
    include: str = "Metadata",
    continue_token: str = "",
    now: datetime | None = None,
    with_columns: bool = True,
) -> Obj:
    now = now or datetime.now(UTC)
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": cells_for(rt, obj, now)}
        embedded = row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns_for(rt) if with_columns else [],
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    return any("as=Table" in part for part in accept.split(","))
