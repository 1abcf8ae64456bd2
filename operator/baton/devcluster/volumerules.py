"""Pod volumes and volumeMounts: the apiserver's defaults and validation, with its messages (no I/O).

Defaults: `defaultMode` 0644 (420) on configMap, secret, downwardAPI and projected volumes, `type` ""
on hostPath volumes. Validation follows pkg/apis/core/validation (`ValidateVolumes`,
`validateVolumeSource`, `ValidateVolumeMounts`): volume names are unique DNS labels, every volume has
exactly one source, the sources the dev cluster runs (persistentVolumeClaim, configMap, secret,
emptyDir, hostPath) have their required fields, `items` paths are relative without `..`, modes are
0 to 0777, and every mount names a volume, has a unique `mountPath` and a relative `subPath`. A volume
with an error does not count as declared, so mounts of it are also reported (as upstream does).
Upstream's quirks are kept: a subPath error names `volumeMounts.subPath` without the mount's index.
"""

from __future__ import annotations

from typing import Any

from . import fielderrors as fe
from .fielderrors import FieldError
from .namerules import dns1123_label_errors

Obj = dict[str, Any]
Cause = tuple[str, str, str]

DEFAULT_MODE = 0o644
_FILE_MODE_MESSAGE = "must be a number between 0 and 0777 (octal), both inclusive"
# VolumeSource fields in the order validateVolumeSource checks them, with the field name its errors use.
_SOURCES: tuple[tuple[str, str], ...] = (
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
)
SOURCE_KEYS = tuple(key for key, _ in _SOURCES)


def source_of(volume: Obj) -> tuple[str, Obj]:
    """The volume's source type and settings (the first one set; validation rejects several)."""
    for key in SOURCE_KEYS:
        if volume.get(key) is not None:
            value = volume[key]
            return key, value if isinstance(value, dict) else {}
    return "", {}


def claim_names(spec: Obj) -> list[str]:
    """The PersistentVolumeClaims a Pod spec mounts, in volume order."""
    names = []
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict) and isinstance(volume.get("persistentVolumeClaim"), dict):
            names.append(str(volume["persistentVolumeClaim"].get("claimName") or ""))
    return names


def default_volumes(spec: Obj) -> None:
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, dict):
            continue
        for key in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(volume.get(key), dict):
                volume[key].setdefault("defaultMode", DEFAULT_MODE)
        if isinstance(volume.get("hostPath"), dict):
            volume["hostPath"].setdefault("type", "")


def volume_causes(path: str, spec: Obj) -> list[Cause]:
    """Errors in `spec.volumes` and in every container's `volumeMounts`."""
    found, declared = _volumes(fe.child(path, "volumes"), spec.get("volumes") or [])
    for key in ("initContainers", "containers"):
        for position, container in enumerate(spec.get(key) or ()):
            if isinstance(container, dict):
                mounts_path = fe.child(fe.index(fe.child(path, key), position), "volumeMounts")
                found += _mounts(mounts_path, container.get("volumeMounts") or [], declared)
    return [(error.field, error.type, error.message) for error in found]


def _volumes(path: str, volumes: list[Any]) -> tuple[list[FieldError], set[str]]:
    found: list[FieldError] = []
    declared: set[str] = set()
    for position, volume in enumerate(volumes):
        where = fe.index(path, position)
        if not isinstance(volume, dict):
            found.append(fe.type_invalid(where, volume, "must be an object"))
            continue
        name = str(volume.get("name") or "")
        errors = _source(where, volume)
        if not name:
            errors.append(fe.required(fe.child(where, "name")))
        else:
            errors += [fe.invalid(fe.child(where, "name"), name, m) for m in dns1123_label_errors(name)]
        if name in declared:
            errors.append(fe.duplicate(fe.child(where, "name"), name))
        if errors:
            found += errors
        else:
            declared.add(name)
    return found, declared


