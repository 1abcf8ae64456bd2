"""The wire form of a run's status, kept under etcd's object size limit for runs of any size.

A run's status is the record of the run, so it holds the frozen spec and one entry per task. Entries
leave out absent and default fields; a finished task of a typical run takes about 170 bytes. That keeps
runs of a few thousand tasks readable as they are. Beyond ``COMPRESS_ABOVE`` bytes (a 10,000-task run
needs about 2.4 MB plainly, more than etcd's 1.5 MiB), the task list and then the frozen spec are
stored gzip-compressed and base64-encoded in ``compressedTasks`` / ``compressedPipelineSpec`` instead
(the approach Argo Workflows takes with ``compressedNodes``); a 10,000-task run then takes ~190 kB.
Phase, progress, times and conditions stay plain, so ``kubectl get`` and the printer columns work the
same for every run.

A wide forEach task's plain successes are index ranges on the wire (``baton.api.instances``), which
keeps a 100,000-instance run in a few hundred kilobytes.

The core never sees the compressed form: ``load_run_status`` expands it, ``dump_run_status`` applies it.
Compression is deterministic (no gzip timestamp), so an unchanged status encodes to the same bytes.

The frozen spec never changes during a run, so its parsed and encoded forms are cached: pass the spec
parsed at the previous reconcile as ``frozen_spec`` to ``load_run_status`` (the shell keeps it per run
uid), and ``dump_run_status`` encodes a given spec object only once.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter

from baton.api.common import to_dict
from baton.api.instances import COMPACT_FROM, compact_task_json, expand_task
from baton.api.pipeline import PipelineSpec
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskStatus
from baton.api.weakcache import IdentityCache

COMPRESS_ABOVE = 512 * 1024
"""Status size in bytes (compact JSON) above which large parts are stored compressed."""

_TASKS = TypeAdapter(list[TaskStatus])
_TASK = TypeAdapter(TaskStatus)
_INSTANCE = TypeAdapter(InstanceStatus)

# The JSON of each task entry, by the entry's identity: entries are immutable, and a reconcile keeps the
# ones that did not change, so a write of a 10,000-task run encodes only the entries that changed.
_TASK_JSON: IdentityCache[TaskStatus, bytes] = IdentityCache()


_INSTANCE_JSON: IdentityCache[InstanceStatus, bytes] = IdentityCache()


def _plain_json(task: TaskStatus) -> bytes:
    return _TASK.dump_json(task, by_alias=True, exclude_none=True, exclude_defaults=True)


def _instance_json(instance: InstanceStatus) -> bytes:
    return _INSTANCE_JSON.get_or_make(
        instance, lambda i: _INSTANCE.dump_json(i, by_alias=True, exclude_none=True, exclude_defaults=True)
    )


def _task_json(task: TaskStatus) -> bytes:
    if len(task.instances) >= COMPACT_FROM:
        return compact_task_json(task, _plain_json, _instance_json)
    return _plain_json(task)


def _encoded_task(task: TaskStatus) -> bytes:
    return _TASK_JSON.get_or_make(task, _task_json)


def _load_tasks(raw: bytes) -> list[TaskStatus]:
    if b'"succeededInstances"' not in raw:
        return _TASKS.validate_json(raw)
    return _TASKS.validate_python(_expanded(json.loads(raw)))


def _expanded(tasks: Any) -> Any:
    if not isinstance(tasks, list):
        return tasks  # validation says what is wrong
    return [expand_task(t) if isinstance(t, dict) else t for t in tasks]


def _tasks_json(tasks: Sequence[TaskStatus]) -> bytes:
    return b"[" + b",".join(_encoded_task(task) for task in tasks) + b"]"


def dump_run_status(status: PipelineRunStatus, *, compress_above: int = COMPRESS_ABOVE) -> dict[str, Any]:
    """The status as the dict to write (e.g. as ``{"status": …}`` in a merge patch)."""
    body = to_dict(status.model_copy(update={"tasks": [], "pipeline_spec": None}))
    tasks_json = _tasks_json(status.tasks)
    spec = _encoded_spec(status.pipeline_spec) if status.pipeline_spec is not None else None
    size = encoded_size(body) + len(tasks_json) + (len(spec.json) if spec else 0)
    if status.tasks:
        if size > compress_above:
            body["compressedTasks"] = _compress(tasks_json)
            size += len(body["compressedTasks"]) - len(tasks_json)
        else:
            body["tasks"] = json.loads(tasks_json)
    if spec is not None:
        if size > compress_above:
            body["compressedPipelineSpec"] = spec.compressed
        else:
            body["pipelineSpec"] = spec.plain
    return body


def load_run_status(
    body: Mapping[str, Any] | None, *, frozen_spec: PipelineSpec | None = None
) -> PipelineRunStatus:
    """The status as read from a PipelineRun (``None`` or ``{}`` for a run not started yet).

    ``frozen_spec``, when given, is used instead of parsing the status's (unchanging) spec again.
    """
    data = dict(body or {})
    compressed_tasks = data.pop("compressedTasks", None)
    compressed_spec = data.pop("compressedPipelineSpec", None)
    if frozen_spec is not None or compressed_spec:
        data.pop("pipelineSpec", None)
    tasks = _load_tasks(_decompress(compressed_tasks)) if compressed_tasks else None
    if "tasks" in data:
        data["tasks"] = _expanded(data["tasks"])
    status = PipelineRunStatus.model_validate(data)
    update: dict[str, Any] = {}
    if tasks is not None:
        update["tasks"] = tasks
    if frozen_spec is not None:
        update["pipeline_spec"] = frozen_spec
    elif compressed_spec:
        update["pipeline_spec"] = _parse_compressed_spec(compressed_spec)
    return status.model_copy(update=update) if update else status


def stored_tasks(body: Mapping[str, Any] | None, *, having: str | None = None) -> list[Any]:
    """The task entries of a stored status as JSON values (compressed or not), without validating them;
    ValueError when the compressed form is broken. With `having`, a caller that reads only the entries
    with that field gets [] when no compressed entry has it, without 10,000 entries parsed for nothing
    (several MB at once)."""
    data = body or {}
    compressed = data.get("compressedTasks")
    if compressed:
        raw = _decompress(str(compressed))
        if having is not None and f'"{having}"'.encode() not in raw:
            return []
        tasks = json.loads(raw)
    else:
        tasks = data.get("tasks") or []
    return tasks if isinstance(tasks, list) else []


class StatusCache:
    """The statuses the operator itself wrote, by run uid and the resourceVersion its patch returned.

    Only the operator writes a run's status, so when a run comes back with the resourceVersion of one of
    our own patches, its status is the one we wrote: no need to decompress and parse 10,000 entries.
    The last `versions` writes of a run are kept, not only the last: the run observer counts a run's
    events a moment after they came (`baton.controller.deferred`), by when the next write may be done,
    and one parse of a 10,000-task status costs about 40 MB and 125 ms. The versions share the entries
    that did not change between them, so keeping a few costs little.
    """

    def __init__(self, size: int = 1024, versions: int = 4) -> None:
        self._size = size
        self._versions = versions
        self._entries: dict[str, dict[str, PipelineRunStatus]] = {}  # uid → resourceVersion → status

    def get(self, uid: str, resource_version: str) -> PipelineRunStatus | None:
        return self._entries.get(uid, {}).get(resource_version)

    def put(self, uid: str, resource_version: str, status: PipelineRunStatus) -> None:
        versions = self._entries.pop(uid, None) or {}
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        versions.pop(resource_version, None)
        versions[resource_version] = status
        while len(versions) > self._versions:
            versions.pop(next(iter(versions)))
        self._entries[uid] = versions

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)


def encoded_size(body: Mapping[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


class _EncodedSpec:
    """A spec's wire form, made once per spec object. The dict form is made only for a status small
    enough to hold it plain: for a 10,000-task spec (stored compressed) it would be 10,000 dicts kept
    for nothing (about 5 MB). It must not refer to the spec: that would keep the spec alive."""

    def __init__(self, spec: PipelineSpec) -> None:
        self.json = spec.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True).encode()
        self._plain: dict[str, Any] | None = None
        self._compressed: str | None = None

    @property
    def plain(self) -> dict[str, Any]:
        if self._plain is None:
            self._plain = json.loads(self.json)
        return self._plain

    @property
    def compressed(self) -> str:
        if self._compressed is None:
            self._compressed = _compress(self.json)
        return self._compressed


_ENCODED: IdentityCache[PipelineSpec, _EncodedSpec] = IdentityCache()


def _encoded_spec(spec: PipelineSpec) -> _EncodedSpec:
    return _ENCODED.get_or_make(spec, _EncodedSpec)


@functools.lru_cache(maxsize=16)
def _parse_compressed_spec(text: str) -> PipelineSpec:
    return PipelineSpec.model_validate_json(_decompress(text))


def _compress(raw: bytes) -> str:
    # Level 1: a third of level 6's time on a 10,000-task list, and within 10 % of its size.
    return base64.b64encode(gzip.compress(raw, compresslevel=1, mtime=0)).decode("ascii")


def _decompress(text: str) -> bytes:
    return gzip.decompress(base64.b64decode(text))
