"""ResourceQuota admission for object counts, as the apiserver's quota plugin does it for them.

A namespace's ResourceQuotas cap how many Jobs (`count/jobs.batch`) and Pods (`pods`, `count/pods`)
it may hold; creating one past a limit is refused with 403 Forbidden and the apiserver's message
("exceeded quota: NAME, requested: …, used: …, limited: …"). Pods in a terminal phase do not count
against `pods`, as in Kubernetes.

Not emulated: compute-resource quotas (`requests.cpu`, `limits.memory`, …; the dev cluster has no
resource accounting), scopes and scope selectors, quotas on other kinds, and the quota controller
(`status.hard` and `status.used` are not written).
"""

from __future__ import annotations

from typing import Any

from . import errors
from .resources import ResourceType
from .store import Obj, Store

QUOTAS = ("", "resourcequotas")
_KEYS = {
    ("batch", "jobs"): ("count/jobs.batch",),
    ("", "pods"): ("pods", "count/pods"),
}


def _counted(rt: ResourceType, obj: Obj) -> bool:
    if rt.group_resource == ("", "pods"):
        return (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    return True


def _used(store: Store, rt: ResourceType, namespace: str) -> int:
    objects = store.objects(rt.group_resource).items()
    return sum(1 for (ns, _), obj in objects if ns == namespace and _counted(rt, obj))


def check_quota(store: Store, rt: ResourceType, obj: Obj) -> None:
    """Raise 403 when creating `obj` would pass a ResourceQuota of its namespace."""
    keys = _KEYS.get(rt.group_resource)
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    if keys is None or not namespace:
        return
    quotas = [q for (ns, _), q in store.objects(QUOTAS).items() if ns == namespace]
    if not quotas:
        return
    used = _used(store, rt, namespace)
    for quota in quotas:
        hard: dict[str, Any] = (quota.get("spec") or {}).get("hard") or {}
        for key in keys:
            if key not in hard:
                continue
            try:
                limit = int(str(hard[key]))
            except ValueError:
                continue
            if used + 1 > limit:
                name = (obj.get("metadata") or {}).get("name") or ""
                what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise errors.forbidden(
                    f'{what} "{name}" is forbidden: exceeded quota: {quota["metadata"]["name"]}, '
                    f"requested: {key}=1, used: {key}={used}, limited: {key}={limit}"
                )
