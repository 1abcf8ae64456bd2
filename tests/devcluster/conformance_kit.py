"""Helpers for the dev cluster's conformance suites: raw HTTP, streamed watches, kubectl output lines.

Nothing here sleeps for a fixed time: every wait is for a condition, with a deadline.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import urllib3
import yaml

from baton.devcluster.cluster import DevCluster

Obj = dict[str, Any]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def reason(self) -> str:
        return str(self.json.get("reason", ""))

    @property
    def message(self) -> str:
        return str(self.json.get("message", ""))


class Raw:
    """Plain HTTPS requests to the dev cluster, for what typed clients hide (codes, headers, bodies)."""

    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster
        self.base = cluster.url
        self.http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_cert_data=cluster.certificate.ca_pem.decode(),
            maxsize=8,
            timeout=urllib3.Timeout(connect=10, read=60),
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Accept": "application/json", "User-Agent": "conformance-raw/1.0"}
        supplied = self.cluster.token if token is None else token
        if supplied:
            sent["Authorization"] = f"Bearer {supplied}"
        data: bytes | None = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        response = self.http.request(method, self.base + path, body=data, headers=sent, retries=False)
        headers: dict[str, str] = {}
        for key, value in response.headers.items():  # repeated headers (Warning) are joined, as HTTP allows
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Reply(response.status, headers, response.data.decode(errors="replace"))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, patch_type: str = "merge", **kwargs: Any) -> Reply:
        content_type = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "apply": "application/apply-patch+yaml",
        }[patch_type]
        return self.request("PATCH", path, body, content_type=content_type, **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, body, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        reply = self.request(method, path, body, **kwargs)
        assert 200 <= reply.status < 300, f"{method} {path} -> {reply.status}: {reply.text}"
        return reply.json

    def watch(
        self, path: str, *, timeout: float = 60.0, headers: dict[str, str] | None = None
    ) -> WatchStream:
        return WatchStream(self, path, timeout, headers or {})

    def close(self) -> None:
        self.http.clear()


class WatchStream:
    """A watch request whose JSON frames a background thread reads, so tests can wait with deadlines."""

    def __init__(self, raw: Raw, path: str, timeout: float, headers: dict[str, str]) -> None:
        sent = {"Authorization": f"Bearer {raw.cluster.token}", "Accept": "application/json", **headers}
        self.response = raw.http.request(
            "GET",
            raw.base + path,
            headers=sent,
            preload_content=False,
            retries=False,
            timeout=urllib3.Timeout(connect=10, read=timeout),
        )
        self.status = self.response.status
        self.content_type = self.response.headers.get("Content-Type", "")
        self.events: queue.Queue[Obj | None] = queue.Queue()
        self.seen: list[Obj] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self.response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self.events.put(json.loads(line))
            if buffer.strip():
                self.events.put(json.loads(buffer))
        except Exception:  # closed by the test, or a read timeout: the stream is over either way
            pass
        finally:
            self.ended.set()
            self.events.put(None)

    def next(self, timeout: float = 30.0) -> Obj | None:
        """The next event, or None when the stream ended."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no watch event within {timeout}s (seen: {self._summary()})") from None
        if event is not None:
            self.seen.append(event)
        else:
            self.events.put(None)  # keep reporting the end
        return event

    def expect(self, predicate: Callable[[Obj], bool], timeout: float = 30.0, what: str = "event") -> Obj:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what} (seen: {self._summary()})")
            event = self.next(remaining)
            if event is None:
                raise AssertionError(f"watch ended before {what} (seen: {self._summary()})")
            if predicate(event):
                return event

    def until_end(self, timeout: float = 30.0) -> list[Obj]:
        deadline = time.monotonic() + timeout
        out = []
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if event is None:
                return out
            out.append(event)

    def _summary(self) -> str:
        return ", ".join(
            f"{e.get('type')} {name_of(e.get('object') or {})}"
            f"@{(e.get('object') or {}).get('metadata', {}).get('resourceVersion')}"
            for e in self.seen[-20:]
        )

    def close(self) -> None:
        self.response.release_conn() if self.ended.is_set() else self.response.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class LineReader:
    """Lines of a long-running process's stdout (kubectl get -w, logs -f), read by a thread."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = 60.0) -> str:
        """Wait for a line matching the regular expression; return it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                raise AssertionError(
                    f"process ended before a line matching {pattern!r}; output: {self.lines}; "
                    f"stderr: {self._stderr()}"
                )
            self.lines.append(line)
            if regex.search(line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output so far: {self.lines}")

    def wait_end(self, timeout: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout)
        while True:  # drain what is left
            try:
                line = self._queue.get(timeout=10)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return code

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def to_yaml(*docs: Obj) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)


def widget_crd(
    group: str,
    *,
    plural: str = "widgets",
    kind: str = "Widget",
    short: str = "wdg",
    category: str = "baton-conformance",
) -> Obj:
    """A CRD exercising printer columns, shortNames, categories, status and every schema constraint."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "listKind": f"{kind}List",
                "shortNames": [short],
                "categories": [category],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                        {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                        {"name": "Note", "type": "string", "jsonPath": ".spec.note", "priority": 1},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": f"A {kind} exercises the dev cluster's custom resource support.",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "description": f"What the {kind.lower()} should be.",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {
                                            "type": "integer",
                                            "minimum": 1,
                                            "maximum": 100,
                                            "description": "How big the widget is.",
                                        },
                                        "color": {
                                            "type": "string",
                                            "enum": ["red", "green", "blue"],
                                            "default": "red",
                                            "description": "Its colour.",
                                        },
                                        "note": {"type": "string", "maxLength": 20, "nullable": True},
                                        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3},
                                        "tags": {
                                            "type": "array",
                                            "maxItems": 3,
                                            "minItems": 1,
                                            "items": {"type": "string", "minLength": 1},
                                        },
                                        "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                                        "extra": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        },
                                    },
                                },
                                "status": {
                                    "type": "object",
                                    "properties": {"phase": {"type": "string"}, "count": {"type": "integer"}},
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(name: str, group: str, size: int = 3, *, kind: str = "Widget", **spec: Any) -> Obj:
    return {
        "apiVersion": f"{group}/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }


def python_job(
    name: str,
    code: str,
    *,
    python: str = "python3",
    backoff_limit: int = 0,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {
            "backoffLimit": backoff_limit,
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "python:3.12-slim", "command": [python, "-c", code]}
                    ],
                }
            },
        },
    }


def iter_pages(raw: Raw, path: str, limit: int) -> Iterator[Obj]:
    token = ""
    while True:
        sep = "&" if "?" in path else "?"
        page = raw.ok("GET", f"{path}{sep}limit={limit}" + (f"&continue={quote(token)}" if token else ""))
        yield page
        token = page["metadata"].get("continue", "")
        if not token:
            return
