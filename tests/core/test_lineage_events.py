"""OpenLineage events of a run's transitions: one OpenLineage run per attempt, START then its end; the
naming spec for datasets."""

from __future__ import annotations

import pytest
from failure_kit import META, Sim, spec, task

from baton.core.lineage_events import ABORT, COMPLETE, FAIL, START, dataset_name, lineage_events


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://lake/sales/2026", ("s3://lake", "sales/2026")),
        ("gs://bucket/a", ("gs://bucket", "a")),
        (
            "postgres://warehouse:5432/analytics.public.daily_sales",
            ("postgres://warehouse:5432", "analytics.public.daily_sales"),
        ),
        ("file:///data/sales.csv", ("file", "/data/sales.csv")),
        ("kafka://broker:9092/orders", ("kafka://broker:9092", "orders")),
        ("bigquery:project.dataset.table", ("bigquery", "project.dataset.table")),
    ],
)
def test_dataset_names_follow_the_openlineage_naming_spec(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_name(uri) == expected


def events_of(sim: Sim, step: object) -> list[tuple[str, str, int]]:
    before = sim.status
    assert callable(step)
    step()
    return [(e.event_type, e.task, e.attempt) for e in lineage_events(before, sim.status, META)]


def test_each_attempt_is_a_run_with_a_start_and_an_end() -> None:
    sim = Sim.start(
        spec(
            task(
                "extract", outputs=["s3://lake/sales"], retries={"limit": 1, "backoff": {"initialSeconds": 1}}
            ),
            task("load", inputs=["s3://lake/sales"]),
        )
    )
    assert events_of(sim, sim.step) == [(START, "extract", 1)]
    assert events_of(sim, lambda: sim.finish("extract", exit_code=1).step()) == [(FAIL, "extract", 1)]
    assert events_of(sim, lambda: sim.at(2).step()) == [(START, "extract", 2)]
    assert events_of(sim, lambda: sim.finish("extract").step()) == [
        (COMPLETE, "extract", 2),
        (START, "load", 1),
    ]
    assert events_of(sim, sim.step) == []  # nothing changed, nothing said


def test_events_carry_the_job_parent_and_datasets_and_share_the_run_id() -> None:
    sim = Sim.start(spec(task("extract", outputs=[{"dataset": "s3://lake/sales", "partition": "d1"}])))
    before = sim.status
    sim.step()
    (start,) = lineage_events(before, sim.status, META)
    before = sim.status
    sim.finish("extract").step()
    (complete,) = lineage_events(before, sim.status, META)
    assert start.run_id == complete.run_id and start.parent_run_id == complete.parent_run_id
    assert complete.job_name == "data..extract" and complete.parent_job_name == "data."
    assert [(d.uri, d.partition) for d in complete.outputs] == [("s3://lake/sales", "d1")]


def test_a_cancel_aborts_the_running_attempt_and_skipped_tasks_say_nothing() -> None:
    sim = Sim.start(spec(task("extract"), task("load", "extract")))
    sim.step()
    assert events_of(sim, lambda: sim.step(cancel=True)) == [(ABORT, "extract", 1)]
    assert sim.phases() == {"extract": "Cancelled", "load": "Skipped"}


def test_a_check_says_whether_it_passed() -> None:
    sim = Sim.start(
        spec(
            task("extract", outputs=["s3://x"]), task("rows", check={"dataset": "s3://x", "severity": "Warn"})
        )
    )
    sim.step()
    sim.finish("extract").step()
    before = sim.status
    sim.finish("rows", exit_code=1).step()
    (complete,) = [e for e in lineage_events(before, sim.status, META) if e.task == "rows"]
    assert complete.event_type == COMPLETE and complete.check is not None and complete.check[1] is False


def test_a_task_cancelled_while_it_waits_for_a_retry_ends_no_attempt_twice() -> None:
    sim = Sim.start(spec(task("extract", retries={"limit": 1, "backoff": {"initialSeconds": 60}})))
    sim.step()
    assert events_of(sim, lambda: sim.finish("extract", exit_code=1).step()) == [(FAIL, "extract", 1)]
    assert events_of(sim, lambda: sim.step(cancel=True)) == []  # its attempt 1 already ended with FAIL
