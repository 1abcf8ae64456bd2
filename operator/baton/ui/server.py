"""The UI's HTTP server: each page reads what it shows from the API server with the user's own
credentials (the kubeconfig's, or the Pod's) and renders it (`pages`). Read-only; nothing is cached, so
a page is as fresh as the cluster.

Every response carries a Content-Security-Policy that allows no script, no frame and nothing from
elsewhere: the pages work without JavaScript, and a value that got past escaping could still run nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from baton import GROUP, VERSION
from baton.cli.logs import find_unit, recorded_attempt, split_instance
from baton.cli.output import run_view
from baton.controller.client import ApiFailure, KubeClient
from baton.kube import labels
from baton.kube.names import label_value

from .markup import Markup
from .pages import Filters, LogView, error_page, overview, pipeline_page, run_page

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOG_LINES = 5000
"""The end of a log shown on a page (the whole log: kubectl baton logs)."""
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
    ) -> None:
        self.client = client
        self.hosts = frozenset(hosts)
        """The Host headers it answers (empty: any). Against DNS rebinding: a web page whose name was
        made to point at 127.0.0.1 sends its own name, and is refused."""
        self.namespaces = list(namespaces) if namespaces is not None else None
        """None: every namespace."""
        self.clock = clock

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors])
        app.router.add_get("/", self.overview)
        app.router.add_get("/runs/{namespace}/{name}", self.run)
        app.router.add_get("/pipelines/{namespace}/{name}", self.pipeline)
        app.router.add_get("/healthz", self.healthz)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if self.hosts and request.host not in self.hosts:
                raise web.HTTPMisdirectedRequest(
                    text=f'this UI does not answer for host "{request.host[:100]}"'
                )
            return await handler(request)
        except ApiFailure as failure:
            code = failure.code if failure.code in (401, 403, 404) else 502
            what = f"the API server answered {failure.code} {failure.reason}" if failure.code else "no answer"
            return _html(error_page(code, f"{what}: {failure.message[:500]}"), code)
        except web.HTTPException as error:
            return _html(error_page(error.status, error.text or error.reason), error.status)
        except Exception as error:  # an object this version cannot render must not cost a bare 500
            log.exception("the page %s failed", request.path)
            return _html(error_page(500, f"this page could not be rendered: {str(error)[:300]}"), 500)

    async def healthz(self, _: web.Request) -> web.Response:
        return _html(Markup("ok"))

    # -- reading ------------------------------------------------------------------------------------

    def _paths(self, plural: str, namespace: str | None = None) -> list[str]:
        base = f"/apis/{GROUP}/{VERSION}"
        if namespace is not None:
            return [f"{base}/namespaces/{namespace}/{plural}"]
        if self.namespaces is None:
            return [f"{base}/{plural}"]
        return [f"{base}/namespaces/{ns}/{plural}" for ns in self.namespaces]

    async def _list(
        self, plural: str, namespace: str | None = None, selector: str = ""
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params = {"labelSelector": selector} if selector else None
        for path in self._paths(plural, namespace):
            found = await self.client.request("GET", path, params=params, verb="list", resource=plural)
            items += found.get("items") or []
        return items

    def _shown(self, namespace: str) -> None:
        if len(namespace) > 63 or not NAMESPACE.fullmatch(namespace):
            raise web.HTTPBadRequest(text=f'"{namespace[:80]}" is not a namespace name')
        if self.namespaces is not None and namespace not in self.namespaces:
            shown = ", ".join(self.namespaces)
            raise web.HTTPNotFound(text=f'namespace "{namespace}" is not one this UI shows ({shown})')

    async def _get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}"
        try:
            return await self.client.request("GET", path, verb="get", resource=plural)
        except ApiFailure as failure:
            if failure.code == 404:
                return None
            raise

    # -- pages --------------------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        query = request.query
        filters = Filters(query.get("namespace", ""), query.get("pipeline", ""), query.get("phase", ""))
        namespace = filters.namespace or None
        if namespace is not None:
            self._shown(namespace)
        pipelines = await self._list("pipelines", namespace)
        runs = await self._list("pipelineruns", namespace)
        return _html(overview(pipelines, runs, filters, self.clock()))

    async def _required(self, request: web.Request, plural: str) -> tuple[str, str, dict[str, Any]]:
        """The object the page's path names (namespace, name, the object), or a 404 that says so."""
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        self._shown(namespace)
        if len(name) > 253 or not NAME.fullmatch(name):
            raise web.HTTPBadRequest(text=f'"{name[:80]}" is not an object name')
        found = await self._get(plural, namespace, name)
        if found is None:
            kind = plural.removesuffix("s")
            raise web.HTTPNotFound(text=f'{kind} "{name}" not found in namespace "{namespace}"')
        return namespace, name, found

    async def run(self, request: web.Request) -> web.Response:
        namespace, name, run = await self._required(request, "pipelineruns")
        pipeline = None
        ref = ((run.get("spec") or {}).get("pipelineRef") or {}).get("name")
        if ref and not (run.get("status") or {}).get("pipelineSpec"):
            pipeline = await self._get("pipelines", namespace, ref)  # not started: its Pipeline's spec
        uid = run["metadata"].get("uid", "")  # not an older run's of the same name
        selector = f"involvedObject.name={name},involvedObject.kind=PipelineRun,involvedObject.uid={uid}"
        found = await self.client.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": selector},
            verb="list",
            resource="events",
        )
        events = sorted(found.get("items") or [], key=lambda e: e.get("lastTimestamp") or "")
        task = request.query.get("task")
        log_view = await self._log(run, pipeline, task, request.query.get("attempt")) if task else None
        return _html(run_page(run, pipeline, events, log_view, self.clock()))

    async def pipeline(self, request: web.Request) -> web.Response:
        namespace, name, pipeline = await self._required(request, "pipelines")
        runs = await self._list("pipelineruns", namespace, f"{labels.PIPELINE}={label_value(name)}")
        return _html(pipeline_page(pipeline, runs, self.clock()))

    async def _log(
        self, run: dict[str, Any], pipeline: dict[str, Any] | None, task: str, attempt_text: str | None
    ) -> LogView:
        view = run_view(run, pipeline)
        state = find_unit(view, task)  # a task, or one instance of a forEach task ("extract[3]")
        if state is None:
            raise web.HTTPNotFound(text=f'task "{task[:80]}" is not in pipelinerun "{view.name}"')
        attempts = int(state.get("attempts") or 0)
        try:
            attempt = int(attempt_text) if attempt_text else attempts
        except ValueError:
            shown = (attempt_text or "")[:20]
            raise web.HTTPBadRequest(text=f'attempt "{shown}" is not a number') from None
        if state.get("items") is not None and not attempts:
            return LogView(task, 0, "", f"a forEach task: each of its {state['items']} instances has its log")
        if attempt < 1 or attempts == 0:
            return LogView(task, 0, "", "it has not started: no log yet")
        if attempt > attempts:
            raise web.HTTPNotFound(text=f'task "{task[:80]}" has had {attempts} attempt(s), not {attempt}')
        namespace = run["metadata"]["namespace"]
        base, instance = split_instance(task)
        parts = [f"{labels.RUN}={label_value(view.name)}", f"{labels.TASK}={label_value(base)}"]
        if instance is not None:
            parts.append(f"{labels.INSTANCE}={instance}")
        parts.append(f"{labels.ATTEMPT}={attempt}")
        pods = await self.client.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/pods",
            params={"labelSelector": ",".join(parts)},
            verb="list",
            resource="pods",
        )
        items = pods.get("items") or []
        if items:
            pod = items[-1]["metadata"]["name"]
            text = await self.client.text(
                f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                params={"container": "main", "tailLines": str(LOG_LINES)},
                resource="pods/log",
            )
            cut = text.count("\n") >= LOG_LINES
            note = f"its last {LOG_LINES:,} lines (all of it: kubectl baton logs)" if cut else ""
            return LogView(task, attempt, text, note if text else "the log is empty")
        kept = recorded_attempt(state, attempt)
        if kept is not None and kept.tail:
            return LogView(
                task, attempt, kept.tail, "its Pod is gone: the log tail recorded on the run follows"
            )
        return LogView(task, attempt, "", "its Pod is gone and the run's status kept no log tail of it")


def _html(body: Markup, status: int = 200) -> web.Response:
    return web.Response(
        text=str(body), status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )
