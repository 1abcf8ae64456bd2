"""A small async Kubernetes client for the operator's writes.

kopf watches for us; what Baton writes (Jobs, run status, Events) goes through this one aiohttp
session, so every request is async, counted, and made with the same credentials kopf logged in with.
The official client is synchronous and would block the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import random
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import kopf
from multidict import CIMultiDict

from baton.core.api_retry import BURST, QPS, TokenBucket, next_delay, retry_after

log = logging.getLogger(__name__)

USER_AGENT = "baton-operator"

# (verb, resource, status code) of each request, for the request-count metric.
RequestObserver = Callable[[str, str, int], None]


@dataclass
class ApiFailure(Exception):
    code: int
    """The HTTP status; 0 when the API server gave no answer at all."""
    reason: str
    message: str
    retry_after: float | None = None
    """What the server's Retry-After asked for, in seconds."""

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    context = ssl.create_default_context()
    if info.ca_path:
        context.load_verify_locations(cafile=str(info.ca_path))
    elif info.ca_data:
        data = info.ca_data if isinstance(info.ca_data, bytes) else info.ca_data.encode()
        try:
            pem = base64.b64decode(data, validate=True).decode()
        except ValueError:
            pem = data.decode()
        context.load_verify_locations(cadata=pem)
    cert, key = info.certificate_path, info.private_key_path
    if info.certificate_data and info.private_key_data:
        # ssl wants files for client certificates; keep them private to this process.
        folder = Path(tempfile.mkdtemp(prefix="baton-client-"))
        cert, key = folder / "tls.crt", folder / "tls.key"
        for path, value in ((cert, info.certificate_data), (key, info.private_key_data)):
            raw = value if isinstance(value, bytes) else value.encode()
            path.touch(mode=0o600)
            path.write_bytes(base64.b64decode(raw) if not raw.lstrip().startswith(b"-----") else raw)
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


