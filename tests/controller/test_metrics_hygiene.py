"""A deleted Pipeline's series go with it: an operator that sees Pipelines come and go for months serves
only the series of those that exist (a scrape of every label set ever seen would grow without end)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from baton.controller import metrics
from baton.controller.observers import RunObserver


def series_of(namespace: str, pipeline: str) -> list[str]:
    return [
        sample.name
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.labels.get("namespace") == namespace and sample.labels.get("pipeline") == pipeline
    ]


def test_a_deleted_pipelines_series_are_dropped_and_come_back_with_it() -> None:
    observer = RunObserver(lambda uid, rv: None)
    pipeline = {"metadata": {"namespace": "hygiene", "name": "nightly"}, "spec": {"tasks": [{"name": "a"}]}}
    other = {"metadata": {"namespace": "hygiene", "name": "kept"}, "spec": {"tasks": [{"name": "a"}]}}
    observer.pipeline_event("ADDED", pipeline)
    observer.pipeline_event("ADDED", other)
    metrics.SCHEDULES_FIRED.labels(namespace="hygiene", pipeline="nightly").inc()
    assert "baton_task_attempts_total" in series_of("hygiene", "nightly")
    observer.pipeline_event("DELETED", pipeline)
    assert series_of("hygiene", "nightly") == []
    assert series_of("hygiene", "kept")  # another Pipeline keeps its own
    observer.pipeline_event("ADDED", pipeline)  # created again: its counters start at 0 again
    assert "baton_runs_started_total" in series_of("hygiene", "nightly")
