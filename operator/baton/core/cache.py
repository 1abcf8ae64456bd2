"""Task caching: the key of a task's work, and whether an earlier attempt with that key may stand in for it.

The key is a SHA-256 of what determines the task's output, as the Job would run it:

- the task's name, the container's image, command, args, working directory and environment, after
  substitution (so the params, results and items the task reads are in it through their values);
  Baton's own per-run variables (BATON_RUN, BATON_ATTEMPT) are left out, or no key would ever repeat;
  an env var from a Secret or ConfigMap is in it by reference (name and key), not by value;
- its resolved inputs, each with the time its Dataset (or partition) was last updated, so new data
  upstream means a new key; and its resolved outputs;
- the names of the results it declares, and ``cache.version``.

Not in the key, on purpose or because Baton cannot see it: the image's content behind a mutable tag (pin
digests, or bump ``version``), files on a shared volume, anything the command fetches itself, the clock.

A hit is a Succeeded attempt of a task with the same key, in a finished run of the same Pipeline in the
namespace, that completed within ``cache.ttlSeconds``: the task then gets no Job and is Succeeded with
reason Cached, ``cachedFrom`` naming that run, and its results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baton.api.pipeline import TaskSpec
from baton.api.run import TaskPhase, TaskStatus
from baton.core.status import format_time, time_or_none

CACHED = "Cached"
PER_RUN_ENV = frozenset({"BATON_RUN", "BATON_ATTEMPT"})


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A succeeded attempt that may stand in for a task with the same key."""

    run: str
    task: str
    completed: str
    results: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CacheView:
    """What the shell knows that the key and the lookup need: the cached attempts of the run's Pipeline, by
    key, and when each dataset (uri, partition) was last updated (None: never, or unknown)."""

    entries: Mapping[str, CacheEntry]
    updated: Callable[[str, str | None], str | None]


def cache_key(
    task: TaskSpec,
    job: Mapping[str, Any],
    status: TaskStatus,
    updated: Callable[[str, str | None], str | None],
) -> str:
    """The key of ``task`` about to run as ``job`` (the rendered batch/v1 Job), with the resolved inputs
    and outputs recorded on ``status``."""
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = [
        [var["name"], var.get("value"), var.get("valueFrom")]
        for var in container.get("env") or ()
        if var["name"] not in PER_RUN_ENV
    ]
    material = {
        "task": task.name,
        "image": container.get("image"),
        "command": container.get("command") or [],
        "args": container.get("args") or [],
        "workingDir": container.get("workingDir"),
        "env": env,
        "inputs": [[d.uri, d.partition, updated(d.uri, d.partition)] for d in status.inputs],
        "outputs": [[d.uri, d.partition] for d in status.outputs],
        "results": sorted(r.name for r in task.results),
        "version": task.cache.version if task.cache else None,
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def with_this_run(
    updated: Callable[[str, str | None], str | None], tasks: Sequence[TaskStatus]
) -> Callable[[str, str | None], str | None]:
    """``updated``, knowing the writes of this run's tasks that succeeded: the Dataset object learns of them
    only once the status saying so is written, and a task reading what an upstream task of its run just
    wrote is keyed in the same pass. The write's time is the writer's completion, which is also the time
    the Dataset records, so a later run served from the cache upstream computes the same key."""
    written: dict[tuple[str, str | None], str] = {}
    for task in tasks:
        if (
            task.phase is not TaskPhase.SUCCEEDED
            or task.reason in (CACHED, "Reused")
            or not task.completion_time
        ):
            continue
        for found in task.outputs:
            for key in ((found.uri, found.partition), (found.uri, None)):
                written[key] = max(written.get(key, ""), task.completion_time)

    def either(uri: str, partition: str | None) -> str | None:
        known = updated(uri, partition)
        mine = written.get((uri, partition))
        return max(known or "", mine or "") or None

    return either


def cache_hit(task: TaskSpec, key: str, view: CacheView, now: datetime) -> CacheEntry | None:
    """The cached attempt that may stand in for ``task``, if one is recent enough."""
    if task.cache is None:
        return None
    entry = view.entries.get(key)
    if entry is None:
        return None
    completed = time_or_none(entry.completed)
    if completed is None or now - completed > timedelta(seconds=task.cache.ttl_seconds) or completed > now:
        return None
    return entry


def served_from_cache(task: TaskStatus, key: str, entry: CacheEntry, now: datetime) -> TaskStatus:
    """``task`` succeeded without a Job, with the results of ``entry``."""
    stamp = format_time(now)
    return task.model_copy(
        update={
            "phase": TaskPhase.SUCCEEDED,
            "reason": CACHED,
            "message": f"from the cache: task {entry.task} of run {entry.run}, completed {entry.completed}",
            "cached_from": entry.run,
            "cache_key": key,
            "results": dict(entry.results),
            "start_time": stamp,
            "completion_time": stamp,
            "job_name": None,
            "exit_code": None,
            "next_attempt_at": None,
        }
    )


def cache_entries(run: str, tasks: list[Any]) -> dict[str, CacheEntry]:
    """The entries a finished run offers (from its stored task entries, as the API returns them): its
    tasks that ran and succeeded with a cache key."""
    found: dict[str, CacheEntry] = {}
    for task in tasks:
        if not isinstance(task, Mapping) or task.get("phase") != TaskPhase.SUCCEEDED.value:
            continue
        key, completed = task.get("cacheKey"), task.get("completionTime")
        if not isinstance(key, str) or not isinstance(completed, str):
            continue
        if task.get("reason") == CACHED:
            continue  # it stood in for an attempt of another run, which offers that attempt itself
        if task.get("reason") == "QualityWarning":
            continue  # a check that warned: served again it would hide the warning; it runs again
        results = task.get("results") or {}
        plain = dict(results) if isinstance(results, Mapping) else {}
        found[key] = CacheEntry(run, str(task.get("name")), completed, plain)
    return found
