"""`baton operator --leader-elect`: the shell around ``baton.core.leases``.

Every ``retry_period`` it reads the Lease, applies the decision (create, renew or take over, each with the
read resourceVersion: a 409 means another replica won), and tells the operator when it starts or stops
leading. The operator keeps watching either way (a standby's caches stay warm); only a leader reconciles.
Each request is bounded by the retry period, so a hung API server cannot keep a leader acting past its
renew deadline. On a graceful shutdown the leader releases the Lease, and a standby takes over at its
next look instead of waiting for the lease to expire.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton.core.events import Event, EventType
from baton.core.leases import Decision, Lease, Timing, Verb, decide, leads, released

from . import metrics
from .client import ApiFailure, KubeClient
from .recorder import EventRecorder

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
LEASE_NAME = "baton-operator"
DEFAULT_TIMING = Timing()


def own_namespace(fallback: str | None = None) -> str:
    """The operator's namespace: POD_NAMESPACE (the chart sets it), the service account's, else
    ``fallback`` (the kubeconfig's), else default."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or fallback or "default"
    except OSError:
        return fallback or "default"


@dataclass(frozen=True, slots=True)
class LeaderElection:
    """`baton operator --leader-elect` and its settings."""

    name: str = LEASE_NAME
    namespace: str | None = None
    """None: the operator's own namespace."""
    timing: Timing = DEFAULT_TIMING


def identity() -> str:
    """Unique per process, readable per Pod: the Pod's name and a random suffix (as client-go's)."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class LeaderElector:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        *,
        name: str = LEASE_NAME,
        me: str | None = None,
        timing: Timing = DEFAULT_TIMING,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
        recorder: EventRecorder | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.namespace, self.name = namespace, name
        self.me = me or identity()
        self.timing = timing
        self.on_started, self.on_stopped = on_started, on_stopped
        self.recorder = recorder
        self.clock = clock
        self.leading = False
        self.leader: str | None = None
        """Who leads, as last seen."""
        self._renewed: float | None = None
        """When (loop time) the last successful write of the Lease as its holder began."""
        self._seen: tuple[Any, ...] | None = None
        self._seen_at = 0.0
        """When (loop time) the Lease was last seen to change: another holder's lease runs from then."""
        self._expiry: asyncio.TimerHandle | None = None
        self._lease: dict[str, Any] | None = None
        self._posting: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Look at the Lease every retry period until cancelled; never raises on an API error."""
        while True:
            await self.look()
            await asyncio.sleep(self.timing.retry_period)

    async def look(self) -> None:
        """One look at the Lease: read it, act on the decision, start or stop leading. A leader's look is
        cut short at its renew deadline, and a timer stops it there if no renewal came in time."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = self.timing.retry_period
        if self.leading and self._renewed is not None:
            budget = max(0.01, min(budget, self._renewed + self.timing.renew_deadline - started))
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives as the request completes, and a cancelled elector would then go on renewing.
            async with asyncio.timeout(budget):
                decision = await self._try(self.clock(), started)
        except (TimeoutError, ApiFailure, OSError, ValueError) as error:
            log.warning("leader election: the Lease %s/%s could not be read or written: %s",
                        self.namespace, self.name, error or type(error).__name__)  # fmt: skip
        except Exception:  # aiohttp's errors and the like: the next look tries again
            log.exception("leader election: unexpected error")
        else:
            if decision.verb is not Verb.FOLLOW:
                self._renewed = started  # the lease counts from before the request: never from later
                if self._expiry is not None:
                    self._expiry.cancel()
                self._expiry = loop.call_at(started + self.timing.renew_deadline, self._deadline_passed)
            self._seen_leader(decision.leader)
        since = None if self._renewed is None else loop.time() - self._renewed
        self._set_leading(leads(since, self.timing) and self.leader == self.me)

    def _deadline_passed(self) -> None:
        """No renewal within the renew deadline: stop acting now, before any standby may take over."""
        since = None if self._renewed is None else asyncio.get_running_loop().time() - self._renewed
        if self.leading and not leads(since, self.timing):
            self._set_leading(False)

    async def _try(self, now: datetime, observed: float) -> Decision:
        try:
            obj = await self.client.request(
                "GET", f"{self.path}/{self.name}", verb="get", resource="leases", urgent=True
            )
        except ApiFailure as failure:
            if failure.code != 404:
                raise
            obj = None
        lease = Lease.of(obj) if obj is not None else None
        if lease is not None and lease.version != self._seen:
            self._seen, self._seen_at = lease.version, observed
        unchanged_for = observed - self._seen_at if lease is not None else 0.0
        decision = decide(lease, self.me, now, self.timing, unchanged_for)
        if decision.spec is None:
            return decision
        if obj is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": decision.spec,
            }
            stored = await self.client.request(
                "POST", self.path, body=body, verb="create", resource="leases", urgent=True
            )
        else:
            body = {**obj, "spec": {**(obj.get("spec") or {}), **decision.spec}}
            stored = await self.client.request(
                "PUT", f"{self.path}/{self.name}", body=body, verb="update", resource="leases", urgent=True
            )
        self._lease = stored
        return decision

    async def release(self) -> None:
        """Give the Lease up (graceful shutdown, after the last write) so that a standby takes over at
        once; then post what is left to post."""
        held = self.leader == self.me
        if self._expiry is not None:
            self._expiry.cancel()
        self._set_leading(False)
        if not held:
            await self._posted()
            return
        try:
            async with asyncio.timeout(self.timing.retry_period):
                obj = await self.client.get(f"{self.path}/{self.name}", resource="leases")
            spec = released(Lease.of(obj), self.me, self.clock())
            if spec is not None:
                body = {**obj, "spec": {**(obj.get("spec") or {}), **spec}}
                async with asyncio.timeout(self.timing.retry_period):
                    await self.client.request(
                        "PUT", f"{self.path}/{self.name}", body=body, verb="update", resource="leases"
                    )
                log.info("leader election: released the Lease %s/%s", self.namespace, self.name)
        except Exception as error:  # the lease then simply expires
            log.warning("leader election: could not release the Lease: %s", error)
        await self._posted()

    async def _posted(self) -> None:
        if self._posting:
            await asyncio.wait(list(self._posting), timeout=self.timing.retry_period)

    def _seen_leader(self, leader: str | None) -> None:
        if leader != self.leader:
            previous, self.leader = self.leader, leader
            if leader is not None and leader != self.me:
                log.info("leader election: %s leads (before: %s)", leader, previous or "nobody")

    def _set_leading(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        metrics.LEADER.set(1 if leading else 0)
        if leading:
            where = f"{self.namespace}/{self.name}"
            log.info("leader election: %s became the leader (Lease %s)", self.me, where)
            self.on_started()
        else:
            log.warning("leader election: %s stopped leading", self.me)
            self.on_stopped()
        self._announce(leading)

    def _announce(self, leading: bool) -> None:
        if self.recorder is None or self._lease is None:
            return
        verb = "became the leader" if leading else "stopped leading"
        event = Event(EventType.NORMAL, "LeaderElection", f"{self.me} {verb}")
        lease = {**self._lease, "apiVersion": "coordination.k8s.io/v1", "kind": "Lease"}
        posting = asyncio.get_running_loop().create_task(self.recorder.record(lease, [event]))
        self._posting.add(posting)  # held until done: the loop keeps only weak references to tasks
        posting.add_done_callback(self._posting.discard)
