"""Calls that may wait for a quiet moment: the metrics the watches feed.

Counting a run's status for the metrics took 1 to 2 ms for a 52-task run: every task that changed
updates several series. Made in the watch handler, it held back the Job events behind it, and with them
the plan that starts the next task (a join waited for the count of the run's own last status write).
Made later, in the order the events came and with the time each came (so no latency measured from them
changes), it costs the same and delays nothing: the calls run once the work queue is idle (nothing
queued, nothing reconciling), one at a time, and at the latest `MAX_DELAY` after the oldest was added.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_DELAY = 1.0
"""Seconds a call waits at most: a scrape sees what happened up to this long ago."""
POLL = 0.005
"""Seconds between looks at the work queue while calls wait and it is busy."""


class Deferred:
    def __init__(
        self,
        idle: Callable[[], bool],
        clock: Callable[[], float],
        *,
        max_delay: float = MAX_DELAY,
        poll: float = POLL,
    ) -> None:
        self._idle = idle
        self._clock = clock
        self.max_delay = max_delay
        self.poll = poll
        self._calls: deque[tuple[float, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._waiting = asyncio.Event()

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, fn: Callable[..., Any], *args: Any) -> None:
        self._calls.append((self._clock(), fn, args))
        self._waiting.set()

    def flush(self) -> None:
        """Make every waiting call now (the operator stops, or a test wants the counts)."""
        while self._calls:
            self._call_next()

    async def run(self) -> None:
        while True:
            await self._waiting.wait()
            while self._calls:
                if self._idle() or self._clock() - self._calls[0][0] >= self.max_delay:
                    self._call_next()
                    await asyncio.sleep(0)  # an event that came meanwhile is handled before the next call
                else:
                    await asyncio.sleep(self.poll)
            self._waiting.clear()

    def _call_next(self) -> None:
        _, fn, args = self._calls.popleft()
        try:
            fn(*args)
        except Exception:  # a count that fails must not stop the ones after it
            log.exception("a deferred call failed")
