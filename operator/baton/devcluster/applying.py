"""Server-side apply, approximated well enough for `kubectl apply --server-side` to create and update.

Real server-side apply (sigs.k8s.io/structured-merge-diff) tracks which manager owns every field and
reports conflicts. The dev cluster keeps one rule of it: a manager's apply sets what it lists and
takes back what it listed last time but no longer does, leaving fields of other managers alone.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from .patchmeta import PatchError, list_strategy

Path = tuple[str, ...]
# Fields the apiserver owns; never part of a manager's set and never taken back from the object.
_SERVER_METADATA = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
}


def apply_patch(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    previous_applied: dict[str, Any] | None,
    *,
    merge_keys: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """Merge the applied configuration into a copy of `live` and return it.

    Maps merge recursively; lists with a merge key merge item by item, finalizers as a set, other
    lists are replaced whole. Whatever `previous_applied` (this manager's last apply) had and
    `applied` no longer has is removed. A null in `applied` removes the field.
    """
    if not isinstance(applied, dict):
        raise PatchError("an apply patch must be an object")
    kind = str(applied.get("kind") or (live or {}).get("kind") or "")
    if live is None:
        created: dict[str, Any] = _without_nulls(copy.deepcopy(applied))
        return created
    result = copy.deepcopy(live)
    applier = _Applier(kind, merge_keys)
    applier.apply_map(result, copy.deepcopy(applied), copy.deepcopy(previous_applied or {}), ())
    return result


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _never_owned(path: Path, name: str) -> bool:
    return (not path and name in ("apiVersion", "kind")) or (
        path == ("metadata",) and name in _SERVER_METADATA
    )


class _Applier:
    def __init__(self, kind: str, merge_keys: Mapping[str, str | None] | None) -> None:
        self.kind = kind
        self.merge_keys = merge_keys

    def identity(self, path: Path) -> Callable[[Any], str] | None:
        """How items of the list at `path` are told apart, or None if the list is atomic."""
        strategy = list_strategy(self.kind, path, self.merge_keys)
        if strategy.type == "map":
            return lambda item: json.dumps(
                item.get(strategy.key) if isinstance(item, dict) else item, sort_keys=True
            )
        if strategy.type == "set":
            return lambda item: json.dumps(item, sort_keys=True)
        return None

    def apply_map(
        self, live: dict[str, Any], applied: dict[str, Any], previous: dict[str, Any], path: Path
    ) -> None:
        for name, before in previous.items():
            if name not in applied and name in live and not _never_owned(path, name):
                self.take_back(live, name, before, (*path, name))
        for name, value in applied.items():
            current, before = live.get(name), previous.get(name)
            if value is None:
                live.pop(name, None)
            elif isinstance(value, dict) and isinstance(current, dict):
                self.apply_map(current, value, before if isinstance(before, dict) else {}, (*path, name))
            elif isinstance(value, list) and isinstance(current, list):
                live[name] = self.apply_list(
                    current, value, before if isinstance(before, list) else [], (*path, name)
                )
            else:
                live[name] = _without_nulls(value)

    def take_back(self, container: dict[str, Any], name: str, before: Any, path: Path) -> None:
        """Remove from container[name] what this manager applied before; drop what becomes empty."""
        current = container[name]
        identity = self.identity(path)
        if isinstance(before, dict) and isinstance(current, dict):
            for key, value in before.items():
                if key in current:
                    self.take_back(current, key, value, (*path, key))
            if current:
                return
        elif isinstance(before, list) and isinstance(current, list) and identity is not None:
            gone = {identity(item) for item in before}
            current[:] = [item for item in current if identity(item) not in gone]
            if current:
                return
        del container[name]

    def apply_list(self, live: list[Any], applied: list[Any], previous: list[Any], path: Path) -> list[Any]:
        identity = self.identity(path)
        keyed = all(isinstance(v, dict) for v in [*live, *applied])
        strategy = list_strategy(self.kind, path, self.merge_keys)
        if identity is None or (strategy.type == "map" and not keyed):
            return [_without_nulls(v) for v in applied]
        wanted = {identity(item): item for item in applied}
        dropped = {identity(item) for item in previous} - set(wanted)
        before = {identity(item): item for item in previous}
        out: list[Any] = []
        done: set[str] = set()
        # Walk both lists: items only in live stay where they are, applied items keep applied order.
        li = ai = 0
        while li < len(live) or ai < len(applied):
            if li < len(live):
                key = identity(live[li])
                if key in done or (key not in wanted and key in dropped):
                    li += 1
                    continue
                if key not in wanted:
                    out.append(live[li])
                    li += 1
                    continue
            if ai < len(applied):
                key = identity(applied[ai])
                ai += 1
                if key in done:
                    continue
                done.add(key)
                counterpart = next((item for item in live if identity(item) == key), None)
                out.append(self.merged_item(counterpart, applied[ai - 1], before.get(key), path))
            else:
                li += 1
        return out

    def merged_item(self, live: Any, applied: Any, before: Any, path: Path) -> Any:
        if isinstance(live, dict) and isinstance(applied, dict):
            self.apply_map(live, applied, before if isinstance(before, dict) else {}, path)
            return live
        return _without_nulls(applied)


def fields_v1(obj: dict[str, Any], *, merge_keys: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """The managedFields `fieldsV1` set of the fields `obj` sets, as an Apply entry records them.

    Keyed list items appear as `k:{"name":"x"}` (with `.` for the item itself), set items as
    `v:"x"`, other lists as a single leaf. apiVersion, kind and the server's metadata are left out.
    """
    kind = str(obj.get("kind") or "")
    fields: dict[str, Any] = {}
    for name, value in obj.items():
        if name in ("apiVersion", "kind"):
            continue
        if name == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in _SERVER_METADATA}
            if meta:
                fields["f:metadata"] = _map_fields(meta, ("metadata",), kind, merge_keys)
            continue
        entry = _value_fields(value, (name,), kind, merge_keys)
        if entry is not None:
            fields[f"f:{name}"] = entry
    return _sorted(fields)


def _sorted(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields[k] for k in sorted(fields, key=lambda k: (k != ".", k))}


def _map_fields(
    value: dict[str, Any], path: Path, kind: str, keys: Mapping[str, str | None] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in value.items():
        entry = _value_fields(item, (*path, name), kind, keys)
        if entry is not None:
            out[f"f:{name}"] = entry
    return _sorted(out)


def _value_fields(
    value: Any, path: Path, kind: str, keys: Mapping[str, str | None] | None
) -> dict[str, Any] | None:
    """The subtree for one value; None where structured-merge-diff records nothing (an empty keyed list)."""
    if isinstance(value, dict):
        return _map_fields(value, path, kind, keys)
    if not isinstance(value, list):
        return {}
    strategy = list_strategy(kind, path, keys)
    if strategy.type == "map" and all(isinstance(v, dict) and strategy.key in v for v in value):
        if not value:
            return None
        items: dict[str, Any] = {}
        for item in value:
            ident = {k: item[k] for k in strategy.keys if k in item}
            items["k:" + json.dumps(ident, separators=(",", ":"), sort_keys=True)] = {
                ".": {},
                **_map_fields(item, path, kind, keys),
            }
        return _sorted(items)
    if strategy.type == "set" and not any(isinstance(v, dict | list) for v in value):
        if not value:
            return None
        return _sorted({"v:" + json.dumps(v, separators=(",", ":")): {} for v in value})
    return {}
