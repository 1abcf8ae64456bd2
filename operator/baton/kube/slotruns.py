"""The PipelineRuns the operator creates for a Pipeline: one per slot of its schedule (as a backfill
does too), one per upstream run of its triggers.

A slot's run is named from the slot (`baton.core.schedule.scheduled_run_name`), so whichever of the
scheduler and a backfill comes first creates it and the other gets a 409: a slot runs once, however it
was reached. A triggered run is named from its upstream run in the same way.

None is owned by its Pipeline (no ownerReference): a run is history, and deleting or renaming a Pipeline
(in git, with Argo CD's or Flux's prune) must not garbage-collect its runs and their Jobs, running ones
included. A started run goes on from the Pipeline spec it froze; its history stays, found by the
`baton.dev/pipeline` label, and a Pipeline re-created under the same name takes it back.
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
"""Label saying what created a run: schedule, backfill, pipeline (a trigger on runs) or dataset."""
TRIGGERED_BY = "baton.dev/triggered-by"
TRIGGERED_BY_DATASET = "baton.dev/triggered-by-dataset"
"""On a run a dataset trigger created: the dataset's URI (and "#PARTITION") whose update started it."""
"""Annotation of a run a trigger created: the upstream run, NAMESPACE/NAME."""


def run_body(
    pipeline: Mapping[str, Any],
    name: str,
    slot: datetime,
    params: Mapping[str, str],
    trigger: str = "schedule",
) -> dict[str, Any]:
    """The run `name` of `pipeline` for `slot` (the schedule's, or a backfill's), in its namespace."""
    return created_run(pipeline, name, params, {SCHEDULED_TIME: format_time(slot)}, trigger)


def created_run(
    pipeline: Mapping[str, Any],
    name: str,
    params: Mapping[str, str],
    annotations: Mapping[str, str],
    trigger: str,
) -> dict[str, Any]:
    """A run of `pipeline` that the operator (or a backfill) creates on its behalf."""
    meta = pipeline["metadata"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": {PIPELINE: label_value(meta["name"]), TRIGGER: trigger},
            "annotations": dict(annotations),
        },
        "spec": {"pipelineRef": {"name": meta["name"]}, "params": dict(params)},
    }
