"""The UI's HTTP server: each page reads what it shows from the API server and renders it (`pages`,
`run_page`); nothing is cached, so a page is as fresh as the cluster. Actions (`acting`) and live
updates (`live`) are their own modules.

Whose rights its API requests use is `identity`'s to say: its own credentials, or a proxied user's.

Every response carries a Content-Security-Policy that allows only this UI's own script (live updates),
no inline script, no frame and nothing from elsewhere: a value that got past escaping could run nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from baton import GROUP, VERSION
from baton.controller.client import ApiFailure, KubeClient
from baton.kube import labels
from baton.kube.names import label_value

from . import acting, live, logs
from .csrf import Tokens
from .forms import Actions
from .identity import CLIENT, USER, identify
from .markup import Markup
from .pages import PHASES, Filters, back, error_page, overview, pipeline_page
from .run_page import run_page

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the UI's own
    # form posts, which the cross-site check could not tell from a foreign one.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

PUBLIC = ("/healthz", live.SCRIPT_PATH)
"""Paths served to anyone who reaches the UI, without a user (probes, the script)."""
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NAMESPACE = re.compile(_LABEL)
NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
"""A path's namespace and name go into the API path: nothing but a valid name may (no `..%2F`)."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Ui:
    def __init__(
        self,
        client: KubeClient,
        namespaces: Sequence[str] | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        hosts: Collection[str] = (),
        actions: bool = True,
        user_header: str | None = None,
        groups_header: str | None = None,
    ) -> None:
        self.client = client
        self.tokens = Tokens()
        self.actions = actions
        """False: read-only (no buttons; a POST is refused)."""
        self.user_header = user_header
        self.groups_header = groups_header
        self.hosts = frozenset(host.lower() for host in hosts)
        """The host names it answers, whatever the port (empty: any). Against DNS rebinding: a web page
        whose name was made to point at this UI sends its own name, and is refused."""
        self.namespaces = list(namespaces) if namespaces is not None else None
        """None: every namespace."""
        self.clock = clock

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors])
        app.router.add_get("/", self.overview)
        app.router.add_get("/runs/{namespace}/{name}", self.run)
        app.router.add_get("/pipelines/{namespace}/{name}", self.pipeline)
        app.router.add_get("/healthz", self.healthz)
        live.add_routes(app, self)  # before acting's /runs/NS/NAME/{action}, which would match /live too
        acting.add_routes(app, self)
        return app

    def acting_as(self, request: web.Request) -> Actions | None:
        """The forms a page offers to the user of ``request``; None on a read-only UI."""
        return Actions(self.tokens, request[USER]) if self.actions else None

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if self.hosts and hostname(request.host) not in self.hosts:
                raise web.HTTPMisdirectedRequest(
                    text=f'this UI does not answer for host "{request.host[:100]}"'
                )
            if request.path not in PUBLIC:
                identify(request, self.client, self.user_header, self.groups_header)
            return await handler(request)
        except ApiFailure as failure:
            code = failure.code if failure.code in (401, 403, 404) else 502
            what = f"the API server answered {failure.code} {failure.reason}" if failure.code else "no answer"
            return html(error_page(code, f"{what}: {failure.message[:500]}", back(request.path)), code)
        except web.HTTPException as error:
            if error.status < 400:  # a redirect
                raise
            return html(
                error_page(error.status, error.text or error.reason, back(request.path)), error.status
            )
        except Exception as error:  # an object this version cannot render must not cost a bare 500
            log.exception("the page %s failed", request.path)
            return html(error_page(500, f"this page could not be rendered: {str(error)[:300]}"), 500)

    async def healthz(self, _: web.Request) -> web.Response:
        return html(Markup("ok"))

    # -- reading ------------------------------------------------------------------------------------

    def _paths(self, plural: str, namespace: str | None = None) -> list[str]:
        base = f"/apis/{GROUP}/{VERSION}"
        if namespace is not None:
            return [f"{base}/namespaces/{namespace}/{plural}"]
        if self.namespaces is None:
            return [f"{base}/{plural}"]
        return [f"{base}/namespaces/{ns}/{plural}" for ns in self.namespaces]

    async def _list(
        self, client: KubeClient, plural: str, namespace: str | None = None, selector: str = ""
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params = {"labelSelector": selector} if selector else None
        for path in self._paths(plural, namespace):
            found = await client.request("GET", path, params=params, verb="list", resource=plural)
            items += found.get("items") or []
        return items

    def _shown(self, namespace: str) -> None:
        if len(namespace) > 63 or not NAMESPACE.fullmatch(namespace):
            raise web.HTTPBadRequest(text=f'"{namespace[:80]}" is not a namespace name')
        if self.namespaces is not None and namespace not in self.namespaces:
            shown = ", ".join(self.namespaces)
            raise web.HTTPNotFound(text=f'namespace "{namespace}" is not one this UI shows ({shown})')

    async def get(self, client: KubeClient, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}"
        try:
            return await client.request("GET", path, verb="get", resource=plural)
        except ApiFailure as failure:
            if failure.code == 404:
                return None
            raise

    async def required(self, request: web.Request, plural: str) -> tuple[str, str, dict[str, Any]]:
        """The object the request's path names (namespace, name, the object), or a 404 that says so."""
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        self._shown(namespace)
        if len(name) > 253 or not NAME.fullmatch(name):
            raise web.HTTPBadRequest(text=f'"{name[:80]}" is not an object name')
        found = await self.get(request[CLIENT], plural, namespace, name)
        if found is None:
            kind = plural.removesuffix("s")
            raise web.HTTPNotFound(text=f'{kind} "{name}" not found in namespace "{namespace}"')
        return namespace, name, found

    async def run_parts(
        self, client: KubeClient, run: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """What a run's page shows besides the run: its Pipeline (before the run froze its spec) and its
        Events, oldest first."""
        meta = run["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        pipeline = None
        ref = ((run.get("spec") or {}).get("pipelineRef") or {}).get("name")
        if ref and not (run.get("status") or {}).get("pipelineSpec"):
            pipeline = await self.get(client, "pipelines", namespace, ref)  # not started: its Pipeline's spec
        uid = meta.get("uid", "")  # not an older run's of the same name
        selector = f"involvedObject.name={name},involvedObject.kind=PipelineRun,involvedObject.uid={uid}"
        found = await client.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": selector},
            verb="list",
            resource="events",
        )
        return pipeline, sorted(found.get("items") or [], key=lambda e: e.get("lastTimestamp") or "")

    # -- pages --------------------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        query = request.query
        filters = Filters(query.get("namespace", ""), query.get("pipeline", ""), query.get("phase", ""))
        if filters.phase and filters.phase not in PHASES:
            raise web.HTTPBadRequest(
                text=f'"{filters.phase[:40]}" is not a phase: one of {", ".join(PHASES)}'
            )
        namespace = filters.namespace or None
        if namespace is not None:
            self._shown(namespace)
        pipelines = await self._list(request[CLIENT], "pipelines", namespace)
        runs = await self._list(request[CLIENT], "pipelineruns", namespace)
        return html(overview(pipelines, runs, filters, self.clock()))

    async def run(self, request: web.Request) -> web.Response:
        _, _, run = await self.required(request, "pipelineruns")
        pipeline, events = await self.run_parts(request[CLIENT], run)
        task = request.query.get("task")
        log_view = (
            await logs.log_view(request[CLIENT], run, pipeline, task, request.query.get("attempt"))
            if task
            else None
        )
        return html(run_page(run, pipeline, events, log_view, self.clock(), self.acting_as(request)))

    async def pipeline(self, request: web.Request) -> web.Response:
        namespace, name, pipeline = await self.required(request, "pipelines")
        selector = f"{labels.PIPELINE}={label_value(name)}"
        runs = await self._list(request[CLIENT], "pipelineruns", namespace, selector)
        return html(pipeline_page(pipeline, runs, self.clock(), self.acting_as(request)))


def hostname(host: str) -> str:
    """The name of a Host header, without its port ("[::1]:8080" is "[::1]")."""
    name = host.rsplit("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return name.lower()


def html(body: Markup, status: int = 200) -> web.Response:
    return web.Response(
        text=str(body), status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )
