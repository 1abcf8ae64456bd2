"""Reconcile one PipelineRun: observe (cache), decide (`baton.core`), apply (API calls).

Order of application, so that a crash at any point loses nothing and duplicates nothing: create the
planned Jobs first (deterministic names: a 409 means it exists and is adopted), delete the Jobs the plan
stops (a 404 means it is gone already), then patch the status with the run's resourceVersion as a
precondition, then post one Event, then schedule the wake-up. A crash between the creates and the patch
leaves Jobs the next plan adopts from the Job watch; one between a delete and the patch makes the next
plan stop the same task again, which finds the Job gone.

The run's spec steers it while it runs (cancel, suspend, timeoutSeconds): it is read on every reconcile
(``RunControl``), and a change of it bumps the generation, so the watch brings the run back here. A
retry (spec.retryOf) starts from the status of the run it names, from the cache or read once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.api.codec import load_run_status
from baton.api.pipeline import PipelineSpec
from baton.api.run import PipelineRunStatus
from baton.core.bursts import first_slice
from baton.core.cache import CacheView
from baton.core.collect import wide_tasks
from baton.core.events import Event, EventType
from baton.core.observed import ObservedJob
from baton.core.plan import plan
from baton.core.progress import progress_only
from baton.core.queueing import cancelled_before_start
from baton.core.quota import quota_delay
from baton.core.start import RunStart, invalid_start, not_started, start_run, waiting_for_pipeline
from baton.core.state import RunControl, RunMeta, RunState
from baton.core.status import parse_time
from baton.core.transition_memo import TransitionMemo
from baton.core.workspaces import claim_failed
from baton.kube.childrun import parent_of, recursion

from .applying import RunApplier
from .cache import ClusterCache, Key, Obj
from .claims import apply_claims
from .client import KubeClient
from .collector import JobCollector
from .lifecycle import admission_key, expiry, label_run, previous_run, queued, worth_writing
from .prepared import PreparedStarts
from .recorder import EventRecorder
from .runwriter import RunStatusWriter
from .taskcache import TaskCache

log = logging.getLogger(__name__)


PIPELINE_GRACE_SECONDS = 15.0
"""How long a run waits for the Pipeline it names to appear (GitOps tools may apply the run first)."""
PROGRESS_INTERVAL = 0.5
"""Seconds between two status writes of one run that only record tasks starting or succeeding."""
QUIET = 0.1
"""A progress write waits until the run's Jobs have been quiet this long (seconds)…"""
STALE_HOLD = 5.0
"""… unless the last write is this old."""
BUSY = 16
"""Runs waiting for a worker from which the operator counts as busy: a run's progress then waits up to
STALE_HOLD to be written (a burst of runs spends its requests on Jobs and outcomes, not on progress)."""
NEXT_RECONCILE = 1e-6
"""A delay that only lets the reconcile already queued go first."""
WIDE = 500
"""Tasks and instances from which a run's status counts as large (the quiet rule above applies)."""


def _units(status: PipelineRunStatus) -> int:
    return len(status.tasks) + sum(len(t.instances) for t in status.tasks if t.items)


