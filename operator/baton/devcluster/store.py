"""The object store: what etcd plus the generic registry give a real API server.

Objects are plain dicts. A stored dict is never mutated after it is stored: every write builds a new
one. That lets the watch history and list responses share them without copies; callers that want to
change an object copy it first (`copy.deepcopy`).

Everything runs on one event loop, so each method is atomic without locks.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import json
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors
from .resources import Registry, ResourceType
from .selectors import FieldSelector, LabelSelector

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
GroupResource = tuple[str, str]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# etcd's default --max-request-bytes (1.5 MiB): no stored object may be bigger, as on a real cluster.
MAX_OBJECT_BYTES = 1_572_864
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Fields an update may not change; the server keeps the stored value (as the apiserver does).
_SYSTEM_METADATA = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED
    group_resource: GroupResource
    namespace: str
    obj: Obj
    rv: int
    # The object before this change, so that selector watches can turn "stopped matching" into DELETED.
    previous: Obj | None = None


@dataclass
class Watcher:
    group_resource: GroupResource
    namespace: str | None
    labels: LabelSelector | None
    fields: FieldSelector | None
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)
    sink: Callable[[WatchEvent], bool] | None = None
    """Sends an event from the commit itself (True), ahead of the loop's queued work; False: it queues."""

    def translate(self, event: WatchEvent) -> tuple[str, Obj] | None:
        """The event as this watcher sees it, or None when it concerns nothing it selects."""
        if event.group_resource != self.group_resource:
            return None
        if self.namespace and event.namespace != self.namespace:
            return None
        now = self.selects(event.obj)
        before = event.previous is not None and self.selects(event.previous)
        if event.type == "DELETED":
            return ("DELETED", event.obj) if now else None
        if now and (before or event.type == "ADDED"):
            return (event.type, event.obj)
        if now:
            return ("ADDED", event.obj)
        if before:
            return ("DELETED", event.obj)
        return None

    def selects(self, obj: Obj) -> bool:
        if self.labels is not None and not self.labels.matches(obj.get("metadata", {}).get("labels") or {}):
            return False
        return self.fields is None or self.fields.matches(obj)


Admission = Callable[[ResourceType, Obj, "Obj | None"], Obj]


