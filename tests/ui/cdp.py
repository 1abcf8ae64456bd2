"""A small Chrome DevTools Protocol client for the UI's browser tests: Debian's headless chromium, driven
over one WebSocket with aiohttp. Not Selenium or Playwright: both download a browser of their own, and the
machines that run the tests have no internet; chromium comes from apt (`make chromium`).

    async with Browser.launch() as browser:
        page = await browser.new_page(1280, 800)
        shown = await page.goto(url)                 # waits for the load event
        assert shown.status == 200
        await page.wait_for("document.querySelector('[data-phase=Succeeded]')")  # polls, with a deadline
        done = await page.click("form.retry button")  # clicks, waits for the page the POST's 303 leads to
        assert [r.status for r in done.redirects] == [303] and page.problems == []

One connection, flat sessions (Target.attachToTarget with flatten): a page's commands carry its
sessionId. Each page records its main frame's navigations as the network saw them (status, headers,
redirects) and what its console said (errors, exceptions, CSP violations), so a test waits on a condition
and then asserts on what happened, never on timing. Every wait has a deadline and says what it waited for.
"""

# Every wait takes its own `timeout` (ASYNC109): its deadline then says what it waited for and on which
# page, where an asyncio.timeout around the call could only say that time ran out.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from cdp_record import ConsoleEntry, Navigation, PageRecord, Redirect

from support import required_tool

T = TypeVar("T")

FLAGS = (
    "--headless",
    "--no-sandbox",  # as root in a container the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB: shared memory goes to /tmp
    "--no-first-run",
    "--no-default-browser-check",
    # Offline and quiet: no component, variations or safe-browsing downloads at start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",  # Debian's wrapper loads /usr/share/chromium/extensions otherwise
    "--hide-scrollbars",  # screenshots without them
    "--mute-audio",
    "--remote-debugging-port=0",  # a free port: the browser prints which on stderr
)
LAUNCH_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
NAVIGATION_TIMEOUT = 30.0
WAIT_TIMEOUT = 10.0


def chromium() -> str:
    """The browser ($CHROMIUM, else `chromium` on PATH); without one a skip, or a failure under CI."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    return required_tool(found, "chromium is not installed (make tools: apt-get install chromium)")


class CdpError(Exception):
    """A command the browser refused or could not answer (it closed, the page crashed)."""


class JsError(Exception):
    """An exception thrown by script evaluated in the page, with its message."""


class NavigationError(Exception):
    """A page that did not load at all (no HTTP response: refused, reset, a bad URL)."""


async def _within(seconds: float, what: str, work: Awaitable[T]) -> T:
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await work
    except TimeoutError:
        if deadline.expired():
            raise TimeoutError(f"timed out after {seconds:g} s waiting for {what}") from None
        raise


class _Stderr:
    """chromium's stderr, read as it comes (a pipe nobody reads fills and stalls the browser): the
    DevTools address it announces, and its last lines for error messages."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: deque[str] = deque(maxlen=30)
        self.address: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        with contextlib.suppress(ValueError):  # a line longer than the reader's limit: stop reading
            while line := await stream.readline():
                text = line.decode(errors="replace").rstrip()
                if text.startswith("DevTools listening on ") and not self.address.done():
                    self.address.set_result(text.removeprefix("DevTools listening on "))
                elif "dbus" not in text:  # no system bus in a container: noise on every start
                    self.lines.append(text)
        if not self.address.done():
            self.address.set_exception(CdpError(f"chromium exited before it listened:\n{self.tail()}"))

    def tail(self) -> str:
        return "\n".join(self.lines) or "(nothing on stderr)"


