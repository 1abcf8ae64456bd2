"""The UI's actions: the forms of the run and Pipeline pages POST here, and each does what the CLI's
command does (`core.run_actions` decides for both), records who asked (`core.actors`) and answers with a
redirect to the run it created or changed, whose page shows the result and the person.

Every POST is checked before anything is read: the UI is not read-only, the request comes from its own
pages (`csrf.cross_site`) and carries the token of its form for its user (`csrf.Tokens`). Whose rights it
uses is the server's choice (`server.CLIENT`): the API server decides whether the person may do it, and
its refusal is shown as it gave it (`identity`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from baton.controller.client import ApiFailure, KubeClient
from baton.controller.paths import runs_path
from baton.core.actors import CHANGE_TRIES, Verb, acted_patch, acted_run, change_pause
from baton.core.run_actions import (
    ActionRefused,
    Change,
    cancel_change,
    new_run,
    param_problems,
    retry_run,
    suspend_change,
)

from .csrf import FIELD, cross_site
from .forms import RUN_ACTIONS
from .identity import CLIENT, USER
from .pages import run_href

if TYPE_CHECKING:
    from .server import Ui

RUNS = "pipelineruns.baton.dev"
MAX_MESSAGE = 200
SELF_SUBJECT_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def add_routes(app: web.Application, ui: Ui) -> None:
    acting = _Acting(ui)
    app.router.add_post("/runs/{namespace}/{name}/{action}", acting.on_run)
    app.router.add_post("/pipelines/{namespace}/{name}/run", acting.start)
    app.router.add_get("/runs/{namespace}/{name}/{action}", _no_page)  # not a 405: there is no such page
    app.router.add_get("/pipelines/{namespace}/{name}/run", _no_page)


async def _no_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound(text=f"there is no page {request.path[:200]} (an action is a button's POST)")


async def whoami(client: KubeClient) -> str | None:
    """Who the API server says the client is (through impersonation: the proxied user); None when it
    cannot say (a cluster older than 1.28)."""
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        answer = await client.create(SELF_SUBJECT_REVIEWS, review, resource="selfsubjectreviews")
    except ApiFailure:
        return None
    name = ((answer.get("status") or {}).get("userInfo") or {}).get("username")
    return name if isinstance(name, str) and name else None


class _Acting:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def _form(self, request: web.Request) -> dict[str, str]:
        """The posted form, once the request proved it may act."""
        if not self.ui.actions:
            raise web.HTTPForbidden(text="this UI is read-only: it was started with --read-only")
        why = cross_site(request.headers, request.host)
        if why is not None:
            raise web.HTTPForbidden(text=f"refused: {why}")
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        if not self.ui.tokens.valid(form.get(FIELD, ""), request[USER], request.path):
            raise web.HTTPForbidden(text="refused: the form's token is not valid here (reload the page)")
        return form

    async def on_run(self, request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        if action not in RUN_ACTIONS:
            raise web.HTTPNotFound(text=f'"{action[:40]}" is not an action on a run')
        form = await self._form(request)
        namespace, _, run = await self.ui.required(request, "pipelineruns")
        client: KubeClient = request[CLIENT]
        actor = await whoami(client)
        if action == "retry":
            tasks = [form["from"]] if form.get("from") else []
            body = _refusable(retry_run, run, tasks, namespace)
            created = await _create(client, namespace, acted_run(body, actor, Verb.RETRY, datetime.now(UTC)))
            return _to_run(namespace, created["metadata"]["name"])
        if action == "cancel":
            message = form.get("message", "").strip()[:MAX_MESSAGE] or None
            no_finally = bool(form.get("no-finally"))
            await self._change(
                client,
                run,
                lambda r: cancel_change(r, run_finally=not no_finally, message=message),
                Verb.CANCEL,
                actor,
            )
        else:
            suspend = action == "suspend"
            verb = Verb.SUSPEND if suspend else Verb.RESUME
            await self._change(client, run, lambda r: suspend_change(r, suspend), verb, actor)
        return _to_run(namespace, run["metadata"]["name"])

    async def _change(
        self,
        client: KubeClient,
        run: dict[str, Any],
        decide: Callable[[dict[str, Any]], Change],
        verb: Verb,
        actor: str | None,
    ) -> None:
        """As the CLI: patch as of the run's version, deciding again if it changed meanwhile."""
        meta = run["metadata"]
        path = runs_path(meta["namespace"], meta["name"])
        for tries in range(CHANGE_TRIES):
            change = _refusable(decide, run)
            if change.patch is None:
                return  # it is so already: the page shows it
            try:
                patch = acted_patch(change.patch, run, actor, verb, datetime.now(UTC))
                await client.merge_patch(path, patch, resource=RUNS)
                return
            except ApiFailure as failure:
                if failure.code != 409:
                    raise
            await asyncio.sleep(change_pause(tries, random.random()))
            run = await client.get(path, resource=RUNS)
        raise web.HTTPConflict(text=f'pipelinerun "{meta["name"]}" keeps changing: try again')

    async def start(self, request: web.Request) -> web.StreamResponse:
        """Run a Pipeline with the form's params (`param.NAME` fields)."""
        form = await self._form(request)
        namespace, name, pipeline = await self.ui.required(request, "pipelines")
        # An emptied field is no value: the param's default applies, or it is missing.
        params = {k.removeprefix("param."): v for k, v in form.items() if k.startswith("param.") and v}
        problems = param_problems(pipeline, params, give="fill in {param}")
        if problems:
            raise web.HTTPUnprocessableEntity(text="; ".join(problems)[:1000])
        client: KubeClient = request[CLIENT]
        body = acted_run(new_run(name, namespace, params), await whoami(client), Verb.RUN, datetime.now(UTC))
        created = await _create(client, namespace, body)
        return _to_run(namespace, created["metadata"]["name"])


def _refusable(decide: Callable[..., Any], *args: Any) -> Any:
    """``decide(*args)``, its refusal a 409 that says why."""
    try:
        return decide(*args)
    except ActionRefused as refused:
        if refused.field is not None:  # what the form sent is wrong, not the run's state
            raise web.HTTPUnprocessableEntity(text=refused.message) from None
        raise web.HTTPConflict(text=refused.message) from None


async def _create(client: KubeClient, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    return await client.create(runs_path(namespace), body, resource=RUNS)


def _to_run(namespace: str, name: str) -> web.Response:
    """See Other: the browser loads the run's page (a reload does not post again)."""
    return web.Response(status=303, headers={"Location": run_href(namespace, name)})
