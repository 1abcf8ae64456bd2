"""When a Baton process runs Python's full garbage collection (the shell is `baton.idle_gc`).

CPython starts a full (oldest-generation) collection by itself once a quarter more objects have survived
the young collections than at the last one. In a process that holds the Jobs of a few 1,000-wide runs
that is a pause of 100 to 400 ms, and it lands wherever the allocation happens to cross the line: in the
fan-out benchmark, between the last worker's completion and the join's create (the join waited 200 ms
instead of 40). Nearly all that such a collection scans is alive: reference counting frees Baton's
garbage, which has no cycles; the collections measured there freed nothing, or a few dozen objects. So
the full collection can wait for a quiet moment, as long as it still comes.
"""

from __future__ import annotations

QUIET_SECONDS = 0.2
"""Nothing has happened for this long: a pause now holds up nothing that is waiting."""
LONGEST_WAIT = 60.0
"""A process that is never quiet still collects this often, so that cyclic garbage stays bounded."""
SHARE = 0.02
"""Full collections take at most this share of the time: after one that took t seconds, the next waits
at least t / SHARE."""
YOUNG_COLLECTIONS = 10
"""CPython's own third threshold: fewer young-generation collections than this since the last full one
have promoted too little to be worth a full one."""
GROWTH = 4
"""As CPython: a full collection once the objects promoted since the last one could be a quarter of those
it left (an idle process, whose heap barely grows, then collects as rarely as CPython would)."""


def full_collection_due(
    *,
    young_collections: int,
    quiet_for: float,
    since_last: float,
    last_took: float,
    heap_objects: int = 0,
    promoted_per_young: int = 7_000,
) -> bool:
    """Whether to run a full collection now.

    ``young_collections``: collections of the middle generation since the last full one (what
    ``gc.get_count()[2]`` counts); ``quiet_for``: seconds since the process last did any work;
    ``since_last``: seconds since the last full collection (or the start); ``last_took``: its duration;
    ``heap_objects``: the objects the last one left (the shell counts Python's allocated blocks, which
    include objects the collector does not track, so the next full collection waits somewhat longer);
    ``promoted_per_young``: the most objects one middle-generation collection can promote (CPython's
    first two thresholds multiplied).
    """
    needed = max(YOUNG_COLLECTIONS, heap_objects // (GROWTH * max(1, promoted_per_young)))
    if young_collections < needed:
        return False
    spacing = last_took / SHARE
    if since_last < spacing:
        return False
    return quiet_for >= QUIET_SECONDS or since_last >= max(LONGEST_WAIT, spacing)
