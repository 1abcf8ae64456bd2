"""Who asked for a run, or for a change to one: the annotations the CLI and the UI write, and the Events
and pages that name the person.

The record is informational: anyone who may patch a run may write any name into it. The API server's
audit log is the record that counts; these annotations put the name where a data engineer looks (the
run page, `kubectl describe`, the run's Events).

An action names the generation its change produced (the CLI and UI patch with the run's
resourceVersion as a precondition, so they know it), and an Event is attributed only while the run is
still at that generation: a later suspend by hand (`kubectl patch`, which writes no annotation) is not
put on the last person who used the UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from baton import GROUP
from baton.core.events import Event, EventType
from baton.core.status import format_time, time_or_none

ACTOR = f"{GROUP}/actor"
ACTION = f"{GROUP}/action"
ACTED_AT = f"{GROUP}/acted-at"
ACTED_GENERATION = f"{GROUP}/acted-generation"
MAX_ACTOR = 120
"""Kubernetes user names are not bounded; a name longer than this is cut (it goes into Events)."""
RUN_REQUESTED = "RunRequested"
CHANGE_TRIES = 8
"""Tries of a change as of the run's version: the operator writes a busy run's status several times a
second, and each write is a new version."""


class Verb(StrEnum):
    RUN = "run"
    RETRY = "retry"
    CANCEL = "cancel"
    SUSPEND = "suspend"
    RESUME = "resume"


_PAST = {
    Verb.RUN: "started",
    Verb.RETRY: "retry started",
    Verb.CANCEL: "cancelled",
    Verb.SUSPEND: "suspended",
    Verb.RESUME: "resumed",
}
_EVENT_VERBS = {
    "RetryStarted": Verb.RETRY,
    "RunCancelled": Verb.CANCEL,
    "RunSuspended": Verb.SUSPEND,
    "RunResumed": Verb.RESUME,
}
"""The run Events that an action causes (``baton.core.events``, ``baton.core.start``)."""


@dataclass(frozen=True, slots=True)
class Action:
    actor: str
    verb: Verb
    at: datetime | None
    generation: int

    def described(self) -> str:
        """ "cancelled by alice@corp at 2026-12-06T10:42:00Z" """
        try:
            when = f" at {format_time(self.at)}" if self.at is not None else ""
        except (ValueError, OverflowError):  # year 1 in another zone: hand-written, not an instant
            when = ""
        return f"{_PAST[self.verb]} by {self.actor}{when}"


def clean_actor(name: str) -> str:
    """A user name as shown: printable, bounded."""
    shown = "".join(c for c in name if c.isprintable()).strip()
    return shown if len(shown) <= MAX_ACTOR else shown[: MAX_ACTOR - 1] + "…"


def action_annotations(actor: str, verb: Verb, at: datetime, generation: int) -> dict[str, str]:
    """The annotations that record ``actor`` asking for ``verb``, whose change made ``generation``."""
    return {
        ACTOR: clean_actor(actor),
        ACTION: verb.value,
        ACTED_AT: format_time(at),
        ACTED_GENERATION: str(generation),
    }


def recorded_action(annotations: Mapping[str, Any] | None) -> Action | None:
    """The action a run's annotations record; None when there is none or it is unreadable (they are
    anyone's to edit: a bad value is ignored, never an error)."""
    annotations = annotations or {}
    actor, verb = annotations.get(ACTOR), annotations.get(ACTION)
    generation = annotations.get(ACTED_GENERATION)
    if not isinstance(actor, str) or not clean_actor(actor) or verb not in set(Verb):
        return None
    try:
        acted_generation = int(str(generation))
    except ValueError:
        return None
    at = time_or_none(annotations.get(ACTED_AT))
    if at is not None and at.tzinfo is None:
        at = None  # a time without its zone says no instant: left out, as any unreadable one
    return Action(clean_actor(actor), Verb(verb), at, acted_generation)


def attributed(
    events: Sequence[Event], action: Action | None, generation: int, *, started: bool
) -> list[Event]:
    """``events`` of a run at ``generation``, naming who caused them.

    ``started``: these are the Events of the run's start, when a run a person asked for says so (a
    retry already has its RetryStarted Event; a run started by the schedule or a trigger has no action).
    """
    if action is None or action.generation != generation:
        return list(events)
    out = [
        replace(event, message=f"{event.message} ({action.described()})")
        if _EVENT_VERBS.get(event.reason) is action.verb
        else event
        for event in events
    ]
    if started and action.verb is Verb.RUN:
        out.insert(0, Event(EventType.NORMAL, RUN_REQUESTED, f"run {action.described()}"))
    return out


def acted_run(body: Mapping[str, Any], actor: str | None, verb: Verb, at: datetime) -> dict[str, Any]:
    """A run to create, annotated with who asked for it (a new object's generation is 1)."""
    created = dict(body)
    metadata = dict(created.get("metadata") or {})
    if actor:
        metadata["annotations"] = {
            **(metadata.get("annotations") or {}),
            **action_annotations(actor, verb, at, 1),
        }
    created["metadata"] = metadata
    return created


def acted_patch(
    patch: Mapping[str, Any], run: Mapping[str, Any], actor: str | None, verb: Verb, at: datetime
) -> dict[str, Any]:
    """``patch`` of a spec, as of ``run``'s resourceVersion (so that the generation it makes is the one
    recorded: a conflict means the run changed meanwhile, and the caller decides again)."""
    meta = run["metadata"]
    generation = int(meta.get("generation") or 1) + 1
    metadata: dict[str, Any] = {"resourceVersion": meta.get("resourceVersion")}
    if actor:
        metadata["annotations"] = action_annotations(actor, verb, at, generation)
    return {**patch, "metadata": metadata}


def change_pause(tries: int, jitter: float) -> float:
    """Seconds before the next try of a change that met a newer version (``jitter`` in [0, 1)): short,
    growing, and apart from whoever else wrote."""
    return min(1.0, 0.05 * 2.0**tries) * (0.5 + jitter / 2)
