"""The action buttons of the run and Pipeline pages: plain HTML forms that POST (they work without
JavaScript), each with its CSRF token, offered only where the action can succeed (a running run has no
Retry, a finished one no Cancel). The server decides again when the form arrives (``core.run_actions``):
the page may be old."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from baton.api.run import FINISHED_PHASES
from baton.core.actors import recorded_action
from baton.core.run_actions import not_ready
from baton.core.start import has_frozen_spec

from .csrf import FIELD, Tokens
from .markup import Child, Markup, element, join, void

RUN_ACTIONS = ("retry", "cancel", "suspend", "resume")


@dataclass(frozen=True, slots=True)
class Actions:
    """Whether and for whom the pages offer actions."""

    tokens: Tokens
    user: str
    """The proxied user ("" when the UI acts with its own credentials): tokens are theirs alone."""

    def form(self, path: str, label: str, *fields: Child, cls: str = "") -> Markup:
        token = void("input", {"type": "hidden", "name": FIELD, "value": self.tokens.token(self.user, path)})
        button = element("button", {"type": "submit", "class": cls or None}, label)
        return element("form", {"method": "post", "action": path, "class": "action"}, token, *fields, button)


def action_path(kind: str, namespace: str, name: str, action: str) -> str:
    return f"/{kind}/{quote(namespace, safe='')}/{quote(name, safe='')}/{action}"


def run_actions(
    run: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], actions: Actions | None
) -> Markup:
    """The forms a person may use on ``run`` now; nothing on a read-only UI."""
    if actions is None:
        return Markup("")
    meta, spec, status = run.get("metadata") or {}, run.get("spec") or {}, run.get("status") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")

    def path(action: str) -> str:
        return action_path("runs", namespace, name, action)

    forms: list[Child] = []
    phase = status.get("phase")
    if phase in FINISHED_PHASES:
        if has_frozen_spec(status):
            if phase != "Succeeded":
                forms.append(actions.form(path("retry"), "Retry", cls="primary"))
            # The first task that failed is chosen: submitted as it is, the form retries from there.
            failed = next((str(t.get("name")) for t in tasks if t.get("phase") == "Failed"), None)
            names = [str(t.get("name", "")) for t in tasks]
            options = [element("option", {"value": t, "selected": t == failed}, t) for t in names]
            chooser = element("select", {"name": "from"}, options)
            forms.append(actions.form(path("retry"), "Retry from", element("label", None, "task ", chooser)))
    else:
        cancel = spec.get("cancel")
        if cancel is None:
            message = void("input", {"name": "message", "placeholder": "why (optional)", "maxlength": 200})
            skip = void("input", {"type": "checkbox", "name": "no-finally"})
            no_finally = element("label", None, skip, " skip finally tasks")
            forms.append(actions.form(path("cancel"), "Cancel", message, no_finally, cls="danger"))
        elif cancel.get("runFinally") is not False:
            stop = void("input", {"type": "hidden", "name": "no-finally", "value": "on"})
            forms.append(actions.form(path("cancel"), "Stop finally tasks too", stop, cls="danger"))
        if spec.get("suspend"):
            forms.append(actions.form(path("resume"), "Resume"))
        else:
            forms.append(actions.form(path("suspend"), "Suspend"))
    return element("div", {"class": "actions"}, forms) if forms else Markup("")


def pipeline_actions(pipeline: Mapping[str, Any], actions: Actions | None) -> Markup:
    """The form that runs ``pipeline`` with params (defaults filled in, required ones marked)."""
    if actions is None:
        return Markup("")
    refused = not_ready(pipeline)
    if refused is not None:  # a run would fail at once: no button, the reason instead
        return element("p", {"class": "note"}, f"No Run button: {refused}.")
    meta = pipeline.get("metadata") or {}
    fields: list[Child] = []
    for param in (pipeline.get("spec") or {}).get("params") or ():
        if not isinstance(param, Mapping) or not param.get("name"):
            continue
        default = param.get("default")
        attrs = {
            "name": f"param.{param['name']}",
            "value": "" if default is None else default,
            "required": default is None,
        }
        fields.append(element("label", None, f"{param['name']} ", void("input", attrs)))
    path = action_path("pipelines", meta.get("namespace", ""), meta.get("name", ""), "run")
    return element("div", {"class": "actions"}, actions.form(path, "Run", *fields, cls="primary"))


def who_acted(run: Mapping[str, Any], href_of: Callable[[str, str], str]) -> Markup:
    """ "Retry of etl-1 from task load; retry started by alice@corp at …": what the run retries, and the
    last action a person took on it (said to be older than the run's spec when someone changed it since,
    by hand)."""
    meta, spec = run.get("metadata") or {}, run.get("spec") or {}
    parts: list[Child] = []
    retry_of = spec.get("retryOf")
    if retry_of:
        parts += ["Retry of ", element("a", {"href": href_of(meta.get("namespace", ""), retry_of)}, retry_of)]
        tasks = [str(t) for t in spec.get("retryFrom") or ()]
        if tasks:
            parts.append(f" from task{'s' if len(tasks) > 1 else ''} {', '.join(tasks)}")
    action = recorded_action(meta.get("annotations"))
    if action is not None:
        described = action.described()
        if action.generation != int(meta.get("generation") or 1):
            described += " (its spec has changed since)"
        parts.append("; " + described if parts else described[:1].upper() + described[1:])
    return element("p", {"class": "actor"}, join(parts)) if parts else Markup("")
