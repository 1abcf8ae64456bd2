"""Run and task metrics, derived from what the operator's watches show (not from what it did).

The run watch delivers each PipelineRun's status as the operator wrote it; comparing each version with
the last one seen for the same run (by uid) gives the transitions: a run started or finished, a task's
attempt started, a task finished. The Job watch adds the two moments the status cannot tell precisely
(its times have second precision): when a task's Job was created and when it finished.

Counting rules, so that restarts neither lose nor double anything that matters:
- Objects listed when the operator starts (kopf gives them event type None) are recorded, not counted:
  what happened before this process is not its to count. Later transitions of those runs are counted
  (the operator is the only writer of a run's status, so a run cannot finish while it is down).
- Counters and histograms therefore start at zero in a new process, as Prometheus expects.
- Gauges (active runs and tasks by phase, throttled tasks, oldest run's age) are computed at scrape time
  from the runs as last seen, which after a restart is the start-up listing: right at once.

Durations and latencies use this process's monotonic clock when both ends were seen here, else the
status's own timestamps (second precision).

Scheduling latency: from a task's dependencies being met (its last upstream Job seen finished; for a
task without dependencies, the run seen created) to its first attempt's Job being seen created.
Retries are left out: their delay is the retry backoff, not scheduling.

Parallelism wait: the part of that latency during which the task was ready (Pending, every upstream
task Succeeded) in a status the operator wrote without starting it. The planner starts every ready task
the limit allows in the same reconcile that makes it ready, so a task is only seen waiting like this
while its run is at its parallelism limit. Tasks that started at once count as 0.

Every method swallows its own errors: metrics must never get in the way of orchestration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from baton.api.codec import load_run_status
from baton.api.run import PipelineRunStatus
from baton.core.references import graph_nodes
from baton.core.status import parse_time
from baton.kube import labels
from baton.kube.observe import job_finished

from . import metrics
from .runrecords import (
    PENDING,
    RUNNING,
    SUCCEEDED,
    RunRecord,
    TaskRecord,
    phase_of,
    run_finished,
    seconds_between,
    task_finished,
    task_label,
)

log = logging.getLogger("baton.runs")

Obj = Mapping[str, Any]
StatusLookup = Callable[[str, str], PipelineRunStatus | None]
"""(uid, resourceVersion) → the status the operator itself wrote at that version, if it still has it."""


class RunObserver:
    """Feeds the run and task metrics from the run and Job watches; reports the gauges at scrape time.

    kopf calls synchronous handlers from a thread pool, and the metrics endpoint reads from its own
    thread, so all state is guarded by one lock (held for microseconds per event).
    """

    def __init__(
        self, statuses: StatusLookup | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._statuses = statuses
        self._clock = clock
        self._lock = threading.Lock()
        self._runs: dict[str, RunRecord] = {}
        self._pipelines: set[tuple[str, str, tuple[str, ...]]] = set()
        self._known: dict[tuple[str, str], None] = {}  # Pipelines that exist: their gauges show 0s

    # -- watches ------------------------------------------------------------------------------------

    def pipeline_event(self, event_type: str | None, obj: Obj) -> None:
        try:
            meta = obj.get("metadata") or {}
            pair = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            with self._lock:
                if event_type == "DELETED":
                    self._known.pop(pair, None)
                    self._pipelines = {key for key in self._pipelines if key[:2] != pair}
                    metrics.forget_pipeline(*pair)
                    return
                self._known[pair] = None
                tasks = tuple(
                    str(t.get("name")) for t in (obj.get("spec") or {}).get("tasks") or () if t.get("name")
                )
                self._initialize(*pair, tasks)
        except Exception:
            log.exception("metrics: could not observe a Pipeline event")

    def run_event(
        self,
        event_type: str | None,
        obj: Obj,
        at: float | None = None,
        status: PipelineRunStatus | None = None,
    ) -> None:
        """`at`: when the event came (by `clock`), for a caller that counts it later; default now.
        `status`: the run's status as parsed already (the operator's own write), if the caller has it."""
        try:
            with self._lock:
                self._run_event(event_type, obj, self._clock() if at is None else at, status)
        except Exception:
            log.exception("metrics: could not observe a PipelineRun event")

    def job_event(self, event_type: str | None, obj: Obj, at: float | None = None) -> None:
        try:
            with self._lock:
                self._job_event(event_type, obj, self._clock() if at is None else at)
        except Exception:
            log.exception("metrics: could not observe a Job event")

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    # -- gauges ---------------------------------------------------------------------------------------

    def gauges(self) -> metrics.GaugeSnapshot:
        snapshot = metrics.GaugeSnapshot()
        now = datetime.now(UTC)
        with self._lock:
            for namespace, pipeline in self._known:
                for phase in (PENDING, RUNNING):
                    snapshot.runs[(namespace, pipeline, phase)] = 0
                    snapshot.tasks[(namespace, pipeline, phase)] = 0
                snapshot.throttled[(namespace, pipeline)] = 0
            runs = [run for run in self._runs.values() if run.active]
            rows = [
                (
                    run.namespace,
                    run.pipeline,
                    run.phase or PENDING,
                    dict(run.counts),
                    len(run.ready) if self._at_limit(run) else 0,
                    run.start_time or run.creation_time,
                )
                for run in runs
            ]
        for namespace, pipeline, phase, counts, throttled, since in rows:
            key = (namespace, pipeline, phase)
            snapshot.runs[key] = snapshot.runs.get(key, 0) + 1
            for task_phase, count in counts.items():
                task_key = (namespace, pipeline, task_phase)
                snapshot.tasks[task_key] = snapshot.tasks.get(task_key, 0) + count
            pair = (namespace, pipeline)
            snapshot.throttled[pair] = snapshot.throttled.get(pair, 0) + throttled
            if since:
                age = max(0.0, (now - parse_time(since)).total_seconds())
                snapshot.oldest_age[pair] = max(snapshot.oldest_age.get(pair, 0.0), age)
        return snapshot

    @staticmethod
    def _at_limit(run: RunRecord) -> bool:
        return run.parallelism is not None and run.counts.get(RUNNING, 0) >= run.parallelism

    # -- runs -------------------------------------------------------------------------------------------

    def _run_event(
        self, event_type: str | None, obj: Obj, now: float, known: PipelineRunStatus | None = None
    ) -> None:
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if event_type == "DELETED":
            self._runs.pop(uid, None)
            return
        live = event_type is not None  # None: listed at start-up, so it happened before this process
        raw: Mapping[str, Any] = obj.get("status") or {}
        phase = raw.get("phase")
        run = self._runs.get(uid)
        first = run is None
        if run is None:
            run = self._runs[uid] = RunRecord(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            run.creation_time = meta.get("creationTimestamp")
            run.pipeline = str(((obj.get("spec") or {}).get("pipelineRef") or {}).get("name") or "")
            if live and not phase:
                run.created_seen = now
        if run_finished(run.phase):
            return  # its record is final
        if not phase:
            return
        if first and not live and run_finished(str(phase)):
            run.phase = str(phase)  # finished before this process: nothing to count, nothing to parse
            return
        counting = live or not first
        status = known if known is not None else self._load(uid, str(meta.get("resourceVersion") or ""), raw)
        learned = not run.parents and status.pipeline_spec is not None
        if learned:
            self._learn_spec(run, status)
        if status.pipeline:
            run.pipeline = status.pipeline
        if run.phase is None and counting:
            run.started_seen = now
            metrics.RUNS_STARTED.labels(namespace=run.namespace, pipeline=run.pipeline).inc()
            log.info(
                "run started",
                extra={"namespace": run.namespace, "run": run.name, "pipeline": run.pipeline},
            )
        run.start_time = status.start_time
        self._observe_tasks(run, status, counting, now, from_scratch=learned)
        run.phase = str(phase)
        if run_finished(run.phase):
            if counting:
                self.run_finished(run, status, now)
            run.forget_details()

    def run_finished(self, run: RunRecord, status: PipelineRunStatus, now: float) -> None:
        phase = str(run.phase)
        metrics.RUNS_FINISHED.labels(namespace=run.namespace, pipeline=run.pipeline, phase=phase).inc()
        if run.started_seen is not None:
            duration: float | None = now - run.started_seen
        else:
            duration = seconds_between(status.start_time, status.completion_time)
        if duration is not None:
            metrics.RUN_DURATION.labels(namespace=run.namespace, pipeline=run.pipeline, phase=phase).observe(
                duration
            )
        condition = status.condition("Succeeded")
        log.log(
            logging.INFO if phase == "Succeeded" else logging.WARNING,
            "run %s%s%s",
            phase.lower(),
            f" in {status.duration}" if status.duration else "",
            f": {condition.message}" if condition is not None and condition.message else "",
            extra={"namespace": run.namespace, "run": run.name, "pipeline": run.pipeline},
        )

    def _load(self, uid: str, resource_version: str, raw: Mapping[str, Any]) -> PipelineRunStatus:
        if self._statuses is not None:
            cached = self._statuses(uid, resource_version)
            if cached is not None:
                return cached
        return load_run_status(raw)

    def _learn_spec(self, run: RunRecord, status: PipelineRunStatus) -> None:
        spec = status.pipeline_spec
        assert spec is not None
        run.parallelism = spec.parallelism
        # dependsOn and the dependencies that result references imply (finally tasks are not counted).
        nodes = graph_nodes(spec)[: len(spec.tasks)]
        run.parents = {name: tuple(deps) for name, deps in nodes}
        run.children = {name: [] for name, _ in nodes}
        for name, deps in nodes:
            for parent in deps:
                run.children.setdefault(parent, []).append(name)
        run.tasks = {name: TaskRecord() for name in run.parents}
        run.counts = {PENDING: len(run.tasks)} if run.tasks else {}
        run.pipeline = status.pipeline or ""
        self._initialize(run.namespace, run.pipeline, tuple(run.parents))

    def _initialize(self, namespace: str, pipeline: str, tasks: tuple[str, ...]) -> None:
        if len(tasks) > metrics.TASK_LABEL_LIMIT:
            tasks = (metrics.MANY_TASKS,)
        key = (namespace, pipeline, tasks)
        if key in self._pipelines:
            return
        if len(self._pipelines) > 10_000:
            self._pipelines.clear()
        self._pipelines.add(key)
        metrics.initialize_pipeline(namespace, pipeline, tasks)

    # -- tasks ------------------------------------------------------------------------------------------

    def _observe_tasks(
        self, run: RunRecord, status: PipelineRunStatus, counting: bool, now: float, *, from_scratch: bool
    ) -> None:
        changed: list[tuple[str, TaskRecord, str, int]] = []  # (name, record, old phase, old attempts)
        for task_status in status.tasks:
            record = run.tasks.get(task_status.name)
            if record is None:
                record = run.tasks[task_status.name] = TaskRecord()
                run.count(PENDING, 1)
            elif record.status is task_status:
                continue
            record.status = task_status
            phase = str(task_status.phase)
            if phase == record.phase and task_status.attempts == record.attempts:
                continue
            changed.append((task_status.name, record, record.phase, record.attempts))
            run.count(record.phase, -1)
            run.count(phase, 1)
            if (record.phase == SUCCEEDED) != (phase == SUCCEEDED) and not from_scratch:
                delta = -1 if phase == SUCCEEDED else 1
                for child in run.children.get(task_status.name, ()):
                    run.unmet[child] = run.unmet.get(child, 0) + delta
            record.phase, record.attempts = phase, task_status.attempts
        for name, record, old_phase, old_attempts in changed:
            if record.attempts > old_attempts:
                created = run.job_created.get((name, record.attempts)) or now
                record.started = created if counting else None
                if counting:
                    self._attempts_started(run, name, record, old_attempts, created)
            if record.phase != old_phase and task_finished(record.phase) and counting:
                self.task_finished(run, name, record, now)
        self._update_ready(run, changed, counting, now, from_scratch)

    def _attempts_started(
        self, run: RunRecord, name: str, record: TaskRecord, old_attempts: int, created: float
    ) -> None:
        labels_ = {"namespace": run.namespace, "pipeline": run.pipeline, "task": task_label(run, name)}
        metrics.TASK_ATTEMPTS.labels(**labels_).inc(record.attempts - old_attempts)
        retries = record.attempts - max(old_attempts, 1)
        if retries > 0:
            metrics.TASK_RETRIES.labels(**labels_).inc(retries)
        context = {"namespace": run.namespace, "run": run.name, "task": name}
        if old_attempts > 0:
            log.info("task attempt %d started", record.attempts, extra=context)
            return
        log.debug("task started", extra=context)
        pair = {"namespace": run.namespace, "pipeline": run.pipeline}
        latency = self._scheduling_latency(run, name, record, created)
        if latency is not None:
            metrics.SCHEDULING_LATENCY.labels(**pair).observe(latency)
        if name not in run.ready:
            metrics.PARALLELISM_WAIT.labels(**pair).observe(0.0)
        else:
            since = run.ready[name]
            if since is not None:
                metrics.PARALLELISM_WAIT.labels(**pair).observe(max(0.0, created - since))

    def _scheduling_latency(
        self, run: RunRecord, name: str, record: TaskRecord, created: float
    ) -> float | None:
        parents = run.parents.get(name, ())
        met: float | None
        if not parents:
            met = run.created_seen
        else:
            times = [self._finished_seen(run, parent) for parent in parents]
            met = None if any(t is None for t in times) else max(t for t in times if t is not None)
        if met is not None:
            return max(0.0, created - met)
        # Not all seen in this process: the status's own timestamps (second precision).
        start = record.status.start_time if record.status is not None else None
        if not parents:
            return seconds_between(run.start_time, start)
        ends = [self._completion_time(run, parent) for parent in parents]
        if any(end is None for end in ends):
            return None
        return seconds_between(max(e for e in ends if e is not None), start)

    def _finished_seen(self, run: RunRecord, task: str) -> float | None:
        record = run.tasks.get(task)
        if record is None or record.attempts < 1:
            return None
        return run.job_finished.get((task, record.attempts))

    @staticmethod
    def _completion_time(run: RunRecord, task: str) -> str | None:
        record = run.tasks.get(task)
        status = record.status if record is not None else None
        return status.completion_time if status is not None else None

    def task_finished(self, run: RunRecord, name: str, record: TaskRecord, now: float) -> None:
        metrics.TASKS_FINISHED.labels(
            namespace=run.namespace, pipeline=run.pipeline, task=task_label(run, name), phase=record.phase
        ).inc()
        context = {"namespace": run.namespace, "run": run.name, "task": name}
        if record.phase == "Failed":
            message = record.status.message if record.status is not None else None
            log.warning("task failed%s", f": {message}" if message else "", extra=context)
        else:
            log.debug("task %s", record.phase.lower(), extra=context)
        if record.phase != SUCCEEDED:
            return
        finished = run.job_finished.get((name, record.attempts))
        if record.started is not None and finished is not None:
            duration: float | None = max(0.0, finished - record.started)
        else:
            status = record.status
            duration = seconds_between(status.start_time, status.completion_time) if status else None
        if duration is not None:
            metrics.TASK_DURATION.labels(
                namespace=run.namespace, pipeline=run.pipeline, task=task_label(run, name)
            ).observe(duration)

    def _update_ready(
        self,
        run: RunRecord,
        changed: Sequence[tuple[str, TaskRecord, str, int]],
        counting: bool,
        now: float,
        from_scratch: bool,
    ) -> None:
        """Keep the set of ready tasks (Pending, every upstream task Succeeded) up to date."""
        since = now if counting else None
        for name, record, _, _ in changed:
            if record.phase != PENDING:
                run.ready.pop(name, None)
        candidates: Iterable[str]
        if from_scratch:
            candidates = list(run.tasks)
            run.unmet = {
                name: sum(1 for parent in parents if phase_of(run, parent) != SUCCEEDED)
                for name, parents in run.parents.items()
            }
        else:
            candidates = [
                child
                for name, record, old_phase, _ in changed
                if record.phase == SUCCEEDED and old_phase != SUCCEEDED
                for child in run.children.get(name, ())
            ]
        for name in candidates:
            candidate = run.tasks.get(name)
            if name in run.ready or candidate is None or candidate.phase != PENDING or candidate.attempts:
                continue
            if run.unmet.get(name, 0) == 0:  # counted as phases change: a join of W tasks costs O(1)
                run.ready[name] = since

    # -- Jobs -------------------------------------------------------------------------------------------

    def _job_event(self, event_type: str | None, obj: Obj, at: float) -> None:
        if event_type == "DELETED":
            return
        meta = obj.get("metadata") or {}
        uid = next(
            (
                str(ref.get("uid"))
                for ref in meta.get("ownerReferences") or ()
                if ref.get("kind") == "PipelineRun"
            ),
            None,
        )
        run = self._runs.get(uid) if uid else None
        job_labels = meta.get("labels") or {}
        task, attempt = job_labels.get(labels.TASK), str(job_labels.get(labels.ATTEMPT) or "")
        if run is None or not run.active or not task or not attempt.isdigit():
            return
        key = (str(task), int(attempt))
        now = at if event_type is not None else None
        if key not in run.job_created:
            run.job_created[key] = now
        if key not in run.job_finished and job_finished(obj):
            run.job_finished[key] = now
