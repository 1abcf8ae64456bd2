"""A container's environment and command line, resolved as the kubelet resolves them.

The process starts from a minimal environment, not the dev cluster's own: `PATH`, `LANG` and
`TMPDIR` are inherited when set (there is no image to provide them), `HOME` is the Pod's sandbox
directory and `HOSTNAME` the Pod's name (or `spec.hostname`). On top of that come `envFrom`, then `env`,
in order, with `$(VAR)` references expanded against the variables defined before (`$$` escapes a `$`,
an unknown reference is kept verbatim), exactly as Kubernetes does. `command` and `args` are expanded
against the container's whole environment, so they may also use `$(HOME)`, `$(HOSTNAME)` and
`$(BATON_TERMINATION_MESSAGE_PATH)`. Remember that `$$` is an escape: a shell's `$$` is written `$$$$`.

Container paths that stand for local files (volume mounts, the termination-message file) are rewritten
in the declared `env` values and in `command` and `args` by the container's PathMap (pathmap.py), after
expansion.

A ConfigMap, Secret or key that is referenced and not `optional` but missing raises `ConfigError` with
the kubelet's message; the kubelet keeps the container Waiting with `CreateContainerConfigError` and
tries again when ConfigMaps or Secrets change.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .pathmap import PathMap
from .poddefaults import NODE_IP, NODE_NAME, parse_quantity
from .store import Obj, Store

# Points at the container's termination-message file (see pathmap.py for the path mapping).
TERMINATION_MESSAGE_ENV = "BATON_TERMINATION_MESSAGE_PATH"
_INHERITED = ("PATH", "LANG", "TMPDIR")
_LABEL_OR_ANNOTATION = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


class ConfigError(Exception):
    """A container cannot be created yet: a ConfigMap, Secret or key it needs is missing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def expand(text: str, mapping: Callable[[str], str | None]) -> str:
    """Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion)."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            following = text[cursor + 1]
            if following == "$":
                out.append("$")
                advance = 1
            elif following == "(":
                closing = text.find(")", cursor + 2)
                if closing == -1:
                    out.append("$(")
                    advance = 1
                else:
                    name = text[cursor + 2 : closing]
                    value = mapping(name)
                    out.append(f"$({name})" if value is None else value)
                    advance = closing - cursor
            else:
                out.append("$" + following)
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def declared_environment(store: Store, pod: Obj, container: Obj) -> dict[str, str]:
    """The variables `envFrom` and `env` declare, expanded; raises ConfigError when something is missing."""
    namespace = pod["metadata"].get("namespace", "")
    declared: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        declared.update(_env_from(store, namespace, source))
    for var in container.get("env") or ():
        name = var.get("name", "")
        value_from = var.get("valueFrom")
        if value_from:
            value = _value_from(store, pod, container, value_from)
            if value is None:
                continue  # an optional reference to something missing defines nothing
            declared[name] = value
        else:
            declared[name] = expand(str(var.get("value") or ""), declared.get)
    return declared


def process_environment(
    pod: Obj, declared: Mapping[str, str], sandbox: Path, termination_log: Path, paths: PathMap
) -> dict[str, str]:
    """The full environment of a container process: the minimal base, then the declared variables."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = str(sandbox)
    env["HOSTNAME"] = str(spec.get("hostname") or meta.get("name", ""))
    env.update({name: paths.rewrite(value) for name, value in declared.items()})
    env[TERMINATION_MESSAGE_ENV] = str(termination_log)
    return env


def command_line(container: Obj, env: Mapping[str, str], paths: PathMap) -> list[str]:
    """`command` + `args`, expanded against the container's variables, with container paths mapped."""
    words = [str(w) for w in (container.get("command") or [])] + [
        str(w) for w in (container.get("args") or [])
    ]
    return [paths.rewrite(expand(word, env.get)) for word in words]


def _env_from(store: Store, namespace: str, source: Obj) -> dict[str, str]:
    prefix = str(source.get("prefix") or "")
    if "configMapRef" in source:
        ref, kind = source["configMapRef"] or {}, "configmap"
    elif "secretRef" in source:
        ref, kind = source["secretRef"] or {}, "secret"
    else:
        return {}
    data = _lookup(store, kind, namespace, str(ref.get("name", "")), bool(ref.get("optional")))
    return {} if data is None else {prefix + key: value for key, value in data.items()}


def _value_from(store: Store, pod: Obj, container: Obj, value_from: Obj) -> str | None:
    namespace = pod["metadata"].get("namespace", "")
    if "fieldRef" in value_from:
        return field_value(pod, str((value_from["fieldRef"] or {}).get("fieldPath", "")))
    if "resourceFieldRef" in value_from:
        return _resource_value(pod, container, value_from["resourceFieldRef"] or {})
    for key, kind, label in (
        ("configMapKeyRef", "configmap", "ConfigMap"),
        ("secretKeyRef", "secret", "Secret"),
    ):
        if key in value_from:
            ref = value_from[key] or {}
            name, wanted, optional = (
                str(ref.get("name", "")),
                str(ref.get("key", "")),
                bool(ref.get("optional")),
            )
            data = _lookup(store, kind, namespace, name, optional)
            if data is None:
                return None
            if wanted not in data:
                if optional:
                    return None
                raise ConfigError(f"couldn't find key {wanted} in {label} {namespace}/{name}")
            return data[wanted]
    return None


def _lookup(store: Store, kind: str, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
    """A ConfigMap's or Secret's data as text; None when it is missing and optional."""
    plural = "configmaps" if kind == "configmap" else "secrets"
    obj = store.find(("", plural), namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind} "{name}" not found')
    if kind == "configmap":
        return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    values = {str(k): _decode(v) for k, v in (obj.get("data") or {}).items()}
    values.update({str(k): str(v) for k, v in (obj.get("stringData") or {}).items()})
    return values


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return str(value)


def field_value(pod: Obj, path: str) -> str:
    """The value of a downward-API `fieldRef` (the apiserver validates the path on create)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName") or NODE_NAME,
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": NODE_IP,
        "status.podIPs": NODE_IP,
        "status.hostIP": NODE_IP,
        "status.hostIPs": NODE_IP,
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{key}="{value}"' for key, value in sorted(values.items()))
    match = _LABEL_OR_ANNOTATION.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ConfigError(f"unsupported fieldPath: {path}")


def _resource_value(pod: Obj, container: Obj, ref: Obj) -> str:
    """A `resourceFieldRef`: the container's request or limit, a limit defaulting to the node's capacity."""
    target_name = ref.get("containerName")
    if target_name:
        spec = pod.get("spec") or {}
        for candidate in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
            if candidate.get("name") == target_name:
                container = candidate
    what, _, resource = str(ref.get("resource", "")).partition(".")
    resources = container.get("resources") or {}
    value = (
        parse_quantity((resources.get(what) or {}).get(resource, ""))
        if what in ("limits", "requests")
        else None
    )
    if value is None:
        value = _node_capacity(resource) if what == "limits" else parse_quantity(0)
    divisor = parse_quantity(ref.get("divisor") or "1") or parse_quantity(1)
    assert value is not None and divisor is not None
    return str(math.ceil(value / divisor))


def _node_capacity(resource: str) -> Any:
    if resource == "cpu":
        return parse_quantity(os.cpu_count() or 1)
    if resource == "memory":
        return parse_quantity(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    if resource == "ephemeral-storage":
        return parse_quantity(shutil.disk_usage("/").total)
    return parse_quantity(0)
