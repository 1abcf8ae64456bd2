"""Trigger rules, one row per rule and situation of the dependencies."""

from __future__ import annotations

import pytest

from baton.api.pipeline import TriggerRule
from baton.core.rules import Upstream, Verdict, judge, unmet_message

RUN, WAIT, SKIP = Verdict.RUN, Verdict.WAIT, Verdict.SKIP

# (succeeded, failed, skipped or cancelled, unfinished)
ALL_OK = Upstream(2, 0, 0, 0)
ONE_FAILED = Upstream(1, 1, 0, 0)
ALL_FAILED = Upstream(0, 2, 0, 0)
ONE_SKIPPED = Upstream(1, 0, 1, 0)
OK_AND_RUNNING = Upstream(1, 0, 0, 1)
FAILED_AND_RUNNING = Upstream(0, 1, 0, 1)
FAILED_AND_SKIPPED = Upstream(0, 1, 1, 0)


@pytest.mark.parametrize(
    ("rule", "upstream", "verdict"),
    [
        (TriggerRule.ALL_SUCCEEDED, ALL_OK, RUN),
        (TriggerRule.ALL_SUCCEEDED, OK_AND_RUNNING, WAIT),
        (TriggerRule.ALL_SUCCEEDED, ONE_FAILED, SKIP),
        (TriggerRule.ALL_SUCCEEDED, FAILED_AND_RUNNING, SKIP),  # decided before the rest ends
        (TriggerRule.ALL_SUCCEEDED, ONE_SKIPPED, SKIP),
        (TriggerRule.ALL_SUCCEEDED, Upstream(), RUN),  # no dependencies
        (TriggerRule.ALL_DONE, ALL_OK, RUN),
        (TriggerRule.ALL_DONE, ONE_FAILED, RUN),
        (TriggerRule.ALL_DONE, FAILED_AND_SKIPPED, RUN),
        (TriggerRule.ALL_DONE, FAILED_AND_RUNNING, WAIT),
        (TriggerRule.ALWAYS, FAILED_AND_SKIPPED, RUN),
        (TriggerRule.ALWAYS, OK_AND_RUNNING, WAIT),
        (TriggerRule.ANY_FAILED, ONE_FAILED, RUN),
        (TriggerRule.ANY_FAILED, ALL_FAILED, RUN),
        (TriggerRule.ANY_FAILED, FAILED_AND_RUNNING, WAIT),  # starts only once all have ended
        (TriggerRule.ANY_FAILED, ALL_OK, SKIP),
        (TriggerRule.ANY_FAILED, ONE_SKIPPED, SKIP),
        (TriggerRule.ANY_FAILED, OK_AND_RUNNING, WAIT),
        (TriggerRule.ALL_FAILED, ALL_FAILED, RUN),
        (TriggerRule.ALL_FAILED, ONE_FAILED, SKIP),
        (TriggerRule.ALL_FAILED, FAILED_AND_SKIPPED, SKIP),
        (TriggerRule.ALL_FAILED, FAILED_AND_RUNNING, WAIT),
        (TriggerRule.ALL_FAILED, OK_AND_RUNNING, SKIP),
        (TriggerRule.NONE_FAILED, ALL_OK, RUN),
        (TriggerRule.NONE_FAILED, ONE_SKIPPED, RUN),
        (TriggerRule.NONE_FAILED, ONE_FAILED, SKIP),
        (TriggerRule.NONE_FAILED, FAILED_AND_RUNNING, SKIP),
        (TriggerRule.NONE_FAILED, OK_AND_RUNNING, WAIT),
    ],
)
def test_judge(rule: TriggerRule, upstream: Upstream, verdict: Verdict) -> None:
    assert judge(rule, upstream) is verdict


def test_every_rule_decides_once_everything_upstream_has_ended() -> None:
    """Never stuck: with no dependency unfinished, every rule says run or skip."""
    for rule in TriggerRule:
        for upstream in (
            ALL_OK,
            ONE_FAILED,
            ALL_FAILED,
            ONE_SKIPPED,
            FAILED_AND_SKIPPED,
            Upstream(0, 0, 2, 0),
        ):
            assert judge(rule, upstream) is not WAIT, (rule, upstream)


def test_unmet_messages_name_the_rule() -> None:
    assert (
        unmet_message(TriggerRule.ANY_FAILED, ALL_OK, "a, b")
        == "when: anyFailed is not met: none of a, b failed"
    )
    assert "allFailed" in unmet_message(TriggerRule.ALL_FAILED, ONE_FAILED, "a, b")
    assert unmet_message(TriggerRule.NONE_FAILED, ONE_FAILED, "a, b") == (
        "when: noneFailed is not met: 1 of a, b failed"
    )
