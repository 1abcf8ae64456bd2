"""A Pod's volumes on the dev cluster's kubelet: local directories that stand in for mounts.

Nothing is mounted (processes are unprivileged local processes). Each volume gets a local directory,
set up before the Pod's first container starts, and each container's `volumeMounts` map its
`mountPath`s to those directories (plus `subPath`) through a PathMap (pathmap.py), which rewrites the
paths in `command`, `args` and `env` values:

- persistentVolumeClaim: the claim's directory `<workdir>/volumes/<namespace>/<claim>-<uid8>`
  (claims.py), created when the volume controller binds the claim and shared by every Pod that mounts
  it, so what one task writes the next one reads. The claim must exist, be bound and not be deleting.
- configMap, secret: `<sandbox>/volumes/<volume>/` with one file per key, or per `items` entry at its
  `path` (subdirectories allowed); secret values base64-decoded, ConfigMap `binaryData` too. A file's
  mode is its `items[].mode`, else `defaultMode` (0644), without the write bits: the real mount is
  read-only. A missing ConfigMap or Secret (or key in `items`) that is not `optional` fails the setup;
  an optional one gives an empty directory (or skips the key). The files are written once, when the Pod
  starts; later changes of the ConfigMap or Secret do not reach a running Pod (the real kubelet
  refreshes them within a minute or so).
- emptyDir, and every other type (hostPath, downwardAPI, projected, ephemeral, csi, image, ...): an empty
  directory `<sandbox>/volumes/<volume>/`, removed with the sandbox. A hostPath is never the host's own
  path: the dev cluster does not touch directories outside its workdir.

A `subPath` (or `subPathExpr`, expanded with the container's variables) selects a path inside the
volume; a missing one is created as a directory, as the kubelet does.

A failed setup raises MountError with the kubelet's Event message (`MountVolume.SetUp failed for volume
"cfg" : configmap "settings" not found`); the pod worker posts it as a FailedMount Warning, keeps the
containers Waiting (ContainerCreating) and tries again when ConfigMaps, Secrets or claims change.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .claims import CLAIMS, claim_directory, is_bound
from .env import ConfigError, expand
from .store import Obj, Store
from .volumerules import DEFAULT_MODE, source_of

_SET_UP_FAILED = "MountVolume.SetUp failed for volume"
_KINDS = {"configMap": ("configmaps", "configmap", "name"), "secret": ("secrets", "secret", "secretName")}


class MountError(Exception):
    """A volume cannot be set up yet; `message` is the FailedMount Event's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def volumes_root(sandbox: Path) -> Path:
    return sandbox / "volumes"


def set_up(store: Store, workdir: Path, sandbox: Path, pod: Obj) -> dict[str, Path]:
    """Every volume of the Pod as a local directory (by volume name); MountError for the first that fails."""
    namespace = pod["metadata"].get("namespace", "")
    local: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        name = str(volume.get("name", ""))
        kind, settings = source_of(volume)
        if kind == "persistentVolumeClaim":
            local[name] = _claim(store, workdir, namespace, name, settings)
            continue
        directory = volumes_root(sandbox) / name
        _fresh_directory(directory)
        if kind in _KINDS:
            _materialize(store, namespace, name, kind, settings, directory)
        local[name] = directory
    return local


def container_mounts(
    container: Obj, volumes: Mapping[str, Path], env: Mapping[str, str]
) -> list[tuple[str, Path]]:
    """(mountPath, local path) for each of the container's volumeMounts, subPaths created as needed.

    Raises ConfigError (CreateContainerConfigError) for a `subPathExpr` that expands outside the volume.
    """
    mounts: list[tuple[str, Path]] = []
    for mount in container.get("volumeMounts") or ():
        root = volumes.get(str(mount.get("name", "")))
        if root is None:
            continue  # admission rejects mounts of undeclared volumes; one may predate it
        sub_path = str(mount.get("subPath") or "")
        if not sub_path and mount.get("subPathExpr"):
            sub_path = expand(str(mount["subPathExpr"]), env.get)
            if sub_path.startswith("/") or ".." in sub_path.split("/"):
                raise ConfigError(
                    f'failed to prepare subPath for volumeMount "{mount.get("name", "")}" of container '
                    f'"{container.get("name", "")}"'
                )
        local = root / sub_path.strip("/") if sub_path else root
        if sub_path and not local.exists():
            local.mkdir(parents=True, exist_ok=True)
        mounts.append((str(mount.get("mountPath", "")), local))
    return mounts


def _claim(store: Store, workdir: Path, namespace: str, volume: str, settings: Obj) -> Path:
    claim_name = str(settings.get("claimName", ""))
    claim = store.find(CLAIMS, namespace, claim_name)
    problem = ""
    if claim is None:
        problem = f'failed to fetch PVC from API server: persistentvolumeclaims "{claim_name}" not found'
    elif claim["metadata"].get("deletionTimestamp"):
        problem = "PVC is being deleted"
    elif not is_bound(claim):
        problem = "PVC is not bound"
    if problem:
        raise MountError(
            f"Unable to attach or mount volumes: unmounted volumes=[{volume}], "
            f"unattached volumes=[{volume}]: error processing PVC {namespace}/{claim_name}: {problem}"
        )
    assert claim is not None
    directory = claim_directory(workdir, claim)
    directory.mkdir(parents=True, exist_ok=True)  # the volume controller made it; it may have been removed
    return directory


def _materialize(
    store: Store, namespace: str, volume: str, kind: str, settings: Obj, directory: Path
) -> None:
    plural, label, name_field = _KINDS[kind]
    source_name = str(settings.get(name_field, ""))
    optional = bool(settings.get("optional"))
    obj = store.find(("", plural), namespace, source_name)
    if obj is None:
        if optional:
            return
        raise MountError(f'{_SET_UP_FAILED} "{volume}" : {label} "{source_name}" not found')
    data = _contents(kind, obj)
    default_mode = _mode(settings.get("defaultMode"), DEFAULT_MODE)
    items = settings.get("items") or [{"key": key, "path": key} for key in sorted(data)]
    files: list[tuple[str, bytes, int]] = []
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if optional:
                continue
            what = "config key" if kind == "configMap" else "secret key"
            raise MountError(f'{_SET_UP_FAILED} "{volume}" : {label} references non-existent {what}: {key}')
        files.append((str(item.get("path") or key), data[key], _mode(item.get("mode"), default_mode)))
    for relative, content, mode in files:
        target = directory / relative.strip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        # Read-only like the real (read-only) mount; the directory stays writable so it can be removed.
        os.chmod(target, mode & 0o555)


def _contents(kind: str, obj: Obj) -> dict[str, bytes]:
    if kind == "configMap":
        data = {str(k): str(v).encode() for k, v in (obj.get("data") or {}).items()}
        for key, value in (obj.get("binaryData") or {}).items():
            data.setdefault(str(key), _decode(value))
        return data
    return {str(k): _decode(v) for k, v in (obj.get("data") or {}).items()}


def _decode(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return str(value).encode()  # the dev cluster does not reject malformed base64 on write


def _mode(value: Any, default: int) -> int:
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777
    return int(value) if valid else default


def _fresh_directory(directory: Path) -> None:
    """An empty directory (a setup that failed half-way is redone from scratch)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
