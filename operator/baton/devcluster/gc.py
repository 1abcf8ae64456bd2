"""Garbage collection through ownerReferences, and the namespace controller.

Like kube-controller-manager, this reacts to changes after they are stored, so a Background delete
returns before its dependents are gone, and Foreground/Orphan deletes hold the owner with a finalizer
until the dependents have been dealt with.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from . import errors
from .store import GroupResource, Obj, Store, WatchEvent

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


class GarbageCollector:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue = store.subscribe()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="devcluster-gc")

    async def stop(self) -> None:
        await self.store.unfollow(self._queue, self._task)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                self.handle(event)
            except Exception:  # a GC bug must not stop collection of everything else
                log.exception("garbage collection of %s failed", event.obj.get("metadata", {}).get("name"))

    def handle(self, event: WatchEvent) -> None:
        meta = event.obj["metadata"]
        if event.type == "DELETED":
            self._collect_dependents(meta["uid"])
            self._release_owners(event.obj)
            if event.namespace:
                self._maybe_finalize_namespace(event.namespace)
            return
        if event.type == "ADDED":
            self._collect_if_orphaned(event.group_resource, event.obj)
        if not meta.get("deletionTimestamp"):
            return
        if event.group_resource == ("", "namespaces"):
            self._drain_namespace(meta["name"])
            return
        finalizers = meta.get("finalizers") or []
        if ORPHAN in finalizers:
            self._orphan_dependents(meta["uid"])
            self._drop_finalizer(event.group_resource, event.obj, ORPHAN)
        elif FOREGROUND in finalizers:
            dependents = self.store.dependents(meta["uid"])
            if not self._blocking(meta["uid"], dependents):
                self._drop_finalizer(event.group_resource, event.obj, FOREGROUND)
            for gr, dependent in dependents:
                self._delete(gr, dependent, "Foreground")

    def _collect_dependents(self, owner_uid: str) -> None:
        for gr, dependent in self.store.dependents(owner_uid):
            live_owners = [
                ref
                for ref in dependent["metadata"].get("ownerReferences") or ()
                if ref.get("uid") != owner_uid and self.store.by_uid(ref.get("uid", "")) is not None
            ]
            if live_owners:
                self._rewrite_owners(gr, dependent, live_owners)
            else:
                self._delete(gr, dependent, "Background")

    def _collect_if_orphaned(self, gr: GroupResource, obj: Obj) -> None:
        refs = obj["metadata"].get("ownerReferences") or ()
        if refs and all(self.store.by_uid(ref.get("uid", "")) is None for ref in refs):
            self._delete(gr, obj, "Background")

    def _release_owners(self, obj: Obj) -> None:
        # An owner in foreground deletion waits for its last dependent to go.
        for ref in obj["metadata"].get("ownerReferences") or ():
            located = self.store.by_uid(ref.get("uid", ""))
            if located is None:
                continue
            gr, owner = located
            if FOREGROUND in (owner["metadata"].get("finalizers") or ()) and not self._blocking(
                owner["metadata"]["uid"], self.store.dependents(owner["metadata"]["uid"])
            ):
                self._drop_finalizer(gr, owner, FOREGROUND)

    @staticmethod
    def _blocking(owner_uid: str, dependents: list[tuple[GroupResource, Obj]]) -> bool:
        """Whether a dependent still blocks its owner's foreground deletion (blockOwnerDeletion: true).

        Dependents without it are deleted too, but the owner does not wait for them, as in Kubernetes.
        """
        return any(
            ref.get("uid") == owner_uid and ref.get("blockOwnerDeletion")
            for _, dependent in dependents
            for ref in dependent["metadata"].get("ownerReferences") or ()
        )

    def _orphan_dependents(self, owner_uid: str) -> None:
        for gr, dependent in self.store.dependents(owner_uid):
            refs = [
                ref
                for ref in dependent["metadata"].get("ownerReferences") or ()
                if ref.get("uid") != owner_uid
            ]
            self._rewrite_owners(gr, dependent, refs)

    def _drain_namespace(self, namespace: str) -> None:
        for gr in list(self.store._objects):
            rt = self.store.registry.storage(*gr)
            if rt is None or not rt.namespaced:
                continue
            for obj in [o for (ns, _), o in self.store.objects(gr).items() if ns == namespace]:
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(gr, obj, "Background")
        self._maybe_finalize_namespace(namespace)

    def _maybe_finalize_namespace(self, namespace: str) -> None:
        ns = self.store.find(("", "namespaces"), "", namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for gr, items in self.store._objects.items():
            if gr != ("", "namespaces") and any(key[0] == namespace for key in items):
                return
        self.store.finalize_namespace(namespace)

    def _rewrite_owners(self, gr: GroupResource, obj: Obj, refs: list[dict[str, Any]]) -> None:
        rt = self.store.registry.storage(*gr)
        if rt is None:
            return
        new = copy.deepcopy(obj)
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._ignore_gone(
            lambda: self.store.update(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], new)
        )

    def _drop_finalizer(self, gr: GroupResource, obj: Obj, finalizer: str) -> None:
        rt = self.store.registry.storage(*gr)
        if rt is None:
            return
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or () if f != finalizer]
        self._ignore_gone(
            lambda: self.store.update(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], new)
        )

    def _delete(self, gr: GroupResource, obj: Obj, propagation: str) -> None:
        rt = self.store.registry.storage(*gr)
        if rt is None:
            return
        self._ignore_gone(
            lambda: self.store.delete(
                rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], propagation=propagation
            )
        )

    @staticmethod
    def _ignore_gone(write: Any) -> None:
        try:
            write()
        except errors.ApiError as error:
            if error.code not in (404, 409):
                raise
