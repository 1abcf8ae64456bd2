"""Deferred calls: made in order once the work queue is idle, at the latest after the longest delay."""

from __future__ import annotations

import asyncio
from typing import Any

from baton.controller.deferred import Deferred


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _turns(count: int = 20) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def test_calls_wait_while_the_queue_is_busy_and_run_in_order_once_it_is_idle() -> None:
    async def scenario() -> None:
        busy, clock, made = [True], Clock(), []
        deferred = Deferred(lambda: not busy[0], clock, max_delay=1.0, poll=0.001)
        runner = asyncio.create_task(deferred.run())
        for i in range(3):
            deferred.add(made.append, i)
        await asyncio.sleep(0.02)
        assert made == [] and len(deferred) == 3  # reconciles go first
        busy[0] = False
        await asyncio.sleep(0.02)
        assert made == [0, 1, 2] and len(deferred) == 0
        deferred.add(made.append, 3)  # idle: made at the next turns, no poll needed
        await _turns()
        assert made == [0, 1, 2, 3]
        runner.cancel()

    asyncio.run(scenario())


def test_a_call_waits_no_longer_than_the_longest_delay_under_constant_load() -> None:
    async def scenario() -> None:
        clock, made = Clock(), []
        deferred = Deferred(lambda: False, clock, max_delay=1.0, poll=0.001)
        runner = asyncio.create_task(deferred.run())
        deferred.add(made.append, "old")
        clock.now += 0.5
        deferred.add(made.append, "young")
        await asyncio.sleep(0.02)
        assert made == []
        clock.now += 0.5  # the first is due; the second is not yet
        await asyncio.sleep(0.02)
        assert made == ["old"]
        clock.now += 0.5
        await asyncio.sleep(0.02)
        assert made == ["old", "young"]
        runner.cancel()

    asyncio.run(scenario())


def test_a_failing_call_does_not_stop_the_others_and_flush_makes_all_now() -> None:
    made: list[Any] = []

    def broken() -> None:
        raise RuntimeError("a count that fails")

    deferred = Deferred(lambda: False, Clock())
    deferred.add(made.append, 1)
    deferred.add(broken)
    deferred.add(made.append, 2)
    deferred.flush()
    assert made == [1, 2] and len(deferred) == 0
