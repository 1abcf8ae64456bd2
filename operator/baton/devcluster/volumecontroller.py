"""The volume controller: every PersistentVolumeClaim is bound at once to a local directory.

What kube-controller-manager's persistent-volume binder, a dynamic provisioner with reclaim policy
Delete and the pvc-protection controller do, for one node and no storage classes:

- Binding: a new claim gets a local directory `<workdir>/volumes/<namespace>/<claim>-<uid8>` (claims.py;
  created with the dev cluster user's default mode, which is the user the Pods' processes run as), then
  `spec.volumeName` `pvc-<uid>` with the binder's annotations, then `status` {phase: Bound,
  accessModes: spec.accessModes, capacity.storage: the request}, and a Normal ProvisioningSucceeded
  Event. Any `storageClassName`, access mode and volume mode is accepted (there is only this one kind
  of volume); no PersistentVolume object is served.
- Expansion: raising a bound claim's request raises `status.capacity` at once (a directory has no size).
- Protection: claims carry the `kubernetes.io/pvc-protection` finalizer (added at admission); a deleted
  claim keeps it, Terminating, while a scheduled Pod in its namespace mounts it (finished Pods too, as
  upstream: delete them, or let their Job's TTL do it), and loses it once no such Pod is left.
- Deletion: when the claim is gone (deleted, or garbage-collected through its ownerReferences), its
  directory is removed with everything in it.

Instant mode (the benchmark) binds claims the same way but creates no directories and posts no Events.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
from pathlib import Path

from . import errors
from .claims import (
    CLAIMS,
    PROTECTION_FINALIZER,
    access_modes_text,
    claim_directory,
    requested_storage,
    volume_name,
)
from .events import EventRecorder
from .quantities import compare
from .store import Obj, Store, WatchEvent
from .volumerules import claim_names

log = logging.getLogger(__name__)

PODS = ("", "pods")
PROVISIONER = "devcluster.baton.dev/local-directory"
BINDER_ANNOTATIONS = {
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
    "volume.kubernetes.io/storage-provisioner": PROVISIONER,
}


class VolumeController:
    def __init__(self, store: Store, workdir: Path, *, instant: bool = False) -> None:
        self.store = store
        self.workdir = workdir
        self.instant = instant
        claim_type = store.registry.storage(*CLAIMS)
        assert claim_type is not None
        self.claim_type = claim_type
        self.events = EventRecorder(store, "persistentvolume-controller")
        # Deleted claims still held by pvc-protection, by namespace: a Pod deletion there re-checks them.
        self._protected: dict[str, set[str]] = {}
        self._removals: set[asyncio.Task[None]] = set()
        self._queue = store.subscribe()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="devcluster-volumes")

    async def stop(self) -> None:
        await self.store.unfollow(self._queue, self._task)
        await asyncio.gather(*self._removals, return_exceptions=True)

    def directory(self, claim: Obj) -> Path:
        return claim_directory(self.workdir, claim)

    async def _run(self) -> None:
        for claim in self.store.list(self.claim_type):
            self._sync(claim)
        while True:
            event = await self._queue.get()
            try:
                self.handle(event)
            except Exception:  # one bad claim must not stop the others
                log.exception("volumes: %s %s failed", event.type, event.obj["metadata"].get("name"))

    def handle(self, event: WatchEvent) -> None:
        if event.group_resource == CLAIMS:
            meta = event.obj["metadata"]
            if event.type == "DELETED":
                self._protected.get(event.namespace, set()).discard(meta["name"])
                self._remove_directory(event.obj)
                return
            current = self.store.find(CLAIMS, event.namespace, meta["name"])
            if current is not None and current["metadata"].get("uid") == meta.get("uid"):
                self._sync(current)
        elif event.group_resource == PODS and event.type == "DELETED":
            for name in sorted(self._protected.get(event.namespace, ())):
                claim = self.store.find(CLAIMS, event.namespace, name)
                if claim is not None:
                    self._sync(claim)

    def _sync(self, claim: Obj) -> None:
        meta, spec = claim["metadata"], claim.get("spec") or {}
        if meta.get("deletionTimestamp"):
            self._release(claim)
        elif not spec.get("volumeName"):
            self._bind(claim)
        elif (claim.get("status") or {}).get("phase") == "Bound":
            capacity = ((claim["status"].get("capacity") or {}).get("storage")) or "0"
            if compare(requested_storage(claim), capacity) > 0:
                expanded = {**claim["status"], "capacity": {"storage": requested_storage(claim)}}
                self._write_status(claim, expanded)

    def _bind(self, claim: Obj) -> None:
        meta = claim["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        directory = self.directory(claim)
        if not self.instant:
            directory.mkdir(parents=True, exist_ok=True)
        bound = copy.deepcopy(claim)
        bound["spec"]["volumeName"] = volume_name(claim)
        bound["metadata"].setdefault("annotations", {}).update(BINDER_ANNOTATIONS)
        try:
            stored = self.store.update(self.claim_type, namespace, name, bound)
        except errors.ApiError as error:
            if error.code in (404, 409):
                return  # gone or changed meanwhile: its own event brings it back
            raise
        modes = [str(mode) for mode in stored["spec"].get("accessModes") or ()]
        status = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": requested_storage(stored)}}
        if self._write_status(stored, status) and not self.instant:
            self.events.record(
                stored,
                "Normal",
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {volume_name(claim)} as local directory {directory} "
                f"({access_modes_text(modes)})",
            )

    def _write_status(self, claim: Obj, status: Obj) -> bool:
        meta = claim["metadata"]
        try:
            self.store.update(
                self.claim_type,
                meta.get("namespace", ""),
                meta["name"],
                {"metadata": {"name": meta["name"]}, "status": status},
                subresource="status",
            )
        except errors.ApiError as error:
            if error.code in (404, 409):
                return False
            raise
        return True

    def _release(self, claim: Obj) -> None:
        """pvc-protection: drop the finalizer once no scheduled Pod mounts the claim."""
        meta = claim["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        if PROTECTION_FINALIZER not in (meta.get("finalizers") or ()):
            self._protected.get(namespace, set()).discard(name)
            return
        if self._in_use(namespace, name):
            self._protected.setdefault(namespace, set()).add(name)
            return
        self._protected.get(namespace, set()).discard(name)
        released = copy.deepcopy(claim)
        released["metadata"]["finalizers"] = [f for f in meta["finalizers"] if f != PROTECTION_FINALIZER]
        try:
            self.store.update(self.claim_type, namespace, name, released)
        except errors.ApiError as error:
            if error.code not in (404, 409):
                raise

    def _in_use(self, namespace: str, claim_name: str) -> bool:
        pod_type = self.store.registry.storage(*PODS)
        assert pod_type is not None
        for pod in self.store.list(pod_type, namespace):
            spec = pod.get("spec") or {}
            # Only scheduled Pods count: the scheduler never binds a Pod to a deleting claim.
            if spec.get("nodeName") and claim_name in claim_names(spec):
                return True
        return False

    def _remove_directory(self, claim: Obj) -> None:
        if self.instant:
            return
        task = asyncio.create_task(asyncio.to_thread(shutil.rmtree, self.directory(claim), True))
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)
