"""runHistory and ttlSecondsAfterFinished: which finished runs go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.schedule import RunHistory
from baton.core.history import FinishedRun, expires_at, prune_runs

T = datetime(2026, 1, 1, tzinfo=UTC)


def finished(name: str, phase: str, minute: int) -> FinishedRun:
    return FinishedRun(name, phase, T + timedelta(minutes=minute))


RUNS = [
    finished("s1", "Succeeded", 1),
    finished("s2", "Succeeded", 2),
    finished("s3", "Succeeded", 3),
    finished("f1", "Failed", 4),
    finished("c1", "Cancelled", 5),
    finished("f2", "Failed", 6),
]


@pytest.mark.parametrize(
    ("history", "deleted"),
    [
        (None, []),
        (RunHistory(), []),
        (RunHistory(succeeded=2), ["s1"]),
        (RunHistory(succeeded=0), ["s1", "s2", "s3"]),
        (RunHistory(failed=1), ["c1", "f1"]),  # cancelled runs count with the failed ones
        (RunHistory(succeeded=10, failed=10), []),
        (RunHistory(succeeded=1, failed=2), ["f1", "s1", "s2"]),
    ],
)
def test_run_history_keeps_the_newest(history: RunHistory | None, deleted: list[str]) -> None:
    assert [name for name, _ in prune_runs(RUNS, history)] == deleted


def test_ties_in_completion_time_are_broken_by_name_and_reasons_say_why() -> None:
    runs = [finished("b", "Succeeded", 1), finished("a", "Succeeded", 1)]
    assert prune_runs(runs, RunHistory(succeeded=1)) == (
        ("a", "runHistory keeps the newest 1 succeeded runs"),
    )


@pytest.mark.parametrize(
    ("own", "pipeline", "expected"),
    [
        (None, None, None),
        (60, None, T + timedelta(seconds=60)),
        (None, 30, T + timedelta(seconds=30)),
        (0, 30, T),
    ],
)
def test_ttl_of_a_run_wins_over_its_pipelines(
    own: int | None, pipeline: int | None, expected: datetime | None
) -> None:
    assert expires_at(T, own, pipeline) == expected
