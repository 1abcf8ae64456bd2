"""The dev cluster's fault injection (test only, off by default), as a client sees it; and a warning that
names a field of control characters, which must not break the response."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.devcluster.cluster import DevCluster
from baton.devcluster.faults import ErrorRule, FaultPlan, plan_of

CM = "/api/v1/namespaces/default/configmaps"


class Raw:
    """Plain HTTPS requests to a dev cluster, status and headers kept (no client library's retries)."""

    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster
        self.context = ssl.create_default_context(cadata=cluster.certificate.ca_pem.decode())

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.cluster.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.cluster.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"{}")


@pytest.fixture
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[DevCluster, Raw]]:
    cluster = DevCluster(workdir=tmp_path / "cluster", faults=request.param)
    with cluster.running():
        yield cluster, Raw(cluster)


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


@pytest.mark.parametrize(
    ("verb", "resource", "draw", "code"),
    [
        ("create", "jobs.batch", 0.05, 503),
        ("create", "jobs.batch", 0.15, 409),  # the rates add up, in order
        ("create", "jobs.batch", 0.5, None),
        ("get", "jobs.batch", 0.05, 409),  # the first rule is for creates only: the second's slice
        ("get", "pods", 0.15, None),
    ],
)
def test_error_rules(verb: str, resource: str, draw: float, code: int | None) -> None:
    plan = FaultPlan(
        errors=(ErrorRule(503, 0.1, verbs=frozenset({"create"})), ErrorRule(409, 0.1, resources=frozenset()))
    )
    rule = plan.error_for(verb, resource, draw)
    assert (rule.code if rule else None) == code


def test_profiles_combine_and_unknown_ones_are_named() -> None:
    plan = plan_of("errors,throttle,watch-drops", seed=7)
    assert [r.code for r in plan.errors] == [500, 503, 429] and plan.watch_events == 20 and plan.seed == 7
    assert plan_of("all").down_for == 20.0
    with pytest.raises(ValueError, match="unknown fault profile sometimes; known: errors"):
        plan_of("errors,sometimes")


@pytest.mark.parametrize("faulty", [FaultPlan(errors=(ErrorRule(429, 1.0, retry_after=3),))], indirect=True)
def test_a_throttled_request_gets_429_with_retry_after(faulty: tuple[DevCluster, Raw]) -> None:
    cluster, raw = faulty
    code, headers, body = raw("POST", CM, configmap("a"))
    assert (code, headers.get("Retry-After"), body["reason"]) == (429, "3", "TooManyRequests")
    assert cluster.faults is not None and cluster.faults.injected["429"] == 1
    assert cluster.sync(cluster.store.find, ("", "configmaps"), "default", "a") is None  # nothing was done


@pytest.mark.parametrize(
    "faulty", [FaultPlan(errors=(ErrorRule(409, 1.0, verbs=frozenset({"update", "patch"})),))], indirect=True
)
def test_conflicts_only_on_updates(faulty: tuple[DevCluster, Raw]) -> None:
    _, raw = faulty
    assert raw("POST", CM, configmap("b"))[0] == 201
    assert raw("GET", f"{CM}/b")[0] == 200
    code, _, body = raw("PUT", f"{CM}/b", configmap("b"))
    assert (code, body["reason"]) == (409, "Conflict")


@pytest.mark.parametrize("faulty", [FaultPlan(watch_events=3)], indirect=True)
def test_a_watch_is_cut_after_n_events(faulty: tuple[DevCluster, Raw]) -> None:
    cluster, raw = faulty
    for i in range(5):
        raw("POST", CM, configmap(f"w{i}"))
    request = urllib.request.Request(f"{cluster.url}{CM}?watch=true&resourceVersion=1")
    request.add_header("Authorization", f"Bearer {cluster.token}")
    with urllib.request.urlopen(request, context=raw.context, timeout=10) as response:
        lines = [line for line in response.read().splitlines() if line.strip()]  # ends: the server cut it
    assert len(lines) >= 3


@pytest.mark.parametrize("faulty", [FaultPlan()], indirect=True)
def test_down_means_no_answer_then_back_with_the_data(faulty: tuple[DevCluster, Raw]) -> None:
    cluster, raw = faulty
    assert raw("POST", CM, configmap("kept"))[0] == 201
    assert cluster.loop is not None
    import asyncio

    outage = asyncio.run_coroutine_threadsafe(cluster.go_down(1.0), cluster.loop)
    time.sleep(0.3)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        raw("GET", f"{CM}/kept")
    outage.result(10)
    code, _, body = raw("GET", f"{CM}/kept")
    assert (code, body["data"]) == (200, {"k": "v"})


@pytest.mark.parametrize("faulty", [FaultPlan()], indirect=True)
def test_a_warning_naming_a_control_character_field_is_escaped(faulty: tuple[DevCluster, Raw]) -> None:
    from baton.cli.dev import install_crds

    cluster, raw = faulty
    cluster.sync(install_crds, cluster)
    spec = {"taskDefaults": {"image": "busybox"}, "tasks": [{"name": "a", "\x1fodd": 1}]}
    body = {"apiVersion": "baton.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": "odd"}, "spec": spec}
    code, headers, _ = raw("POST", "/apis/baton.dev/v1alpha1/namespaces/default/pipelines", body)
    assert code == 201  # an unknown field is dropped, with a warning that names it
    warning = headers.get("Warning", "")
    assert "\\u001fodd" in warning and "\x1f" not in warning
