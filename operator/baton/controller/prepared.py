"""The starts each run's last plan prepared (`baton.core.prepared`), held until the run's Jobs say whether
to create them now.

A plan's preparation holds only while nothing but the awaited parents' Jobs changes, so any other change
the planner would see drops it: another Job's or Pod's observation of the run moving, a change of the run
not written by this operator, the plan's wake-up time coming. Holding what a plan decided is not state
that matters: a restart loses it and the next plan decides the same from what is stored and observed.

A success that makes nothing due, of a parent whose children are all prepared, changes nothing the next
plan would do but the status it records, and a run's progress is written at most every half second
anyway: that plan may wait (``defer``), so the plans of a fan-out's workers do not hold up the event of
the last one, which the join waits for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from baton.core.launch import JobToCreate
from baton.core.observed import ObservedJob
from baton.core.prepared import Awaited, Preparation, PreparedStart, awaited_outcome

from . import metrics
from .cache import ClusterCache, Key

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 16
"""Fired creates at once, at most. Prepared starts are for latency, one run's next step; when a thousand
runs' parents end together, firing them all would hold a thousand rendered Jobs at once (13 MiB more at
the peak of the benchmark's 1,000 runs) to gain nothing the work queue does not give."""

DEFER = 0.5
"""Seconds a run's plan may wait after a success that changes nothing but its status (as long as a
progress-only status write waits, see the reconciler)."""


@dataclass(slots=True)
class _Run:
    starts: tuple[PreparedStart, ...]
    quiet: frozenset[str]
    wake_at: datetime | None
    awaited: dict[str, Awaited] = field(default_factory=dict)
    """Job name → the parent awaited, as the plan saw it."""
    succeeded: dict[str, Awaited] = field(default_factory=dict)
    """The awaited parents seen to succeed since (their Pods' last events may still come)."""
    waiting_on: dict[str, list[int]] = field(default_factory=dict)
    """Job name → the starts (indices in ``starts``) that wait for it."""
    left: list[int] = field(default_factory=list)
    """Per start, how many of its parents have not been seen to succeed."""
    quiet_so_far: bool = True
    """Every success seen since the plan was quiet: none needs a plan sooner than a deferred one."""


@dataclass(frozen=True, slots=True)
class Verdict:
    due: tuple[JobToCreate, ...] = ()
    """Jobs to create now, in the order the plan prepared them."""
    quiet: bool = False
    """Nothing is due, and the run's next plan may wait: every success since the plan was a quiet
    parent's (``Preparation.quiet``) and made nothing due."""


NOTHING_DUE = Verdict()


