"""How much of a burst of creates one reconcile makes before the run is planned again."""

from __future__ import annotations

import pytest

from baton.core.bursts import CUT_FROM, first_slice


@pytest.mark.parametrize(
    ("count", "now"),
    [
        (0, 0),
        (1, 1),
        (CUT_FROM - 1, CUT_FROM - 1),  # small bursts in one go
        (CUT_FROM, CUT_FROM - CUT_FROM // 8),
        (1_000, 875),  # the last eighth after a plan
        (10_000, 8_750),
        (1_001, 876),
    ],
)
def test_a_wide_burst_is_cut_once_before_its_last_eighth(count: int, now: int) -> None:
    assert first_slice(count) == now


def test_the_rest_of_a_cut_burst_is_not_cut_again_when_small() -> None:
    first = first_slice(1_000)
    assert first_slice(1_000 - first) == 1_000 - first
