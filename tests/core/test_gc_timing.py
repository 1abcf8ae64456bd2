"""When a Baton process runs Python's full garbage collection."""

from __future__ import annotations

import pytest

from baton.core.gc_timing import LONGEST_WAIT, QUIET_SECONDS, SHARE, YOUNG_COLLECTIONS, full_collection_due

ENOUGH = YOUNG_COLLECTIONS


@pytest.mark.parametrize(
    ("young", "heap", "due"),
    [
        (ENOUGH, 100_000, True),  # a small heap: CPython's own ten
        (ENOUGH, 1_000_000, False),  # 70,000 promoted at most: not a quarter of a million objects
        (34, 1_000_000, False),
        (35, 1_000_000, True),  # 35 young collections may have promoted 245,000: about a quarter
    ],
)
def test_a_large_heap_waits_for_a_quarter_of_it_to_be_new(young: int, heap: int, due: bool) -> None:
    assert (
        full_collection_due(
            young_collections=young,
            quiet_for=10.0,
            since_last=600.0,
            last_took=0.1,
            heap_objects=heap,
            promoted_per_young=7_000,
        )
        is due
    )


@pytest.mark.parametrize(
    ("young", "quiet", "since", "took", "due"),
    [
        (ENOUGH, QUIET_SECONDS, 30.0, 0.1, True),  # quiet, and worth it
        (ENOUGH - 1, 10.0, 3600.0, 0.0, False),  # little promoted since the last one
        (ENOUGH, QUIET_SECONDS / 2, 30.0, 0.1, False),  # busy: wait
        (ENOUGH, 0.0, LONGEST_WAIT, 0.1, True),  # busy for a minute: collect anyway
        (ENOUGH, 10.0, 0.3 / SHARE - 1, 0.3, False),  # the last took 0.3 s: not 50 times that yet
        (ENOUGH, 10.0, 0.3 / SHARE, 0.3, True),
        (ENOUGH, 0.0, LONGEST_WAIT, 2.0, False),  # a 2 s collection under load: after 100 s, not 60
        (ENOUGH, 0.0, 2.0 / SHARE, 2.0, True),
        (ENOUGH, QUIET_SECONDS, 0.0, 0.0, True),  # the first one after start
    ],
)
def test_a_full_collection_waits_for_a_quiet_moment_but_not_for_ever(
    young: int, quiet: float, since: float, took: float, due: bool
) -> None:
    assert (
        full_collection_due(young_collections=young, quiet_for=quiet, since_last=since, last_took=took) is due
    )