class PreparedStarts:
    def __init__(
        self,
        cache: ClusterCache,
        create: Callable[[Sequence[JobToCreate]], Awaitable[tuple[bool, dict[str, str]]]],
        clock: Callable[[], datetime],
        observing_since: datetime | None = None,
    ) -> None:
        self.cache = cache
        self.create = create
        self.clock = clock
        self.observing_since = observing_since
        self.acting: Callable[[], bool] = lambda: True
        """Whether this operator may act now (not while another replica leads)."""
        self._runs: dict[Key, _Run] = {}
        self._firing: dict[Key, set[asyncio.Task[None]]] = {}
        self._deferred: dict[Key, float] = {}  # run → when (monotonic) its deferred plan is due
        self.in_flight = 0
        """Fired creates not answered yet."""

    def __bool__(self) -> bool:
        return bool(self._runs)

    def __contains__(self, key: Key) -> bool:
        return key in self._runs

    # -- from the reconciler ------------------------------------------------------------------------

    def install(self, key: Key, preparation: Preparation, wake_at: datetime | None) -> None:
        """What the plan just made of the run prepared (it replaces the last plan's)."""
        if not preparation.starts:
            self._runs.pop(key, None)
            return
        run = self._runs[key] = _Run(preparation.starts, preparation.quiet, wake_at)
        for index, start in enumerate(preparation.starts):
            run.left.append(len(start.awaits))
            for awaited in start.awaits:
                run.awaited[awaited.job_name] = awaited
                run.waiting_on.setdefault(awaited.job_name, []).append(index)

    def drop(self, key: Key) -> None:
        self._runs.pop(key, None)

    def forget(self, key: Key) -> None:
        """The run is gone."""
        self._runs.pop(key, None)
        self._deferred.pop(key, None)

    def clear(self) -> None:
        self._runs.clear()

    async def settled(self, key: Key) -> None:
        """Once the creates fired for the run are answered (its plan then finds their Jobs in the cache
        and adopts them, instead of creating each again for a 409)."""
        firing = self._firing.get(key)
        if firing:
            await asyncio.wait(list(firing))

    # -- from the watches ---------------------------------------------------------------------------

    def moved(self, key: Key, job_name: str) -> bool:
        """The observation of one of the run's Jobs changed: create at once what that makes due. True
        when the run's next plan may wait (see ``defer``)."""
        held = self._runs.get(key)
        if held is None:
            return False
        if not self.acting():
            self._runs.clear()
            return False
        if not self._as_planned(key, held):
            self._runs.pop(key, None)  # the run changed under it (or went) by a way the watch did not tell
            return False
        seen = self.cache.observations.get(key, {}).get(job_name)
        verdict = self.judge(key, job_name, seen, self.clock())
        if verdict.due and self.in_flight >= MAX_IN_FLIGHT:
            self.drop(key)  # a burst: the plans create these, through the work queue, as before
            return False
        if verdict.due:
            self.in_flight += 1
            task = asyncio.get_running_loop().create_task(self._fire(list(verdict.due)))
            self._firing.setdefault(key, set()).add(task)
            task.add_done_callback(lambda done: self._settle(key, done))
            return False
        return verdict.quiet

    def _as_planned(self, key: Key, held: _Run) -> bool:
        """Whether the run in the cache is still the one planned: there, not being deleted, and its spec
        (cancel, suspend, timeoutSeconds) unchanged. A 409 on a status write brings the newest run into
        the cache directly, not through the watch; a deletion may reach the Jobs' watch first."""
        run = self.cache.runs.get(key)
        if run is None:
            return False
        meta = run.get("metadata") or {}
        generation = meta.get("generation") or 1
        return not meta.get("deletionTimestamp") and generation == held.starts[0].run.meta.generation

    def defer(self, key: Key) -> bool:
        """The run's next plan waits: whether a wake-up is to be scheduled, DEFER from now (not while one
        is still to come: that plan sees this success too)."""
        now = time.monotonic()
        if self._deferred.get(key, 0.0) > now:
            return False
        self._deferred[key] = now + DEFER
        return True

    def judge(self, key: Key, job_name: str, seen: ObservedJob | None, now: datetime) -> Verdict:
        """What the change of one of the run's Jobs to `seen` means for what the run has prepared."""
        run = self._runs.get(key)
        if run is None:
            return NOTHING_DUE
        awaited = run.awaited.get(job_name) or run.succeeded.get(job_name)
        if awaited is None or (run.wake_at is not None and now >= run.wake_at):
            self._runs.pop(key, None)  # only a plan may say what follows
            return NOTHING_DUE
        outcome = awaited_outcome(awaited, seen, now, self.observing_since)
        if outcome is None:
            return NOTHING_DUE
        if outcome is False:
            self._runs.pop(key, None)
            return NOTHING_DUE
        if job_name in run.succeeded:  # a success seen again (its Pod's last word): nothing new is due
            return Verdict((), run.quiet_so_far)
        run.succeeded[job_name] = run.awaited.pop(job_name)
        due: list[JobToCreate] = []
        for index in run.waiting_on.pop(job_name, ()):
            run.left[index] -= 1
            if run.left[index] == 0:
                due.append(run.starts[index].job())
        run.quiet_so_far = run.quiet_so_far and not due and job_name in run.quiet
        return Verdict(tuple(due), run.quiet_so_far)

    # -- firing -------------------------------------------------------------------------------------

    async def _fire(self, jobs: list[JobToCreate]) -> None:
        try:
            created, refused = await self.create(jobs)
        except Exception:  # the plan that follows creates what is missing
            log.exception("creating the prepared Jobs %s failed", ", ".join(j.name for j in jobs))
            return
        if created and not refused:
            metrics.PREPARED_STARTS.inc(len(jobs))

    def _settle(self, key: Key, done: asyncio.Task[None]) -> None:
        self.in_flight -= 1
        firing = self._firing.get(key)
        if firing is not None:
            firing.discard(done)
            if not firing:
                del self._firing[key]
