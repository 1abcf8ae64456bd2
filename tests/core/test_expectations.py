"""`baton dev --expect-results`: which recorded results match what a pipeline's own test expects."""

from __future__ import annotations

import pytest

from baton.core.expectations import result_mismatches

RESULTS = {"total": "12", "regions": '["eu","us"]', "report": "Daily sales", "rate": "0.5"}


@pytest.mark.parametrize(
    ("expected", "problems"),
    [
        ({"total": "12"}, []),
        ({"total": "12.0"}, []),  # equal as JSON
        ({"regions": '["eu", "us"]'}, []),
        ({"report": "Daily sales"}, []),
        ({"total": "11"}, ["result \"total\" is '12', expected '11'"]),
        ({"report": "daily sales"}, ["result \"report\" is 'Daily sales', expected 'daily sales'"]),
        ({"count": "3"}, ['no result "count" (its results: rate, regions, report, total)']),
        ({"total": "12", "rate": "0.25"}, ["result \"rate\" is '0.5', expected '0.25'"]),
    ],
)
def test_result_mismatches(expected: dict[str, str], problems: list[str]) -> None:
    assert result_mismatches(expected, RESULTS) == problems


def test_a_long_value_is_shortened_in_the_message() -> None:
    (problem,) = result_mismatches({"blob": "x"}, {"blob": "y" * 500})
    assert len(problem) < 130
