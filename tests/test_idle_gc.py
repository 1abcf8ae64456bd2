"""The process's full garbage collections run from a thread when its owners' activity is quiet."""

from __future__ import annotations

import gc
import itertools
import time
from typing import Any

import pytest

from baton import idle_gc


def test_automatic_full_collection_is_off_while_a_source_is_registered_and_back_after() -> None:
    before = gc.get_threshold()
    with idle_gc.collected_when_idle(lambda: 0):
        with idle_gc.collected_when_idle(lambda: 1):  # the dev cluster and the operator in one process
            assert gc.get_threshold()[:2] == before[:2]  # the young generations as before
            assert gc.get_threshold()[2] == idle_gc.OUT_OF_REACH
        assert gc.get_threshold()[2] == idle_gc.OUT_OF_REACH  # one source is still there
    assert gc.get_threshold() == before


def test_the_collector_asks_the_decision_with_the_quiet_time_and_collects_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, Any]] = []

    def decide(**facts: Any) -> bool:
        asked.append(facts)
        return facts["quiet_for"] >= 0.15  # quiet for three polls

    monkeypatch.setattr(idle_gc, "full_collection_due", decide)
    ticks = itertools.count()
    busy = True
    done = idle_gc.collections()
    with idle_gc.collected_when_idle(lambda: next(ticks) if busy else -1):
        time.sleep(0.4)  # busy: the activity changes at every poll
        assert idle_gc.collections() == done
        assert all(facts["quiet_for"] == 0 for facts in asked)
        busy = False
        deadline = time.monotonic() + 5
        while idle_gc.collections() == done and time.monotonic() < deadline:
            time.sleep(0.02)
    assert idle_gc.collections() > done
    assert {"young_collections", "quiet_for", "since_last", "last_took"} <= set(asked[-1])
