"""How watch events leave the dev cluster: from the commit that stored them, and in order when the client
falls behind (then through the watch's own task, which waits for the client)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from baton.devcluster.cluster import DevCluster
from baton.devcluster.resources import Registry
from baton.devcluster.store import Store, Watcher, WatchEvent
from baton.devcluster.watching import DIRECT_BUFFER_LIMIT, _DirectSend


def _configmap(name: str, payload: str = "") -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"payload": payload}}


class _Watch:
    """A watch over http.client, whose socket the test may leave unread."""

    def __init__(self, cluster: DevCluster, path: str, receive_buffer: int | None = None) -> None:
        url = urlsplit(cluster.url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # before connecting: it sets the window the server may fill
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(60)
        host = url.hostname or "127.0.0.1"
        sock.connect((host, url.port or 443))
        context = ssl.create_default_context(cadata=cluster.certificate.ca_pem.decode())
        self.connection = http.client.HTTPSConnection(host, url.port, timeout=60, context=context)
        self.connection.sock = context.wrap_socket(sock, server_hostname=host)
        self.connection.request("GET", path, headers={"Authorization": f"Bearer {cluster.token}"})
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Transfer-Encoding") == "chunked"

    def next(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "the watch ended"
        event: dict[str, Any] = json.loads(line)
        return event

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def configmaps(devcluster: DevCluster, namespace: str) -> Iterator[tuple[Any, str]]:
    rt = devcluster.registry.storage("", "configmaps")
    assert rt is not None
    yield rt, f"/api/v1/namespaces/{namespace}/configmaps"


def _resource_version(devcluster: DevCluster) -> int:
    return int(devcluster.sync(lambda: devcluster.store.resource_version))


def test_an_event_is_sent_by_the_write_that_stores_it(
    devcluster: DevCluster, namespace: str, configmaps: tuple[Any, str]
) -> None:
    rt, path = configmaps
    watch = _Watch(devcluster, f"{path}?watch=true&resourceVersion={_resource_version(devcluster)}")
    try:
        received = threading.Event()
        seen: list[dict[str, Any]] = []

        def read() -> None:
            seen.append(watch.next())
            received.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # The watch's task has had its turn (it waits on an empty queue): a second watch's first event is
        # only sent once the server has registered it, so this write goes after that.
        devcluster.sync(lambda: None)

        def create_and_wait() -> bool:
            # Holds the cluster's loop: no task of it runs until this returns, so only an event sent from
            # the commit itself can reach the reader meanwhile.
            devcluster.store.create(rt, namespace, _configmap("direct"))
            return received.wait(10)

        assert devcluster.sync(create_and_wait) is True
        reader.join(10)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [("ADDED", "direct")]
    finally:
        watch.close()


def test_a_client_that_falls_behind_gets_every_event_in_order(
    devcluster: DevCluster, namespace: str, configmaps: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, path = configmaps
    answers: list[bool] = []
    send = _DirectSend.__call__

    def counted(self: _DirectSend, event: WatchEvent) -> bool:
        answers.append(send(self, event))
        return answers[-1]

    monkeypatch.setattr(_DirectSend, "__call__", counted)
    since = _resource_version(devcluster)
    # A small window and nothing read: the socket's buffers fill, the server's own buffer passes its limit,
    # and the later events wait in the watch's queue (several MiB, more than loopback buffers hold).
    watch = _Watch(devcluster, f"{path}?watch=true&resourceVersion={since}", receive_buffer=4096)
    count, payload = 1500, "x" * 4000
    try:
        devcluster.sync(lambda: None)

        def create_all() -> None:
            for i in range(count):
                devcluster.store.create(rt, namespace, _configmap(f"cm-{i:04}", payload))

        devcluster.sync(create_all)
        devcluster.sync(lambda: devcluster.store.delete(rt, namespace, "cm-0000"))
        events = [watch.next() for _ in range(count + 1)]
    finally:
        watch.close()
    names = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert names == [("ADDED", f"cm-{i:04}") for i in range(count)] + [("DELETED", "cm-0000")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions) and versions[0] > since
    assert all(e["object"]["data"]["payload"] == payload for e in events)
    assert True in answers and False in answers  # both ways were taken: from the commit, and queued


class _Transport:
    def __init__(self, buffered: int = 0, closing: bool = False) -> None:
        self.buffered, self.closing, self.written = buffered, closing, b""

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def write(self, data: bytes) -> None:
        self.written += data


def _event(name: str, rv: int) -> WatchEvent:
    return WatchEvent("ADDED", ("", "configmaps"), "ns", {"metadata": {"name": name}}, rv)


@pytest.mark.parametrize(
    ("case", "idle", "framed", "queued", "transport", "sent"),
    [
        ("the task waits on an empty queue", True, True, False, _Transport(), True),
        ("the task holds an event it has not written", False, True, False, _Transport(), False),
        ("events wait in the queue: this one goes after them", True, True, True, _Transport(), False),
        ("the body is not chunked (HTTP/1.0)", True, False, False, _Transport(), False),
        ("the client went away", True, True, False, _Transport(closing=True), False),
        ("no transport", True, True, False, None, False),
        ("at the buffer's limit", True, True, False, _Transport(DIRECT_BUFFER_LIMIT), True),
        ("past the buffer's limit", True, True, False, _Transport(DIRECT_BUFFER_LIMIT + 1), False),
    ],
)
def test_when_an_event_is_sent_from_the_commit(
    case: str, idle: bool, framed: bool, queued: bool, transport: _Transport | None, sent: bool
) -> None:
    watcher = Watcher(("", "configmaps"), None, None, None)
    if queued:
        watcher.queue.put_nowait(_event("earlier", 1))
    direct = _DirectSend(transport, framed, watcher, lambda obj: obj)  # type: ignore[arg-type]
    direct.idle = idle
    assert direct(_event("cm", 7)) is sent, case
    assert (direct.sent, direct.last_rv) == ((1, 7) if sent else (0, 0)), case
    if sent:
        assert transport is not None
        frame = b'{"type":"ADDED","object":{"metadata":{"name":"cm"}}}\n'
        assert transport.written == b"%x\r\n%b\r\n" % (len(frame), frame)  # one HTTP/1.1 chunk


def test_an_event_that_cannot_be_rendered_is_left_to_the_task() -> None:
    def broken(obj: Any) -> Any:
        raise ValueError("no")

    direct = _DirectSend(_Transport(), True, Watcher(("", "configmaps"), None, None, None), broken)  # type: ignore[arg-type]
    direct.idle = True
    assert direct(_event("cm", 1)) is False


def test_a_controllers_burst_goes_out_in_one_send_at_its_end() -> None:
    registry = Registry.with_builtins()
    store = Store(registry)
    configmaps, namespaces = registry.storage("", "configmaps"), registry.storage("", "namespaces")
    assert configmaps is not None and namespaces is not None
    store.create(namespaces, "", {"metadata": {"name": "default"}})
    transport = _Transport()
    watcher = Watcher(("", "configmaps"), None, None, None)
    direct = _DirectSend(transport, True, watcher, lambda obj: obj["metadata"]["name"], store)  # type: ignore[arg-type]
    direct.idle = True
    watcher.sink = direct
    store._watchers.append(watcher)  # as `store.watch` registers it
    with store.batch():
        with store.batch():  # nested: only the outermost one's end sends
            store.create(configmaps, "default", _configmap("first"))
        store.create(configmaps, "default", _configmap("second"))
        assert transport.written == b"" and direct.sent == 2  # held, in order, not queued
    frames = b'{"type":"ADDED","object":"first"}\n{"type":"ADDED","object":"second"}\n'
    assert transport.written == b"%x\r\n%b\r\n" % (len(frames), frames)
    assert watcher.queue.empty()
    store.create(configmaps, "default", _configmap("third"))  # outside a batch: sent at once
    assert transport.written.endswith(b'{"type":"ADDED","object":"third"}\n\r\n')
