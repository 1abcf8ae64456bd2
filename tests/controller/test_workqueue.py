"""The work queue: a failing reconcile is retried with a growing delay, reset once it succeeds."""

from __future__ import annotations

import asyncio

import pytest

from baton.controller.workqueue import WorkQueue, retry_delay


@pytest.mark.parametrize(
    ("failures", "seconds"), [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (7, 300.0), (50, 300.0)]
)
def test_retry_delay_doubles_up_to_five_minutes(failures: int, seconds: float) -> None:
    assert retry_delay(failures) == seconds


async def test_failures_count_in_a_row_and_a_success_resets_them() -> None:
    outcomes = [False, False, True]
    seen = asyncio.Event()

    async def reconcile(key: str) -> None:
        ok = outcomes.pop(0)
        if not outcomes:
            seen.set()
        if not ok:
            raise RuntimeError("the API server refused the write")

    queue: WorkQueue[str] = WorkQueue(reconcile, workers=1)
    delays: list[float] = []
    queue.add_after = lambda key, delay: (delays.append(delay), queue.add(key))  # type: ignore[method-assign]
    queue.start()
    try:
        queue.add("run")
        await asyncio.wait_for(seen.wait(), 5)
    finally:
        await queue.stop()
    assert delays == [5.0, 10.0]
    assert queue.failures == {}
