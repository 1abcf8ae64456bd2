"""The Job controller: batch/v1 Job semantics, as kube-controller-manager's job controller has them.

Level-triggered: every Job event, and every event of a Pod a Job controls, marks that Job dirty; after
each batch of events the dirty Jobs are synced from what is stored. A sync creates Pods up to
`parallelism` (and the remaining `completions`), counts succeeded and failed Pods into the status,
fails the Job on `backoffLimit` or `activeDeadlineSeconds`, completes it, handles `suspend` and
deletes it `ttlSecondsAfterFinished` after it finished. Each Job's status is written at most once per
sync, only when it changed. Deadlines and TTLs are timers on the event loop, not polls.

Differences from the real controller, all deliberate:
- Pods are counted once through in-memory bookkeeping instead of the `batch.kubernetes.io/job-tracking`
  finalizer (the annotation is set for fidelity), so `uncountedTerminatedPods` is always `{}`. A Pod that
  disappears while active counts as failed; Pods this controller deletes (suspension, scale-down) do not.
- A failed Pod is replaced at once, without the exponential back-off (10 s, 20 s, ...) of the real one.
- A Job that fails gets FailureTarget and Failed in the same write (Pods here vanish when deleted).
- Indexed completion mode, podFailurePolicy, successPolicy and backoffLimitPerIndex are not emulated.

Instant mode (`instant=True`, for the benchmark): no Pods and no processes. A new, unsuspended Job is
finished by one status write: started and completed now, `succeeded: 1`, SuccessCriteriaMet + Complete.
The annotation `devcluster.baton.dev/instant-exit-code: "<n>"` with n != 0 fails it instead
(FailureTarget + Failed, BackoffLimitExceeded). Instant mode posts no Events (they would be writes too).
With `hold` set, instant Jobs start (`active: 1`) but do not finish until `release()`: the benchmark keeps
1,000 runs active that way to measure the operator's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from . import errors
from .audit import AuditLog
from .events import EventRecorder
from .jobrules import (
    BACKOFF_LIMIT_MESSAGE,
    COMPLETIONS_MESSAGE,
    condition,
    condition_true,
    controller_uid,
    epoch,
    failure,
    finish_time,
    finished,
    instant_exit_code,
    is_active,
    is_ready,
    is_terminal,
    render_pod,
    set_condition,
    set_counts,
    succeeded_enough,
    wanted_active,
)
from .store import GroupResource, Obj, Store, WatchEvent, rfc3339

log = logging.getLogger(__name__)

JOBS = ("batch", "jobs")
PODS = ("", "pods")
POD_RETRY_SECONDS = 1.0
"""How soon a Job whose Pod was refused (a ResourceQuota) tries again."""
Key = tuple[str, str]


@dataclass
class _Tracking:
    """What the controller remembers about one Job (by uid) between syncs."""

    counted: set[str] = field(default_factory=set)  # terminal Pods already in succeeded/failed
    active: set[str] = field(default_factory=set)  # Pods active at the last sync
    deliberate: set[str] = field(default_factory=set)  # Pods deleted here that are not failures
    started_at: float | None = None  # wall-clock seconds, finer than status.startTime
    finished_at: float | None = None


class JobController:
    def __init__(self, store: Store, audit: AuditLog, *, instant: bool = False, hold: bool = False) -> None:
        self.store = store
        self.audit = audit
        self.instant = instant
        self.hold = hold  # instant mode: start Jobs but finish none until release()
        job_type, pod_type = store.registry.storage(*JOBS), store.registry.storage(*PODS)
        assert job_type is not None and pod_type is not None
        self.job_type, self.pod_type = job_type, pod_type
        self.events = EventRecorder(store, "job-controller")
        self._queue: asyncio.Queue[WatchEvent] | None = None
        self._task: asyncio.Task[None] | None = None
        self._dirty: dict[Key, None] = {}  # an insertion-ordered set: Jobs sync in the order they changed
        self._tracking: dict[str, _Tracking] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}  # (Job uid, "deadline" or "ttl")

    def start(self) -> None:
        self._queue = self.store.subscribe()
        self._task = asyncio.create_task(self._run(), name="devcluster-job-controller")

    async def stop(self) -> None:
        await self.store.unfollow(self._queue, self._task)
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- the loop ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._queue is not None
        for job in self.store.list(self.job_type):
            self._observed(job)
        self._sync_dirty()
        while True:
            # Drain what has queued up, then sync each dirty Job once: a burst of Pod updates costs one sync.
            # Instant Jobs' changes reach the watches in one send at the burst's end (thousands at once);
            # real processes' go out as each is stored, as kube-apiserver sends each write's event: held
            # to the end of a burst, the first completions of a fan-out's workers came with the last.
            event = await self._queue.get()
            with self.store.batch() if self.instant else contextlib.nullcontext():
                self._handle(event)
                while not self._queue.empty():
                    self._handle(self._queue.get_nowait())
                self._sync_dirty()

    def _handle(self, event: WatchEvent) -> None:
        try:
            if event.group_resource == JOBS:
                if event.type == "DELETED":
                    self._forget(event.obj)
                else:
                    self._observed(event.obj)
            elif event.group_resource == PODS:
                for ref in event.obj["metadata"].get("ownerReferences") or ():
                    if ref.get("controller") and ref.get("kind") == "Job":
                        self._dirty[(event.namespace, ref.get("name", ""))] = None
        except Exception:  # one malformed object must not stop the controller
            log.exception("job controller: handling %s failed", event.obj.get("metadata", {}).get("name"))

    def _observed(self, job: Obj) -> None:
        meta = job["metadata"]
        if meta["uid"] not in self._tracking:
            # Pods that finished before this controller saw the Job are already in its counts.
            self._tracking[meta["uid"]] = _Tracking(
                counted={p["metadata"]["uid"] for p in self._pods(job) if is_terminal(p)}
            )
            self._transition(job, "Created")
        self._dirty[(meta.get("namespace", ""), meta["name"])] = None

    def _forget(self, job: Obj) -> None:
        uid = job["metadata"]["uid"]
        if self._tracking.pop(uid, None) is not None:
            self._transition(job, "Deleted")
        for key in [k for k in self._timers if k[0] == uid]:
            self._timers.pop(key).cancel()

    def release(self) -> None:
        """Stop holding instant Jobs: every unfinished one finishes now (call on the store's loop)."""
        self.hold = False
        for job in self.store.list(self.job_type):
            self._dirty[(job["metadata"].get("namespace", ""), job["metadata"]["name"])] = None
        self._sync_dirty()

    def _sync_dirty(self) -> None:
        dirty, self._dirty = self._dirty, {}
        for key in dirty:
            self._sync(key)

    def _sync(self, key: Key) -> None:
        job = self.store.find(JOBS, *key)
        if job is None or job["metadata"]["uid"] not in self._tracking:
            return
        if job["metadata"].get("deletionTimestamp"):
            return  # deleted in the foreground or orphaning: the garbage collector has it
        try:
            if self.instant:
                self._sync_instant(job)
            else:
                self._sync_job(job)
        except Exception:  # one bad Job must not stop the others
            log.exception("job controller: sync of %s/%s failed", *key)

    # -- one Job -----------------------------------------------------------------------------------

    def _sync_instant(self, job: Obj) -> None:
        status, spec = job.get("status") or {}, job.get("spec") or {}
        if finished(status):
            self._arm_ttl(job, status)
            return
        new = dict(status)
        now = rfc3339(self.store.clock())
        if spec.get("suspend"):
            self._suspend(job, new, [], now)
        elif self.hold:
            self._resume(job, new, now)
            set_counts(new, active=1, ready=1)
        else:
            self._resume(job, new, now)
            if instant_exit_code(job) == 0:
                new.update(succeeded=1, completionTime=now)
                self._complete(job, new, now)
            else:
                new["failed"] = int(spec.get("backoffLimit", 6)) + 1
                self._fail(job, new, now, "BackoffLimitExceeded", BACKOFF_LIMIT_MESSAGE)
            set_counts(new, active=0, ready=0)
        self._write(job, new)

    def _sync_job(self, job: Obj) -> None:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        track = self._tracking[job["metadata"]["uid"]]
        pods = self._pods(job)
        active = [p for p in pods if is_active(p)]
        if finished(status):
            self._delete_pods(job, active, track, failures=False)
            self._arm_ttl(job, status)
            return
        new = dict(status)
        self._count(new, pods, track)
        now = rfc3339(self.store.clock())
        if spec.get("suspend"):
            self._suspend(job, new, active, now)
            self._write(job, new)
            return
        self._resume(job, new, now)
        started = track.started_at or epoch(new.get("startTime"))
        why = failure(spec, int(new.get("failed", 0)), active, started, time.time())
        succeeded = int(new.get("succeeded", 0))
        if why is not None:
            new["failed"] = int(new.get("failed", 0)) + self._delete_pods(job, active, track, failures=True)
            self._fail(job, new, now, *why)
            active = []
        elif succeeded_enough(spec, succeeded, len(active)):
            self._delete_pods(job, active, track, failures=False)
            new["completionTime"] = now
            self._complete(job, new, now)
            active = []
        else:
            terminating = sum(
                1 for p in pods if not is_terminal(p) and p["metadata"].get("deletionTimestamp")
            )
            active = self._scale(job, active, wanted_active(spec, succeeded, terminating), track)
            deadline = spec.get("activeDeadlineSeconds")
            if deadline is not None and started is not None:
                self._arm(job, "deadline", started + float(deadline), self._sync)
        set_counts(new, active=len(active), ready=sum(is_ready(p) for p in active))
        self._write(job, new)

    def _count(self, new: Obj, pods: list[Obj], track: _Tracking) -> None:
        """Add Pods that finished since the last sync to succeeded/failed, each exactly once."""
        succeeded = failed = 0
        for pod in pods:
            uid, phase = pod["metadata"]["uid"], (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed") and uid not in track.counted:
                track.counted.add(uid)
                succeeded += phase == "Succeeded"
                failed += phase == "Failed"
        # An active Pod deleted by someone else never reaches a terminal phase: a failure.
        vanished = track.active - {p["metadata"]["uid"] for p in pods} - track.deliberate - track.counted
        failed += len(vanished)
        track.counted |= vanished
        track.active = {p["metadata"]["uid"] for p in pods if is_active(p)}
        if succeeded:
            new["succeeded"] = int(new.get("succeeded", 0)) + succeeded
        if failed:
            new["failed"] = int(new.get("failed", 0)) + failed

    def _scale(self, job: Obj, active: list[Obj], wanted: int, track: _Tracking) -> list[Obj]:
        """Create or delete Pods so that `wanted` are active; return the active ones."""
        if len(active) > wanted:
            newest_first = sorted(
                active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True
            )
            excess = newest_first[: len(active) - wanted]
            self._delete_pods(job, excess, track, failures=False)
            return [p for p in active if p not in excess]
        created = []
        for _ in range(wanted - len(active)):
            pod = self._create_pod(job)
            if pod is None:  # refused (a ResourceQuota, say): try again soon, as the Job controller does
                self._arm(job, "create", time.time() + POD_RETRY_SECONDS, self._sync)
                break
            created.append(pod)
            track.active.add(pod["metadata"]["uid"])
        return active + created

    # -- status pieces ---------------------------------------------------------------------------------

    def _suspend(self, job: Obj, new: Obj, active: list[Obj], now: str) -> None:
        self._delete_pods(job, active, self._tracking[job["metadata"]["uid"]], failures=False)
        timer = self._timers.pop((job["metadata"]["uid"], "deadline"), None)
        if timer is not None:
            timer.cancel()
        set_counts(new, active=0, ready=0)
        if not condition_true(new, "Suspended"):
            set_condition(new, condition("Suspended", "JobSuspended", "Job suspended", now))
            self._transition(job, "Suspended", "Normal", "Job suspended")

    def _resume(self, job: Obj, new: Obj, now: str) -> None:
        if condition_true(new, "Suspended"):
            set_condition(new, condition("Suspended", "JobResumed", "Job resumed", now, status="False"))
            new.pop("startTime", None)  # the deadline counts from the resumption
            self._transition(job, "Resumed", "Normal", "Job resumed")
        if not new.get("startTime"):
            new["startTime"] = now
            self._tracking[job["metadata"]["uid"]].started_at = time.time()
            self._transition(job, "Started")

    def _complete(self, job: Obj, new: Obj, now: str) -> None:
        set_condition(new, condition("SuccessCriteriaMet", "CompletionsReached", COMPLETIONS_MESSAGE, now))
        set_condition(new, condition("Complete", "CompletionsReached", COMPLETIONS_MESSAGE, now))
        self._tracking[job["metadata"]["uid"]].finished_at = time.time()
        self._transition(job, "Complete", "Normal", "Job completed", reason="Completed")

    def _fail(self, job: Obj, new: Obj, now: str, reason: str, message: str) -> None:
        set_condition(new, condition("FailureTarget", reason, message, now))
        set_condition(new, condition("Failed", reason, message, now))
        self._tracking[job["metadata"]["uid"]].finished_at = time.time()
        self._transition(job, "Failed", "Warning", message, reason=reason)

    def _transition(
        self, job: Obj, transition: str, event_type: str = "", message: str = "", *, reason: str = ""
    ) -> None:
        """Record a transition in the audit log and, outside instant mode, as an Event."""
        meta = job["metadata"]
        self.audit.transition(
            kind="Job", namespace=meta.get("namespace", ""), name=meta["name"], transition=transition
        )
        if event_type and not self.instant:  # in instant mode every write counts: no Events
            self.events.record(job, event_type, reason or transition, message)

    def _write(self, job: Obj, new: Obj) -> None:
        if new == (job.get("status") or {}):
            return
        meta = job["metadata"]
        body = {"metadata": {"name": meta["name"]}, "status": new}
        try:
            self.store.update(
                self.job_type, meta.get("namespace", ""), meta["name"], body, subresource="status"
            )
        except errors.ApiError as error:
            if error.code != 404:  # a Job deleted meanwhile needs nothing more
                log.warning(
                    "status of job %s/%s not written: %s", meta.get("namespace"), meta["name"], error.message
                )
            return
        if finished(new):
            self._arm_ttl(job, new)

    # -- Pods ------------------------------------------------------------------------------------------

    def _pods(self, job: Obj) -> list[Obj]:
        uid = job["metadata"]["uid"]
        dependents = cast("Iterable[tuple[GroupResource, Obj]]", self.store.dependents(uid))
        return [pod for gr, pod in dependents if gr == PODS and controller_uid(pod) == uid]

    def _create_pod(self, job: Obj) -> Obj | None:
        try:
            pod = self.store.create(self.pod_type, job["metadata"].get("namespace", ""), render_pod(job))
        except errors.ApiError as error:
            self.events.record(job, "Warning", "FailedCreate", f"Error creating: {error.message}")
            return None
        self.events.record(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        return pod

    def _delete_pods(self, job: Obj, pods: list[Obj], track: _Tracking, *, failures: bool) -> int:
        """Delete Pods (the kubelet kills their processes); return how many were deleted."""
        deleted = 0
        for pod in pods:
            meta = pod["metadata"]
            try:
                self.store.delete(
                    self.pod_type,
                    meta.get("namespace", ""),
                    meta["name"],
                    propagation="Background",
                    preconditions={"uid": meta["uid"]},
                )
            except errors.ApiError as error:
                if error.code not in (404, 409):
                    log.warning(
                        "job %s: pod %s not deleted: %s", job["metadata"]["name"], meta["name"], error.message
                    )
                continue
            deleted += 1
            (track.counted if failures else track.deliberate).add(meta["uid"])
            track.active.discard(meta["uid"])
            self.events.record(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return deleted

    # -- timers ----------------------------------------------------------------------------------------

    def _arm_ttl(self, job: Obj, status: Obj) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or (job["metadata"]["uid"], "ttl") in self._timers:
            return
        track = self._tracking.get(job["metadata"]["uid"])
        done = track.finished_at if track is not None and track.finished_at else finish_time(status)
        if done is not None:
            self._arm(job, "ttl", done + float(ttl), self._expire)

    def _arm(self, job: Obj, kind: str, at: float, callback: Callable[[Key], None]) -> None:
        """Call `callback((namespace, name))` at wall-clock time `at`, replacing this kind's timer."""
        meta = job["metadata"]
        key = (meta["uid"], kind)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        target = (meta.get("namespace", ""), meta["name"])

        def fire() -> None:
            self._timers.pop(key, None)
            callback(target)

        self._timers[key] = asyncio.get_running_loop().call_later(max(0.0, at - time.time()), fire)

    def _expire(self, key: Key) -> None:
        job = self.store.find(JOBS, *key)
        if job is None or not finished(job.get("status") or {}):
            return
        try:
            self.store.delete(
                self.job_type, *key, propagation="Background", preconditions={"uid": job["metadata"]["uid"]}
            )
        except errors.ApiError as error:
            if error.code not in (404, 409):
                log.warning("job %s/%s not deleted after its TTL: %s", *key, error.message)
