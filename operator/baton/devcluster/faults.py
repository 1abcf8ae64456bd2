"""Fault injection: an API server that fails on purpose (a test-only option, off by default).

A `FaultPlan` says what goes wrong; the cluster applies it to the resource requests of every client:

- errors at a rate per verb and resource: 500, 503, 429 with `Retry-After`, 409 on updates and patches;
- latency added to every request;
- watch streams closed after N events or T seconds (the client must resume, or re-list after a 410);
- "down for T seconds": the API server stops answering (its listener closed, every connection and watch
  dropped), then comes back with its data (`DevCluster.go_down`), at a moment a test chooses or after
  ``down_after`` seconds.

Named profiles (`PROFILES`) combine with commas, as `baton devcluster up --faults errors,throttle` takes
them. The draw of each request comes from a seeded generator, so a run of a test is repeatable as far as
the order of requests is.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TypeVar

REASONS = {
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}
MESSAGES = {
    409: "the object has been modified; please apply your changes to the latest version and try again",
    429: "the server has received too many requests and has asked us to try again later",
    500: "an error on the server (injected) has prevented the request from succeeding",
    503: "the server is currently unable to handle the request",
}


@dataclass(frozen=True, slots=True)
class ErrorRule:
    code: int
    rate: float
    verbs: frozenset[str] = frozenset()
    """Empty: every verb (get, list, create, update, patch, delete, deletecollection)."""
    resources: frozenset[str] = frozenset()
    """Empty: every resource; else names as the audit log writes them (jobs.batch, pods, …)."""
    retry_after: int | None = None

    def applies(self, verb: str, resource: str) -> bool:
        return (not self.verbs or verb in self.verbs) and (not self.resources or resource in self.resources)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    errors: tuple[ErrorRule, ...] = ()
    latency: float = 0.0
    """Seconds added to every resource request."""
    watch_events: int | None = None
    """Close each watch stream after this many events."""
    watch_seconds: float | None = None
    """Close each watch stream after this long."""
    down_after: float | None = None
    """Go down this long after the cluster started (with ``down_for``)."""
    down_for: float = 0.0
    seed: int = 0

    def error_for(self, verb: str, resource: str, draw: float) -> ErrorRule | None:
        """The error to answer with for a request (``draw`` uniform in [0, 1)), if any: rules are tried in
        order, each taking its own slice of the draw, so their rates add up."""
        edge = 0.0
        for rule in self.errors:
            if not rule.applies(verb, resource):
                continue
            edge += rule.rate
            if draw < edge:
                return rule
        return None

    def merged(self, other: FaultPlan) -> FaultPlan:
        return FaultPlan(
            errors=self.errors + other.errors,
            latency=max(self.latency, other.latency),
            watch_events=_least(self.watch_events, other.watch_events),
            watch_seconds=_least(self.watch_seconds, other.watch_seconds),
            down_after=_least(self.down_after, other.down_after),
            down_for=max(self.down_for, other.down_for),
            seed=self.seed or other.seed,
        )


WRITES = frozenset({"create", "update", "patch", "delete"})
PROFILES: dict[str, FaultPlan] = {
    "errors": FaultPlan(errors=(ErrorRule(500, 0.05), ErrorRule(503, 0.05))),
    "throttle": FaultPlan(errors=(ErrorRule(429, 0.10, retry_after=1),)),
    "conflicts": FaultPlan(errors=(ErrorRule(409, 0.10, verbs=frozenset({"update", "patch"})),)),
    "latency": FaultPlan(latency=0.05),
    "watch-drops": FaultPlan(watch_events=20, watch_seconds=5.0),
    "down": FaultPlan(down_after=10.0, down_for=20.0),
}


def plan_of(names: str, seed: int = 0) -> FaultPlan:
    """The plan of comma-separated profile names ("all": every one); ValueError names an unknown one."""
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if chosen == ["all"]:
        chosen = list(PROFILES)
    unknown = [n for n in chosen if n not in PROFILES]
    if unknown or not chosen:
        raise ValueError(
            f"unknown fault profile {', '.join(unknown) or '(none)'}; known: {', '.join(PROFILES)}, all"
        )
    plan = FaultPlan()
    for name in chosen:
        plan = plan.merged(PROFILES[name])
    return replace(plan, seed=seed)


@dataclass
class Faults:
    """The plan at work in one cluster: its random draws and what it injected (for tests to report)."""

    plan: FaultPlan
    injected: Counter[str] = field(default_factory=Counter)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed)

    def error_for(self, verb: str, resource: str) -> ErrorRule | None:
        rule = self.plan.error_for(verb, resource, self._random.random())
        if rule is not None:
            self.injected[str(rule.code)] += 1
        return rule


N = TypeVar("N", int, float)


def _least(a: N | None, b: N | None) -> N | None:
    return b if a is None else a if b is None else min(a, b)
