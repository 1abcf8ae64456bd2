"""Checks of what tasks mount, report and set on their Pods (references are ``baton.core.variables``')."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from baton.api.pipeline import PipelineSpec, TaskDefaults, TaskSpec
from baton.core.params import declared_hint
from baton.kube.podspec import volume_path, workspace_path

# Baton's own labels: a task's podLabels may not set them (selectors and metrics depend on them).
_RESERVED_PREFIX = "baton.dev/"
_RESERVED = {"app.kubernetes.io/managed-by"}
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")  # fmt: skip
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dataflow_errors(spec: PipelineSpec) -> list[str]:
    """Problems of workspaces, volumes, results, forEach and Pod settings, one message each."""
    errors = duplicates("workspace", [w.name for w in spec.workspaces])
    errors += duplicates("pipeline result", [r.name for r in spec.results])
    declared = [w.name for w in spec.workspaces]
    for task in spec.all_tasks():
        owner = f'task "{task.name}"'
        errors += [f"{owner}: {e}" for e in duplicates("result", [r.name for r in task.results])]
        errors += [f"{owner}: {e}" for e in duplicates("volume", [v.name for v in task.volumes])]
        errors += [f"{owner}: {e}" for e in duplicates("workspace", [m.name for m in task.workspaces])]
        for mount in task.workspaces:
            if mount.name not in declared:
                hint = declared_hint(mount.name, declared, "the pipeline declares no workspaces")
                errors.append(f'{owner} mounts unknown workspace "{mount.name}"{hint}')
        errors += [f"{owner}: {e}" for e in _path_errors(task)]
        errors += [f"{owner}: {e}" for e in _pod_errors(task)]
        for_each = task.for_each
        if for_each is not None and for_each.items is not None and len(for_each.items) > for_each.max_items:
            errors.append(
                f"{owner}: forEach.items has {len(for_each.items)} items, more than its maxItems "
                f"({for_each.max_items})"
            )
    if spec.task_defaults is not None:
        errors += [f"taskDefaults: {e}" for e in _pod_errors(spec.task_defaults)]
    return errors


def _path_errors(task: TaskSpec) -> Iterable[str]:
    paths = [(f'workspace "{m.name}"', workspace_path(task, m.name)) for m in task.workspaces]
    paths += [(f'volume "{v.name}"', volume_path(task, v.name)) for v in task.volumes]
    seen: dict[str, str] = {}
    for what, path in paths:
        if ".." in path.split("/"):
            yield f'{what}: mountPath "{path}" must not contain ".."'
        elif path.rstrip("/") in seen:
            yield f'{what} and {seen[path.rstrip("/")]} are both mounted at "{path}"'
        seen.setdefault(path.rstrip("/"), what)
    for mount in task.workspaces:
        if mount.sub_path and ".." in mount.sub_path.split("/"):
            yield f'workspace "{mount.name}": subPath "{mount.sub_path}" must not contain ".."'


def _pod_errors(settings: TaskSpec | TaskDefaults) -> Iterable[str]:
    for key, value in settings.pod_labels.items():
        if key.startswith(_RESERVED_PREFIX) or key in _RESERVED:
            yield f'podLabels may not set "{key}": Baton sets its own labels on every Pod'
        elif not _QUALIFIED_NAME.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            yield f'podLabels key "{key}" is not a valid label key'
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            yield f'podLabels "{key}": "{value}" is not a valid label value (up to 63 of [A-Za-z0-9_.-])'
    for key in settings.pod_annotations:
        if not _QUALIFIED_NAME.match(key):
            yield f'podAnnotations key "{key}" is not a valid annotation key'


def duplicates(what: str, names: Sequence[str]) -> list[str]:
    """One message per name used more than once."""
    seen: set[str] = set()
    errors = []
    for name in names:
        if name in seen:
            errors.append(f'{what} name "{name}" is used more than once')
        seen.add(name)
    return errors
