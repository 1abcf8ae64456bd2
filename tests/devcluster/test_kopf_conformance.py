"""kopf (1.45) against the dev cluster: the watches, patches and finalizers an operator lives on.

A small operator runs in a thread, scoped to one namespace, with the handler kinds Baton uses or may
use: create/update/delete handlers (progress annotations, a finalizer added with a JSON patch that
tests the resourceVersion, status patches through the status subresource), an index and an event
handler. Nothing may go wrong in kopf's log.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from conformance_kit import Raw, widget, widget_crd

from baton.devcluster.cluster import DevCluster
from support import wait_for

GROUP = "kopf.baton.dev"
FINALIZER = "kopf.baton.dev/finalizer"


@pytest.fixture(scope="module")
def raw(devcluster: DevCluster) -> Iterator[Raw]:
    client = Raw(devcluster)
    client.ok(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        widget_crd(GROUP, plural="levers", kind="Lever", short="lv", category="kopf-things"),
    )
    wait_for(lambda: client.get(f"/apis/{GROUP}/v1/levers").status == 200, 30, message="the CRD to serve")
    yield client
    client.close()


class Operator:
    """A kopf operator on its own event loop in a thread; records what its handlers saw."""

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.seen: list[tuple[str, str]] = []
        self.registry = kopf.OperatorRegistry()
        self.stop_flag, self.ready_flag = threading.Event(), threading.Event()
        self._register()
        self.thread = threading.Thread(target=self._run, name="kopf-operator", daemon=True)

    def _register(self) -> None:
        registry, seen = self.registry, self.seen

        @kopf.on.startup(registry=registry)
        def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
            settings.persistence.finalizer = FINALIZER
            settings.watching.server_timeout = 60
            settings.posting.level = logging.WARNING

        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(
                server=self.cluster.url,
                scheme="Bearer",
                token=self.cluster.token,
                ca_data=base64.b64encode(self.cluster.certificate.ca_pem).decode(),
            )

        @kopf.on.create(GROUP, "v1", "levers", registry=registry)
        def created(name: str, spec: Any, patch: kopf.Patch, **_: Any) -> None:
            seen.append(("create", name))
            patch.status["phase"] = f"Created{spec['size']}"

        @kopf.on.update(GROUP, "v1", "levers", registry=registry)
        def updated(name: str, spec: Any, patch: kopf.Patch, **_: Any) -> None:
            seen.append(("update", name))
            patch.status["phase"] = f"Updated{spec['size']}"

        @kopf.on.delete(GROUP, "v1", "levers", registry=registry)
        def deleted(name: str, **_: Any) -> None:
            seen.append(("delete", name))

        @kopf.index("", "v1", "configmaps", registry=registry, id="by_name")
        def by_name(name: str, **_: Any) -> dict[str, bool]:
            return {name: True}

        @kopf.on.event("", "v1", "configmaps", registry=registry)
        def configmap_event(type: str | None, name: str, by_name: kopf.Index[str, bool], **_: Any) -> None:
            if type == "ADDED" and name in by_name:
                seen.append(("indexed", name))

    def _run(self) -> None:
        asyncio.run(
            kopf.operator(
                registry=self.registry,
                standalone=True,
                namespaces=[self.namespace],
                stop_flag=self.stop_flag,
                ready_flag=self.ready_flag,
            )
        )

    def __enter__(self) -> Operator:
        self.thread.start()
        assert self.ready_flag.wait(60), "kopf did not get ready"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_flag.set()
        self.thread.join(60)


def test_kopf_operator_lifecycle(
    raw: Raw, devcluster: DevCluster, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = f"/apis/{GROUP}/v1/namespaces/{namespace}/levers"
    caplog.set_level(logging.WARNING, logger="kopf")
    with Operator(devcluster, namespace) as operator:
        raw.ok("POST", path, widget("l1", GROUP, size=2, kind="Lever"))
        wait_for(
            lambda: raw.ok("GET", f"{path}/l1").get("status", {}).get("phase") == "Created2",
            60,
            interval=0.1,
            message="the create handler's status",
        )
        lever = raw.ok("GET", f"{path}/l1")
        assert FINALIZER in lever["metadata"]["finalizers"]
        assert "kopf.zalando.org/last-handled-configuration" in lever["metadata"]["annotations"]

        raw.ok("PATCH", f"{path}/l1", {"spec": {"size": 5}}, content_type="application/merge-patch+json")
        wait_for(
            lambda: raw.ok("GET", f"{path}/l1").get("status", {}).get("phase") == "Updated5",
            60,
            interval=0.1,
            message="the update handler's status",
        )

        raw.ok("POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "noticed"}})
        wait_for(
            lambda: ("indexed", "noticed") in operator.seen, 60, interval=0.1, message="the indexed event"
        )

        raw.ok("DELETE", f"{path}/l1")
        wait_for(
            lambda: raw.get(f"{path}/l1").status == 404,
            60,
            interval=0.1,
            message="kopf to release its finalizer",
        )
    assert [s for s in operator.seen if s[0] != "indexed"] == [
        ("create", "l1"),
        ("update", "l1"),
        ("delete", "l1"),
    ]
    # Inconsistencies: kopf's handler results pruned from status (see the guide); not a dev cluster issue.
    problems = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR
        or (r.name == "kopf.objects" and r.levelno >= logging.WARNING and "inconsisten" not in r.getMessage())
    ]
    assert problems == []
