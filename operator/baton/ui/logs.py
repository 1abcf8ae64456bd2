"""An attempt's log for the run page: from its Pod while there is one (the last lines; the whole log is
`kubectl baton logs`), else the tail the run's status recorded, saying which; and, for an attempt that
is still running, its new lines as they are written (`follow`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from baton.cli.logs import find_unit, recorded_attempt, split_instance
from baton.cli.output import run_view
from baton.controller.client import KubeClient
from baton.kube import labels

from .run_page import LogView

LOG_LINES = 5000
"""The end of a log shown on a page (the whole log: kubectl baton logs)."""
RUNNING = ("Running", "Pending")
FOLLOW_SECONDS = 3600
"""How long one page follows a log before it asks to be reloaded."""


async def _pod(client: KubeClient, namespace: str, run: str, task: str, attempt: int) -> str | None:
    pods = await client.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/pods",
        params={"labelSelector": labels.attempt_selector(run, *split_instance(task), attempt)},
        verb="list",
        resource="pods",
    )
    items = pods.get("items") or []
    return str(items[-1]["metadata"]["name"]) if items else None


def _unit(run: Mapping[str, Any], pipeline: Mapping[str, Any] | None, task: str) -> dict[str, Any]:
    view = run_view(run, pipeline)
    state = find_unit(view, task)  # a task, or one instance of a forEach task ("extract[3]")
    if state is None:
        raise web.HTTPNotFound(text=f'task "{task[:80]}" is not in pipelinerun "{view.name}"')
    return dict(state)


def _attempt(state: Mapping[str, Any], task: str, attempt_text: str | None) -> int:
    attempts = int(state.get("attempts") or 0)
    try:
        attempt = int(attempt_text) if attempt_text else attempts
    except ValueError:
        raise web.HTTPBadRequest(text=f'attempt "{(attempt_text or "")[:20]}" is not a number') from None
    if attempt_text and attempt < 1:
        raise web.HTTPBadRequest(text=f"attempt {attempt} is not one: attempts count from 1")
    if attempt > attempts and (attempts or attempt_text):
        raise web.HTTPNotFound(text=f'task "{task[:80]}" has had {attempts} attempt(s), not {attempt}')
    return attempt


def why_no_log(state: Mapping[str, Any]) -> str:
    """Why a task that never ran an attempt has no log: what its status says, not a guess."""
    phase, reason = state.get("phase") or "Pending", state.get("reason") or ""
    message = str(state.get("message") or reason).strip().splitlines()
    said = message[-1] if message else ""
    if reason == "Reused" and state.get("reusedFrom"):
        return f"reused from run {state['reusedFrom']}, where it ran: its log is that run's"
    if phase == "Pending":
        return "it has not started: no log yet" + (f" ({said})" if said else "")
    return f"it never ran: {phase.lower()}" + (f" ({said})" if said else "")


async def log_view(
    client: KubeClient,
    run: Mapping[str, Any],
    pipeline: Mapping[str, Any] | None,
    task: str,
    attempt_text: str | None,
) -> LogView:
    state = _unit(run, pipeline, task)
    attempts = int(state.get("attempts") or 0)
    attempt = _attempt(state, task, attempt_text)
    if state.get("items") is not None and not attempts:
        note = f"a forEach task: each of its {state['items']} instances has its log"
        return LogView(task, 0, "", note, instances=int(state["items"]))
    if attempt < 1 or attempts == 0:
        return LogView(task, 0, "", why_no_log(state))
    meta = run["metadata"]
    namespace = meta["namespace"]
    follow = attempt == attempts and state.get("phase") in RUNNING
    pod = await _pod(client, namespace, meta["name"], task, attempt)
    if pod is not None:
        text = await client.text(
            f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
            params={"container": "main", "tailLines": str(LOG_LINES)},
            resource="pods/log",
        )
        cut = text.count("\n") >= LOG_LINES
        note = f"from its Pod {pod}" + (
            f", its last {LOG_LINES:,} lines (all: kubectl baton logs)" if cut else ""
        )
        return LogView(task, attempt, text, note if text or follow else f"{note}: the log is empty", follow)
    kept = recorded_attempt(state, attempt)
    if kept is not None and kept.tail:
        return LogView(task, attempt, kept.tail, "its Pod is gone: the log tail recorded on the run follows")
    if follow:
        return LogView(task, attempt, "", "its Pod has not started yet", follow)
    return LogView(task, attempt, "", "its Pod is gone and the run's status kept no log tail of it")


async def followed(
    client: KubeClient, run: Mapping[str, Any], task: str, attempt_text: str | None
) -> AsyncIterator[bytes] | None:
    """The lines of the attempt's log from its last LOG_LINES on, then each new one until its container
    ends; None when it has no Pod (the page's snapshot is all there is). A started run's own spec names
    its tasks: no Pipeline is read."""
    state = _unit(run, None, task)
    attempt = _attempt(state, task, attempt_text)
    meta = run["metadata"]
    pod = await _pod(client, meta["namespace"], meta["name"], task, attempt) if attempt else None
    if pod is None:
        return None
    params = {"container": "main", "tailLines": str(LOG_LINES), "follow": "true"}
    path = f"/api/v1/namespaces/{meta['namespace']}/pods/{pod}/log"
    return client.stream(path, params, resource="pods/log", seconds=FOLLOW_SECONDS, blank=True)
