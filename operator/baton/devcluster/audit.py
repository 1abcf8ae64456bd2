"""The audit log: every request and every Job/Pod transition, with millisecond timestamps.

The benchmark reads it to count the operator's requests per verb and to time the gap between one
Job's completion and the next Job's creation, so entries carry wall-clock milliseconds and a
sequence number for cheap incremental reads.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    ts_ms: float
    client: str
    verb: str
    resource: str  # "jobs.batch", "pipelineruns.baton.dev", "pods" (core has no group suffix)
    namespace: str
    name: str
    subresource: str
    code: int
    type: str = "request"
    user: str = ""
    """Who the request was from (an impersonated user's name when it impersonated one)."""


@dataclass(frozen=True)
class TransitionRecord:
    seq: int
    ts_ms: float
    kind: str  # Job or Pod
    namespace: str
    name: str
    transition: str  # Created, Running, Succeeded, Failed, Complete, Deleted, ...
    type: str = "transition"


Record = RequestRecord | TransitionRecord


class AuditLog:
    def __init__(self, limit: int = 2_000_000) -> None:
        self._records: deque[Record] = deque(maxlen=limit)
        self._seq = 0

    def _next(self) -> tuple[int, float]:
        self._seq += 1
        return self._seq, round(time.time() * 1000, 3)

    def request(
        self,
        *,
        client: str,
        verb: str,
        resource: str,
        namespace: str = "",
        name: str = "",
        subresource: str = "",
        code: int,
        user: str = "",
    ) -> None:
        seq, ts = self._next()
        self._records.append(
            RequestRecord(seq, ts, client, verb, resource, namespace, name, subresource, code, user=user)
        )

    def transition(self, *, kind: str, namespace: str, name: str, transition: str) -> None:
        seq, ts = self._next()
        self._records.append(TransitionRecord(seq, ts, kind, namespace, name, transition))

    def _snapshot(self) -> list[Record]:
        # Copied in one C call, which no other thread interleaves with: a test or the benchmark reads the
        # log from its own thread while the cluster's thread appends (iterating the deque itself in
        # Python could fail with "deque mutated during iteration").
        return list(self._records)

    def records(self, since: int = 0) -> list[Record]:
        """Records with a sequence number above `since` (0: all that are retained)."""
        if since <= 0:
            return self._snapshot()
        return [r for r in self._snapshot() if r.seq > since]

    def requests(self, client: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in self._snapshot()
            if isinstance(r, RequestRecord) and (client is None or r.client == client)
        ]

    def transitions(self, kind: str | None = None) -> list[TransitionRecord]:
        return [
            r
            for r in self._snapshot()
            if isinstance(r, TransitionRecord) and (kind is None or r.kind == kind)
        ]

    @property
    def last_seq(self) -> int:
        return self._seq


def as_dicts(records: Iterable[Record]) -> list[dict[str, Any]]:
    return [asdict(r) for r in records]
