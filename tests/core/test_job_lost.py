"""A Job not observed is lost a while after its task started, and after the shell began to watch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.run import TaskPhase, TaskStatus
from baton.core.tasks import JOB_LOST_AFTER, advance_task, job_lost_at

T = datetime(2026, 1, 1, tzinfo=UTC)
RUNNING = TaskStatus(
    name="a", phase=TaskPhase.RUNNING, attempts=1, job_name="r-a-1", start_time="2026-01-01T00:00:00Z"
)


@pytest.mark.parametrize(
    ("observing_since", "lost_at"),
    [
        (None, T + JOB_LOST_AFTER),
        (T - timedelta(hours=1), T + JOB_LOST_AFTER),  # watching since before the task started
        (T + timedelta(hours=5), T + timedelta(hours=5) + JOB_LOST_AFTER),  # an operator restarted later
    ],
)
def test_a_restarted_operator_gives_unseen_jobs_time_to_be_listed(
    observing_since: datetime | None, lost_at: datetime
) -> None:
    assert job_lost_at(RUNNING, observing_since) == lost_at
    # Five hours after the task started, one second after the restart: not lost yet (its list may come).
    now = T + timedelta(hours=5, seconds=1)
    after, _ = advance_task(RUNNING, None, now, observing_since=observing_since)
    assert (after.phase is TaskPhase.RUNNING) == (lost_at > now)