class Browser:
    """One chromium, one DevTools connection; `launch()` starts it and always ends it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, stderr: _Stderr) -> None:
        self._ws = ws
        self._stderr = stderr
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self.gone = ""
        """Why the connection ended, once it has."""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, *, timeout: float = LAUNCH_TIMEOUT) -> AsyncIterator[Browser]:
        binary = chromium()
        profile = Path(tempfile.mkdtemp(prefix="baton-chromium-"))
        process: asyncio.subprocess.Process | None = None
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: its renderers end with it
                limit=1 << 20,
            )
            assert process.stderr is not None
            stderr = _Stderr(process.stderr)
            address = await _within(timeout, "chromium's DevTools address", asyncio.shield(stderr.address))
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(address, max_msg_size=0, autoping=True) as ws,
            ):
                browser = cls(ws, stderr)
                try:
                    yield browser
                finally:
                    await browser._close()
        finally:
            if process is not None:
                await _end(process)
            shutil.rmtree(profile, ignore_errors=True)

    async def new_page(self, width: int = 1280, height: int = 800) -> Page:
        """A new tab of ``width`` x ``height`` CSS pixels, showing about:blank."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"], target["targetId"])
        self._pages[page.session] = page
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        for method, params in (
            ("Page.enable", {}),
            ("Page.setLifecycleEventsEnabled", {"enabled": True}),
            ("Runtime.enable", {}),
            ("Log.enable", {}),
            ("Network.enable", {}),
            ("Emulation.setDeviceMetricsOverride", metrics),
        ):
            await page.send(method, params)
        # Not about:blank's load (replayed when lifecycle events are enabled): `navigations` starts empty,
        # so a test can count the pages it loaded (a live page must not reload).
        page.record = PageRecord(page.target)
        return page

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        """A DevTools command (to a page's ``session``, or the browser's) and its result."""
        if self.gone:
            raise CdpError(f"{method}: {self.gone}")
        number = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = answer
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            await self._ws.send_str(json.dumps(message))
            return await _within(timeout, f"chromium to answer {method}", answer)
        finally:
            self._pending.pop(number, None)

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "id" in data:
                    answer = self._pending.pop(data["id"], None)
                    if answer is None or answer.done():
                        continue
                    if "error" in data:
                        error = data["error"]
                        answer.set_exception(CdpError(f"{error.get('message')} ({error.get('data', '')})"))
                    else:
                        answer.set_result(data.get("result") or {})
                elif (page := self._pages.get(data.get("sessionId", ""))) is not None:
                    page._event(data.get("method", ""), data.get("params") or {})
        finally:
            self.gone = f"the browser's DevTools connection closed; chromium's stderr:\n{self._stderr.tail()}"
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(CdpError(self.gone))
            for page in self._pages.values():
                page._changed()

    async def _close(self) -> None:
        with contextlib.suppress(CdpError, TimeoutError, aiohttp.ClientError):
            await self.send("Browser.close", timeout=5)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def _end(process: asyncio.subprocess.Process) -> None:
    """chromium and every process it started: it leaves on Browser.close; whatever is left is killed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session): renderers, zygotes
    await process.wait()


_CLICK_POINT = """(() => {
  const element = document.querySelector(%s);
  if (!element) return null;
  element.scrollIntoView({block: "center", inline: "center"});
  const box = element.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  const covered = !hit || !(hit === element || element.contains(hit));
  return {x, y, width: box.width, height: box.height, covered, hit: hit ? hit.outerHTML.slice(0, 120) : ""};
})()"""


class Page:
    """A tab: ways to act on it, and what it loaded and said (`record`: `navigations`, `problems`…)."""

    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target
        """Also the id of its main frame."""
        self.record = PageRecord(target)
        self._crashed = False
        self._tick = asyncio.Event()

    # -- what happened ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        loaded = [n for n in self.navigations if n.loaded]
        return loaded[-1].url if loaded else "about:blank"

    @property
    def navigations(self) -> list[Navigation]:
        """The documents it loaded, oldest first."""
        return self.record.navigations

    @property
    def console(self) -> list[ConsoleEntry]:
        return self.record.console

    @property
    def problems(self) -> list[str]:
        """Its console's errors, CSP violations among them (`PageRecord.problems`)."""
        return self.record.problems

    @property
    def csp_violations(self) -> list[str]:
        return self.record.csp_violations

    # -- acting -------------------------------------------------------------------------------------

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = COMMAND_TIMEOUT
    ) -> dict[str, Any]:
        return await self.browser.send(method, params, session=self.session, timeout=timeout)

    async def goto(self, url: str, *, timeout: float = NAVIGATION_TIMEOUT) -> Navigation:
        """Load ``url`` and wait for its load event; what came back (status, headers, redirects)."""
        answer = await self.send("Page.navigate", {"url": url}, timeout=timeout)
        loader = answer.get("loaderId")
        if loader is None:  # the same document (only its #fragment changed): nothing loads
            return self.navigations[-1]
        shown = await self._until(
            lambda: self.record.loaded(loader),
            timeout,
            f"{url} to load",
        )
        if shown.status is None:
            raise NavigationError(f"{url}: {shown.error or answer.get('errorText') or 'no response'}")
        return shown

    async def click(
        self, selector: str, *, navigates: bool = True, timeout: float = NAVIGATION_TIMEOUT
    ) -> Navigation | None:
        """Click the middle of the first element ``selector`` matches, as a mouse would (it must be
        visible and on top); with ``navigates``, wait for the page the click leads to and return how it
        came (a form's POST, its 303, the page it redirected to)."""
        point = await self.evaluate(_CLICK_POINT % json.dumps(selector))
        if point is None:
            raise LookupError(f"nothing matches {selector!r} on {self.url}")
        if not point["width"] or not point["height"]:
            raise LookupError(f"{selector!r} is not displayed on {self.url}")
        if point["covered"]:
            raise LookupError(f"{selector!r} is covered by {point['hit']!r} on {self.url}")
        before = len(self.navigations)
        mouse = {"x": point["x"], "y": point["y"], "button": "left", "clickCount": 1}
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", {"type": kind, **mouse})
        if not navigates:
            return None
        came = await self._until(
            lambda: self.record.loaded_after(before),
            timeout,
            f"the page that clicking {selector!r} on {self.url} leads to",
        )
        if came.status is None:
            raise NavigationError(f"clicking {selector!r}: {came.url}: {came.error or 'no response'}")
        return came

    async def evaluate(self, js: str, *, timeout: float = COMMAND_TIMEOUT) -> Any:
        """The value of the JavaScript expression ``js`` (JSON-like; a promise is awaited)."""
        answer = await self.send(
            "Runtime.evaluate",
            {"expression": js, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            message = (details.get("exception") or {}).get("description") or details.get("text", "")
            raise JsError(f"{message}\n  in: {js[:300]}")
        return (answer.get("result") or {}).get("value")

    async def wait_for(
        self, predicate: str, *, timeout: float = WAIT_TIMEOUT, interval: float = 0.05, what: str = ""
    ) -> Any:
        """Evaluate ``predicate`` until it is truthy and return its value (a live page's DOM changing,
        a run progressing). A predicate that throws fails at once: write `?.` where a node may be absent."""
        last: Any = None

        async def poll() -> Any:
            nonlocal last
            while True:
                try:
                    last = await self.evaluate(predicate)
                except CdpError as error:  # between two documents there is none to ask: ask again
                    if "context" not in str(error):
                        raise
                if last:
                    return last
                await asyncio.sleep(interval)

        try:
            return await _within(timeout, what or predicate, poll())
        except TimeoutError as error:
            raise TimeoutError(f"{error} on {self.url} (last value: {last!r})") from None

    async def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        """A PNG of the viewport, or of the whole page's height with ``full_page``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = await self.send("Page.getLayoutMetrics")
            content, viewport = metrics["cssContentSize"], metrics["cssLayoutViewport"]
            width = max(content["width"], viewport["clientWidth"])
            height = max(content["height"], viewport["clientHeight"])
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            params |= {"captureBeyondViewport": True, "clip": clip}
        shot = await self.send("Page.captureScreenshot", params, timeout=60)
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        await self.browser.send("Target.closeTarget", {"targetId": self.target})

    # -- events -------------------------------------------------------------------------------------

    async def _until(self, found: Callable[[], T | None], timeout: float, what: str) -> T:
        async def wait() -> T:
            while True:
                if self.browser.gone:
                    raise CdpError(f"while waiting for {what}: {self.browser.gone}")
                if self._crashed:
                    raise CdpError(f"the page crashed while waiting for {what}")
                tick = self._tick
                value = found()
                if value is not None:
                    return value
                await tick.wait()

        return await _within(timeout, what, wait())

    def _changed(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.javascriptDialogOpening":
            # An alert() blocks the page (and every evaluate) until answered: answered, and recorded.
            task = asyncio.create_task(self.send("Page.handleJavaScriptDialog", {"accept": False}))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        elif method == "Inspector.targetCrashed":
            self._crashed = True
        if self.record.add(method, params):
            self._changed()


__all__ = [
    "Browser",
    "CdpError",
    "ConsoleEntry",
    "JsError",
    "Navigation",
    "NavigationError",
    "Page",
    "Redirect",
    "chromium",
]
