"""Deleting the Jobs `baton.core.collect` says may go, a batch of instances per request.

The requests are remembered for a while, so that the reconciles that come before their DELETED events
do not ask again; one that got lost is asked again after `PENDING_SECONDS`. Nothing here is the only
copy of anything: after a restart the same Jobs are found collectable again from the stored status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from baton.api.run import PipelineRunStatus
from baton.core.collect import collectable
from baton.core.observed import ObservedJob
from baton.kube.labels import INSTANCE, MANAGED_BY, MANAGER, RUN, TASK
from baton.kube.names import label_value

from .cache import Key
from .client import ApiFailure, KubeClient
from .paths import jobs_path

log = logging.getLogger(__name__)

PENDING_SECONDS = 30.0


class JobCollector:
    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._pending: dict[Key, dict[tuple[str, int], float]] = {}  # run → (task, instance) → asked at

    def forget(self, key: Key) -> None:
        self._pending.pop(key, None)

    async def collect(self, key: Key, stored: PipelineRunStatus, jobs: Sequence[ObservedJob]) -> None:
        now = asyncio.get_running_loop().time()
        pending = self._pending.setdefault(key, {})
        for unit in [u for u, asked in pending.items() if now - asked > PENDING_SECONDS]:
            del pending[unit]
        batches = collectable(stored, jobs, pending)
        if not batches:
            if not pending:
                self._pending.pop(key, None)
            return
        namespace, run = key
        path = jobs_path(namespace)
        for batch in batches:
            selector = (
                f"{MANAGED_BY}={MANAGER},{RUN}={label_value(run)},{TASK}={label_value(batch.task)},"
                f"{INSTANCE} in ({','.join(map(str, batch.instances))})"
            )
            try:
                await self.client.delete_collection(path, selector=selector, resource="jobs.batch")
            except ApiFailure as failure:  # they stay until a later reconcile tries again: nothing is lost
                log.warning(
                    "could not delete the Jobs of %d instances of %s: %s",
                    len(batch.instances),
                    batch.task,
                    failure,
                )
                continue
            pending.update({(batch.task, k): now for k in batch.instances})
