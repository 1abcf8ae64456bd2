"""The shell of a Pipeline's schedule and run history: observe its runs, ask the core, apply.

Order, so that a crash at any point runs no slot twice and loses none: cancel the runs a Replace stops,
create the slots' runs (a 409 means the run is there already: adopted), delete the runs past the
history; only then does the caller record lastScheduleTime in the Pipeline's status. A crash before that
record makes the next reconcile decide the same slots again, and their creates answer 409.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.api.run import FINISHED_PHASES
from baton.core.events import Event
from baton.core.history import FinishedRun, prune_runs
from baton.core.scheduler import RunOfPipeline, RunToCreate, decide_schedule, scheduling_since
from baton.core.start import not_started
from baton.core.status import format_time, time_or_none
from baton.kube.childrun import parent_of
from baton.kube.slotruns import SCHEDULED_TIME, TRIGGER, run_body

from . import metrics
from .cache import ClusterCache, Key, Obj
from .client import ApiFailure, KubeClient
from .paths import runs_path

log = logging.getLogger(__name__)

CREATE_RETRY_SECONDS = 5.0
"""A run the schedule could not create (refused by a quota, a webhook) is tried again after this long."""


@dataclass
class Scheduled:
    """What the scheduler did for one Pipeline, for its status and its Events."""

    last_schedule_time: str | None
    next_schedule_time: str | None
    last_scheduled_run: str | None
    events: list[Event] = field(default_factory=list)
    wake_at: datetime | None = None
    missed: int = 0


def runs_view(cache: ClusterCache, key: Key) -> list[Obj]:
    return [run for run_key in cache.runs_of_pipeline(key) if (run := cache.runs.get(run_key)) is not None]


def _slot_of(run: Obj) -> datetime | None:
    return time_or_none(((run.get("metadata") or {}).get("annotations") or {}).get(SCHEDULED_TIME))


EXISTS: Obj = {}
"""What `create_run` answers for a run that was there already (409)."""


async def create_run(
    client: KubeClient, cache: ClusterCache, namespace: str, body: Obj, what: str
) -> Obj | None:
    """Create a run the operator makes for a Pipeline (`what`: scheduled, triggered): the created run,
    EXISTS for a 409 (another operator, or this one before a restart, made it: adopted), None when the
    create failed (logged; the caller records nothing and tries again)."""
    name = (body.get("metadata") or {}).get("name")
    try:
        created = await client.create(runs_path(namespace), body, resource="pipelineruns.baton.dev")
    except ApiFailure as failure:
        if failure.code == 409:
            return EXISTS
        log.error("creating %s run %s/%s failed: %s", what, namespace, name, failure)
        return None
    cache.observe_run("ADDED", created)
    return created


def _completed(run: Obj) -> datetime | None:
    return time_or_none((run.get("status") or {}).get("completionTime"))


def _phase(run: Obj) -> str | None:
    return (run.get("status") or {}).get("phase")


class PipelineScheduler:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cache = cache
        self.client = client
        self.clock = clock

    async def schedule(
        self, key: Key, pipeline: Obj, spec: PipelineSpec, status: PipelineStatus
    ) -> Scheduled:
        """Create the due slots' runs and prune the history; what to record in the Pipeline's status."""
        runs = runs_view(self.cache, key)
        now = self.clock()
        result = Scheduled(status.last_schedule_time, None, status.last_scheduled_run)
        if spec.schedule is not None:
            await self._fire(key, pipeline, spec, status, runs, now, result)
        if spec.run_history is None:
            return result
        finished = [
            FinishedRun(run["metadata"]["name"], phase, completed)
            for run in runs
            if (phase := _phase(run)) in FINISHED_PHASES
            and (completed := _completed(run)) is not None
            and parent_of(run) is None  # a sub-pipeline's child: its parent keeps (and deletes) it
        ]
        pruned = prune_runs(finished, spec.run_history)
        if pruned:
            retried = self._retried(key[0])
            for name, why in pruned:
                if name not in retried:  # a retry not started yet will read it
                    await self._delete(key[0], name, why)
        return result

    def _retried(self, namespace: str) -> set[str]:
        """The runs named by retries that have not ended (and so may still read them)."""
        return {
            str(retry_of)
            for (ns, _), run in self.cache.runs.items()
            if ns == namespace
            and (retry_of := (run.get("spec") or {}).get("retryOf"))
            and _phase(run) not in FINISHED_PHASES
        }

    async def _fire(
        self,
        key: Key,
        pipeline: Obj,
        spec: PipelineSpec,
        status: PipelineStatus,
        runs: list[Obj],
        now: datetime,
        result: Scheduled,
    ) -> None:
        assert spec.schedule is not None
        meta = pipeline["metadata"]
        last = time_or_none(status.last_schedule_time)
        announced = time_or_none(status.next_schedule_time)
        created = time_or_none(meta.get("creationTimestamp"))
        since = scheduling_since(last, announced, created, int(meta.get("generation") or 1), now)
        view = [
            RunOfPipeline(
                run["metadata"]["name"],
                _slot_of(run),
                active=_phase(run) not in FINISHED_PHASES,
                cancelling=(run.get("spec") or {}).get("cancel") is not None,
                scheduled=((run.get("metadata") or {}).get("labels") or {}).get(TRIGGER) == "schedule",
            )
            for run in runs
        ]
        decision = decide_schedule(key[1], spec.schedule, since, view, now, last_schedule_time=last)
        for name in decision.cancel:
            await self._cancel(key[0], name)
        made = await asyncio.gather(*(self._create(key[0], pipeline, run) for run in decision.create))
        if not all(made):
            # Record nothing: the next reconcile decides the same slots and adopts what was created.
            result.wake_at = now + timedelta(seconds=CREATE_RETRY_SECONDS)
            return
        fired = sum(1 for m in made if m == "created")
        if fired:
            metrics.SCHEDULES_FIRED.labels(namespace=key[0], pipeline=key[1]).inc(fired)
        if decision.missed:
            metrics.SCHEDULES_MISSED.labels(namespace=key[0], pipeline=key[1]).inc(decision.missed)
        if decision.last_schedule_time is not None:
            result.last_schedule_time = format_time(decision.last_schedule_time)
        if decision.create:
            result.last_scheduled_run = decision.create[-1].name
        result.next_schedule_time = (
            format_time(decision.next_schedule_time) if decision.next_schedule_time else None
        )
        # Another operator (or the run before a restart) created them: say nothing twice.
        result.events = [e for e in decision.events if e.reason != "Scheduled" or fired]
        result.wake_at = decision.wake_at
        result.missed = decision.missed

    async def _create(self, namespace: str, pipeline: Obj, run: RunToCreate) -> str | None:
        body = run_body(pipeline, run.name, run.slot, run.params)
        created = await create_run(self.client, self.cache, namespace, body, "scheduled")
        return None if created is None else "exists" if created is EXISTS else "created"

    async def _cancel(self, namespace: str, name: str) -> None:
        patch = {"spec": {"cancel": {"message": "replaced by a newer slot (concurrencyPolicy Replace)"}}}
        try:
            await self.client.merge_patch(
                runs_path(namespace, name), patch, resource="pipelineruns.baton.dev"
            )
        except ApiFailure as failure:
            if failure.code != 404:
                log.warning("could not cancel run %s/%s: %s", namespace, name, failure)

    async def _delete(self, namespace: str, name: str, why: str) -> None:
        try:
            await self.client.delete(runs_path(namespace, name), resource="pipelineruns.baton.dev")
        except ApiFailure as failure:
            if failure.code != 404:
                log.warning("could not delete run %s/%s (%s): %s", namespace, name, why, failure)
            return
        log.info("deleted run %s/%s: %s", namespace, name, why)


def queued_runs(cache: ClusterCache, key: Key) -> list[Key]:
    """The Pipeline's runs that have not started (queued, or not seen yet)."""
    return [
        (key[0], run["metadata"]["name"])
        for run in runs_view(cache, key)
        if not_started(run.get("status") or {}) and _phase(run) not in FINISHED_PHASES
    ]
