"""Pod defaulting and validation, for Pods and for the Pod templates of Jobs (no I/O).

Containers get `terminationMessagePath` /dev/termination-log, `terminationMessagePolicy` File, an
`imagePullPolicy` from the image's tag, requests defaulted from limits; Pod specs get `restartPolicy`
Always, `dnsPolicy` ClusterFirst, `schedulerName` default-scheduler, `securityContext` {} and
`terminationGracePeriodSeconds` 30, volumes their defaults (volumerules.py). A created Pod also gets
what admission plugins add (`serviceAccountName`, tolerations, priority) and starts Pending with its QoS
class. It is bound to the dev cluster's single node at once, except a Pod that mounts
PersistentVolumeClaims: the scheduler (scheduler.py) binds that one once its claims are bound.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from . import errors
from .resources import ResourceType
from .volumerules import claim_names, default_volumes, volume_causes

Obj = dict[str, Any]
Cause = tuple[str, str, str]

# The one node of the dev cluster: Pods are bound to it at admission, and the kubelet reports it.
NODE_NAME = "devcluster"
NODE_IP = "127.0.0.1"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
_POD_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_POD_UPDATE_FORBIDDEN = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)
# The tolerations the DefaultTolerationSeconds admission plugin adds to every Pod.
_DEFAULT_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{taint}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for taint in ("not-ready", "unreachable")
]


def default_pod(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    meta = obj.setdefault("metadata", {})
    spec = mapping_field(rt, obj, "spec", "PodSpec")
    require_type(rt, spec, "activeDeadlineSeconds", int, "int64", "PodSpec")
    default_pod_spec(spec)
    if old is None:
        # What admission plugins (ServiceAccount, DefaultTolerationSeconds) and binding add on create.
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        tolerations = spec.setdefault("tolerations", [])
        for toleration in _DEFAULT_TOLERATIONS:
            if not any(t.get("key") == toleration["key"] for t in tolerations):
                tolerations.append(dict(toleration))
        if not claim_names(spec):
            spec.setdefault("nodeName", NODE_NAME)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    causes = pod_spec_causes("spec", spec)
    if spec.get("restartPolicy") not in _POD_RESTART_POLICIES:
        causes.append(
            (
                "spec.restartPolicy",
                "FieldValueNotSupported",
                f'Unsupported value: "{spec.get("restartPolicy")}": supported values: "Always", '
                '"OnFailure", "Never"',
            )
        )
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        causes.append(
            (
                "spec.activeDeadlineSeconds",
                "FieldValueInvalid",
                f"Invalid value: {deadline}: must be between 1 and 2147483647, inclusive",
            )
        )
    if old is not None and _spec_changed(spec, old.get("spec") or {}):
        causes.append(("spec", "FieldValueForbidden", _POD_UPDATE_FORBIDDEN))
    if causes:
        raise errors.invalid(rt.kind, meta.get("name", ""), causes, rt.group)


def _spec_changed(spec: Obj, old_spec: Obj) -> bool:
    if _mutable_view(spec) == _mutable_view(old_spec):
        return False
    # A Pod stored without these defaults (admitted by nothing) compares as if it had them.
    defaulted = copy.deepcopy(old_spec)
    default_pod_spec(defaulted)
    return _mutable_view(spec) != _mutable_view(defaulted)


def _mutable_view(spec: Obj) -> Obj:
    """The Pod spec without the fields an update may change."""
    view = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")}
    for key in ("containers", "initContainers"):
        if key in view:
            view[key] = [{k: v for k, v in c.items() if k != "image"} for c in view[key]]
    return view


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    default_volumes(spec)
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            if isinstance(container, dict):
                _default_container(container)


def _default_container(container: Obj) -> None:
    container.setdefault("terminationMessagePath", DEFAULT_TERMINATION_MESSAGE_PATH)
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", image_pull_policy(str(container.get("image") or "")))
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if limits:
        # A limit without a request requests the limit.
        requests = resources.setdefault("requests", {})
        for resource, quantity in limits.items():
            requests.setdefault(resource, quantity)
    for port in container.get("ports") or ():
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or ():
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent otherwise (digests count as tags)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def pod_spec_causes(path: str, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        return [(f"{path}.containers", "FieldValueRequired", "Required value")]
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(key) or ()):
            where = f"{path}.{key}[{index}]"
            if not isinstance(container, dict):
                causes.append((where, "FieldValueTypeInvalid", "Invalid value: must be an object"))
                continue
            name = container.get("name")
            if not name:
                causes.append((f"{where}.name", "FieldValueRequired", "Required value"))
            elif not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.match(name):
                causes.append(
                    (
                        f"{where}.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case '
                        "alphanumeric characters or '-', and must start and end with an alphanumeric "
                        "character",
                    )
                )
            elif name in seen:
                causes.append((f"{where}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
            else:
                seen.add(name)
            if not container.get("image"):
                causes.append((f"{where}.image", "FieldValueRequired", "Required value"))
            policy = container.get("terminationMessagePolicy")
            if policy not in ("File", "FallbackToLogsOnError"):
                causes.append(
                    (
                        f"{where}.terminationMessagePolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": supported values: "File", "FallbackToLogsOnError"',
                    )
                )
    return causes + volume_causes(path, spec)


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' cpu and memory requests and limits."""
    containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or ()]
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = {k: v for k, v in (resources.get("requests") or {}).items() if k in ("cpu", "memory")}
        limits = {k: v for k, v in (resources.get("limits") or {}).items() if k in ("cpu", "memory")}
        any_set = any_set or bool(requests) or bool(limits)
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
            continue
        for resource, limit in limits.items():
            if resource in requests and parse_quantity(requests[resource]) != parse_quantity(limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(value: object) -> Decimal | None:
    """A resource.Quantity as a number (None when it does not parse)."""
    match = _QUANTITY.match(str(value).strip())
    if match is None or match.group(2) not in _SUFFIXES:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        return None


# -- decoding ----------------------------------------------------------------------------------------


def mapping_field(rt: ResourceType, parent: Obj, key: str, go_type: str) -> Obj:
    value = parent.setdefault(key, {})
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: '
            f"cannot unmarshal {_json_type(value)} into Go value of type {go_type}"
        )
    return value


def require_type(rt: ResourceType, parent: Obj, key: str, kind: type, go_type: str, go_struct: str) -> None:
    value = parent.get(key)
    # bool is an int in Python; the apiserver's JSON decoding keeps them apart.
    if value is None or (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
        return
    raise errors.bad_request(
        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: '
        f"cannot unmarshal {_json_type(value)} into Go struct field {go_struct}.spec.{key} "
        f"of type {go_type}"
    )


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
