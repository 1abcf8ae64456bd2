"""What a page did, as its DevTools events tell it (`cdp`): the documents its main frame loaded, with their
status, headers and redirects, and what its console said. Pure: events in, facts out, no browser needed.

Documents are told apart by their loaderId, which every event of one load carries (its requests, a 303
and the GET it leads to, its response, its lifecycle), so a test asks about the load it caused and not
whichever came last."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Redirect:
    status: int
    url: str
    location: str
    """Where it sent the browser."""


@dataclass(slots=True)
class Navigation:
    """One document loaded into a page's main frame, as the network saw it."""

    loader: str
    url: str = ""
    """The document's own URL, after any redirects."""
    method: str = ""
    """Of the first request (a form's POST; a 303 then makes it a GET)."""
    status: int | None = None
    """Of the final response; None when no response came (`error` says why)."""
    headers: dict[str, str] = field(default_factory=dict)
    """The final response's, names in lower case."""
    redirects: list[Redirect] = field(default_factory=list)
    loaded: bool = False
    """Its load event fired."""
    error: str = ""

    @property
    def done(self) -> bool:
        return self.loaded or bool(self.error)


@dataclass(frozen=True, slots=True)
class ConsoleEntry:
    source: str
    """console, exception, dialog, or one of the browser's Log sources (network, security, …)."""
    level: str
    text: str
    url: str = ""

    def __str__(self) -> str:
        return f"[{self.source} {self.level}] {self.text}" + (f" ({self.url})" if self.url else "")


class PageRecord:
    def __init__(self, main_frame: str) -> None:
        self.main_frame = main_frame
        self.navigations: list[Navigation] = []
        self.console: list[ConsoleEntry] = []
        self._by_loader: dict[str, Navigation] = {}
        self._documents: dict[str, Navigation] = {}
        """By requestId: a failed request names no loader."""

    def loaded(self, loader: str) -> Navigation | None:
        """The navigation ``loader`` once it has loaded or failed."""
        found = self._by_loader.get(loader)
        return found if found is not None and found.done else None

    def loaded_after(self, count: int) -> Navigation | None:
        """The newest navigation after the first ``count`` once it has loaded or failed."""
        return next((n for n in reversed(self.navigations[count:]) if n.done), None)

    @property
    def problems(self) -> list[str]:
        """Every error the page reported: console.error, uncaught exceptions, failed loads, CSP
        violations, dialogs (one means script ran). Not the 404 of /favicon.ico: the browser asks for it
        on its own, whatever the page holds (it stays in `console`)."""
        return [
            str(e)
            for e in self.console
            if e.level == "error" and not (e.source == "network" and e.url.endswith("/favicon.ico"))
        ]

    @property
    def csp_violations(self) -> list[str]:
        return [str(e) for e in self.console if "Content Security Policy" in e.text]

    def add(self, method: str, params: dict[str, Any]) -> bool:
        """Take in one event; whether it was one this record follows."""
        handler = self._HANDLERS.get(method)
        if handler is None:
            return False
        handler(self, params)
        return True

    def _navigation(self, loader: str) -> Navigation:
        if loader not in self._by_loader:
            self._by_loader[loader] = Navigation(loader)
            self.navigations.append(self._by_loader[loader])
        return self._by_loader[loader]

    def _main_document(self, params: dict[str, Any]) -> bool:
        return params.get("type") == "Document" and params.get("frameId") == self.main_frame

    def _request(self, params: dict[str, Any]) -> None:
        if not self._main_document(params):
            return
        shown = self._navigation(params["loaderId"])
        self._documents[params["requestId"]] = shown
        request = params["request"]
        if "redirectResponse" in params:  # the same load goes on: same loaderId, same requestId
            moved = params["redirectResponse"]
            shown.redirects.append(Redirect(moved["status"], moved["url"], request["url"]))
        shown.method = shown.method or request["method"]
        shown.url = request["url"]

    def _response(self, params: dict[str, Any]) -> None:
        if not self._main_document(params):
            return
        shown, response = self._navigation(params["loaderId"]), params["response"]
        shown.status, shown.url = response["status"], response["url"]
        shown.headers = {k.lower(): v for k, v in response.get("headers", {}).items()}

    def _failed(self, params: dict[str, Any]) -> None:
        shown = self._documents.get(params.get("requestId", ""))
        if shown is not None and not params.get("canceled"):
            shown.error = params.get("errorText") or "failed"

    def _lifecycle(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.main_frame and params.get("name") == "load":
            self._navigation(params["loaderId"]).loaded = True

    def _console_call(self, params: dict[str, Any]) -> None:
        kind = params.get("type", "")
        level = "error" if kind in ("error", "assert") else "warning" if kind == "warning" else "info"
        words = [
            str(a.get("value", a.get("description", a.get("unserializableValue", ""))))
            for a in params.get("args", [])
        ]
        self.console.append(ConsoleEntry("console", level, " ".join(words)))

    def _exception(self, params: dict[str, Any]) -> None:
        details = params.get("exceptionDetails") or {}
        text = (details.get("exception") or {}).get("description") or details.get("text", "")
        self.console.append(ConsoleEntry("exception", "error", text, details.get("url", "")))

    def _log(self, params: dict[str, Any]) -> None:  # CSP violations come this way (source "security")
        entry = params.get("entry") or {}
        self.console.append(
            ConsoleEntry(
                entry.get("source", ""), entry.get("level", ""), entry.get("text", ""), entry.get("url", "")
            )
        )

    def _dialog(self, params: dict[str, Any]) -> None:
        self.console.append(ConsoleEntry("dialog", "error", f"{params.get('type')}: {params.get('message')}"))

    _HANDLERS: dict[str, Callable[[PageRecord, dict[str, Any]], None]] = {
        "Network.requestWillBeSent": _request,
        "Network.responseReceived": _response,
        "Network.loadingFailed": _failed,
        "Page.lifecycleEvent": _lifecycle,
        "Runtime.consoleAPICalled": _console_call,
        "Runtime.exceptionThrown": _exception,
        "Log.entryAdded": _log,
        "Page.javascriptDialogOpening": _dialog,
    }
