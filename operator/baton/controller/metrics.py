"""The operator's Prometheus metrics: prefix `baton_`, base units, `_total` counters, HELP on each.

Labels stay bounded: namespace, pipeline, task (names from the Pipeline's spec), dataset (the Dataset
object of a URI the Pipelines declare), phase, kind, verb, resource, code, severity and result. Never a run
name, uid, partition or param value: those grow without bound.

Restart semantics: counters and histograms count what this process observed (they start at zero in a new
process, as Prometheus expects; `rate()`/`increase()` handle the reset). Gauges are not remembered: they
are computed at scrape time from what the watches show now (see `observers.RunObserver`), so they are
right at once after a restart.

Where each run and task metric comes from is explained in `observers.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Generic, Protocol, TypeVar
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from baton import __version__

# `*_created` series would double the series count for a timestamp no dashboard or alert uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

# -- runs and tasks (fed by observers.RunObserver) ------------------------------------------------

RUNS_STARTED = Counter(
    "baton_runs_started_total",
    "PipelineRuns the operator started, by namespace and pipeline.",
    ["namespace", "pipeline"],
)
RUNS_FINISHED = Counter(
    "baton_runs_finished_total",
    "PipelineRuns that finished, by namespace, pipeline and final phase (Succeeded, Failed, Cancelled).",
    ["namespace", "pipeline", "phase"],
)
RUN_DURATION = Histogram(
    "baton_run_duration_seconds",
    "Duration of finished PipelineRuns from start to completion, by namespace, pipeline and phase.",
    ["namespace", "pipeline", "phase"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400),
)
TASKS_FINISHED = Counter(
    "baton_tasks_finished_total",
    "Tasks that reached a final phase (Succeeded, Failed, Skipped, Cancelled), by namespace, pipeline, task.",
    ["namespace", "pipeline", "task", "phase"],
)
TASK_DURATION = Histogram(
    "baton_task_duration_seconds",
    "Duration of tasks that succeeded, from their Job's creation to its completion (failed tasks are "
    "counted in baton_tasks_finished_total).",
    ["namespace", "pipeline", "task"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600),
)
TASK_ATTEMPTS = Counter(
    "baton_task_attempts_total",
    "Task attempts started (one Job each), by namespace, pipeline and task.",
    ["namespace", "pipeline", "task"],
)
TASK_RETRIES = Counter(
    "baton_task_retries_total",
    "Task attempts after the first (a retry of a failed attempt), by namespace, pipeline and task.",
    ["namespace", "pipeline", "task"],
)
SCHEDULING_LATENCY = Histogram(
    "baton_task_scheduling_latency_seconds",
    "Time from a task's dependencies being met (its last upstream Job finished, or the run started, "
    "for a first task) to the creation of its first attempt's Job, parallelism wait included.",
    ["namespace", "pipeline"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
PARALLELISM_WAIT = Histogram(
    "baton_task_parallelism_wait_seconds",
    "Time a ready task waited for a free slot under its Pipeline's parallelism limit before its Job was "
    "created (0 when it started at once).",
    ["namespace", "pipeline"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400),
)

# -- schedules ------------------------------------------------------------------------------------
SCHEDULES_FIRED = Counter(
    "baton_schedules_fired_total",
    "PipelineRuns created by a Pipeline's schedule, one per slot, by namespace and pipeline.",
    ["namespace", "pipeline"],
)
SCHEDULES_MISSED = Counter(
    "baton_schedules_missed_total",
    "Slots of a Pipeline's schedule that got no run (catchup, startingDeadlineSeconds or the catch-up "
    "limit after the operator could not act), by namespace and pipeline.",
    ["namespace", "pipeline"],
)

# -- the operator itself --------------------------------------------------------------------------

RECONCILE_SECONDS = Histogram(
    "baton_reconcile_duration_seconds",
    "Time spent reconciling one object, by kind (run or pipeline).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PREPARED_STARTS = Counter(
    "baton_prepared_starts_total",
    "Jobs created the moment the last parent their task waited for succeeded, ahead of the run's next plan.",
)
RECONCILE_ERRORS = Counter(
    "baton_reconcile_errors_total",
    "Reconciles that failed with an error, by kind (retried later).",
    ["kind"],
)
API_REQUESTS = Counter(
    "baton_kubernetes_requests_total",
    "Kubernetes API requests the operator made, by verb, resource and HTTP status code.",
    ["verb", "resource", "code"],
)
LEADER = Gauge(
    "baton_leader",
    "1 while this operator process leads (with --leader-elect; always 1 without it), else 0.",
)
CRDS_COMPATIBLE = Gauge(
    "baton_crds_compatible",
    "1 when the installed CRDs are the ones this operator was built with; 0 while it acts on nothing.",
)
BUILD_INFO = Gauge("baton_build_info", "Always 1; the version of the running operator.", ["version"])
BUILD_INFO.labels(version=__version__).set(1)

# Both kinds exist from the start, so "no errors" is a 0, not a missing series.
for _kind in ("run", "pipeline"):
    RECONCILE_ERRORS.labels(kind=_kind)
    RECONCILE_SECONDS.labels(kind=_kind)

TASK_LABEL_LIMIT = 100
"""Pipelines with more tasks than this get no series per task (a 10,000-task pipeline would make
hundreds of thousands): their task metrics carry `task="*"` and add all tasks up."""
MANY_TASKS = "*"

RUN_FINAL_PHASES = ("Succeeded", "Failed", "Cancelled")
TASK_FINAL_PHASES = ("Succeeded", "Failed", "Skipped", "Cancelled")


def observe_request(verb: str, resource: str, code: int) -> None:
    API_REQUESTS.labels(verb=verb, resource=resource, code=str(code)).inc()


def initialize_pipeline(namespace: str, pipeline: str, tasks: Iterable[str]) -> None:
    """Create the counters of a Pipeline at 0 when it is first seen.

    A series created by its first increment has no earlier sample, so `increase()` misses that first
    event (the first failure of a pipeline would not fire the alert, a task that ran once would have
    no duration). Children are bounded by the Pipelines and their tasks, and created once per process.
    """
    RUNS_STARTED.labels(namespace=namespace, pipeline=pipeline)
    SCHEDULING_LATENCY.labels(namespace=namespace, pipeline=pipeline)
    PARALLELISM_WAIT.labels(namespace=namespace, pipeline=pipeline)
    for phase in RUN_FINAL_PHASES:
        RUNS_FINISHED.labels(namespace=namespace, pipeline=pipeline, phase=phase)
        RUN_DURATION.labels(namespace=namespace, pipeline=pipeline, phase=phase)
    for task in tasks:
        TASK_ATTEMPTS.labels(namespace=namespace, pipeline=pipeline, task=task)
        TASK_RETRIES.labels(namespace=namespace, pipeline=pipeline, task=task)
        TASK_DURATION.labels(namespace=namespace, pipeline=pipeline, task=task)
        for phase in TASK_FINAL_PHASES:
            TASKS_FINISHED.labels(namespace=namespace, pipeline=pipeline, task=task, phase=phase)


PER_PIPELINE = (
    RUNS_STARTED,
    RUNS_FINISHED,
    RUN_DURATION,
    TASKS_FINISHED,
    TASK_DURATION,
    TASK_ATTEMPTS,
    TASK_RETRIES,
    SCHEDULING_LATENCY,
    PARALLELISM_WAIT,
    SCHEDULES_FIRED,
    SCHEDULES_MISSED,
)


def forget_pipeline(namespace: str, pipeline: str) -> None:
    """Drop the series of a deleted Pipeline: an operator that sees Pipelines come and go for months must
    not keep (and serve on every scrape) the label sets of all it ever saw."""
    for metric in PER_PIPELINE:
        # prometheus_client keeps children by their label values, first namespace then pipeline.
        for values in [v for v in list(metric._metrics) if v[:2] == (namespace, pipeline)]:
            metric.remove(*values)


# -- gauges, computed at scrape time --------------------------------------------------------------


class GaugeSource(Protocol):
    """What a live operator reports at scrape time (see `observers.RunObserver.gauges`)."""

    def gauges(self) -> GaugeSnapshot: ...


class GaugeSnapshot:
    """Current values, keyed by label tuples; sources are added up (one per operator in the process)."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str, str], float] = {}  # (namespace, pipeline, phase)
        self.tasks: dict[tuple[str, str, str], float] = {}  # (namespace, pipeline, phase)
        self.throttled: dict[tuple[str, str], float] = {}  # (namespace, pipeline)
        self.oldest_age: dict[tuple[str, str], float] = {}  # (namespace, pipeline)

    def merge(self, other: GaugeSnapshot) -> None:
        for key, value in other.runs.items():
            self.runs[key] = self.runs.get(key, 0) + value
        for key, value in other.tasks.items():
            self.tasks[key] = self.tasks.get(key, 0) + value
        for pair, value in other.throttled.items():
            self.throttled[pair] = self.throttled.get(pair, 0) + value
        for pair, value in other.oldest_age.items():
            self.oldest_age[pair] = max(self.oldest_age.get(pair, 0), value)


