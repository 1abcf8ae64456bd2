"""Where the task cache lives: in the finished runs themselves, indexed in memory by Pipeline and key.

A task with `cache` records its key on its status when it starts (``baton.core.cache``); once its run has
finished, each task that ran and succeeded with a key is an entry here. Nothing else is stored, so the
cache survives a restart (the runs are listed again), disappears with the runs that hold it (runHistory
and ttlSecondsAfterFinished bound it, and deleting a run drops its entries), and holds at most
``MAX_PER_PIPELINE`` keys per Pipeline in memory (the newest).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from baton.api.codec import stored_tasks
from baton.api.run import FINISHED_PHASES
from baton.core.cache import CacheEntry, CacheView, cache_entries

from .cache import ClusterCache, Key, Obj, pipeline_of_run

log = logging.getLogger(__name__)

MAX_PER_PIPELINE = 1000


class TaskCache:
    def __init__(self) -> None:
        self.by_pipeline: dict[Key, dict[str, CacheEntry]] = {}
        self._of_run: dict[Key, tuple[Key, list[str]]] = {}

    def observe(self, key: Key, run: Obj | None) -> None:
        """Index a run that finished; forget the entries of a run that went."""
        if run is None:
            self._forget(key)
            return
        if key in self._of_run:
            return  # a finished run's tasks do not change
        status = run.get("status") or {}
        pipeline = pipeline_of_run(run)
        if status.get("phase") not in FINISHED_PHASES or pipeline is None:
            return
        try:
            entries = cache_entries(key[1], stored_tasks(status, having="cacheKey"))
        except ValueError as error:
            log.warning("run %s/%s: its tasks cannot be read for the cache: %s", *key, error)
            return
        owner = (key[0], pipeline)
        self._of_run[key] = (owner, list(entries))
        if not entries:
            return
        known = self.by_pipeline.setdefault(owner, {})
        for cache_key, entry in entries.items():
            current = known.get(cache_key)
            if current is None or entry.completed >= current.completed:
                known[cache_key] = entry
        if len(known) > MAX_PER_PIPELINE:
            newest = sorted(known.items(), key=lambda item: item[1].completed, reverse=True)
            self.by_pipeline[owner] = dict(newest[:MAX_PER_PIPELINE])

    def _forget(self, key: Key) -> None:
        found = self._of_run.pop(key, None)
        if found is None:
            return
        owner, keys = found
        known = self.by_pipeline.get(owner, {})
        for cache_key in keys:
            if (entry := known.get(cache_key)) is not None and entry.run == key[1]:
                del known[cache_key]
        if not known:
            self.by_pipeline.pop(owner, None)

    def view(self, namespace: str, pipeline: str | None, cluster: ClusterCache) -> CacheView | None:
        """What a run of ``pipeline`` may be served from, with the update times of the datasets."""
        if pipeline is None:
            return None

        def updated(uri: str, partition: str | None) -> str | None:
            status = (cluster.datasets.get(cluster.dataset_for(namespace, uri)) or {}).get("status") or {}
            if partition is None:
                return status.get("lastUpdated")
            for entry in status.get("partitions") or ():
                if isinstance(entry, Mapping) and entry.get("name") == partition:
                    return str(entry.get("lastUpdated"))
            # Never written, or pushed out of the Dataset's bounded list: the dataset's own last update
            # stands for it, so any later write of the dataset changes the key (a miss, the safe side).
            return status.get("lastUpdated")

        return CacheView(self.by_pipeline.get((namespace, pipeline), {}), updated)
