"""Strategic merge patch for built-in kinds (k8s.io/apimachinery/pkg/util/strategicpatch).

A JSON merge patch, except that lists with a merge key merge item by item, lists of finalizers merge
as sets, and the patch may carry directives: `$patch: replace|delete` on maps and list items,
`$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from .goformat import go_value
from .patchmeta import PatchError, list_strategy

_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_RETAIN = "$retainKeys"
_PATCH = "$patch"
Path = tuple[str, ...]


def strategic_merge_patch(
    target: Any, patch: Any, *, kind: str, merge_keys: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    """Apply `patch` to a copy of `target` (an object of `kind`) and return it, directives stripped."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    original = copy.deepcopy(target) if isinstance(target, dict) else {}
    merged = _Merger(kind, merge_keys).merge_map(original, copy.deepcopy(patch), ())
    strip_directives(merged)
    return merged


def strip_directives(value: Any) -> Any:
    """Remove every `$...` directive key, and list items made only of directives."""
    if isinstance(value, dict):
        for name in [k for k in value if k.startswith("$")]:
            del value[name]
        for item in value.values():
            strip_directives(item)
    elif isinstance(value, list):
        value[:] = [v for v in value if not (isinstance(v, dict) and v and all(k.startswith("$") for k in v))]
        for item in value:
            strip_directives(item)
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _position(order: list[Any], identity: str, key_of: Callable[[Any], str]) -> int:
    for i, item in enumerate(order):
        if key_of(item) == identity:
            return i
    return -1


def _merge_sorted(
    left: list[Any], right: list[Any], server_order: list[Any], key_of: Callable[[Any], str]
) -> list[Any]:
    """mergeSortedSlice: interleave server-only items (left) with patch items (right) by live order;
    when either is new to the live list, the patch item goes first."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _position(server_order, key_of(left[i]), key_of)
            ri = _position(server_order, key_of(right[j]), key_of)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _normalize_order(
    merged: list[Any], patch_order: list[Any], server_order: list[Any], key_of: Callable[[Any], str]
) -> list[Any]:
    """normalizeElementOrder: items named in the patch follow the patch's order, the rest keep the
    live order, and the two are interleaved by the live order."""
    wanted = [key_of(item) for item in patch_order]
    patch_items = sorted((m for m in merged if key_of(m) in wanted), key=lambda m: wanted.index(key_of(m)))
    live = [key_of(item) for item in server_order]
    server_only = [m for m in merged if key_of(m) not in wanted]
    server_only.sort(key=lambda m: live.index(key_of(m)) if key_of(m) in live else len(live))
    return _merge_sorted(server_only, patch_items, server_order, key_of)


class _Merger:
    def __init__(self, kind: str, merge_keys: Mapping[str, str | None] | None) -> None:
        self.kind = kind
        self.merge_keys = merge_keys

    def fresh(self, value: Any, path: Path) -> Any:
        """A patch value with nothing to merge into still has its directives and nulls applied."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list):
            return self.merge_list([], value, path)
        return value

    def merge_map(self, original: dict[str, Any], patch: dict[str, Any], path: Path) -> dict[str, Any]:
        directive = patch.pop(_PATCH, None)
        if directive == "replace":
            return self.merge_map({}, patch, path)
        if directive == "delete":
            return {}
        if directive not in (None, "merge"):
            raise PatchError(f"unknown patch type: {directive} in map: {go_value(patch)}")
        self.retain_keys(original, patch)
        for name in [k for k in patch if k.startswith(_DELETE_FROM)]:
            self.delete_from_list(original, name, patch.pop(name))
        handled = self.set_element_orders(original, patch, path)
        for name, value in patch.items():
            if name in handled or name.startswith("$"):
                continue
            if value is None:
                original.pop(name, None)
            elif isinstance(original.get(name), dict) and isinstance(value, dict):
                original[name] = self.merge_map(original[name], value, (*path, name))
            elif isinstance(original.get(name), list) and isinstance(value, list):
                original[name] = self.merge_list(original[name], value, (*path, name))
            else:
                original[name] = self.fresh(value, (*path, name))
        return original

    def retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        if _RETAIN not in patch:
            return
        retained = patch.pop(_RETAIN)
        if not isinstance(retained, list):
            raise PatchError("invalid patch format of retainKeys")
        for name, value in patch.items():
            if value is not None and not name.startswith("$") and name not in retained:
                raise PatchError("invalid patch format of retainKeys")
        for name in [k for k in original if k not in retained]:
            del original[name]

    def delete_from_list(self, original: dict[str, Any], directive: str, values: Any) -> None:
        name = directive[len(_DELETE_FROM) :]
        if not name or not isinstance(values, list):
            raise PatchError("invalid patch format of primitive list")
        if isinstance(original.get(name), list):
            doomed = {_canonical(v) for v in values}
            original[name] = [v for v in original[name] if _canonical(v) not in doomed]

    def set_element_orders(self, original: dict[str, Any], patch: dict[str, Any], path: Path) -> set[str]:
        """Merge each list named by a `$setElementOrder/<list>` and put it in the requested order."""
        handled: set[str] = set()
        for directive in [k for k in patch if k.startswith(_ORDER)]:
            order = patch.pop(directive)
            name = directive[len(_ORDER) :]
            if not isinstance(order, list):
                raise PatchError("invalid patch format of setElementOrder list")
            strategy = list_strategy(self.kind, (*path, name), self.merge_keys)
            live = original.get(name) if isinstance(original.get(name), list) else []
            changes = patch.get(name) if isinstance(patch.get(name), list) else []
            assert isinstance(live, list) and isinstance(changes, list)
            if strategy.type == "atomic" or not (live or changes):
                continue
            merged = self.merge_list(list(live), changes, (*path, name))
            key_of = self.identity(strategy.key if strategy.type == "map" else "")
            for item in order:
                key_of(item)  # every entry must carry the merge key
            original[name] = _normalize_order(merged, order, live, key_of)
            handled.add(name)
        return handled

    def identity(self, key: str) -> Callable[[Any], str]:
        def key_of(item: Any) -> str:
            if not key:
                return _canonical(item)
            if not isinstance(item, dict) or key not in item:
                raise PatchError(f"map: {go_value(item)} does not contain declared merge key: {key}")
            return _canonical(item[key])

        return key_of

    def merge_list(self, original: list[Any], patch: list[Any], path: Path) -> list[Any]:
        strategy = list_strategy(self.kind, path, self.merge_keys)
        if strategy.type == "set" and not any(isinstance(v, dict | list) for v in patch):
            key_of = self.identity("")
            merged = list(original)
            for value in patch:
                if all(key_of(value) != key_of(v) for v in merged):
                    merged.append(value)
            return _normalize_order(merged, patch, original, key_of)
        if strategy.type != "map" or not all(isinstance(v, dict) for v in [*original, *patch]):
            return [self.fresh(v, path) for v in patch]
        key_of = self.identity(strategy.key)
        changes: list[dict[str, Any]] = []
        for item in patch:
            directive = item.get(_PATCH)
            if directive is None or directive == "merge":
                changes.append({k: v for k, v in item.items() if k != _PATCH})
            elif directive == "delete":
                if strategy.key not in item:
                    raise PatchError("delete patch type with no merge key defined")
                original = [o for o in original if key_of(o) != key_of(item)]
            elif directive == "replace":
                # The rest of the list replaces the live one.
                rest = [{k: v for k, v in c.items() if k != _PATCH} for c in patch if _PATCH not in c]
                return [self.merge_map({}, c, path) for c in rest]
            else:
                raise PatchError(f"unknown patch type: {directive} in map: {go_value(item)}")
        merged = list(original)
        for change in changes:
            identity = key_of(change)
            at = next((i for i, m in enumerate(merged) if key_of(m) == identity), None)
            if at is None:
                merged.append(self.merge_map({}, change, path))
            else:
                merged[at] = self.merge_map(merged[at], change, path)
        return _normalize_order(merged, changes, original, key_of)
