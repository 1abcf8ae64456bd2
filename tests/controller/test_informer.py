"""The operator's Job and Pod informer: list then watch, resume, re-list after 410, never give up.

The reflector's rules are tested against a scripted client (pages, streams and failures in a known
order), and once end to end against the dev cluster with a label selector, as the operator uses it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import kopf
import pytest

from baton.controller import informer as informer_module
from baton.controller.client import ApiFailure, KubeClient
from baton.controller.informer import Informer
from baton.devcluster.cluster import DevCluster
from baton.kube.trim import trim_job


def obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "data", "resourceVersion": str(rv)}}


def line(event_type: str, body: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "object": body}).encode()


class ScriptedClient:
    """Answers lists from `pages` (each list call takes the next script entry) and watches from
    `streams`; an entry that is an exception is raised instead."""

    def __init__(self, lists: list[Any], streams: list[Any]) -> None:
        self.lists, self.streams = lists, streams
        self.list_params: list[Mapping[str, str]] = []
        self.watch_params: list[Mapping[str, str]] = []

    async def request(self, method: str, path: str, *, params: Mapping[str, str], **_: Any) -> Any:
        self.list_params.append(dict(params))
        entry = self.lists.pop(0)
        if isinstance(entry, Exception):
            raise entry
        return entry

    async def stream(self, path: str, params: Mapping[str, str], **_: Any) -> AsyncIterator[bytes]:
        self.watch_params.append(dict(params))
        if not self.streams:
            await asyncio.sleep(3600)  # the last watch stays open
        entry = self.streams.pop(0)
        if isinstance(entry, Exception):
            raise entry
        for item in entry:
            yield item


def run_informer(client: ScriptedClient, until: int) -> list[tuple[str | None, str]]:
    """Run an informer over `client` until `until` events were delivered; the events, as (type, name)."""
    seen: list[tuple[str | None, str]] = []

    async def main() -> None:
        informer = Informer(
            client,  # type: ignore[arg-type]
            "/apis/batch/v1/namespaces/data/jobs",
            resource="jobs.batch",
            selector="baton.dev/run",
            handler=lambda t, o: seen.append((t, o["metadata"]["name"])),
        )
        task = asyncio.create_task(informer.run())
        for _ in range(500):
            if len(seen) >= until:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    return seen


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(informer_module, "BACKOFF", (0.0,))


def test_lists_every_page_then_watches_from_the_lists_version() -> None:
    client = ScriptedClient(
        lists=[
            {"items": [obj("a", 1)], "metadata": {"continue": "next"}},
            {"items": [obj("b", 2)], "metadata": {"resourceVersion": "10"}},
        ],
        streams=[
            [line("ADDED", obj("c", 11)), line("MODIFIED", obj("a", 12)), line("DELETED", obj("b", 13))]
        ],
    )
    seen = run_informer(client, until=5)
    assert seen == [(None, "a"), (None, "b"), ("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert client.list_params[0]["labelSelector"] == "baton.dev/run"
    assert client.list_params[1]["continue"] == "next"
    assert client.watch_params[0]["resourceVersion"] == "10"
    assert client.watch_params[0]["allowWatchBookmarks"] == "true"


def test_a_dropped_watch_resumes_from_the_last_version_seen_bookmarks_included() -> None:
    bookmark = {"kind": "Job", "metadata": {"resourceVersion": "40"}}
    client = ScriptedClient(
        lists=[{"items": [], "metadata": {"resourceVersion": "10"}}],
        streams=[
            [line("ADDED", obj("a", 20)), line("BOOKMARK", bookmark)],  # the server ends this watch
            OSError("connection reset"),
            [line("MODIFIED", obj("a", 41))],
        ],
    )
    seen = run_informer(client, until=2)
    assert seen == [("ADDED", "a"), ("MODIFIED", "a")]
    assert [p["resourceVersion"] for p in client.watch_params][:3] == ["10", "40", "40"]
    assert len(client.list_params) == 1  # nothing expired: no second list


def test_an_expired_watch_lists_again_and_tells_what_vanished_meanwhile() -> None:
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
    client = ScriptedClient(
        lists=[
            {"items": [obj("a", 1), obj("b", 2)], "metadata": {"resourceVersion": "10"}},
            ApiFailure(503, "ServiceUnavailable", "etcd is busy"),  # a failed list is retried too
            {"items": [obj("b", 30), obj("c", 31)], "metadata": {"resourceVersion": "32"}},
        ],
        streams=[[line("ERROR", gone)], [line("ADDED", obj("d", 33))]],
    )
    seen = run_informer(client, until=6)
    assert seen == [(None, "a"), (None, "b"), (None, "b"), (None, "c"), ("DELETED", "a"), ("ADDED", "d")]
    assert client.watch_params[1]["resourceVersion"] == "32"


def test_a_handler_that_fails_on_one_object_does_not_stop_the_others() -> None:
    client = ScriptedClient(
        lists=[{"items": [obj("bad", 1), obj("good", 2)], "metadata": {"resourceVersion": "3"}}],
        streams=[],
    )
    seen: list[str] = []

    def handler(_: str | None, o: dict[str, Any]) -> None:
        if o["metadata"]["name"] == "bad":
            raise KeyError("status")
        seen.append(o["metadata"]["name"])

    async def main() -> None:
        informer = Informer(client, "/x", resource="jobs.batch", selector="s", handler=handler)  # type: ignore[arg-type]
        task = asyncio.create_task(informer.run())
        await asyncio.wait_for(informer.synced.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert seen == ["good"]


def suspended_job(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "suspend": True,  # never runs: only its events matter here
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }


def client_of(devcluster: DevCluster) -> KubeClient:
    info = kopf.ConnectionInfo(
        server=devcluster.url,
        scheme="Bearer",
        token=devcluster.token,
        ca_data=base64.b64encode(devcluster.certificate.ca_pem).decode(),
    )
    return KubeClient(info)


def test_against_the_dev_cluster_only_labelled_jobs_trimmed(devcluster: DevCluster, namespace: str) -> None:
    async def main() -> list[tuple[str | None, dict[str, Any]]]:
        client = client_of(devcluster)
        path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
        seen: list[tuple[str | None, dict[str, Any]]] = []
        informer = Informer(
            client,
            path,
            resource="jobs.batch",
            selector="baton.dev/run",
            handler=lambda t, o: seen.append((t, o)),
            transform=trim_job,
        )
        try:
            await client.create(path, suspended_job("listed", {"baton.dev/run": "r"}), resource="jobs.batch")
            task = asyncio.create_task(informer.run())
            await asyncio.wait_for(informer.synced.wait(), 10)
            await client.create(path, suspended_job("other", {"app": "x"}), resource="jobs.batch")
            await client.create(path, suspended_job("watched", {"baton.dev/run": "r"}), resource="jobs.batch")
            await client.delete(f"{path}/listed", resource="jobs.batch")
            for _ in range(200):
                if any(t == "DELETED" for t, _ in seen):
                    break
                await asyncio.sleep(0.02)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            await client.close()
        return seen

    seen = asyncio.run(main())
    names = [(t, o["metadata"]["name"]) for t, o in seen]
    assert names[0] == (None, "listed")
    assert ("ADDED", "watched") in names and ("DELETED", "listed") in names
    assert all(name != "other" for _, name in names)
    assert all("spec" not in o for _, o in seen)  # trimmed before anyone holds it


def test_catch_up_hands_on_the_events_that_arrived_while_the_loop_was_busy(
    devcluster: DevCluster, namespace: str
) -> None:
    """What a reconcile waits for before it plans: events whose bytes reached the socket while the event
    loop was busy (here a blocking sleep stands in for a long plan) are in the cache when it returns."""

    def create_many() -> None:
        jobs = devcluster.registry.storage("batch", "jobs")
        for i in range(50):
            devcluster.store.create(jobs, namespace, suspended_job(f"burst-{i}", {"baton.dev/run": "r"}))

    async def main() -> tuple[int, set[str], int]:
        client = client_of(devcluster)
        seen: list[str] = []
        informer = Informer(
            client,
            f"/apis/batch/v1/namespaces/{namespace}/jobs",
            resource="jobs.batch",
            selector="baton.dev/run",
            handler=lambda _, o: seen.append(o["metadata"]["name"]),
            transform=trim_job,
        )
        try:
            task = asyncio.create_task(informer.run())
            await asyncio.wait_for(informer.synced.wait(), 10)
            await asyncio.sleep(0.2)  # the watch is open
            devcluster.sync(create_many)  # the 50 events are sent now, while this loop...
            time.sleep(0.3)  # noqa: ASYNC251 ...is busy (a long plan): blocking on purpose
            before = len(seen)
            await informer_module.catch_up([informer])
            after = set(seen)
            caught = len(seen)
            await asyncio.sleep(0.3)
            late = len(seen) - caught  # what catch_up had left behind
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            await client.close()
        return before, after, late

    before, after, late = asyncio.run(main())
    assert before == 0  # nothing is handed on while the loop is busy
    assert after == {f"burst-{i}" for i in range(50)} and late == 0  # all of it, before the plan


def test_catch_up_returns_after_a_few_turns_when_nothing_comes() -> None:
    class Idle:
        delivered = 7

    async def main() -> int:
        turns = 0

        async def count() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count())
        await asyncio.sleep(0)
        start = turns
        await informer_module.catch_up([Idle()])  # type: ignore[list-item]
        counter.cancel()
        return turns - start

    assert asyncio.run(main()) <= informer_module.QUIET_TURNS + 1
