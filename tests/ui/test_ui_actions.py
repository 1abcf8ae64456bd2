"""The UI's actions against the dev cluster with the operator running: each button does what the CLI does
and redirects to the run that shows it, records who asked, and refuses cross-site requests, forged
tokens and a read-only UI. Behind a proxy every request impersonates the proxied user."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from test_ui_pages import Dom
from ui_kit import Cluster, phase, serve, task_phase

from baton.controller.client import KubeClient
from baton.core.actors import ACTION, ACTOR
from baton.devcluster.cluster import DevCluster
from baton.ui.server import Ui

Http = TestClient[Any, Any]
SAME = {"Sec-Fetch-Site": "same-origin"}


async def form_of(http: Http, page: str, action: str) -> dict[str, str]:
    """The fields of the page's form that posts to ``action`` (its token among them)."""
    response = await http.get(page)
    assert response.status == 200, await response.text()
    dom = Dom(await response.text())
    fields: dict[str, str] | None = None
    for tag, attrs in dom.tags:
        if tag == "form":
            fields = {} if attrs.get("action") == action else None
        elif tag == "input" and fields is not None and attrs.get("name") and attrs.get("type") != "checkbox":
            fields[str(attrs["name"])] = str(attrs.get("value") or "")
        elif tag == "button" and fields is not None:
            return fields
    raise AssertionError(f"no form posting to {action} on {page}")


async def said(response: Any) -> str:
    """The text of a page, as a browser shows it."""
    return "".join(Dom(await response.text()).text)


