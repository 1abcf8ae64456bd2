"""The conditions GitOps tools read, derived from a run's phase and its `Succeeded` condition.

- `Ready` (Tekton's and most controllers' summary): True once the run succeeded; False while it is
  pending, running or suspended and once it failed or was cancelled, with the phase as its reason.
- kstatus (Flux's health checks, kpt, cli-utils) reads the abnormal-true conditions: `Reconciling=True`
  while the run is pending or running (InProgress), `Stalled=True` once it failed, timed out or was
  cancelled (Failed); absent means fine (a succeeded or suspended run is Current), and a status whose
  `observedGeneration` trails the object's generation is InProgress whatever it says.

Derived, never decided on their own: the shell adds them to every status it writes, so they can never
disagree with `phase` and `Succeeded`, and planning a written status again changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from baton.api.common import Condition, ConditionStatus
from baton.api.run import PipelineRunStatus, RunPhase
from baton.core.status import SUCCEEDED, format_time, set_condition

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
_ACTIVE = (RunPhase.PENDING, RunPhase.RUNNING)
_STALLED = (RunPhase.FAILED, RunPhase.CANCELLED)


def with_gitops_conditions(status: PipelineRunStatus, generation: int, now: datetime) -> PipelineRunStatus:
    """``status`` with Ready, Reconciling and Stalled as its phase and Succeeded condition say (itself
    when they already do)."""
    phase = status.phase
    if phase is None:
        return status
    succeeded = status.condition(SUCCEEDED)
    reason = succeeded.reason if succeeded is not None else phase.value
    message = succeeded.message if succeeded is not None else ""
    conditions = list(status.conditions)
    ready = phase is RunPhase.SUCCEEDED
    conditions = set_condition(
        conditions,
        _condition(
            READY, ready, RunPhase.SUCCEEDED.value if ready else phase.value, message, generation, now
        ),
    )
    conditions = _abnormal(conditions, RECONCILING, phase in _ACTIVE, phase.value, message, generation, now)
    conditions = _abnormal(conditions, STALLED, phase in _STALLED, reason, message, generation, now)
    if conditions == status.conditions:
        return status
    return status.model_copy(update={"conditions": conditions})


def pipeline_stalled(
    conditions: list[Condition], invalid: bool, message: str, generation: int, now: datetime
) -> list[Condition]:
    """A Pipeline's conditions with Stalled=True while its spec is invalid (kstatus: Failed), absent
    otherwise."""
    return _abnormal(conditions, STALLED, invalid, "Invalid", message, generation, now)


def _abnormal(
    conditions: list[Condition],
    kind: str,
    true: bool,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """An abnormal-true condition: present (True) when it holds, absent when it does not."""
    if not true:
        return [c for c in conditions if c.type != kind]
    return set_condition(conditions, _condition(kind, True, reason, message, generation, now))


def _condition(kind: str, true: bool, reason: str, message: str, generation: int, now: datetime) -> Condition:
    return Condition(
        type=kind,
        status=ConditionStatus.TRUE if true else ConditionStatus.FALSE,
        reason=reason,
        message=message,
        last_transition_time=format_time(now),
        observed_generation=generation,
    )
