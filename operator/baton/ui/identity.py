"""Whose rights a UI request uses.

By default the credentials the UI was started with (the kubeconfig's, or its Pod's ServiceAccount).
Behind an authenticating proxy (`--impersonate-user-header`), the proxied user's: every API request of
that page impersonates the user (and groups) the proxy's headers name, so that user's RBAC applies and
the API server's audit log names them; a request without the header is refused. No header is trusted
unless configured, and the proxy must be the only way to reach the UI (it must also drop these headers
from what clients send)."""

from __future__ import annotations

from aiohttp import web

from baton.controller.client import KubeClient

CLIENT = web.RequestKey("client", KubeClient)
"""The client a request's API calls use."""
USER = web.RequestKey("user", str)
"""The proxied user; "" when the UI uses its own credentials."""
MAX_USER = 256


def identify(
    request: web.Request, client: KubeClient, user_header: str | None, groups_header: str | None
) -> None:
    if user_header is None:
        request[USER], request[CLIENT] = "", client
        return
    if len(request.headers.getall(user_header, ())) > 1 or (
        groups_header and len(request.headers.getall(groups_header, ())) > 1
    ):
        # A proxy that adds its header after the client's, instead of replacing it, would let the
        # client's copy speak: ambiguous is refused.
        raise web.HTTPBadRequest(text="the user or groups header is given more than once")
    user = request.headers.get(user_header, "").strip()
    if not user:
        raise web.HTTPUnauthorized(
            text=f"this UI serves only requests its proxy authenticated (no {user_header})"
        )
    raw_groups = request.headers.get(groups_header, "") if groups_header else ""
    groups = [g.strip() for g in raw_groups.split(",") if g.strip()]
    if len(user) > MAX_USER or not all(c.isprintable() for c in user + "".join(groups)):
        raise web.HTTPBadRequest(text="the proxy's user or groups header does not hold a user name")
    request[USER], request[CLIENT] = user, client.impersonating(user, groups)
