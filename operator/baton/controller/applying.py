"""Applying a run's plan: create its Jobs (or, for a sub-pipeline task, its child runs), delete or cancel
them, delete the run itself once its TTL passed. 409 on a create is adoption, 404 on a delete is done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from baton.core.launch import JobToCreate
from baton.core.quota import quota_refusal
from baton.kube.childrun import parent_of, retry_child
from baton.kube.trim import trim_job

from .cache import ClusterCache, Key
from .client import ApiFailure, KubeClient
from .paths import jobs_path, runs_path

log = logging.getLogger(__name__)

CREATE_CONCURRENCY = 16
RUNS = "pipelineruns.baton.dev"


class RunApplier:
    def __init__(self, cache: ClusterCache, client: KubeClient) -> None:
        self.cache = cache
        self.client = client
        self._creating = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create_jobs(self, jobs: Sequence[JobToCreate]) -> tuple[bool, dict[str, str]]:
        """Create the Jobs: whether none failed (but for quota), and the units refused for quota."""
        refused: dict[str, str] = {}

        async def create(job: JobToCreate) -> bool:
            namespace = job.body["metadata"]["namespace"]
            async with self._creating:
                if refused:  # the quota is full: the rest would be refused too, so do not ask
                    refused[job.task] = next(iter(refused.values()))
                    return True
                child = job.body.get("kind") == "PipelineRun"  # a sub-pipeline task's attempt
                body = job.body
                if child and job.retry_of:
                    body = retry_child(body, self.cache.runs.get((namespace, job.retry_of)))
                path, resource = (
                    (runs_path(namespace), RUNS) if child else (jobs_path(namespace), "jobs.batch")
                )
                try:
                    created = await self.client.create(path, body, resource=resource)
                except ApiFailure as failure:
                    if failure.code == 409:
                        return True  # it exists (an earlier attempt of this reconcile): adopt it
                    if quota_refusal(failure.code, failure.message):
                        refused[job.task] = failure.message
                        return True
                    log.error("creating Job %s/%s failed: %s", namespace, job.name, failure)
                    return False
            if child:
                self.cache.observe_run("ADDED", created)
            else:
                self.cache.observe_job("ADDED", trim_job(created))
            return True

        results = await asyncio.gather(*(create(job) for job in jobs))
        return all(results), refused

    async def delete_run(self, key: Key, why: str) -> None:
        try:
            await self.client.delete(runs_path(*key), resource="pipelineruns.baton.dev")
        except ApiFailure as failure:
            if failure.code != 404:
                raise
        log.info("deleted run %s/%s: %s", key[0], key[1], why)

    async def delete_job(self, namespace: str, name: str, parent: str | None = None) -> None:
        """Stop an attempt: delete its Job, or cancel its child run (`parent`: the run it belongs to)."""
        child = self.cache.runs.get((namespace, name))
        if child is not None and parent_of(child) is not None:
            await self._cancel_child(namespace, name)
            return
        try:
            await self.client.delete(jobs_path(namespace, name), resource="jobs.batch")
        except ApiFailure as failure:
            if failure.code != 404:
                raise
            # No such Job: it may be a child run not in the cache yet (just adopted after a 409).
            if parent is not None:
                try:
                    found = await self.client.get(runs_path(namespace, name), resource=RUNS)
                except ApiFailure as missing:
                    if missing.code != 404:
                        raise
                    return
                if parent_of(found) == parent:
                    await self._cancel_child(namespace, name)

    async def _cancel_child(self, namespace: str, name: str) -> None:
        """A sub-pipeline task's child run is cancelled, not deleted: its own finally tasks still run and
        its record stays (the parent's ownerReference deletes it with the parent)."""
        patch = {"spec": {"cancel": {"message": "its parent run stopped the task"}}}
        try:
            await self.client.merge_patch(runs_path(namespace, name), patch, resource=RUNS)
        except ApiFailure as failure:
            if failure.code != 404:
                raise
