"""The operator's logs: one JSON object per line (or plain text on a terminal), with context.

Every line carries `ts`, `level`, `logger` and `message`, and `namespace`, `run`, `pipeline` and `task`
where they apply. Those come from the record's `extra=` (the observers pass them), else from the
context of the reconcile being run (`log_context`, set by the operator's work-queue dispatch), else from
kopf's object reference on its own per-object log lines.

No secret values: the operator never reads Secrets, and env values are never logged. As a second line of
defence the formatter redacts what looks like a credential (bearer tokens, `password=…`-style pairs, and
the values an API server echoes back in a validation error about an env var).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

CONTEXT_FIELDS = ("namespace", "run", "pipeline", "task")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("baton_log", default=_EMPTY)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add `fields` (namespace, run, pipeline, task) to every line logged inside the block (and in tasks
    and threads started from it: contextvars are copied into them)."""
    merged = dict(_context.get())
    merged.update({k: v for k, v in fields.items() if v})
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str]:
    return _context.get()


# -- redaction ------------------------------------------------------------------------------------

REDACTED = "[redacted]"
_SECRET_WORDS = r"(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # password=…, "apiKey": "…", token: … (the key names a secret; the value goes).
    (
        re.compile(
            rf"""(?ix)
            (["']?[\w.-]*{_SECRET_WORDS}[\w.-]*["']?\s*[:=]\s*)
            (?:"[^"]*"|'[^']*'|[^\s,;}}\]]+)
            """
        ),
        rf"\1{REDACTED}",
    ),
    # An API server's validation error about an env var echoes its value: env[2].value: Invalid value: "…"
    (
        re.compile(r'(env\[\d+\]\.value[^"]*?(?:Invalid|Unsupported) value:\s*)"(?:[^"\\]|\\.)*"'),
        rf'\1"{REDACTED}"',
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# -- formatters -------------------------------------------------------------------------------------


def _fields(record: logging.LogRecord) -> dict[str, str]:
    fields: dict[str, str] = {}
    ref = getattr(record, "k8s_ref", None)  # kopf's per-object loggers
    if isinstance(ref, Mapping):
        if ref.get("namespace"):
            fields["namespace"] = str(ref["namespace"])
        if ref.get("kind") == "PipelineRun" and ref.get("name"):
            fields["run"] = str(ref["name"])
    fields.update(_context.get())
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value:
            fields[name] = str(value)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then the context fields, then exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`ts level logger [namespace/run task] message`, for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        where = "/".join(v for v in (fields.get("namespace"), fields.get("run")) if v)
        if fields.get("task"):
            where = f"{where} {fields['task']}".strip()
        text = f"{_timestamp(record)} {record.levelname:<7} {record.name}"
        if where:
            text += f" [{where}]"
        text += " " + redact(record.getMessage())
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


class _BatonHandler(logging.StreamHandler[TextIO]):
    """Ours, so that configuring twice replaces it instead of doubling every line."""


def configure(log_format: str = "auto", *, verbose: bool = False, stream: TextIO | None = None) -> str:
    """Send all logging (Baton's and kopf's) to `stream` (stderr) in `log_format`: json, text, or auto
    (json unless the stream is a terminal). Returns the format chosen."""
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    handler = _BatonHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _BatonHandler)]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Low-level chatter stays out unless asked for, as `kopf run` does; kopf.objects logs a line per watch
    # event ("Handler ... succeeded"), which at thousands of events a second costs real CPU.
    for name in ("asyncio", "aiohttp.access", "urllib3", "kubernetes", "kopf.objects"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return log_format
