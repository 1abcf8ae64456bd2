"""Which API failures the operator tries again, how long it waits, and its client-side rate limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baton.core.api_retry import MAX_TRIES, TokenBucket, next_delay, retry_after

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tries", "code", "asked", "jitter", "delay"),
    [
        (1, 500, None, 0.0, 0.2),
        (2, 503, None, 0.0, 0.4),
        (3, 502, None, 0.0, 0.8),
        (4, 504, None, 0.0, 1.6),
        (1, 500, None, 0.999, 0.2 * (1 - 0.999 / 2)),  # jitter takes up to half off
        (1, 429, 3.0, 0.5, 3.0),  # Retry-After is what the server asked, no jitter
        (1, 503, 7.0, 0.0, 7.0),
        (1, 500, 7.0, 0.0, 0.2),  # Retry-After only means something with 429 and 503
        (1, None, None, 0.0, 0.2),  # no answer at all: transient
        (MAX_TRIES, 500, None, 0.0, None),  # out of tries
        (1, 409, None, 0.0, None),  # a conflict is an answer: the caller re-plans
        (1, 404, None, 0.0, None),
        (1, 422, None, 0.0, None),
        (1, 403, None, 0.0, None),  # a quota refusal is the planner's to handle
    ],
)
def test_next_delay(
    tries: int, code: int | None, asked: float | None, jitter: float, delay: float | None
) -> None:
    found = next_delay(tries, code, asked, jitter)
    assert found == pytest.approx(delay) if delay is not None else found is None


def test_the_backoff_is_capped() -> None:
    delays = [next_delay(t, 500, None, 0.0) for t in range(1, MAX_TRIES)]
    assert delays == sorted(delays) and max(d for d in delays if d is not None) <= 5.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("2", 2.0),
        ("3600", 60.0),  # at most a minute
        ("Sat, 06 Dec 2026 12:00:05 GMT", 5.0),
        ("Sat, 06 Dec 2026 11:59:00 GMT", 0.0),  # a date in the past: now
        ("soon", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, NOW) == seconds


def test_the_token_bucket_lets_a_burst_through_then_paces() -> None:
    bucket = TokenBucket(qps=10, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0.0) == pytest.approx(0.1)  # the fourth waits for a token
    assert bucket.take(0.0) == pytest.approx(0.2)  # and the fifth behind it
    assert bucket.take(1.0) == 0  # a second later, tokens are back (up to the burst)
    refilled = TokenBucket(qps=10, burst=3)
    refilled.take(0.0)
    assert refilled.take(100.0) == 0 and refilled.tokens == pytest.approx(2)  # never more than the burst
