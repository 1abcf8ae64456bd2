"""A keyed work queue, as controller-runtime has: bursts of events for one run coalesce into one
reconcile, a key is never reconciled twice at once, and delayed re-adds wake a run at a given time
(a retry's next attempt, a deadline) without anything polling.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


FIRST_RETRY = 5.0
MAX_RETRY = 300.0


def retry_delay(failures: int) -> float:
    """Seconds before a key whose reconcile failed ``failures`` times in a row is tried again: 5 s, doubling
    up to 5 minutes, so that an error that keeps happening (a write the API server keeps refusing) costs
    a request every few minutes, not every few seconds."""
    return min(MAX_RETRY, FIRST_RETRY * float(2 ** max(0, failures - 1)))


class WorkQueue(Generic[K]):
    def __init__(
        self,
        reconcile: Callable[[K], Awaitable[None]],
        *,
        workers: int = 4,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._reconcile = reconcile
        self._workers = workers
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._timers: list[tuple[float, int, K]] = []
        self._timer_seq = 0
        self._timer_wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._clock = clock
        self.failures: dict[K, int] = {}
        """Reconciles of a key that failed in a row (reset by one that does not)."""
        self._open = asyncio.Event()
        self._open.set()
        self._started = False
        self._workers_running: list[asyncio.Task[None]] = []
        self.activity = 0
        """Counts adds and reconciles begun and ended: unchanged for a while means the queue is idle."""

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def add(self, key: K) -> None:
        self.activity += 1
        if key in self._active:
            self._dirty.add(key)  # reconcile again once the running one ends, with what it missed
            return
        if key not in self._queued:
            self._queued.add(key)
            self._ready.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        self._timer_seq += 1
        heapq.heappush(self._timers, (self._now() + delay, self._timer_seq, key))
        self._timer_wakeup.set()

    def __len__(self) -> int:
        return len(self._queued)

    @property
    def depth(self) -> int:
        return self._ready.qsize()

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing reconciling (a key only waiting for its timer does not count)."""
        return not self._queued and not self._active

    def pause(self, *, stop_running: bool = False) -> None:
        """Reconcile nothing more (a standby, or a leader that lost its Lease): keys keep coalescing.
        With ``stop_running``, reconciles under way are cancelled too (their keys queued again): a leader
        past its renew deadline must not act at all; a reconcile cut short is one an operator crash would
        cut, which the level-triggered planner takes up again from what is stored."""
        self._open.clear()
        if stop_running:
            for task in self._workers_running:
                task.cancel()
            self._workers_running = []

    def resume(self) -> None:
        self._open.set()
        if self._started and not self._workers_running:
            self._start_workers()

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def start(self) -> None:
        self._started = True
        self._start_workers()
        self._tasks.append(asyncio.create_task(self._fire_timers(), name="baton-requeue-timers"))

    def _start_workers(self) -> None:
        self._workers_running = [
            asyncio.create_task(self._work(), name=f"baton-reconcile-{i}") for i in range(self._workers)
        ]
        self._tasks.extend(self._workers_running)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._workers_running = []

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            if not self._open.is_set():
                await self._open.wait()  # still queued meanwhile: a new add of it coalesces
            self._queued.discard(key)
            self._active.add(key)
            self.activity += 1
            try:
                await self._reconcile(key)
            except asyncio.CancelledError:
                self._active.discard(key)
                self.add(key)  # cut short (the queue paused, or stops): it is reconciled again later
                raise
            except Exception:  # one run's failure must not stop the others; it is retried with a delay
                failures = self.failures[key] = self.failures.get(key, 0) + 1
                delay = retry_delay(failures)
                log.exception("reconcile of %s failed (%d in a row); retrying in %gs", key, failures, delay)
                self.add_after(key, delay)
            else:
                self.failures.pop(key, None)
            finally:
                self.activity += 1
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)

    async def _fire_timers(self) -> None:
        while True:
            if not self._timers:
                self._timer_wakeup.clear()
                await self._timer_wakeup.wait()
                continue
            due, _, key = self._timers[0]
            delay = due - self._now()
            if delay > 0:
                self._timer_wakeup.clear()
                try:  # asyncio.timeout: wait_for (3.11) may swallow a stop()'s cancellation
                    async with asyncio.timeout(delay):
                        await self._timer_wakeup.wait()
                except TimeoutError:
                    pass
                continue
            heapq.heappop(self._timers)
            self.add(key)
