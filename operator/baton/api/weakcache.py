"""Values computed once per object, for as long as the object lives.

Specs and status entries are frozen pydantic models (unhashable, so no WeakKeyDictionary): what is
derived from one (a spec's DAG, its encoded form, an entry's JSON) is kept by the object's identity,
next to a weak reference whose callback drops the entry when the object goes. A cache that held the
objects themselves would keep every parsed copy of a 10,000-task spec alive (tens of megabytes each).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[K], V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, obj: K) -> V | None:
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None

    def put(self, obj: K, value: V) -> V:
        key = id(obj)
        entries = self._entries

        def gone(_: weakref.ref[K]) -> None:
            current = entries.get(key)
            if current is not None and current[0]() is None:
                del entries[key]

        entries[key] = (weakref.ref(obj, gone), value)
        return value

    def get_or_make(self, obj: K, make: Callable[[K], V]) -> V:
        found = self.get(obj)
        return found if found is not None else self.put(obj, make(obj))