class RunReconciler:
    def __init__(
        self,
        cache: ClusterCache,
        client: KubeClient,
        recorder: EventRecorder,
        requeue: Callable[[Key, float], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        quiet: Callable[[Key], float] = lambda _: float("inf"),
        backlog: Callable[[], int] = lambda: 0,
        catch_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.cache = cache
        self.client = client
        self.recorder = recorder
        self.requeue = requeue
        self.clock = clock
        self.quiet = quiet
        """Seconds since the last event of the run's Jobs or Pods."""
        self.backlog = backlog
        """Keys waiting for a worker (the work queue's depth)."""
        self.catch_up = catch_up
        """Returns once the Job and Pod events already received are in the cache (see informer.catch_up)."""
        self.writer = RunStatusWriter(cache, client, recorder, requeue, clock)
        self.collector = JobCollector(client)
        self.statuses = self.writer.statuses
        self._held: dict[Key, float] = {}  # run → when the progress it has not written was first held
        self._reported: set[tuple[str, str]] = set()  # (uid, resourceVersion) of unreadable statuses told
        self.applier = RunApplier(cache, client)
        self.started_at = clock()
        """When this operator began to watch: a Job not seen yet is not lost before a while after it."""
        self.prepared = PreparedStarts(cache, self.applier.create_jobs, clock, self.started_at)
        """What each run's last plan prepared to create the moment its running parents succeed."""
        self._refusals: dict[Key, int] = {}  # quota refusals in a row, by run (they set the delay)
        self._memos: dict[Key, tuple[PipelineRunStatus, TransitionMemo]] = {}  # see core.transition_memo
        self._admitting: dict[Key, asyncio.Lock] = {}  # by Pipeline with maxActiveRuns
        self.reconciles = 0
        self.task_cache = TaskCache()
        """The cache of tasks with `cache`, from the finished runs (the operator feeds it from the watch)."""

    async def reconcile(self, key: Key) -> None:
        if self.catch_up is not None:
            await self.catch_up()
        run = self.cache.runs.get(key)
        limited = admission_key(self.cache, run) if run and not_started(run.get("status") or {}) else None
        if limited is None:
            await self._reconcile(key)
            return
        # Runs of a Pipeline with maxActiveRuns start one at a time: each decides with the others' starts
        # stored (the creation times that order the queue have only second precision, so a run decided
        # alongside another could not otherwise tell which of the two was there first).
        lock = self._admitting.setdefault(limited, asyncio.Lock())
        async with lock:
            await self._reconcile(key)

    async def _reconcile(self, key: Key) -> None:
        await self.prepared.settled(key)  # a Job created ahead is then in the cache: adopted, not created
        if self.writer.in_flight(key) is not None:
            # The last reconcile's write still goes on: start what the run needs now; the writer brings
            # the run back once the write is stored, to plan again from it.
            await self._act_early(key)
            return
        run = self.cache.runs.get(key)
        if run is None:
            self.prepared.forget(key)
            self.writer.forget(key)
            self.collector.forget(key)
            self._memos.pop(key, None)
            self._held.pop(key, None)
            self._refusals.pop(key, None)
            return
        self.reconciles += 1
        now = self.clock()
        meta = RunMeta.from_metadata(run["metadata"])
        raw_status = run.get("status") or {}
        events: list[Event] = []
        fresh = not_started(raw_status)
        if fresh:
            start = await self._start(run, meta, now)
            if start is None:
                return
            if start.waiting:
                if worth_writing(raw_status, start):  # say it once; the requeue brings the run back
                    await self.writer.write(key, run, start.status, None, [])
                return
            run = await label_run(self.client, self.cache, key, run, start.status.pipeline)
            status, events = start.status, list(start.events)
            if start.started and start.claims:
                retried = (run.get("spec") or {}).get("retryOf")
                problem = await apply_claims(self.client, meta, start.claims, retried)
                if problem is not None:
                    status, event = claim_failed(status, *problem, meta.generation, now)
                    events.append(event)
                    await self.writer.write(key, run, status, None, events)
                    return
            if not start.started:
                await self.writer.write(key, run, status, None, events)
                return
        else:
            try:
                status = self._load(run, raw_status)
            except ValueError as error:  # pydantic's ValidationError is one
                await self._unreadable(run, error)
                return
        before = None if fresh else status
        ttl = (run.get("spec") or {}).get("ttlSecondsAfterFinished")
        child = parent_of(run) is not None
        expires = None if fresh else expiry(status, ttl, child)
        if expires is not None:
            if expires <= now:
                await self.applier.delete_run(key, "ttlSecondsAfterFinished passed")
                return
            self.requeue(key, (expires - now).total_seconds())
        if (
            before is not None
            and status.phase is not None
            and status.phase.finished
            and not status.pipeline_spec
        ):
            # Ended before it started (invalid, or its Pipeline never came): nothing to plan, nothing wrong.
            return
        control = RunControl.from_spec(run.get("spec"))
        try:
            state = RunState(meta, status, control)
        except ValueError as error:
            await self._unreadable(run, error)
            return
        observed = self._observed(key)
        memo = self._memo(key, status)
        cache = self._cache_view(key[0], status)
        decision = plan(state, observed, now, observing_since=self.started_at, cache=cache, memo=memo)
        self.prepared.install(key, decision.prepared, decision.wake_at)
        creates = decision.create_jobs
        # A wide burst of a started run: its last part after a plan that sees what completed meanwhile.
        cut = len(creates) if before is None else first_slice(len(creates))
        created, refused = await self.applier.create_jobs(creates[:cut])
        if refused and cut < len(creates):  # the quota is full: the rest would be refused too
            refused |= {job.task: next(iter(refused.values())) for job in creates[cut:]}
        elif created and cut < len(creates):
            self.prepared.drop(key)  # planned with the whole burst started: the next plan prepares
            self.requeue(key, NEXT_RECONCILE)
            return
        if created and refused:
            # Plan again knowing what the quota refused: those units wait (and say so), the Jobs that
            # were created are adopted; this plan creates nothing.
            decision = plan(state, self._observed(key), now, refused, self.started_at, cache=cache, memo=memo)
            self.prepared.drop(key)  # the quota decides what starts next
            created, _ = await self.applier.create_jobs(decision.create_jobs)
            self._refusals[key] = self._refusals.get(key, 0) + 1
            self.requeue(key, quota_delay(self._refusals[key]))
        elif created:
            self._refusals.pop(key, None)
        if not created:
            self.prepared.drop(key)
            self.requeue(key, 2.0)  # a create failed: write nothing that claims its Job, plan again soon
            return
        if decision.delete_jobs:
            await asyncio.gather(
                *(self.applier.delete_job(meta.namespace, name, meta.name) for name in decision.delete_jobs)
            )
        new_status = decision.status if decision.status is not None else (status if before is None else None)
        if new_status is not None:
            wait = self._progress_wait(key, before, new_status, bool(decision.delete_jobs))
            if wait <= 0:
                self._held.pop(key, None)
            if wait > 0:
                # Plan again when the interval ends: that plan starts from the stored status, so it
                # writes these transitions (and their Events) together with whatever came after.
                self.requeue(key, wait)
            elif before is not None and progress_only(before, new_status, bool(decision.delete_jobs)):
                self.writer.write_behind(key, run, new_status, before, [*events, *decision.events])
            else:
                await self.writer.write(key, run, new_status, before, [*events, *decision.events])
                if wide_tasks(new_status):
                    self.requeue(key, 0.0)  # its Jobs of instances now recorded may go (see collector)
        if decision.wake_at is not None:
            self.requeue(key, max(0.0, (decision.wake_at - now).total_seconds()))
        if new_status is not None and new_status.phase is not None and new_status.phase.finished:
            self._memos.pop(key, None)
        if new_status is not None and (ends := expiry(new_status, ttl, child)):
            self.requeue(key, max(0.0, (ends - now).total_seconds()))  # it just ended: its TTL starts
        if before is not None:  # the status as stored: only what it records may lose its Jobs
            await self.collector.collect(key, before, observed)  # the Jobs it was planned with

    def _progress_wait(
        self, key: Key, before: PipelineRunStatus | None, after: PipelineRunStatus, stopping: bool
    ) -> float:
        """Seconds to hold back a status write that records only progress, so that a run of fast tasks
        costs about one request per task, not two, and a busy operator spends its requests on Jobs.

        Nothing is lost by waiting: the Jobs are the record of progress, the planner adopts them after a
        restart, and the run's start, its outcome, failures, skips, retries and stops are written at once.
        """
        if before is None or not progress_only(before, after, stopping):
            return 0.0
        last = self.writer.last_write.get(key)
        now = asyncio.get_running_loop().time()
        if last is None:
            return 0.0
        quiet = self.quiet(key)
        if quiet < QUIET and now - last < STALE_HOLD and _units(after) >= WIDE:
            # A wide run's Jobs are changing right now (completions streaming in): a write of its large
            # status now would be stale at once and keep the API server busy. Write once it is quiet.
            # (Not for small runs: each reconcile re-derives from the Jobs what the stored status lacks,
            # so holding a chain's writes for seconds would make every step redo all since the last.)
            return max(NEXT_RECONCILE, QUIET - quiet)
        if self.backlog() >= BUSY:
            # Busy: the progress waits until it is STALE_HOLD old (counted from when it was first held,
            # not from the last write: a run that waited long, then moves, is not stale at once); a Job
            # event of the run reconciles it sooner, and its outcome is written at once.
            return max(0.0, self._held.setdefault(key, now) + STALE_HOLD - now)
        return max(0.0, last + PROGRESS_INTERVAL - now)

    async def _act_early(self, key: Key) -> None:
        """Create the Jobs the run needs now, from the stored status and what is observed (no write:
        the full reconcile that follows plans again from the status being written, and writes)."""
        run = self.cache.runs.get(key)
        if run is None or not_started(run.get("status") or {}):
            return
        try:
            status = self._load(run, run.get("status") or {})
            state = RunState(
                RunMeta.from_metadata(run["metadata"]), status, RunControl.from_spec(run.get("spec"))
            )
        except ValueError:
            return  # the full reconcile says what is wrong
        if status.phase is None or status.phase.finished:
            return
        early = plan(
            state,
            self._observed(key),
            self.clock(),
            observing_since=self.started_at,
            cache=self._cache_view(key[0], status),
            memo=self._memo(key, status),
        )
        if early.create_jobs:
            await self.applier.create_jobs(early.create_jobs)

    def _memo(self, key: Key, status: PipelineRunStatus) -> TransitionMemo | None:
        """The run's memo for plans from this stored status (a new status: a new memo; none once the
        run has ended, so that a finished run keeps nothing here)."""
        if status.phase is None or status.phase.finished:
            self._memos.pop(key, None)
            return None
        kept = self._memos.get(key)
        if kept is None or kept[0] is not status:
            kept = self._memos[key] = (status, TransitionMemo())
        return kept[1]

    def _cache_view(self, namespace: str, status: PipelineRunStatus) -> CacheView | None:
        return self.task_cache.view(namespace, status.pipeline, self.cache)

    # -- observe ----------------------------------------------------------------------------------

    async def _start(self, run: Obj, meta: RunMeta, now: datetime) -> RunStart | None:
        spec = run.get("spec") or {}
        ref = (spec.get("pipelineRef") or {}).get("name") if isinstance(spec, Mapping) else None
        nested = recursion(meta.ancestry, str(ref)) if meta.ancestry and ref else None
        if nested is not None:  # a sub-pipeline that (through others) runs itself
            return invalid_start(meta, str(ref), nested, now)
        cancel = spec.get("cancel") if isinstance(spec, Mapping) else None
        if isinstance(cancel, Mapping):  # cancelled while it waited: nothing to start, nothing to stop
            waited_for = (run.get("status") or {}).get("pipeline") or (spec.get("pipelineRef") or {}).get(
                "name"
            )
            return cancelled_before_start(meta, waited_for, cancel.get("message"), now)
        retry_of = spec.get("retryOf") if isinstance(spec, Mapping) else None
        if isinstance(retry_of, str) and retry_of:
            old = await previous_run(self.client, self.cache, meta, retry_of)
            waits = queued(self.cache, run, meta, old.pipeline if old is not None else None, now)
            return waits or start_run(meta, spec, None, now, retry_of=old)
        pipeline_spec: Mapping[str, Any] | PipelineSpec | None = None
        ref = (spec.get("pipelineRef") or {}).get("name") if isinstance(spec, Mapping) else None
        if ref and not spec.get("pipelineSpec"):
            pipeline = self.cache.pipelines.get((meta.namespace, str(ref)))
            if pipeline is None:
                created = run["metadata"].get("creationTimestamp")
                waited = (now - parse_time(created)).total_seconds() if created else PIPELINE_GRACE_SECONDS
                if waited < PIPELINE_GRACE_SECONDS:
                    left = PIPELINE_GRACE_SECONDS - waited
                    self.requeue((meta.namespace, meta.name), left)
                    return waiting_for_pipeline(meta, str(ref), now + timedelta(seconds=left), now)
            else:
                waits = queued(self.cache, run, meta, str(ref), now)
                if waits is not None:
                    return waits
                raw = pipeline.get("spec") or {}
                parsed, _ = self.cache.specs.check((meta.namespace, str(ref)), raw)
                pipeline_spec = parsed if parsed is not None else raw  # (the errors are said from raw)
        return start_run(meta, spec, pipeline_spec, now)

    async def _unreadable(self, run: Obj, error: ValueError) -> None:
        """A status someone else broke: say so once per change of the run, and wait for the next change
        (planning from it could only guess, and retrying it would fail the same way)."""
        meta = run["metadata"]
        key = (meta.get("uid", ""), meta.get("resourceVersion", ""))
        if key in self._reported:
            return
        self._reported.add(key)
        message = f"the run's status cannot be read, so nothing is done until it changes: {error}"
        log.error("run %s/%s: %s", meta.get("namespace"), meta.get("name"), message)
        await self.recorder.record(run, [Event(EventType.WARNING, "StatusUnreadable", message[:1000])])

    def _load(self, run: Obj, raw_status: Mapping[str, Any]) -> PipelineRunStatus:
        meta = run["metadata"]
        cached = self.statuses.get(meta.get("uid", ""), meta.get("resourceVersion", ""))
        if cached is not None:
            return cached
        status = load_run_status(raw_status)
        self.statuses.put(meta.get("uid", ""), meta.get("resourceVersion", ""), status)
        return status

    def _observed(self, key: Key) -> list[ObservedJob]:
        return self.cache.observed_jobs(key)
