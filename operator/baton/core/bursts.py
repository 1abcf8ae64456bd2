"""How many of the Jobs a plan asks for one reconcile creates before the run is planned again.

A 1,000-wide fan-out's Jobs take the API server about 1.4 s to create. Created in one reconcile, none of
the completions that stream in meanwhile reaches a plan until the last create has returned, and the plan
after it then finds 1,000 successes at once: the join waited for that plan (20 to 30 ms after the last
worker's completion). So a large burst is cut once near its end: all but its last eighth, then a plan
that folds in the completions so far (and remembers them, `baton.core.transition_memo`), then the rest.
The plan after the last completion then finds only the last eighth's successes new. One cut, not many:
each cut lets the creates in flight drain and waits for a plan, which delays the burst's remaining
creates by some tens of milliseconds.
"""

from __future__ import annotations

CUT_FROM = 256
"""Bursts of fewer Jobs are created in one reconcile: their last plan is short anyway."""
LAST_SHARE = 8
"""The part of a burst created after the plan: its last eighth."""


def first_slice(count: int) -> int:
    """How many of ``count`` planned creates to make before planning again (all, for a small burst)."""
    if count < CUT_FROM:
        return count
    return count - count // LAST_SHARE
