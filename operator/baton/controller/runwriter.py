"""Writing a run's status: the merge patch with its resourceVersion precondition, its Events, and
writes that go on behind the next reconcile.

A status write of a wide run (hundreds of kilobytes) takes tens of milliseconds, and while the
reconcile that makes it waits, the run's next reconcile cannot start: a join whose last dependency
just finished waited for the write before its Job was created. A write that records only progress
(tasks started or succeeded) therefore runs behind: the reconcile hands it over and ends. A reconcile
of the run while the write goes on only creates the Jobs the run needs from what is observed; once the
write is stored, the run is reconciled again from what was written (`RunReconciler.reconcile`), with
everything that came meanwhile. Only progress goes behind:
a run's start, outcome, failures, retries and stops are written before the reconcile ends, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from baton.api.codec import StatusCache, dump_run_status, encoded_size
from baton.api.run import PipelineRunStatus
from baton.core.actors import attributed, recorded_action
from baton.core.events import Event, EventType
from baton.core.kstatus import with_gitops_conditions
from baton.core.lineage import dataset_touches
from baton.core.lineage_events import lineage_events
from baton.core.state import RunMeta
from baton.core.status import STATUS_TOO_LARGE, status_too_large

from .cache import ClusterCache, Key, Obj
from .client import ApiFailure, KubeClient
from .datasets import DatasetKeeper
from .openlineage import LineageEmitter
from .paths import runs_path
from .recorder import EventRecorder

log = logging.getLogger(__name__)

BEHIND_RETRY = 5.0
"""Seconds before a run whose write behind failed is reconciled again."""


def _too_large(failure: ApiFailure) -> bool:
    """The API server (or etcd behind it) refuses the object for its size: retrying cannot help."""
    text = failure.message.lower()
    return failure.code == 413 or "too large" in text or "too long: must have at most" in text


def _gave_up(status: PipelineRunStatus) -> bool:
    condition = status.condition("Succeeded")
    return condition is not None and condition.reason == STATUS_TOO_LARGE


class RunStatusWriter:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        recorder: EventRecorder,
        requeue: Callable[[Key, float], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.requeue = requeue
        self.clock = clock
        self.statuses = StatusCache()
        self.last_write: dict[Key, float] = {}  # loop time of each run's last status write
        self._behind: dict[Key, asyncio.Task[None]] = {}
        self.datasets: DatasetKeeper | None = None
        """Where the datasets the runs' tasks wrote, read and checked are recorded."""
        self.lineage: LineageEmitter | None = None
        """Where OpenLineage events go, when it is configured."""

    def forget(self, key: Key) -> None:
        self.last_write.pop(key, None)

    async def close(self, grace: float = 10.0) -> None:
        """Let the writes still going on land (the operator is stopping); a write cut off is made again
        by the next operator, from the Jobs."""
        pending = [task for task in self._behind.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        self._behind.clear()

    def abandon(self) -> None:
        """Cancel the writes going on (this operator stopped leading: it must write nothing more); a
        write cut off is made again by the leader, from the Jobs."""
        for task in self._behind.values():
            task.cancel()
        self._behind.clear()

    def in_flight(self, key: Key) -> asyncio.Task[None] | None:
        """The run's write behind, while it is still being made."""
        task = self._behind.get(key)
        if task is not None and task.done():
            del self._behind[key]
            return None
        return task

    def write_behind(
        self, key: Key, run: Obj, status: PipelineRunStatus, before: PipelineRunStatus, events: list[Event]
    ) -> None:
        """Write without holding up the reconcile (see the module's docstring); one at a time per run."""
        assert self.in_flight(key) is None, "the reconcile waits for the previous write first"
        self._behind[key] = asyncio.create_task(self._behind_write(key, run, status, before, events))

    async def _behind_write(
        self, key: Key, run: Obj, status: PipelineRunStatus, before: PipelineRunStatus, events: list[Event]
    ) -> None:
        try:
            await self.write(key, run, status, before, events)
        except asyncio.CancelledError:
            raise
        except Exception:  # the reconcile that made it has ended: nothing above would see the error
            log.exception("writing the status of run %s/%s failed; reconciling it again", *key)
            self.requeue(key, BEHIND_RETRY)
        else:
            self.requeue(key, 0.0)  # reconciles meanwhile only started Jobs: plan from what is stored

    async def write(
        self,
        key: Key,
        run: Obj,
        status: PipelineRunStatus,
        before: PipelineRunStatus | None,
        events: list[Event],
    ) -> None:
        meta = run["metadata"]
        status = with_gitops_conditions(status, int(meta.get("generation") or 1), self.clock())
        touches = dataset_touches(before, status, key[1])
        if touches and self.datasets is not None:
            # Before the status that says the tasks ended: a crash in between records them again.
            await self.datasets.record(key[0], touches)
        body = dump_run_status(status)
        old = run.get("status") or {}
        # Only the top-level fields that changed, with nulls for those that went away: the frozen spec
        # and params never change after the start, and a 10,000-task run should not resend them.
        delta: dict[str, Any] = {k: v for k, v in body.items() if old.get(k) != v}
        delta.update({k: None for k in old if k not in body})
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": delta}
        try:
            written = await self.client.merge_patch(
                runs_path(key[0], key[1], status=True), patch, resource="pipelineruns.baton.dev"
            )
        except ApiFailure as failure:
            if failure.code == 409:  # our view was stale: re-read and plan again
                await self._refresh(key)
                return
            if failure.code == 404:
                return
            if _too_large(failure) and not _gave_up(status):
                await self._give_up(key, run, status, before, encoded_size(body), failure.message)
                return
            raise
        self.cache.observe_run("MODIFIED", written)
        if self.lineage is not None:
            self.lineage.submit(lineage_events(before, status, RunMeta.from_metadata(written["metadata"])))
        self.statuses.put(meta.get("uid", ""), written["metadata"].get("resourceVersion", ""), status)
        if status.phase is not None and status.phase.finished:
            self.last_write.pop(key, None)
        else:
            self.last_write[key] = asyncio.get_running_loop().time()
        action = recorded_action(meta.get("annotations"))
        if action is not None:
            started = before is None and status.pipeline_spec is not None
            events = attributed(events, action, int(meta.get("generation") or 1), started=started)
        if events:
            await self.recorder.record(written, events)

    async def _give_up(
        self,
        key: Key,
        run: Obj,
        status: PipelineRunStatus,
        before: PipelineRunStatus | None,
        size: int,
        why: str,
    ) -> None:
        """End a run whose status the API server refuses as too large, with a write small enough to pass."""
        base = before or PipelineRunStatus(pipeline=status.pipeline, start_time=status.start_time)
        generation = int(run["metadata"].get("generation") or 1)
        failed = status_too_large(base, size, why, generation, self.clock())
        condition = failed.condition("Succeeded")
        message = condition.message if condition is not None else why
        await self.write(key, run, failed, before, [Event(EventType.WARNING, STATUS_TOO_LARGE, message)])

    async def _refresh(self, key: Key) -> None:
        try:
            fresh = await self.client.get(runs_path(key[0], key[1]), resource="pipelineruns.baton.dev")
        except ApiFailure as failure:
            if failure.code == 404:
                self.cache.observe_run("DELETED", {"metadata": {"namespace": key[0], "name": key[1]}})
                return
            raise
        self.cache.observe_run("MODIFIED", fresh)
        self.requeue(key, 0.0)
