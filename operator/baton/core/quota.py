"""Jobs a ResourceQuota refuses: the task waits and is tried again, it does not fail.

A quota on `count/jobs.batch` makes the API server refuse a Job's creation with 403 "exceeded quota".
That is a full cluster, not a broken task: the unit stays Pending with reason ExceededQuota, the run
says it waits for quota, and the shell plans again after a growing delay (and whenever another of the
run's Jobs ends, which is what frees quota). The refusal is an observation fed back into `plan`, so
the decision of what runs stays in one pure function.

A quota on Pods (or CPU and memory) lets the Job be created and refuses its Pod instead. The task
then runs without a Pod; its timeout counts from its Pod's start (`activeDeadlineSeconds` is set on
the Pod, not the Job), so the time spent waiting for quota is not held against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from baton.api.run import InstanceStatus
from baton.core.events import Event, EventType
from baton.core.status import shorten

EXCEEDED_QUOTA = "ExceededQuota"
"""The reason of a unit whose Job the API server refused for quota, and of the run's condition."""

FIRST_DELAY = 2.0
MAX_DELAY = 60.0

T = TypeVar("T", bound=InstanceStatus)


def quota_refusal(code: int, message: str) -> bool:
    """Whether an API error is a ResourceQuota's refusal (403 Forbidden, "exceeded quota: NAME, …")."""
    return code == 403 and "exceeded quota" in message.lower()


def quota_delay(refusals: int) -> float:
    """Seconds before planning again after the ``refusals``-th refusal in a row: 2 s, doubling to 60 s."""
    return min(MAX_DELAY, FIRST_DELAY * float(2 ** max(0, refusals - 1)))


def hold(unit: T, why: str) -> T:
    """The unit, not started, waiting for quota (the same object when it already says so)."""
    message = _cut(f"waiting for quota: {why}", 1000)
    if unit.reason == EXCEEDED_QUOTA and unit.message == message:
        return unit
    return unit.model_copy(update={"reason": EXCEEDED_QUOTA, "message": message})


def quota_note(held: Sequence[str], refused: Mapping[str, str]) -> str:
    """One line for the run's message: how many units wait for quota, and the API server's words."""
    shown = ", ".join(held[:3]) + (f", … (+{len(held) - 3})" if len(held) > 3 else "")
    first = refused.get(held[0], "") if held else ""
    return _cut(f"waiting for quota: {len(held)} Job(s) refused ({shown}): {first}", 400)


def quota_event(held: Sequence[str], refused: Mapping[str, str]) -> Event:
    return Event(EventType.WARNING, EXCEEDED_QUOTA, quota_note(held, refused))


def _cut(text: str, limit: int) -> str:
    """The front of the text: what waits and the quota's name come first in the API server's message."""
    return shorten(" ".join(text.split()), limit)
