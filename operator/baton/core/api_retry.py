"""When the operator tries an API request again, and when it waits before a request at all.

- Transient failures are retried: 429 Too Many Requests, 500, 502, 503, 504 and a connection that failed
  or timed out (no status at all). A 429 or 503 with `Retry-After` waits what the server asked (at most a
  minute); any other waits a capped, jittered exponential backoff, as client-go does. Every write Baton
  makes is safe to repeat: Jobs and runs have deterministic names (a repeated create gets 409 and is
  adopted), status writes carry a resourceVersion precondition (a repeated one gets 409 and is planned
  again), and Events are a courtesy.
- A client-side rate limit (a token bucket: ``qps`` tokens a second, at most ``burst`` saved up) keeps one
  operator from flooding the API server; the server's own priority and fairness answers with 429 and
  Retry-After when it is busy anyway, which the retries honour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

TRANSIENT = frozenset({429, 500, 502, 503, 504})
MAX_TRIES = 5
"""Tries of one request in all: the first and four retries (about 3 s of backoff without Retry-After)."""
FIRST_DELAY = 0.2
MAX_DELAY = 5.0
MAX_RETRY_AFTER = 60.0

QPS = 1000.0
BURST = 2000
"""The defaults: client-go's 5 and 10 would hold a 1,000-wide fan-out's Job creates for minutes; these
never throttle the benchmark (the dev cluster itself serves about 500 tasks a second on two cores), and
still cap a runaway loop at a rate a production API server survives."""


def worth_retrying(code: int) -> bool:
    """Whether a request that failed with ``code`` (0: no answer at all, the API server unreachable) may
    succeed later without any change: for a caller deciding between "again later" and "for good"."""
    return code == 0 or code in TRANSIENT or code in (408, 409)


def retry_after(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delay-seconds or an HTTP date), at most a minute;
    None when absent or unreadable."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if now is None or when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), MAX_RETRY_AFTER))


def next_delay(tries: int, code: int | None, asked: float | None, jitter: float) -> float | None:
    """Seconds to wait before trying again after ``tries`` failed tries of a request that ended with
    ``code`` (None: no answer at all) and a `Retry-After` of ``asked``; None: do not try again.
    ``jitter`` in [0, 1) spreads retries of many clients (it takes up to half off the backoff)."""
    if tries >= MAX_TRIES or (code is not None and code not in TRANSIENT):
        return None
    if asked is not None and code in (429, 503):
        return asked
    backoff = min(MAX_DELAY, FIRST_DELAY * 2.0 ** (tries - 1))
    return backoff * (1 - jitter / 2)


@dataclass
class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; ``take`` says how long to wait for one."""

    qps: float = QPS
    burst: int = BURST
    tokens: float | None = None
    at: float | None = None

    def take(self, now: float) -> float:
        """Take a token at ``now`` (seconds, monotonic): the wait before the request may go (0: at once).
        A request that waits has its token reserved, so waiters are served in order."""
        if self.tokens is None or self.at is None:
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.qps)
        self.at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.qps

    def give_back(self) -> None:
        """A token taken for a request that was not made after all."""
        if self.tokens is not None:
            self.tokens = min(float(self.burst), self.tokens + 1)