class Store:
    def __init__(
        self,
        registry: Registry,
        *,
        history_limit: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        admit: Admission | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.admit = admit
        self._objects: dict[GroupResource, dict[Key, Obj]] = {}
        self._uids: dict[str, tuple[GroupResource, Key]] = {}
        # owner uid -> uids of the objects that name it in ownerReferences
        self._dependents: dict[str, set[str]] = {}
        self._rv = 0
        self._history: deque[WatchEvent] = deque(maxlen=history_limit)
        self.expired_watches = 0
        """Watches refused with 410 Gone: their resourceVersion was older than the history."""
        self._watchers: list[Watcher] = []
        self._subscribers: list[asyncio.Queue[WatchEvent]] = []
        # Synchronous reactions that must be visible to the very next request (CRD registration).
        self.on_commit: list[Callable[[WatchEvent], None]] = []
        self.batching = 0
        """Above 0 while a controller makes a burst of changes (see `batch`)."""
        self._after_batch: list[Callable[[], None]] = []

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Changes made inside, all in one synchronous stretch, reach each watch in one send at its end (a
        Job controller's burst: one send per change made the wide instant runs 15 % slower)."""
        self.batching += 1
        try:
            yield
        finally:
            self.batching -= 1
            if not self.batching:
                flushes, self._after_batch = self._after_batch, []
                for flush in flushes:
                    flush()

    def after_batch(self, flush: Callable[[], None]) -> None:
        self._after_batch.append(flush)

    # -- reads -----------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def oldest_watchable(self) -> int:
        """The oldest resourceVersion a watch can resume from without 410."""
        return self._history[0].rv - 1 if len(self._history) == self._history.maxlen else 0

    def objects(self, gr: GroupResource) -> dict[Key, Obj]:
        return self._objects.setdefault(gr, {})

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.objects(rt.group_resource).get((namespace if rt.namespaced else "", name))
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return obj

    def find(self, gr: GroupResource, namespace: str, name: str) -> Obj | None:
        return self.objects(gr).get((namespace, name))

    def by_uid(self, uid: str) -> tuple[GroupResource, Obj] | None:
        where = self._uids.get(uid)
        if where is None:
            return None
        obj = self.objects(where[0]).get(where[1])
        return (where[0], obj) if obj is not None else None

    def list(self, rt: ResourceType, namespace: str | None = None) -> builtins.list[Obj]:
        items = self.objects(rt.group_resource)
        if rt.namespaced and namespace:
            return [obj for (ns, _), obj in sorted(items.items()) if ns == namespace]
        return [obj for _, obj in sorted(items.items())]

    def list_at(self, rt: ResourceType, namespace: str | None, rv: int) -> builtins.list[Obj]:
        """The objects of a kind as they were at resourceVersion `rv`, rebuilt from the watch history.

        This serves `resourceVersionMatch=Exact` and keeps continue tokens snapshot-consistent, as etcd's
        MVCC does, for as long as the history reaches back (`oldest_watchable`); older raises 410 Expired.
        """
        if rv >= self._rv:
            return self.list(rt, namespace)
        if rv < self.oldest_watchable:
            raise errors.expired("The resourceVersion for the provided list is too old.")
        items = dict(self.objects(rt.group_resource))
        for event in reversed(self._history):
            if event.rv <= rv:
                break
            if event.group_resource != rt.group_resource:
                continue
            key = (event.namespace, event.obj["metadata"]["name"])
            if event.type == "ADDED" or event.previous is None:
                items.pop(key, None)
            else:
                items[key] = event.previous
        if rt.namespaced and namespace:
            return [obj for (ns, _), obj in sorted(items.items()) if ns == namespace]
        return [obj for _, obj in sorted(items.items())]

    def namespace_exists(self, namespace: str) -> bool:
        return ("", namespace) in self.objects(("", "namespaces"))

    # -- writes ----------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: Obj, *, dry_run: bool = False) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        namespace = namespace if rt.namespaced else ""
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            self._require_namespace(namespace)
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(
                    rt.kind,
                    "",
                    [
                        (
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                    rt.group,
                )
            meta["name"] = self._generate_name(rt, namespace, meta["generateName"])
        self._validate_name(rt, meta["name"])
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if rt.has_status and rt.custom:
            obj.pop("status", None)  # status is written through /status only
        # As in the apiserver, the uid exists before validation: a Job's selector is built from it.
        uid, created = str(uuid.uuid4()), rfc3339(self.clock())
        meta["uid"], meta["creationTimestamp"] = uid, created
        if self.admit is not None:
            obj = self.admit(rt, obj, None)
            meta = obj["metadata"]
        key = (namespace, meta["name"])
        if key in self.objects(rt.group_resource):
            raise errors.already_exists(rt.plural, meta["name"], rt.group)
        for system in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
            meta.pop(system, None)
        meta["uid"], meta["creationTimestamp"] = uid, created
        if rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if dry_run:
            return obj
        return self._commit(rt, key, obj, None, "ADDED")

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        owned: bool = False,
        admit: bool = True,
    ) -> Obj:
        """Replace the stored object. `owned`: the caller hands `body` over and never touches it again
        (the REST layer builds a fresh object per request), so it is stored without a copy.
        `admit=False` skips admission and leaves `generation` alone, for the server's own writes that
        upstream makes through a dedicated subresource (the scheduler's `pods/binding` sets
        `spec.nodeName`)."""
        key = (namespace if rt.namespaced else "", name)
        old = self.objects(rt.group_resource).get(key)
        if old is None:
            raise errors.not_found(rt.plural, name, rt.group)
        new = body if owned else copy.deepcopy(body)
        meta = new.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and str(wanted_rv) != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, name, rt.group)
        if rt.has_status and subresource == "status":
            # The status endpoint changes status only; everything else is kept as stored.
            status = new.get("status")
            if rt.custom:  # the admit hook leaves custom resources alone: share what does not change
                new = {**old, "metadata": copy.deepcopy(old["metadata"])}
            else:
                new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rt.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for system in _SYSTEM_METADATA:
            if system in old["metadata"]:
                meta[system] = old["metadata"][system]
            else:
                meta.pop(system, None)
        meta["name"] = name
        if old["metadata"].get("deletionTimestamp"):
            added = sorted(set(meta.get("finalizers") or ()) - set(old["metadata"].get("finalizers") or ()))
            if added:
                listed = ", ".join(f'"{f}"' for f in added)
                raise errors.invalid(
                    rt.kind,
                    name,
                    [
                        (
                            "metadata.finalizers",
                            "FieldValueForbidden",
                            "Forbidden: no new finalizers can be added if the object is being deleted, "
                            "found new "
                            f"finalizers []string{{{listed}}}",
                        )
                    ],
                    rt.group,
                )
        if rt.namespaced:
            meta["namespace"] = key[0]
        else:
            meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if self.admit is not None and admit:
            new = self.admit(rt, new, old)
            meta = new["metadata"]
        if rt.has_generation and admit and _spec_of(new) != _spec_of(old):
            meta["generation"] = int(old["metadata"].get("generation", 0)) + 1
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op write bumps nothing and wakes no watcher, as in the apiserver
        if dry_run:
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(rt, key, new)
        return self._commit(rt, key, new, old, "MODIFIED")

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Delete, or mark for deletion while finalizers remain. Returns the object as it now stands."""
        key = (namespace if rt.namespaced else "", name)
        old = self.objects(rt.group_resource).get(key)
        if old is None:
            raise errors.not_found(rt.plural, name, rt.group)
        meta = old["metadata"]
        for field_name, wanted in (preconditions or {}).items():
            if wanted and str(wanted) != str(meta.get(field_name)):
                raise errors.conflict(
                    rt.plural,
                    name,
                    rt.group,
                    f"Precondition failed: {field_name.upper() if field_name == 'uid' else field_name}"
                    f" in precondition: {wanted}, {field_name} in object meta: {meta.get(field_name)}",
                )
        if dry_run:
            return old
        propagation = propagation or default_propagation(rt)
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if propagation == "Orphan" and "orphan" not in finalizers and self._has_dependents(meta["uid"]):
            finalizers.append("orphan")
        if rt.group_resource == ("", "namespaces"):
            new = copy.deepcopy(old)
            new["metadata"].setdefault("deletionTimestamp", rfc3339(self.clock()))
            new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            new.setdefault("status", {})["phase"] = "Terminating"
            if new == old:
                return old
            return self._commit(rt, key, new, old, "MODIFIED")
        if not finalizers:
            return self._remove(rt, key, old)
        new = copy.deepcopy(old)
        new["metadata"]["finalizers"] = finalizers
        new["metadata"].setdefault("deletionTimestamp", rfc3339(self.clock()))
        new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        if new == old:
            return old
        return self._commit(rt, key, new, old, "MODIFIED")

    def finalize_namespace(self, name: str) -> None:
        """Remove a terminating namespace once the namespace controller has emptied it."""
        rt = self.registry.storage("", "namespaces")
        assert rt is not None
        obj = self.find(("", "namespaces"), "", name)
        if obj is not None:
            self._remove(rt, ("", name), obj)

    # -- watches ---------------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        since: int | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
    ) -> tuple[Watcher, builtins.list[tuple[str, Obj]]]:
        """Register a watcher; return it with the backlog of events after `since` it must send first.

        `since=None` means "from now on" (the caller sends the current objects itself). A `since` older
        than the retained history raises 410 Expired.
        """
        watcher = Watcher(rt.group_resource, namespace if rt.namespaced else None, labels, fields)
        backlog: builtins.list[tuple[str, Obj]] = []
        if since is not None:
            if since < self.oldest_watchable:
                self.expired_watches += 1
                raise errors.expired(f"too old resource version: {since} ({self.oldest_watchable + 1})")
            for event in self._history:
                if event.rv > since:
                    seen = watcher.translate(event)
                    if seen is not None:
                        backlog.append(seen)
        self._watchers.append(watcher)
        return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def subscribe(self) -> asyncio.Queue[WatchEvent]:
        """Every change of every kind, for in-process controllers (GC, Jobs, Pods)."""
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    async def unfollow(
        self, queue: asyncio.Queue[WatchEvent] | None, task: asyncio.Task[None] | None
    ) -> None:
        """Stop an in-process controller: no more changes for its queue, and its loop cancelled."""
        if queue is not None:
            self.unsubscribe(queue)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def close_watches(self, group_resource: GroupResource | None = None) -> None:
        """End the watches of one kind (its CRD is gone), or of every kind (the cluster stops)."""
        closing = [w for w in self._watchers if group_resource in (None, w.group_resource)]
        for watcher in closing:
            watcher.queue.put_nowait(None)
            self._watchers.remove(watcher)

    # -- internals -------------------------------------------------------------------------------

    def _commit(self, rt: ResourceType, key: Key, obj: Obj, old: Obj | None, kind: str) -> Obj:
        if len(json.dumps(obj, separators=(",", ":"))) > MAX_OBJECT_BYTES:
            # What a real cluster's etcd answers (through the apiserver, as a 500) for an object this big.
            raise errors.internal("etcdserver: request is too large")
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self.objects(rt.group_resource)[key] = obj
        uid = obj["metadata"]["uid"]
        self._uids[uid] = (rt.group_resource, key)
        self._index_owners(uid, old, obj)
        self._emit(WatchEvent(kind, rt.group_resource, key[0], obj, self._rv, old))
        return obj

    def _remove(self, rt: ResourceType, key: Key, obj: Obj) -> Obj:
        self._rv += 1
        final = copy.deepcopy(obj)
        final["metadata"]["resourceVersion"] = str(self._rv)
        self.objects(rt.group_resource).pop(key, None)
        uid = final["metadata"].get("uid", "")
        self._uids.pop(uid, None)
        self._index_owners(uid, obj, None)
        self._emit(WatchEvent("DELETED", rt.group_resource, key[0], final, self._rv, obj))
        return final

    def _emit(self, event: WatchEvent) -> None:
        self._history.append(event)
        for watcher in self._watchers:
            seen = watcher.translate(event)
            if seen is not None:
                if seen[0] != event.type:
                    seen_event = WatchEvent(
                        seen[0], event.group_resource, event.namespace, event.obj, event.rv, event.previous
                    )
                else:
                    seen_event = event
                if watcher.sink is None or not watcher.sink(seen_event):
                    watcher.queue.put_nowait(seen_event)
        for queue in self._subscribers:
            queue.put_nowait(event)
        for hook in self.on_commit:
            hook(event)

    def _require_namespace(self, namespace: str) -> None:
        ns = self.find(("", "namespaces"), "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated"
            )

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        prefix = prefix[: 63 - 5] if rt.name_is_label else prefix[: 253 - 5]
        for _ in range(100):
            name = prefix + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))
            if (namespace, name) not in self.objects(rt.group_resource):
                return name
        raise errors.already_exists(rt.plural, prefix, rt.group)

    def _validate_name(self, rt: ResourceType, name: str) -> None:
        if rt.name_is_label:
            ok, limit, what, example, pattern = (
                _LABEL.match(name),
                63,
                "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character",
                "'my-name', or '123-abc'",
                "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            )
        else:
            ok, limit, what, example, pattern = (
                _SUBDOMAIN.match(name),
                253,
                "a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                "'example.com'",
                r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            )
        if len(name) > limit:
            raise errors.invalid(
                rt.kind,
                name,
                [
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": must be no more than {limit} characters',
                    )
                ],
                rt.group,
            )
        if not ok:
            raise errors.invalid(
                rt.kind,
                name,
                [
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": {what} (e.g. {example}, regex '
                        f"used for validation is '{pattern}')",
                    )
                ],
                rt.group,
            )

    def _index_owners(self, uid: str, old: Obj | None, new: Obj | None) -> None:
        before = {ref.get("uid") for ref in (old or {}).get("metadata", {}).get("ownerReferences") or ()}
        after = {ref.get("uid") for ref in (new or {}).get("metadata", {}).get("ownerReferences") or ()}
        for owner in before - after:
            dependents = self._dependents.get(owner)
            if dependents is not None:
                dependents.discard(uid)
                if not dependents:
                    del self._dependents[owner]
        for owner in after - before:
            self._dependents.setdefault(owner, set()).add(uid)

    def _has_dependents(self, uid: str) -> bool:
        return bool(self._dependents.get(uid))

    def dependents(self, uid: str) -> builtins.list[tuple[GroupResource, Obj]]:
        found = []
        for dependent in sorted(self._dependents.get(uid, ())):
            located = self.by_uid(dependent)
            if located is not None:
                found.append(located)
        return found


def default_propagation(rt: ResourceType) -> str:
    # batch/v1 Jobs orphan their Pods by default for backward compatibility; kubectl asks for Background.
    return "Orphan" if rt.group_resource == ("batch", "jobs") else "Background"


def _spec_of(obj: Obj) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
