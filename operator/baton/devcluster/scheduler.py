"""The dev cluster's scheduler, for the one decision it has to make: may this Pod's volumes go to the node?

Most Pods are bound to the single node `devcluster` when they are admitted (poddefaults.py). A Pod that
mounts PersistentVolumeClaims is admitted unbound, and this scheduler binds it (sets `spec.nodeName`,
as the `pods/binding` subresource does) once every claim it mounts exists and is bound. Until then the
Pod stays Pending with the condition and the Event the real scheduler writes:

    PodScheduled=False, reason Unschedulable,
    message `0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/1 nodes are
    available: 1 Preemption is not helpful for scheduling.`
    (or `persistentvolumeclaim "data" is being deleted`), and one FailedScheduling Warning per message.

A claim that exists but is not bound yet is only waited for: the volume controller binds every claim as
soon as it is created, and this scheduler tries again on every claim event of the Pod's namespace. Pods
with another `schedulerName` are left alone (as a cluster without that scheduler leaves them), and so are
Pods that name their node themselves.
"""

from __future__ import annotations

import asyncio
import copy
import logging

from . import errors
from .claims import CLAIMS, is_bound
from .events import EventRecorder
from .poddefaults import NODE_NAME
from .podstatus import TERMINAL_PHASES
from .store import Obj, Store, WatchEvent, rfc3339
from .volumerules import claim_names

log = logging.getLogger(__name__)

PODS = ("", "pods")
SCHEDULER_NAME = "default-scheduler"
_PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."


def unschedulable_message(reason: str) -> str:
    """The scheduler's FitError message for the single node."""
    return f"0/1 nodes are available: {reason}. {_PREEMPTION}"


def claim_problem(store: Store, pod: Obj) -> str | None:
    """Why the Pod's claims keep it off the node: a reason, "" to wait quietly, None when it may go."""
    namespace = pod["metadata"].get("namespace", "")
    waiting = False
    for name in claim_names(pod.get("spec") or {}):
        claim = store.find(CLAIMS, namespace, name)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        waiting = waiting or not is_bound(claim)
    return "" if waiting else None


class Scheduler:
    def __init__(self, store: Store) -> None:
        self.store = store
        pod_type = store.registry.storage(*PODS)
        assert pod_type is not None
        self.pod_type = pod_type
        self.events = EventRecorder(store, SCHEDULER_NAME)
        # Unbound Pods by namespace, so that a claim event looks at those only.
        self._pending: dict[str, set[str]] = {}
        self._queue: asyncio.Queue[WatchEvent] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._queue = self.store.subscribe()
        self._task = asyncio.create_task(self._run(), name="devcluster-scheduler")

    async def stop(self) -> None:
        await self.store.unfollow(self._queue, self._task)

    async def _run(self) -> None:
        assert self._queue is not None
        for pod in self.store.list(self.pod_type):
            self._schedule(pod)
        while True:
            event = await self._queue.get()
            try:
                self.handle(event)
            except Exception:  # one bad Pod must not stop scheduling the others
                log.exception("scheduler: %s %s failed", event.type, event.obj["metadata"].get("name"))

    def handle(self, event: WatchEvent) -> None:
        if event.group_resource == PODS:
            name = event.obj["metadata"]["name"]
            current = self.store.find(PODS, event.namespace, name)
            if current is None:
                self._pending.get(event.namespace, set()).discard(name)
            else:
                self._schedule(current)
        elif event.group_resource == CLAIMS:
            for name in sorted(self._pending.get(event.namespace, ())):
                pod = self.store.find(PODS, event.namespace, name)
                if pod is not None:
                    self._schedule(pod)

    def _schedule(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        namespace, name = meta.get("namespace", ""), meta["name"]
        if (
            spec.get("nodeName")
            or meta.get("deletionTimestamp")
            or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES
            or spec.get("schedulerName", SCHEDULER_NAME) != SCHEDULER_NAME
        ):
            self._pending.get(namespace, set()).discard(name)
            return
        problem = claim_problem(self.store, pod)
        if problem is None:
            self._pending.get(namespace, set()).discard(name)
            self._bind(pod)
            return
        self._pending.setdefault(namespace, set()).add(name)
        if problem:
            self._unschedulable(pod, unschedulable_message(problem))

    def _bind(self, pod: Obj) -> None:
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = NODE_NAME
        meta = pod["metadata"]
        try:
            # What pods/binding writes; a Pod's spec is otherwise immutable, so admission is skipped.
            self.store.update(self.pod_type, meta.get("namespace", ""), meta["name"], bound, admit=False)
        except errors.ApiError as error:
            if error.code not in (404, 409):
                raise  # gone or changed meanwhile: its own event brings it back

    def _unschedulable(self, pod: Obj, message: str) -> None:
        status = copy.deepcopy(pod.get("status") or {})
        conditions = status.get("conditions") or []
        previous: Obj = next((c for c in conditions if c.get("type") == "PodScheduled"), {})
        if previous.get("status") == "False" and previous.get("message") == message:
            return  # said already
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": previous.get("lastTransitionTime")
            if previous.get("status") == "False"
            else rfc3339(self.store.clock()),
            "reason": "Unschedulable",
            "message": message,
        }
        status["conditions"] = [*(c for c in conditions if c.get("type") != "PodScheduled"), condition]
        meta = pod["metadata"]
        try:
            self.store.update(
                self.pod_type,
                meta.get("namespace", ""),
                meta["name"],
                {"metadata": {"name": meta["name"]}, "status": status},
                subresource="status",
            )
        except errors.ApiError as error:
            if error.code not in (404, 409):
                raise
            return
        self.events.record(pod, "Warning", "FailedScheduling", message)
