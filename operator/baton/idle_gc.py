"""Full garbage collections when the process is quiet, not in the middle of a fan-out's join.

CPython's automatic full collection is turned off (its third threshold set out of reach; the young
generations are collected as before) while at least one activity source is registered, and a daemon
thread runs the full collections when `baton.core.gc_timing` says so. The operator registers its work
queue's activity and the dev cluster its store's resourceVersion (the dev cluster itself imports nothing
of Baton, so whoever serves it registers it). When the last source is gone the threshold is restored.
One collector per process: the thresholds are the process's.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from baton.core.gc_timing import full_collection_due

log = logging.getLogger(__name__)

Activity = Callable[[], int]
"""A count that changes whenever its owner does work (events handled, objects written)."""

POLL_SECONDS = 0.05
OUT_OF_REACH = 1 << 30
"""A third threshold no count of middle-generation collections reaches."""


class _Collector:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sources: list[Activity] = []
        self.saved: tuple[int, int, int] | None = None
        self.stopping: threading.Event | None = None
        self.thread: threading.Thread | None = None
        self.collections = 0

    def add(self, activity: Activity) -> None:
        with self.lock:
            self.sources.append(activity)
            if self.thread is not None:
                return
            self.saved = gc.get_threshold()
            gc.set_threshold(self.saved[0], self.saved[1], OUT_OF_REACH)
            self.stopping = threading.Event()
            self.thread = threading.Thread(
                target=self._run, args=(self.stopping,), name="baton-idle-gc", daemon=True
            )
            self.thread.start()

    def remove(self, activity: Activity) -> None:
        with self.lock:
            self.sources.remove(activity)
            if self.sources or self.thread is None:
                return
            assert self.stopping is not None and self.saved is not None
            self.stopping.set()
            thread, self.thread = self.thread, None
            gc.set_threshold(*self.saved)
        thread.join(timeout=5)

    def _mark(self) -> tuple[int, ...]:
        with self.lock:
            sources = list(self.sources)
        return tuple(source() for source in sources)

    def _run(self, stopping: threading.Event) -> None:
        mark = self._mark()
        changed = last = time.monotonic()
        took = 0.0
        heap = 0
        first, second, _ = gc.get_threshold()
        while not stopping.wait(POLL_SECONDS):
            now = time.monotonic()
            if (current := self._mark()) != mark:
                mark, changed = current, now
            due = full_collection_due(
                young_collections=gc.get_count()[2],
                quiet_for=now - changed,
                since_last=now - last,
                last_took=took,
                heap_objects=heap,
                promoted_per_young=first * second,
            )
            if not due:
                continue
            gc.collect()
            last = time.monotonic()
            took = last - now
            # What survived, so that the next one waits for a quarter more. Counted as the blocks
            # Python holds: a list of every object of the oldest generation (gc.get_objects) would
            # itself take 8 bytes per object, 5 MB at the end of a 10,000-task run, at its peak.
            heap = sys.getallocatedblocks()
            self.collections += 1
            log.debug("full garbage collection took %.0f ms", took * 1000)


_COLLECTOR = _Collector()


def collections() -> int:
    """Full collections this module ran in this process."""
    return _COLLECTOR.collections


@contextmanager
def collected_when_idle(activity: Activity) -> Iterator[None]:
    """While inside: full collections run when no source's activity has changed for a while."""
    _COLLECTOR.add(activity)
    try:
        yield
    finally:
        _COLLECTOR.remove(activity)
