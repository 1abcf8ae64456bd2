"""Container logs: written by the kubelet, read back for `GET .../pods/{name}/log`.

Each container instance's stdout and stderr (one pipe, so their interleaving is kept) go verbatim to
`<sandbox>/<container>.log`, which stays a plain file anyone can `tail`. The time each line started is
kept beside it in `<container>.log.ts`, one fixed-width RFC 3339 record per line, so `timestamps=true`
and `sinceSeconds` work without parsing or rewriting the log. A restart moves both to
`<container>.previous.log[.ts]` (what `previous=true` reads), as the kubelet keeps the last instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

_TS_WIDTH = 30  # 2006-01-02T15:04:05.999999999Z
_CHUNK = 64 * 1024


class Signal:
    """Wakes every waiter on the next `notify()`; a waiter never misses a notify made after it waits."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, at_most: float | None = None) -> None:
        """Return on the next notify, or after `at_most` seconds."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, at_most)


def timestamp_path(log: Path) -> Path:
    return log.with_name(log.name + ".ts")


def previous_path(log: Path) -> Path:
    return log.with_name(log.name.removesuffix(".log") + ".previous.log")


def rotate(log: Path) -> None:
    """Keep the last instance's log as the previous one before a restarted container writes anew."""
    if log.exists():
        log.replace(previous_path(log))
        if timestamp_path(log).exists():
            timestamp_path(log).replace(timestamp_path(previous_path(log)))


def _stamp(ns: int) -> bytes:
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"
    return text.encode() + b"\n"


class LogWriter:
    """One container instance's log, open for appending until the instance has ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = path.open("wb")
        self._ts = timestamp_path(path).open("wb")
        self._at_line_start = True
        self.closed = False
        self.changed = Signal()

    def write(self, data: bytes) -> None:
        if not data or self.closed:
            return
        stamp = _stamp(time.time_ns())
        starts = int(self._at_line_start) + data.count(b"\n", 0, len(data) - 1)
        # Timestamps first: a reader that sees a line can always find its timestamp.
        self._ts.write(stamp * starts)
        self._ts.flush()
        self._log.write(data)
        self._log.flush()
        self._at_line_start = data.endswith(b"\n")
        self.changed.notify()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._log.close()
            self._ts.close()
            self.changed.notify()


def tail_text(path: Path, max_lines: int, max_bytes: int) -> str:
    """The end of a log, for `FallbackToLogsOnError` termination messages."""
    try:
        with path.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - max_bytes * 4))
            data = log.read()
    except OSError:
        return ""
    lines = data.splitlines(keepends=True)[-max_lines:]
    return b"".join(lines)[-max_bytes:].decode("utf-8", "replace")


def _rfc3339_nano(record: bytes) -> bytes:
    """Go's RFC3339Nano drops trailing zeros of the fraction, and the dot if nothing is left."""
    text = record.strip()
    if not text:
        return _stamp(time.time_ns()).strip()
    seconds, _, fraction = text[:-1].partition(b".")
    fraction = fraction.rstrip(b"0")
    return seconds + (b"." + fraction if fraction else b"") + b"Z"


def _epoch(record: bytes) -> float:
    try:
        return datetime.strptime(record[:19].decode(), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return time.time()


class _Lines:
    """Reads complete lines of a growing log, each with the timestamp record of its start."""

    def __init__(self, path: Path) -> None:
        self._log: IO[bytes] = path.open("rb")
        try:
            self._ts: IO[bytes] | None = timestamp_path(path).open("rb")
        except OSError:
            self._ts = None
        self._pending = b""

    def close(self) -> None:
        self._log.close()
        if self._ts is not None:
            self._ts.close()

    def read(self, *, final: bool) -> Iterator[tuple[bytes, bytes]]:
        """What has been written since the last call, as (timestamp record, line) pairs."""
        while chunk := self._log.read(_CHUNK):
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                yield self._next_stamp(), line + b"\n"
        if final and self._pending:
            line, self._pending = self._pending, b""
            yield self._next_stamp(), line

    def _next_stamp(self) -> bytes:
        return self._ts.read(_TS_WIDTH + 1) if self._ts is not None else b""


async def stream(
    path: Path,
    writer: LogWriter | None,
    *,
    follow: bool,
    tail_lines: int | None,
    since_seconds: int | None,
    timestamps: bool,
    limit_bytes: int | None,
) -> AsyncIterator[bytes]:
    """A log as chunks for an HTTP response, ending when the log is read (follow: once it is closed)."""
    try:
        lines = _Lines(path)
    except FileNotFoundError:
        return
    sent = 0
    since = time.time() - since_seconds if since_seconds is not None else None
    try:
        live = follow and writer is not None and not writer.closed
        backlog: deque[tuple[bytes, bytes]] | list[tuple[bytes, bytes]]
        backlog = deque(maxlen=tail_lines) if tail_lines is not None and tail_lines >= 0 else []
        backlog.extend(lines.read(final=not live))
        batch = list(backlog)
        while True:
            out = b"".join(
                (_rfc3339_nano(stamp) + b" " if timestamps else b"") + line
                for stamp, line in batch
                if since is None or _epoch(stamp) >= since
            )
            if limit_bytes is not None and sent + len(out) >= limit_bytes:
                if limit_bytes > sent:
                    yield out[: limit_bytes - sent]
                return
            if out:
                sent += len(out)
                yield out
            if not live:
                return
            assert writer is not None
            if not writer.closed:
                await writer.changed.wait(1.0)
            live = not writer.closed
            batch = list(lines.read(final=not live))
    finally:
        lines.close()
