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


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its cache key: one callback for the whole cache instead of a closure
    per entry (a function and a cell each, about 180 bytes, for every one of 10,000 entries)."""

    __slots__ = ("key",)
    key: int


class IdentityCache(Generic[K, V]):
    def __init__(self) -> None:
        self._entries: dict[int, tuple[_Ref, V]] = {}
        self._callback = self._gone  # one bound method for all entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, obj: K) -> V | None:
        entry = self._entries.get(id(obj))
        return entry[1] if entry is not None and entry[0]() is obj else None

    def _gone(self, ref: _Ref) -> None:
        current = self._entries.get(ref.key)
        if current is not None and current[0]() is None:
            del self._entries[ref.key]

    def put(self, obj: K, value: V) -> V:
        ref = _Ref(obj, self._callback)
        ref.key = id(obj)
        self._entries[ref.key] = (ref, value)
        return value

    def get_or_make(self, obj: K, make: Callable[[K], V]) -> V:
        found = self.get(obj)
        return found if found is not None else self.put(obj, make(obj))
