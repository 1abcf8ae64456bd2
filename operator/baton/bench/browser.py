"""The benchmark's browser: headless Chromium over the DevTools protocol, to time what a person waits
for on the web UI, a page's load in a real browser and a live update reaching the page's DOM.

Optional: where no `chromium` is installed (`make tools` installs Debian's), `Chromium.launch` yields
None and the scenario reports those figures as not measured. The tests drive the browser with their own,
fuller client (tests/ui/cdp.py); this one only opens one page and reads values from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--remote-debugging-port=0",
)
TIMEOUT = 60.0


class Chromium:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loaded = asyncio.Event()
        self._session = ""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, width: int = 1280, height: int = 800) -> AsyncIterator[Chromium | None]:
        binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
        if binary is None:
            yield None
            return
        profile = tempfile.mkdtemp(prefix="baton-bench-chromium-")
        process = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert process.stderr is not None
        drain: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(TIMEOUT):
                address = await _devtools_address(process.stderr)
            drain = asyncio.create_task(_drain(process.stderr))  # a full pipe would stall it
            async with aiohttp.ClientSession() as http, http.ws_connect(address, max_msg_size=0) as ws:
                browser = cls(ws)
                await browser._attach(width, height)
                try:
                    yield browser
                finally:
                    browser._reader.cancel()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            if drain is not None:
                drain.cancel()
            shutil.rmtree(profile, ignore_errors=True)

    async def _attach(self, width: int, height: int) -> None:
        target = await self._send("Target.createTarget", {"url": "about:blank"}, session=None)
        attached = await self._send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, session=None
        )
        self._session = attached["sessionId"]
        await self._send("Page.enable", {})
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        await self._send("Emulation.setDeviceMetricsOverride", metrics)

    async def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self._loaded.clear()
        answer = await self._send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise RuntimeError(f"chromium could not load {url}: {answer['errorText']}")
        async with asyncio.timeout(TIMEOUT):
            await self._loaded.wait()

    async def evaluate(self, expression: str) -> Any:
        answer = await self._send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression[:80]}: {answer['exceptionDetails'].get('text')}")
        return (answer.get("result") or {}).get("value")

    async def _send(self, method: str, params: dict[str, Any], *, session: str | None = "") -> dict[str, Any]:
        number = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[number] = answer
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session or self._session
        await self._ws.send_str(json.dumps(message))
        async with asyncio.timeout(TIMEOUT):
            return await answer

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            answer = self._answers.pop(data.get("id", 0), None)
            if answer is not None and not answer.done():
                if "error" in data:
                    answer.set_exception(RuntimeError(f"chromium: {data['error'].get('message')}"))
                else:
                    answer.set_result(data.get("result") or {})
            elif data.get("method") == "Page.loadEventFired":
                self._loaded.set()


async def _devtools_address(stderr: asyncio.StreamReader) -> str:
    while True:
        line = (await stderr.readline()).decode(errors="replace")
        if not line:
            raise RuntimeError("chromium ended before it served DevTools")
        if "DevTools listening on " in line:
            return line.split("DevTools listening on ", 1)[1].strip()


async def _drain(stderr: asyncio.StreamReader) -> None:
    while await stderr.read(65536):
        pass
