"""Before a run starts and after it ends: the Pipeline's queue (maxActiveRuns), the labels a run lacks, the
run a retry names, and the run's TTL.

The decisions are the core's (`baton.core.queueing`, `baton.core.history`); this reads what they need
from the cache.
"""

from __future__ import annotations

import logging
from datetime import datetime

from baton.api.codec import load_run_status
from baton.api.run import FINISHED_PHASES, PipelineRunStatus
from baton.core.history import expires_at
from baton.core.queueing import QueuedRun, queue_position, queued_status
from baton.core.start import RunStart, not_started
from baton.core.state import RunMeta
from baton.core.status import parse_time
from baton.kube.labels import missing_run_labels

from .cache import ClusterCache, Key, Obj
from .client import ApiFailure, KubeClient
from .paths import runs_path

log = logging.getLogger(__name__)


def _queued_run(run: Obj) -> QueuedRun:
    meta = run.get("metadata") or {}
    status = run.get("status") or {}
    return QueuedRun(
        name=str(meta.get("name") or ""),
        created=str(meta.get("creationTimestamp") or ""),
        started=not not_started(status),
        finished=status.get("phase") in FINISHED_PHASES,
    )


def max_active_runs(cache: ClusterCache, namespace: str, pipeline: str | None) -> int | None:
    if pipeline is None:
        return None
    found = cache.pipelines.get((namespace, pipeline))
    limit = ((found or {}).get("spec") or {}).get("maxActiveRuns")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else None


def admission_key(cache: ClusterCache, run: Obj) -> tuple[str, str] | None:
    """The Pipeline whose maxActiveRuns a run that has not started must wait for, if it has one."""
    meta = run.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    spec = run.get("spec") or {}
    pipeline = (spec.get("pipelineRef") or {}).get("name")
    if not pipeline and spec.get("retryOf"):
        retried = cache.runs.get((namespace, str(spec["retryOf"])))
        pipeline = ((retried or {}).get("status") or {}).get("pipeline")
    if not pipeline or max_active_runs(cache, namespace, str(pipeline)) is None:
        return None
    return (namespace, str(pipeline))


def queued(
    cache: ClusterCache, run: Obj, meta: RunMeta, pipeline: str | None, now: datetime
) -> RunStart | None:
    """The Queued status of a run that must wait for a free place among its Pipeline's active runs;
    None when it may start."""
    limit = max_active_runs(cache, meta.namespace, pipeline)
    if limit is None or pipeline is None:
        return None
    others = [
        found for key in cache.runs_of_pipeline((meta.namespace, pipeline)) if (found := cache.runs.get(key))
    ]
    position = queue_position(_queued_run(run), [_queued_run(other) for other in others], limit)
    if not position:
        return None
    return RunStart(queued_status(meta, pipeline, position, limit, now), waiting=True)


def worth_writing(stored: Obj, start: RunStart) -> bool:
    """Whether a waiting run's status says something new (a queue position that moved), so that a run
    waiting in a long queue is not rewritten on every reconcile."""
    if not stored.get("phase"):
        return True
    new = start.status.conditions[0] if start.status.conditions else None
    old = next((c for c in stored.get("conditions") or () if c.get("type") == "Succeeded"), None)
    return new is not None and new.reason == "Queued" and (old or {}).get("message") != new.message


def expiry(status: PipelineRunStatus, run_ttl: object, child: bool = False) -> datetime | None:
    """When a finished run is deleted (its ttlSecondsAfterFinished, else its frozen Pipeline's). Never for
    a sub-pipeline task's child: its parent may still have to read it, and deleting the parent deletes it."""
    if child or status.phase is None or not status.phase.finished or not status.completion_time:
        return None
    own = run_ttl if isinstance(run_ttl, int) and not isinstance(run_ttl, bool) else None
    default = status.pipeline_spec.ttl_seconds_after_finished if status.pipeline_spec else None
    return expires_at(parse_time(status.completion_time), own, default)


async def label_run(client: KubeClient, cache: ClusterCache, key: Key, run: Obj, pipeline: str | None) -> Obj:
    """The run with the labels it lacks (one patch, once: a run created by hand or by a tool that did not
    set them); as it was when the patch cannot be made (labels are a convenience)."""
    labels = missing_run_labels(run, pipeline)
    if not labels:
        return run
    patch = {"metadata": {"labels": labels}}
    try:
        labelled = await client.merge_patch(runs_path(*key), patch, resource="pipelineruns.baton.dev")
    except ApiFailure as failure:
        log.warning("could not label run %s/%s: %s", key[0], key[1], failure)
        return run
    cache.observe_run("MODIFIED", labelled)
    return labelled


async def previous_run(
    client: KubeClient, cache: ClusterCache, meta: RunMeta, name: str
) -> PipelineRunStatus | None:
    """The status of the run a retry names: from the cache, else read (None when there is none)."""
    old = cache.runs.get((meta.namespace, name))
    if old is None:
        try:
            old = await client.get(runs_path(meta.namespace, name), resource="pipelineruns.baton.dev")
        except ApiFailure as failure:
            if failure.code == 404:
                return None
            raise
    try:  # not through the status cache: that holds only statuses this operator wrote
        return load_run_status(old.get("status") or {})
    except ValueError as error:  # a status someone else broke: nothing that can be reused
        log.warning("the status of run %s/%s cannot be read: %s", meta.namespace, name, error)
        return None