def connection_info() -> kopf.ConnectionInfo:
    """In-cluster credentials when running in a Pod, else the kubeconfig (KUBECONFIG or ~/.kube/config)."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise kopf.LoginError(
            "no Kubernetes credentials: neither a service account nor a kubeconfig was found"
        )
    return info


class KubeClient:
    def __init__(
        self,
        info: kopf.ConnectionInfo,
        observe: RequestObserver | None = None,
        *,
        qps: float = QPS,
        burst: int = BURST,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.server = info.server.rstrip("/")
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        self._session = aiohttp.ClientSession(
            headers=headers,
            connector=aiohttp.TCPConnector(ssl=_ssl_context(info), limit=32),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self._observe = observe
        self._bucket = TokenBucket(qps, burst)
        self._impersonate: tuple[tuple[str, str], ...] = ()

    def impersonating(self, user: str, groups: Sequence[str] = ()) -> KubeClient:
        """The same connection and rate limit, each request made as ``user`` (in ``groups``) through
        Kubernetes impersonation: the API server applies that user's RBAC and audits their name. Needs
        RBAC to impersonate them; the web UI behind an authenticating proxy uses it."""
        view = copy.copy(self)
        view._impersonate = (("Impersonate-User", user), *(("Impersonate-Group", g) for g in groups))
        return view

    def _headers(self, **more: str) -> Mapping[str, str]:
        if not self._impersonate:  # the operator's every request: no multidict to build
            return more
        return CIMultiDict([*more.items(), *self._impersonate])  # Impersonate-Group may repeat

    async def close(self) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        verb: str,
        resource: str,
        urgent: bool = False,
    ) -> dict[str, Any]:
        """One API request, tried again on a transient failure (``baton.core.api_retry``) after the
        client-side rate limit let it go; raises ApiFailure (code 0: no answer) when it gives up.
        ``urgent`` (the Lease's renewals) skips the rate limit: a leader must not lose its Lease because
        its own Job creates fill the bucket."""
        data = json.dumps(body, separators=(",", ":")) if body is not None else None
        tries = 0
        while True:
            wait = 0.0 if urgent else self._bucket.take(time.monotonic())
            if wait > 0:
                try:
                    await asyncio.sleep(wait)
                except asyncio.CancelledError:
                    self._bucket.give_back()  # a request cancelled while it waited used no token
                    raise
            tries += 1
            try:
                return await self._once(method, path, data, content_type, params, verb, resource)
            except ApiFailure as failure:
                delay = next_delay(tries, failure.code or None, failure.retry_after, random.random())
                if delay is None:
                    raise
                log.debug("%s %s: %s; again in %.2fs", verb, resource, failure, delay)
            except (aiohttp.ClientConnectionError, TimeoutError) as error:
                delay = next_delay(tries, None, None, random.random())
                if delay is None:
                    raise ApiFailure(0, "Unreachable", f"no answer from the API server: {error!r}") from error
                log.debug("%s %s: no answer (%r); again in %.2fs", verb, resource, error, delay)
            await asyncio.sleep(delay)

    async def _once(
        self,
        method: str,
        path: str,
        data: str | None,
        content_type: str,
        params: Mapping[str, str] | None,
        verb: str,
        resource: str,
    ) -> dict[str, Any]:
        async with self._session.request(
            method,
            self.server + path,
            data=data,
            params=params,
            headers=self._headers(**{"Content-Type": content_type}),
        ) as response:
            text = await response.text()
            if self._observe is not None:
                self._observe(verb, resource, response.status)
            try:
                payload = json.loads(text) if text else {}
            except ValueError:
                payload = {"message": text}
            if response.status >= 400:
                raise ApiFailure(
                    response.status,
                    str(payload.get("reason", response.reason or "")),
                    str(payload.get("message", text)),
                    retry_after(response.headers.get("Retry-After"), datetime.now(UTC)),
                )
            return payload if isinstance(payload, dict) else {}

    async def stream(
        self, path: str, params: Mapping[str, str], *, resource: str, seconds: float, blank: bool = False
    ) -> AsyncIterator[bytes]:
        """The lines of a watch (one JSON event each) or of a followed log (``blank``: its empty lines
        too). Ends when the server ends it; ``seconds`` without a byte is a failure."""
        timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_read=seconds + 30)
        async with self._session.get(
            self.server + path, params=params, timeout=timeout, headers=self._headers()
        ) as response:
            if self._observe is not None:
                self._observe("watch", resource, response.status)
            if response.status >= 400:
                raise _failure(response.status, response.reason, await response.text())
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if blank or line.strip():
                        yield line
            if buffer.strip():
                yield buffer

    async def create(self, path: str, obj: Mapping[str, Any], *, resource: str) -> dict[str, Any]:
        return await self.request("POST", path, body=obj, verb="create", resource=resource)

    async def merge_patch(self, path: str, patch: Mapping[str, Any], *, resource: str) -> dict[str, Any]:
        return await self.request(
            "PATCH",
            path,
            body=patch,
            content_type="application/merge-patch+json",
            verb="patch",
            resource=resource,
        )

    async def delete(self, path: str, *, resource: str, propagation: str = "Background") -> dict[str, Any]:
        return await self.request(
            "DELETE",
            path,
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
            verb="delete",
            resource=resource,
        )

    async def delete_collection(
        self, path: str, *, selector: str, resource: str, propagation: str = "Background"
    ) -> dict[str, Any]:
        """Delete every object at `path` that matches the label `selector`, in one request."""
        return await self.request(
            "DELETE",
            path,
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
            params={"labelSelector": selector},
            verb="deletecollection",
            resource=resource,
        )

    async def get(self, path: str, *, resource: str) -> dict[str, Any]:
        return await self.request("GET", path, verb="get", resource=resource)

    async def text(self, path: str, *, params: Mapping[str, str], resource: str) -> str:
        """A GET whose answer is text, not an object (a Pod's log)."""
        await asyncio.sleep(self._bucket.take(time.monotonic()))
        async with self._session.get(self.server + path, params=params, headers=self._headers()) as response:
            body = await response.text(errors="replace")
            if self._observe is not None:
                self._observe("get", resource, response.status)
            if response.status >= 400:
                raise _failure(response.status, response.reason, body)
            return body


def _failure(status: int, reason: str | None, text: str) -> ApiFailure:
    """The failure an error answer that is not read as an object stands for (a watch's, a log's)."""
    try:
        payload = json.loads(text)
    except ValueError:
        payload = {"message": text}
    message = str(payload.get("message", text)) if isinstance(payload, dict) else text
    return ApiFailure(status, str(reason or ""), message[:500])