async def post(http: Http, path: str, data: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return await http.post(
        path, data=data, headers=SAME if headers is None else headers, allow_redirects=False
    )


async def test_run_cancel_suspend_resume_and_retry_from_the_pages(
    cluster: Cluster, kube: KubeClient, tmp_path: Path, namespace: str
) -> None:
    http = await serve(Ui(kube, [namespace]))
    try:
        # Run with params: a required param left empty is refused with the CLI's message.
        start = f"/pipelines/{namespace}/gated/run"
        fields = await form_of(http, f"/pipelines/{namespace}/gated", start)
        assert fields["param.label"] == "x"  # its default, filled in
        refused = await post(http, start, fields)
        assert refused.status == 422
        assert 'missing value for required param "gate" (fill in gate)' in await said(refused)
        started = await post(http, start, {**fields, "param.gate": str(tmp_path / "go")})
        assert started.status == 303, await started.text()
        name = started.headers["Location"].rsplit("/", 1)[1]
        created = cluster.run(name)
        assert created["spec"]["params"] == {"gate": str(tmp_path / "go"), "label": "x"}
        assert created["metadata"]["annotations"][ACTOR] == "devcluster-admin"
        assert created["metadata"]["annotations"][ACTION] == "run"
        await cluster.until(name, lambda r: task_phase(r, "wait") == "Running")
        for _ in range(100):  # the operator's Event of the run's start names who asked for it
            if "run started by devcluster-admin at " in cluster.told():
                break
            await asyncio.sleep(0.1)
        assert "run started by devcluster-admin at " in cluster.told()

        page = f"/runs/{namespace}/{name}"
        suspended = await post(http, f"{page}/suspend", await form_of(http, page, f"{page}/suspend"))
        assert (suspended.status, suspended.headers["Location"]) == (303, page)
        run = await cluster.until(name, lambda r: phase(r) == "Suspended")
        assert run["spec"]["suspend"] is True
        shown = await http.get(page)
        assert "Suspended by devcluster-admin at " in "".join(Dom(await shown.text()).text)
        await post(http, f"{page}/resume", await form_of(http, page, f"{page}/resume"))
        await cluster.until(name, lambda r: phase(r) == "Running")

        cancel = await form_of(http, page, f"{page}/cancel")
        assert (await post(http, f"{page}/cancel", {**cancel, "message": "not today"})).status == 303
        run = await cluster.until(name, lambda r: phase(r) == "Cancelled")
        assert run["spec"]["cancel"] == {"runFinally": True, "message": "not today"}
        # The page of a finished run no longer offers Cancel; a stale form is refused with the reason.
        stale = await post(http, f"{page}/cancel", cancel)
        assert stale.status == 409 and "has already finished (Cancelled)" in await said(stale)

        (tmp_path / "go").touch()
        (tmp_path / "go.ok").touch()
        retried = await post(http, f"{page}/retry", await form_of(http, page, f"{page}/retry"))
        assert retried.status == 303
        again = retried.headers["Location"].rsplit("/", 1)[1]
        assert again.startswith("gated-retry-")
        run = await cluster.until(again, lambda r: phase(r) == "Succeeded")
        assert run["metadata"]["annotations"][ACTION] == "retry"
        retry_page = await http.get(f"/runs/{namespace}/{again}")
        assert f"Retry of {name}; retry started by devcluster-admin at " in "".join(
            Dom(await retry_page.text()).text
        )
    finally:
        await http.close()


async def test_cross_site_forged_and_read_only_posts_are_refused(
    cluster: Cluster, kube: KubeClient, namespace: str
) -> None:
    http = await serve(Ui(kube, [namespace]))
    start = f"/pipelines/{namespace}/gated/run"
    try:
        fields = {**(await form_of(http, f"/pipelines/{namespace}/gated", start)), "param.gate": "/nowhere"}
        for headers, why in [
            ({"Sec-Fetch-Site": "cross-site"}, "another site"),
            ({"Origin": "http://evil.example"}, "another origin"),
        ]:
            response = await post(http, start, fields, headers)
            assert response.status == 403 and why in await said(response)
        forged = await post(http, start, {**fields, "csrf": "0" * 64}, {})
        assert forged.status == 403 and "token is not valid" in await said(forged)
        other = f"/runs/{namespace}/whatever/cancel"  # a token is for its own form only
        assert (await post(http, other, fields)).status == 403
    finally:
        await http.close()
    read_only = await serve(Ui(kube, [namespace], actions=False))
    try:
        page = await read_only.get(f"/pipelines/{namespace}/gated")
        assert '<form method="post"' not in await page.text()
        refused = await post(read_only, start, fields)
        assert refused.status == 403 and "read-only" in await said(refused)
    finally:
        await read_only.close()
    assert cluster.runs() == []


async def test_behind_a_proxy_every_request_is_the_proxied_users(
    cluster: Cluster, kube: KubeClient, namespace: str, devcluster: DevCluster, tmp_path: Path
) -> None:
    http = await serve(
        Ui(kube, [namespace], user_header="X-Forwarded-User", groups_header="X-Forwarded-Groups")
    )
    alice = {"X-Forwarded-User": "alice@corp", "X-Forwarded-Groups": "data, oncall"}
    try:
        anonymous = await http.get("/")
        assert anonymous.status == 401 and "X-Forwarded-User" in await said(anonymous)
        assert (await http.get("/healthz")).status == 200  # probes need no user
        twice = await http.get(
            "/", headers=[("X-Forwarded-User", "mallory"), ("X-Forwarded-User", "alice@corp")]
        )
        assert twice.status == 400 and "more than once" in await said(twice)
        since = devcluster.sync(lambda: devcluster.audit.last_seq)
        start = f"/pipelines/{namespace}/gated/run"
        response = await http.get(f"/pipelines/{namespace}/gated", headers=alice)
        fields = {}
        for tag, attrs in Dom(await response.text()).tags:
            if tag == "input" and attrs.get("name"):
                fields[str(attrs["name"])] = str(attrs.get("value") or "")
        # Alice's token is hers: the same form posted as bob is refused.
        bob = await post(http, start, {**fields, "param.gate": "/x"}, {**SAME, "X-Forwarded-User": "bob"})
        assert bob.status == 403
        gate = tmp_path / "open"
        gate.touch()
        created = await post(http, start, {**fields, "param.gate": str(gate)}, {**SAME, **alice})
        assert created.status == 303, await created.text()
        name = created.headers["Location"].rsplit("/", 1)[1]
        assert cluster.run(name)["metadata"]["annotations"][ACTOR] == "alice@corp"
        users = {
            (r.verb, r.resource, r.user)
            for r in devcluster.sync(devcluster.audit.requests)
            if r.seq > since and r.client == "baton-ui"
        }
        assert ("create", "pipelineruns.baton.dev", "alice@corp") in users
        assert ("get", "pipelines.baton.dev", "alice@corp") in users
        # Never the UI's own credentials; bob's forged post was refused before it reached the API server.
        assert {user for *_, user in users} == {"alice@corp"}
    finally:
        await http.close()
