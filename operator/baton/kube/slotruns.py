"""The PipelineRun of one slot of a Pipeline's schedule, as the scheduler and a backfill create it.

Both name it from the slot (`baton.core.schedule.scheduled_run_name`), so whichever comes first creates
it and the other gets a 409: a slot runs once, however it was reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from baton import GROUP, VERSION
from baton.core.status import format_time
from baton.kube.labels import PIPELINE
from baton.kube.names import label_value

SCHEDULED_TIME = "baton.dev/scheduled-time"
"""Annotation of a run the schedule (or a backfill) created: its slot, RFC 3339 in UTC."""
TRIGGER = "baton.dev/trigger"
"""Label saying what created a run: schedule or backfill."""


def run_body(
    pipeline: Mapping[str, Any],
    name: str,
    slot: datetime,
    params: Mapping[str, str],
    trigger: str = "schedule",
) -> dict[str, Any]:
    """The run `name` of `pipeline` for `slot` (the schedule's, or a backfill's), in its namespace."""
    meta = pipeline["metadata"]
    owner = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "blockOwnerDeletion": False,
    }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": {PIPELINE: label_value(meta["name"]), TRIGGER: trigger},
            "annotations": {SCHEDULED_TIME: format_time(slot)},
            "ownerReferences": [owner] if meta.get("uid") else [],
        },
        "spec": {"pipelineRef": {"name": meta["name"]}, "params": dict(params)},
    }