def _source(path: str, volume: Obj) -> list[FieldError]:
    found: list[FieldError] = []
    chosen = ""
    for key, error_name in _SOURCES:
        if volume.get(key) is None:
            continue
        if chosen:
            found.append(fe.forbidden(fe.child(path, error_name), "may not specify more than 1 volume type"))
            continue
        chosen = key
        settings = volume[key] if isinstance(volume[key], dict) else {}
        found += _settings(fe.child(path, key), key, settings)
    if not chosen:
        found.append(fe.required(path, "must specify a volume type"))
    return found


def _settings(path: str, key: str, settings: Obj) -> list[FieldError]:
    required = {"persistentVolumeClaim": "claimName", "configMap": "name", "secret": "secretName"}
    found: list[FieldError] = []
    if key in required and not settings.get(required[key]):
        found.append(fe.required(fe.child(path, required[key])))
    if key == "hostPath":
        if not settings.get("path"):
            return [fe.required(fe.child(path, "path"))]
        found += _no_backsteps(fe.child(path, "path"), str(settings["path"]))
    if key in ("configMap", "secret"):
        found += _mode(fe.child(path, "defaultMode"), settings.get("defaultMode"))
        for position, item in enumerate(settings.get("items") or ()):
            found += _key_to_path(fe.index(fe.child(path, "items"), position), item)
    return found


def _key_to_path(path: str, item: Any) -> list[FieldError]:
    if not isinstance(item, dict):
        return [fe.type_invalid(path, item, "must be an object")]
    found: list[FieldError] = []
    if not item.get("key"):
        found.append(fe.required(fe.child(path, "key")))
    target = str(item.get("path") or "")
    if not target:
        found.append(fe.required(fe.child(path, "path")))
    found += _local_path(fe.child(path, "path"), target)
    if target.startswith("..") and not target.startswith("../"):
        found.append(fe.invalid(fe.child(path, "path"), target, "must not start with '..'"))
    return found + _mode(fe.child(path, "mode"), item.get("mode"))


def _mounts(path: str, mounts: list[Any], declared: set[str]) -> list[FieldError]:
    found: list[FieldError] = []
    mount_points: set[str] = set()
    for position, mount in enumerate(mounts):
        where = fe.index(path, position)
        if not isinstance(mount, dict):
            found.append(fe.type_invalid(where, mount, "must be an object"))
            continue
        name, mount_path = str(mount.get("name") or ""), str(mount.get("mountPath") or "")
        if not name:
            found.append(fe.required(fe.child(where, "name")))
        if name not in declared:
            found.append(fe.not_found(fe.child(where, "name"), name))
        if not mount_path:
            found.append(fe.required(fe.child(where, "mountPath")))
        if mount_path in mount_points:
            found.append(fe.invalid(fe.child(where, "mountPath"), mount_path, "must be unique"))
        mount_points.add(mount_path)
        for field_name in ("subPath", "subPathExpr"):
            if mount.get(field_name):
                # Upstream names the list, not the item, for these two.
                found += _local_path(fe.child(path, field_name), str(mount[field_name]))
        if mount.get("subPath") and mount.get("subPathExpr"):
            found.append(
                fe.invalid(
                    fe.child(where, "subPathExpr"),
                    mount["subPathExpr"],
                    "subPathExpr and subPath are mutually exclusive",
                )
            )
    return found


def _local_path(path: str, target: str) -> list[FieldError]:
    """validateLocalDescendingPath: relative, without `..` elements."""
    found = [fe.invalid(path, target, "must be a relative path")] if target.startswith("/") else []
    return found + _no_backsteps(path, target)


def _no_backsteps(path: str, target: str) -> list[FieldError]:
    if ".." in target.split("/"):
        return [fe.invalid(path, target, "must not contain '..'")]
    return []


def _mode(path: str, mode: Any) -> list[FieldError]:
    if isinstance(mode, int) and not isinstance(mode, bool) and not 0 <= mode <= 0o777:
        return [fe.invalid(path, mode, _FILE_MODE_MESSAGE)]
    return []