S = TypeVar("S")


class SourcesCollector(Collector, Generic[S]):
    """Gauges computed at scrape time (on the metrics server's thread) from every live operator of this
    process (tests run several in turn)."""

    def __init__(self) -> None:
        self._sources: list[S] = []
        self._lock = threading.Lock()

    def add(self, source: S) -> None:
        with self._lock:
            self._sources.append(source)

    def remove(self, source: S) -> None:
        with self._lock:
            self._sources = [s for s in self._sources if s is not source]

    def sources(self) -> list[S]:
        with self._lock:
            return list(self._sources)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # computed at scrape time; names are not checked at registration


class ActiveCollector(SourcesCollector[GaugeSource]):
    """Reports the gauges of every live operator in this process."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        total = GaugeSnapshot()
        for source in self.sources():
            total.merge(source.gauges())
        runs = GaugeMetricFamily(
            "baton_active_runs",
            "PipelineRuns not finished yet, by namespace, pipeline and phase (Pending, Running, Suspended).",
            labels=["namespace", "pipeline", "phase"],
        )
        for (namespace, pipeline, phase), value in sorted(total.runs.items()):
            runs.add_metric([namespace, pipeline, phase], value)
        tasks = GaugeMetricFamily(
            "baton_active_tasks",
            "Tasks of unfinished PipelineRuns that are not finished yet, by namespace, pipeline and phase.",
            labels=["namespace", "pipeline", "phase"],
        )
        for (namespace, pipeline, phase), value in sorted(total.tasks.items()):
            tasks.add_metric([namespace, pipeline, phase], value)
        throttled = GaugeMetricFamily(
            "baton_tasks_throttled",
            "Tasks ready to start but held back by their Pipeline's parallelism limit.",
            labels=["namespace", "pipeline"],
        )
        for (namespace, pipeline), value in sorted(total.throttled.items()):
            throttled.add_metric([namespace, pipeline], value)
        oldest = GaugeMetricFamily(
            "baton_oldest_active_run_age_seconds",
            "Age of the oldest unfinished PipelineRun (since its start, or its creation while pending), "
            "by namespace and pipeline.",
            labels=["namespace", "pipeline"],
        )
        for (namespace, pipeline), value in sorted(total.oldest_age.items()):
            oldest.add_metric([namespace, pipeline], value)
        yield from (runs, tasks, throttled, oldest)


ACTIVE = ActiveCollector()
REGISTRY.register(ACTIVE)


# -- datasets (fed by datasets.DatasetKeeper) ------------------------------------------------------
DATASET_UPDATES = Counter(
    "baton_dataset_updates_total",
    "Successful writes of a dataset recorded on its Dataset object, by namespace and Dataset name.",
    ["namespace", "dataset"],
)
DATASET_CHECKS = Counter(
    "baton_dataset_checks_total",
    "Quality checks of a dataset that ended, by namespace, Dataset, severity (Error, Warn) and result "
    "(passed, failed).",
    ["namespace", "dataset", "severity", "result"],
)

LINEAGE_EVENTS = Counter(
    "baton_lineage_events_total",
    "OpenLineage run events by result: sent, failed (the backend refused or timed out) or dropped (the "
    "operator's queue of events to send was full).",
    ["result"],
)


class DatasetSource(Protocol):
    def gauges(self) -> list[tuple[str, str, str, float | None, bool | None]]: ...


class DatasetCollector(SourcesCollector[DatasetSource]):
    """Age and freshness of every Dataset the live operators see, computed at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age = GaugeMetricFamily(
            "baton_dataset_age_seconds",
            "Seconds since the dataset's latest partition (or the dataset) was last written by a task that "
            "succeeded, by namespace and Dataset name; absent before the first write.",
            labels=["namespace", "dataset"],
        )
        fresh = GaugeMetricFamily(
            "baton_dataset_fresh",
            "1 when the Dataset meets its spec.freshness, 0 when it is stale; absent without one.",
            labels=["namespace", "dataset"],
        )
        seen: set[tuple[str, str]] = set()
        for source in self.sources():
            for namespace, name, _, seconds, ok in source.gauges():
                if (namespace, name) in seen:
                    continue
                seen.add((namespace, name))
                if seconds is not None:
                    age.add_metric([namespace, name], seconds)
                if ok is not None:
                    fresh.add_metric([namespace, name], 1.0 if ok else 0.0)
        yield from (age, fresh)


DATASETS = DatasetCollector()
REGISTRY.register(DATASETS)


# -- the /metrics endpoint ------------------------------------------------------------------------


class MetricsServer:
    """`/metrics` on a thread of its own (prometheus_client's WSGI server), until `stop()`."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the metrics on `host:port` (port 0: a free one, see `MetricsServer.port`)."""
    server, thread = start_http_server(port, addr=host)
    return MetricsServer(server, thread)
