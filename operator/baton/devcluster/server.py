"""The aiohttp application: authentication, routing, audit, and the non-resource endpoints."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import discovery, errors, identity, openapi
from .audit import as_dicts
from .faults import MESSAGES, REASONS, Faults
from .rest import Outcome, Target, decode_body

if TYPE_CHECKING:
    from .cluster import DevCluster

log = logging.getLogger(__name__)

_PUBLIC = ("/healthz", "/livez", "/readyz")
# The apiserver's limit on request bodies (3 MiB); bigger ones get 413 RequestEntityTooLarge.
MAX_REQUEST_BYTES = 3 * 1024 * 1024
# A CRD may declare `scale` too; it is not served (404), rather than answered with the whole object.
_SERVED_SUBRESOURCES = ("status", "log")
_DUMPS_KW: dict[str, Any] = {"separators": (",", ":")}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What the audit middleware records about a request, filled in by the handlers.
AUDIT = web.RequestKey("audit", dict[str, Any])
USER = web.RequestKey("user", identity.UserInfo)
SELF_SUBJECT_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    response = web.Response(
        body=json.dumps(body, **_DUMPS_KW).encode(), status=status, content_type="application/json"
    )
    for warning in warnings or ():
        response.headers.add("Warning", '299 - "' + _header_text(warning).replace('"', '\\"') + '"')
    return response


def _header_text(text: str) -> str:
    """A header value must be printable ASCII: a warning naming a field of control or non-ASCII characters
    carries them escaped (\\u001f), never raw (which would break the response and the connection)."""
    return "".join(c if " " <= c <= "~" else f"\\u{ord(c):04x}" for c in text)


def _client_of(request: web.Request) -> str:
    agent = request.headers.get("User-Agent", "unknown")
    return agent.split(" ")[0].split("/")[0] or "unknown"


def build_app(cluster: DevCluster) -> web.Application:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[AUDIT] = {}
        code = 500
        user = ""
        try:
            if request.path not in _PUBLIC:
                header = request.headers.get("Authorization", "")
                supplied = header[7:] if header.startswith("Bearer ") else ""
                if not hmac.compare_digest(supplied.encode(), cluster.token.encode()):
                    raise errors.unauthorized()
                request[USER] = identity.user_of(request.headers)
                user = request[USER].username
            response = await handler(request)
            code = response.status
            return response
        except errors.ApiError as error:
            code = error.code
            return _json(error.status(), error.code)
        except web.HTTPRequestEntityTooLarge:
            code = 413
            too_large = errors.ApiError(
                413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_REQUEST_BYTES}"
            )
            return _json(too_large.status(), 413)
        except web.HTTPException as error:
            code = error.status
            if error.status == 404:
                missing = errors.ApiError(
                    404, "NotFound", "the server could not find the requested resource", details={}
                )
                return _json(missing.status(), 404)
            raise
        except Exception as error:  # the server must answer, not die, on a bug in one handler
            log.exception("request %s %s failed", request.method, request.path)
            code = 500
            return _json(errors.internal(f"an internal error occurred: {error}").status(), 500)
        finally:
            info = request[AUDIT]
            if not info.get("recorded"):
                cluster.audit.request(
                    client=_client_of(request),
                    verb=info.get("verb", request.method.lower()),
                    resource=info.get("resource", ""),
                    namespace=info.get("namespace", ""),
                    name=info.get("name", request.path if not info else ""),
                    subresource=info.get("subresource", ""),
                    code=code,
                    user=user,
                )

    app = web.Application(middlewares=[middleware], client_max_size=MAX_REQUEST_BYTES)
    routes = _Routes(cluster)
    app.router.add_get("/version", routes.version)
    app.router.add_get("/version/", routes.version)  # the Python client's VersionApi asks for this one
    for probe in _PUBLIC:
        app.router.add_get(probe, routes.healthz)
    app.router.add_get("/api", routes.api)
    app.router.add_get("/apis", routes.apis)
    app.router.add_get("/openapi/v2", routes.openapi_v2)
    app.router.add_get("/openapi/v3", routes.openapi_v3_index)
    app.router.add_get("/openapi/v3/{path:.+}", routes.openapi_v3)
    app.router.add_get("/devcluster/audit", routes.audit)
    app.router.add_route("*", SELF_SUBJECT_REVIEWS, routes.self_subject_review)  # before the generic route
    app.router.add_route("*", "/api/{version}", routes.core_root)
    app.router.add_route("*", "/api/{version}/{rest:.+}", routes.core_resource)
    app.router.add_get("/apis/{group}", routes.group)
    app.router.add_route("*", "/apis/{group}/{version}", routes.group_root)
    app.router.add_route("*", "/apis/{group}/{version}/{rest:.+}", routes.group_resource)
    return app


def _verb_of(request: web.Request, target: Target, legacy_watch: bool) -> str:
    method = request.method
    if method == "GET":
        if legacy_watch or request.query.get("watch") in ("true", "1"):
            return "watch"
        return "get" if target.name else "list"
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


async def _inject(faults: Faults, verb: str, resource: str) -> web.Response | None:
    """Fault injection: the added latency, then the error this request draws, if any."""
    if faults.plan.latency:
        await asyncio.sleep(faults.plan.latency)
    rule = faults.error_for(verb, resource)
    if rule is None:
        return None
    error = errors.ApiError(rule.code, REASONS[rule.code], MESSAGES[rule.code])
    response = _json(error.status(), rule.code)
    if rule.retry_after is not None:
        response.headers["Retry-After"] = str(rule.retry_after)
    return response


class _Routes:
    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster

    async def version(self, request: web.Request) -> web.Response:
        return _json(discovery.KUBERNETES_VERSION)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def self_subject_review(self, request: web.Request) -> web.Response:
        """Who the credentials are (`kubectl auth whoami`): nothing is stored, the answer is the review."""
        request[AUDIT].update(verb="create", resource="selfsubjectreviews.authentication.k8s.io")
        if request.method != "POST":
            raise errors.method_not_allowed()
        return _json(identity.self_subject_review(request[USER]), 201)

    async def api(self, request: web.Request) -> web.Response:
        return _json(discovery.api_versions(f"127.0.0.1:{self.cluster.port}"))

    async def apis(self, request: web.Request) -> web.Response:
        return _json(discovery.api_group_list(self.cluster.registry))

    async def group(self, request: web.Request) -> web.Response:
        doc = discovery.api_group(self.cluster.registry, request.match_info["group"])
        if doc is None:
            raise web.HTTPNotFound()
        return _json(doc)

    async def core_root(self, request: web.Request) -> web.Response:
        return self._resource_list(request, "", request.match_info["version"])

    async def group_root(self, request: web.Request) -> web.Response:
        return self._resource_list(request, request.match_info["group"], request.match_info["version"])

    def _resource_list(self, request: web.Request, group: str, version: str) -> web.Response:
        if request.method != "GET":
            raise errors.method_not_allowed()
        doc = discovery.api_resource_list(self.cluster.registry, group, version)
        if doc is None:
            raise web.HTTPNotFound()
        return _json(doc)

    async def openapi_v2(self, request: web.Request) -> web.Response:
        accept = request.headers.get("Accept", "")
        if accept and "json" not in accept and "*/*" not in accept:
            # Only JSON is served; protobuf-only clients get 406 and fall back to v3 or JSON.
            return _json(
                errors.ApiError(406, "NotAcceptable", "only application/json is served").status(), 406
            )
        return _json(openapi.v2_document(self.cluster.registry))

    async def openapi_v3_index(self, request: web.Request) -> web.Response:
        return _json(openapi.v3_index(self.cluster.registry))

    async def openapi_v3(self, request: web.Request) -> web.Response:
        parts = request.match_info["path"].strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = openapi.v3_document(self.cluster.registry, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            doc = openapi.v3_document(self.cluster.registry, parts[1], parts[2])
        else:
            doc = None
        if doc is None:
            raise web.HTTPNotFound()
        return _json(doc)

    async def audit(self, request: web.Request) -> web.Response:
        request[AUDIT]["recorded"] = True  # reading the audit log is not itself audited
        since = int(request.query.get("since", "0") or 0)
        records = self.cluster.audit.records(since)
        return _json({"lastSeq": self.cluster.audit.last_seq, "records": as_dicts(records)})

    async def core_resource(self, request: web.Request) -> web.StreamResponse:
        return await self._resource(request, "", request.match_info["version"], request.match_info["rest"])

    async def group_resource(self, request: web.Request) -> web.StreamResponse:
        return await self._resource(
            request, request.match_info["group"], request.match_info["version"], request.match_info["rest"]
        )

    def _target(self, group: str, version: str, rest: str) -> tuple[Target, bool]:
        parts = [p for p in rest.split("/") if p]
        legacy_watch = bool(parts) and parts[0] == "watch"
        if legacy_watch:
            parts = parts[1:]
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] not in ("status", "finalize"):
            namespace, parts = parts[1], parts[2:]
        if not parts or len(parts) > 3:
            raise web.HTTPNotFound()
        rt = self.cluster.registry.get(group, version, parts[0])
        if rt is None or (namespace and not rt.namespaced):
            raise web.HTTPNotFound()
        name = parts[1] if len(parts) > 1 else ""
        sub = parts[2] if len(parts) > 2 else ""
        if sub and (sub not in rt.subresources or sub not in _SERVED_SUBRESOURCES):
            raise web.HTTPNotFound()
        return Target(rt, namespace, name, sub), legacy_watch

    async def _resource(
        self, request: web.Request, group: str, version: str, rest: str
    ) -> web.StreamResponse:
        target, legacy_watch = self._target(group, version, rest)
        rt, query, method = target.rt, request.query, request.method
        info = request[AUDIT]
        info.update(
            resource=f"{rt.plural}.{rt.group}" if rt.group else rt.plural,
            namespace=target.namespace,
            name=target.name,
            subresource=target.subresource,
        )
        api = self.cluster.rest
        verb = info["verb"] = _verb_of(request, target, legacy_watch)
        faults = self.cluster.faults
        if faults is not None:
            injected = await _inject(faults, verb, info["resource"])
            if injected is not None:
                return injected
        if rt.namespaced and target.namespace == "" and method != "GET":
            # The cluster-wide path of a namespaced kind serves list and watch only.
            raise errors.method_not_allowed()
        if method == "GET":
            if verb == "watch":
                self.cluster.audit.request(
                    client=_client_of(request),
                    verb="watch",
                    resource=info["resource"],
                    namespace=target.namespace,
                    name=target.name,
                    code=200,
                )
                info["recorded"] = True
                return await self.cluster.watches.serve(request, target, query)
            if target.subresource == "log":
                return await self._log(request, target)
            if target.name:
                return _json(api.get(target, request.headers.get("Accept", "")))
            return _json(api.list(target, query, request.headers.get("Accept", "")))
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "application/json")
        outcome: Outcome
        if method == "POST" and not target.name:
            outcome = api.create(target, decode_body(raw, content_type), query)
            if isinstance(outcome.body, dict):  # the audit names what was created (generateName too)
                info["name"] = str((outcome.body.get("metadata") or {}).get("name") or "")
        elif method == "PUT" and target.name:
            outcome = api.update(target, decode_body(raw, content_type), query)
        elif method == "PATCH" and target.name:
            outcome = api.patch(target, raw, content_type, query)
        elif method == "DELETE" and target.name and not target.subresource:
            outcome = api.delete(target, decode_body(raw, content_type) if raw.strip() else None, query)
        elif method == "DELETE" and not target.name:
            outcome = api.delete_collection(
                target, decode_body(raw, content_type) if raw.strip() else None, query
            )
        else:
            raise errors.method_not_allowed()
        return _json(outcome.body, outcome.status, outcome.warnings)

    async def _log(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        pod = self.cluster.store.get(target.rt, target.namespace, target.name)

        def number(key: str) -> int | None:
            value = query.get(key)
            if value in (None, ""):
                return None
            try:
                return int(value)
            except ValueError:
                raise errors.bad_request(f'{key}: Invalid value: "{value}": must be an integer') from None

        chunks = self.cluster.kubelet.stream_log(
            target.namespace,
            pod["metadata"]["name"],
            query.get("container", ""),
            follow=query.get("follow") == "true",
            tail_lines=number("tailLines"),
            since_seconds=number("sinceSeconds"),
            timestamps=query.get("timestamps") == "true",
            limit_bytes=number("limitBytes"),
            previous=query.get("previous") == "true",
        )
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        first = True
        try:
            async for chunk in chunks:
                if first:
                    await response.prepare(request)
                    first = False
                await response.write(chunk)
        except ConnectionResetError:
            return response
        if first:
            await response.prepare(request)
        return response
