"""What every patch flavour shares: the error type and how lists of built-in kinds merge.

Upstream reads merge keys from Go struct tags (`patchStrategy:"merge" patchMergeKey:"name"`) and
server-side apply reads them from the OpenAPI `x-kubernetes-list-type`/`-list-map-keys`. The dev
cluster has no typed schemas for built-in kinds, so the keys are listed here by field name, which
is right wherever those names occur; `KIND_MERGE_KEYS` corrects the few places where it is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal


class PatchError(Exception):
    """A patch that cannot be applied. `reason` is "BadRequest" (400) for a malformed patch document
    and "Invalid" (422) for a well-formed one that does not apply, such as a failed `test`."""

    def __init__(self, message: str, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.reason = reason


# patchMergeKey by field name, from the core/v1 and meta/v1 types.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "ownerReferences": "uid",
    "conditions": "type",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "addresses": "type",
}
# Server-side apply keys list items on all of their listMapKeys (managedFields show all of them).
LIST_MAP_KEYS: dict[str, tuple[str, ...]] = {
    "ports": ("containerPort", "protocol"),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
# Exceptions by kind and dotted path (list indices left out); None makes the list atomic.
KIND_MERGE_KEYS: dict[str, dict[str, str | None]] = {
    "Service": {"spec.ports": "port"},
    "Node": {"status.addresses": "type"},
}
KIND_LIST_MAP_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "Service": {"spec.ports": ("port", "protocol")},
}
# Lists of strings that merge as sets (`+listType=set` with patchStrategy merge).
SET_PATHS: tuple[tuple[str, ...], ...] = (("metadata", "finalizers"),)


@dataclass(frozen=True)
class ListStrategy:
    """How a list merges: `map` by `key` (SSA identifies items by all of `keys`), as a `set` of
    primitives, or `atomic` (the patch replaces it)."""

    type: Literal["atomic", "map", "set"]
    key: str = ""
    keys: tuple[str, ...] = ()


ATOMIC = ListStrategy("atomic")


def list_strategy(
    kind: str, path: Sequence[str], overrides: Mapping[str, str | None] | None = None
) -> ListStrategy:
    """The strategy for the list at `path` (field names from the root) in an object of `kind`.

    `overrides` maps dotted paths to a merge key (or None for atomic), e.g. derived from a CRD's
    `x-kubernetes-list-map-keys`; it wins over everything else.
    """
    if not path:
        return ATOMIC
    dotted = ".".join(path)
    if overrides is not None and dotted in overrides:
        key = overrides[dotted]
        return ListStrategy("map", key, (key,)) if key else ATOMIC
    if any(tuple(path[-len(p) :]) == p for p in SET_PATHS):
        return ListStrategy("set")
    by_kind = KIND_MERGE_KEYS.get(kind, {})
    if dotted in by_kind:
        key = by_kind[dotted]
        if not key:
            return ATOMIC
        keys = KIND_LIST_MAP_KEYS.get(kind, {}).get(dotted, (key,))
        return ListStrategy("map", key, keys)
    key = MERGE_KEYS.get(path[-1], "")
    if not key:
        return ATOMIC
    return ListStrategy("map", key, LIST_MAP_KEYS.get(path[-1], (key,)))
