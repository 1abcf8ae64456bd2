"""Load the dev cluster: 10,000 objects created concurrently over HTTPS, listed in chunks, and 100
concurrent watches that all see one change. Afterwards it must still answer, and forget the watchers.

It runs in the default test run (marked `slow` so it can be deselected with `-m "not slow"`). Wall
times are printed, never asserted: the machine may be loaded.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from baton.devcluster.cluster import DevCluster
from support import Kubectl, wait_for

pytestmark = pytest.mark.slow

OBJECTS = 10_000
WATCHES = 100
NAMESPACE = "scale"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    """Its own dev cluster, so 10,000 objects do not slow the other suites' lists down."""
    cluster = DevCluster(workdir=tmp_path_factory.mktemp("scale"), bookmark_interval=5.0)
    with cluster.running():
        ns_type = cluster.registry.storage("", "namespaces")
        cluster.sync(cluster.store.create, ns_type, "", {"metadata": {"name": NAMESPACE}})
        yield cluster


def _session(cluster: DevCluster, connections: int) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cadata=cluster.certificate.ca_pem.decode())
    return aiohttp.ClientSession(
        base_url=cluster.url,
        headers={"Authorization": f"Bearer {cluster.token}", "User-Agent": "scale-test/1.0"},
        connector=aiohttp.TCPConnector(ssl=context, limit=connections),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120),
    )


async def _create_all(cluster: DevCluster) -> list[int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(OBJECTS):
        queue.put_nowait(i)
    codes: list[int] = []

    async with _session(cluster, 16) as session:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"obj-{i:05d}", "labels": {"shard": str(i % 10)}},
                    "data": {"index": str(i)},
                }
                async with session.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=body) as response:
                    await response.read()
                    codes.append(response.status)

        await asyncio.gather(*(worker() for _ in range(16)))
    return codes


@pytest.fixture(scope="module")
def loaded(cluster: DevCluster) -> DevCluster:
    started = time.monotonic()
    codes = asyncio.run(_create_all(cluster))
    elapsed = time.monotonic() - started
    print(f"\ncreated {OBJECTS} configmaps in {elapsed:.1f}s ({OBJECTS / elapsed:.0f}/s)")
    assert codes.count(201) == OBJECTS, {code: codes.count(code) for code in set(codes)}
    return cluster


def test_ten_thousand_objects_list_in_chunks(loaded: DevCluster) -> None:
    async def pages() -> tuple[list[str], int, set[str]]:
        names: list[str] = []
        count = 0
        versions: set[str] = set()
        token = ""
        async with _session(loaded, 2) as session:
            while True:
                params = {"limit": "500", **({"continue": token} if token else {})}
                async with session.get(
                    f"/api/v1/namespaces/{NAMESPACE}/configmaps", params=params
                ) as response:
                    assert response.status == 200
                    page = await response.json()
                count += 1
                names += [item["metadata"]["name"] for item in page["items"]]
                versions.add(page["metadata"]["resourceVersion"])
                token = page["metadata"].get("continue", "")
                if not token:
                    break
                assert page["metadata"]["remainingItemCount"] == OBJECTS - len(names)
            async with session.get(
                f"/api/v1/namespaces/{NAMESPACE}/configmaps", params={"labelSelector": "shard=3"}
            ) as response:
                shard = await response.json()
            assert len(shard["items"]) == OBJECTS // 10
        return names, count, versions

    started = time.monotonic()
    names, count, versions = asyncio.run(pages())
    print(f"listed {len(names)} in {count} chunks in {time.monotonic() - started:.1f}s")
    assert count == OBJECTS // 500
    assert names == [f"obj-{i:05d}" for i in range(OBJECTS)]
    assert len(versions) == 1  # every chunk reports the resourceVersion of the first


def test_kubectl_lists_ten_thousand_objects(
    loaded: DevCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    kubectl = Kubectl(
        loaded.write_kubeconfig(tmp_path_factory.mktemp("scale-kube") / "config"),
        tmp_path_factory.mktemp("scale-home"),
    )
    started = time.monotonic()
    out = kubectl("get", "configmaps", "-n", NAMESPACE, "-o", "name", "--chunk-size=1000", timeout=180)
    print(f"kubectl listed {OBJECTS} in {time.monotonic() - started:.1f}s")
    assert len(out.stdout.split()) == OBJECTS


def test_hundred_concurrent_watches_all_see_a_change(loaded: DevCluster) -> None:
    baseline = loaded.sync(lambda: loaded.store.watcher_count)

    async def run() -> list[dict[str, Any]]:
        async with _session(loaded, WATCHES + 4) as session:
            async with session.get(
                f"/api/v1/namespaces/{NAMESPACE}/configmaps", params={"limit": "1"}
            ) as response:
                rv = (await response.json())["metadata"]["resourceVersion"]

            async def watch_one(i: int) -> dict[str, Any]:
                # Half with bookmarks and a label selector, half plain: both kinds must be released.
                params = {
                    "watch": "true",
                    "resourceVersion": rv,
                    "allowWatchBookmarks": str(i % 2 == 1).lower(),
                    "labelSelector": "purpose=ping" if i % 2 else "",
                }
                async with session.get(
                    f"/api/v1/namespaces/{NAMESPACE}/configmaps", params=params
                ) as response:
                    assert response.status == 200
                    async for line in response.content:
                        event: dict[str, Any] = json.loads(line)
                        if event["type"] == "ADDED":
                            return event
                raise AssertionError("the watch ended without the event")

            watchers = [asyncio.create_task(watch_one(i)) for i in range(WATCHES)]
            deadline = time.monotonic() + 60
            while loaded.sync(lambda: loaded.store.watcher_count) < baseline + WATCHES:
                assert time.monotonic() < deadline, "not every watch was established"
                await asyncio.sleep(0.05)
            body = {"metadata": {"name": "ping", "labels": {"purpose": "ping"}}}
            async with session.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=body) as response:
                assert response.status == 201
            return list(await asyncio.wait_for(asyncio.gather(*watchers), 120))

    started = time.monotonic()
    events = asyncio.run(run())
    print(f"{WATCHES} watches saw the change within {time.monotonic() - started:.1f}s")
    assert [e["object"]["metadata"]["name"] for e in events] == ["ping"] * WATCHES
    # The clients are gone: the server forgets their watchers without waiting for another event.
    wait_for(
        lambda: loaded.sync(lambda: loaded.store.watcher_count) <= baseline,
        30,
        message="the closed watches to be released",
    )


def test_still_answering_afterwards(loaded: DevCluster) -> None:
    async def probe() -> tuple[int, int, int]:
        async with _session(loaded, 2) as session:
            async with session.get("/version") as version:
                v = version.status
            async with session.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps/obj-09999") as one:
                o = one.status
            async with session.delete(f"/api/v1/namespaces/{NAMESPACE}/configmaps/ping") as deleted:
                d = deleted.status
        return v, o, d

    assert asyncio.run(probe()) == (200, 200, 200)
