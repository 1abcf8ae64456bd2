"""A Dataset's status as runs touch it (idempotent, bounded), its freshness, and the touches of a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from failure_kit import Sim, spec, task

from baton.api.dataset import MAX_PARTITIONS, MAX_PRODUCERS, DatasetSpec, DatasetStatus, TaskRef
from baton.api.datasets import CheckSeverity
from baton.core.dataset_status import Role, Touch, freshness, record
from baton.core.lineage import dataset_touches

URI = "s3://lake/sales"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def wrote(
    run: str, partition: str | None = None, time: str = "2026-12-06T10:00:00Z", task: str = "extract"
) -> Touch:
    return Touch(URI, Role.PRODUCED, TaskRef(run=run, task=task, time=time, partition=partition))


def test_a_write_is_recorded_once_however_often_it_is_seen() -> None:
    once = record(None, [wrote("r1", "2026-12-06")])
    assert (once.updates, once.latest_partition, once.last_producer and once.last_producer.run) == (
        1,
        "2026-12-06",
        "r1",
    )
    assert record(once, [wrote("r1", "2026-12-06")]) == once
    again = record(once, [wrote("r2", "2026-12-06", "2026-12-06T11:00:00Z")])
    assert again.updates == 2 and [p.run for p in again.partitions] == ["r2"]
    assert again.last_updated == "2026-12-06T11:00:00Z"


def test_partitions_are_newest_slice_first_and_bounded_so_a_backfill_keeps_today() -> None:
    status = record(None, [wrote("today", "2026-12-06")])
    backfill = [
        wrote(f"b{day}", f"2025-{day // 28 + 1:02d}-{day % 28 + 1:02d}", "2026-12-06T11:00:00Z")
        for day in range(1, 61)
    ]
    status = record(status, backfill)
    assert len(status.partitions) == MAX_PARTITIONS
    assert status.partitions[0].name == "2026-12-06" == status.latest_partition
    assert len(status.producers) == MAX_PRODUCERS and status.producers[0].run == "b60"
    # the last producer is the latest write in time, whichever partition it wrote
    assert status.last_producer is not None and status.last_producer.run == "b60"


def test_a_write_pushed_out_of_the_producers_is_still_known_by_its_partition() -> None:
    status = record(None, [wrote("r1", "p99")])
    status = record(status, [wrote(f"x{i}", f"p{i:02d}") for i in range(MAX_PRODUCERS)])
    assert all(p.run != "r1" for p in status.producers)
    assert record(status, [wrote("r1", "p99")]) == status


def test_reads_and_checks_are_recorded_once_each() -> None:
    read = Touch(URI, Role.CONSUMED, TaskRef(run="r1", task="load", partition="d"))
    failed = Touch(
        URI,
        Role.CHECKED,
        TaskRef(run="r1", task="rows", partition="d"),
        CheckSeverity.WARN,
        False,
        "only 3 rows",
    )
    status = record(None, [read, failed, read, failed])
    assert [c.task for c in status.consumers] == ["load"]
    assert [(c.task, c.severity, c.passed, c.message) for c in status.checks] == [
        ("rows", CheckSeverity.WARN, False, "only 3 rows")
    ]
    assert status.updates == 0 and status.last_updated is None


@pytest.mark.parametrize(
    ("status", "created", "now", "fresh", "stale_at", "message"),
    [
        (None, NOW, NOW, True, NOW + timedelta(hours=1), "no update yet; expected within 1h0m0s of creation"),
        (None, NOW, NOW + timedelta(hours=2), False, None, "no update in the 1h0m0s since it was created"),
        (
            record(None, [wrote("r", "2026-12-06", "2026-12-06T11:30:00Z")]),
            None,
            NOW,
            True,
            datetime(2026, 12, 6, 12, 30, tzinfo=UTC),
            'partition "2026-12-06" updated at 2026-12-06T11:30:00Z (max age 1h0m0s)',
        ),
        (
            record(None, [wrote("r", None, "2026-12-06T10:00:00Z")]),
            None,
            NOW,
            False,
            None,
            "last updated at 2026-12-06T10:00:00Z, more than 1h0m0s ago",
        ),
        # the latest partition counts, not a backfill of an old one written just now
        (
            record(
                None,
                [
                    wrote("r", "2026-12-05", "2026-12-05T10:00:00Z"),
                    wrote("b", "2026-01-01", "2026-12-06T11:59:00Z"),
                ],
            ),
            None,
            NOW,
            False,
            None,
            'partition "2026-12-05" updated at 2026-12-05T10:00:00Z, more than 1h0m0s ago',
        ),
    ],
)
def test_freshness(
    status: DatasetStatus | None,
    created: datetime | None,
    now: datetime,
    fresh: bool,
    stale_at: datetime | None,
    message: str,
) -> None:
    found = freshness(DatasetSpec(uri=URI, freshness={"maxAgeSeconds": 3600}), status, created, now)
    assert found is not None
    assert (found.fresh, found.stale_at) == (fresh, stale_at)
    assert found.message.startswith(message)


def test_no_freshness_expectation_means_no_condition() -> None:
    assert freshness(DatasetSpec(uri=URI), None, NOW, NOW) is None


def test_a_runs_transitions_give_writes_reads_and_check_outcomes_once() -> None:
    day = {"dataset": URI, "partition": "d"}
    sim = Sim.start(
        spec(
            task("extract", outputs=[day]),
            task("rows", check={**day, "severity": "Warn"}),
            task("load", inputs=[day], outputs=["s3://lake/out"]),
        )
    )
    sim.step()
    before = sim.status
    sim.finish("extract").step()
    assert [
        (t.uri, t.role, t.ref.task, t.ref.partition) for t in dataset_touches(before, sim.status, "run-1")
    ] == [(URI, Role.PRODUCED, "extract", "d")]
    assert dataset_touches(sim.status, sim.status, "run-1") == []  # no transition, nothing new
    before = sim.status
    sim.finish("rows", exit_code=1).step()
    touches = dataset_touches(before, sim.status, "run-1")
    assert [(t.role, t.ref.task, t.passed, t.severity) for t in touches] == [
        (Role.CHECKED, "rows", False, CheckSeverity.WARN)
    ]
