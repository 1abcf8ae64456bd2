"""A Pod's phase and conditions from its container statuses, as the kubelet computes them (pure).

`pod_phase` follows the kubelet's `getPhase`; the conditions follow its `Generate*Condition`
helpers, including their reasons (`ContainersNotInitialized`, `ContainersNotReady`, `PodCompleted`).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

TERMINAL_PHASES = ("Succeeded", "Failed")
# kubectl describe shows conditions in this order, as the kubelet writes them.
CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def pod_phase(restart_policy: str, init_statuses: list[Obj], statuses: list[Obj]) -> str:
    pending_init = failed_init = 0
    for status in init_statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "running" in state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += state["terminated"].get("exitCode", 0) != 0
        elif "waiting" in state and "terminated" in last:
            failed_init += last["terminated"].get("exitCode", 0) != 0
        else:
            pending_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    for status in statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode", 0) == 0
        elif "waiting" in state:
            if "terminated" in last:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init and restart_policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def pod_conditions(
    phase: str,
    init_statuses: list[Obj],
    statuses: list[Obj],
    *,
    image_note: str,
    previous: list[Obj],
    now: str,
) -> list[Obj]:
    """The Pod's conditions; a condition keeps its lastTransitionTime while its status is unchanged."""
    terminal = phase in TERMINAL_PHASES
    incomplete = [
        s["name"]
        for s in init_statuses
        if (s.get("state") or {}).get("terminated", {}).get("exitCode", 1) != 0
    ]
    unready = [s["name"] for s in statuses if not s.get("ready")]
    wanted: dict[str, Obj] = {
        "PodReadyToStartContainers": {"status": "False" if terminal else "True"},
        "PodScheduled": {"status": "True", "message": image_note},
    }
    if terminal and not incomplete:
        wanted["Initialized"] = {"status": "True", "reason": "PodCompleted"}
    elif incomplete:
        wanted["Initialized"] = {
            "status": "False",
            "reason": "ContainersNotInitialized",
            "message": f"containers with incomplete status: [{' '.join(incomplete)}]",
        }
    else:
        wanted["Initialized"] = {"status": "True"}
    if phase == "Succeeded":
        ready: Obj = {"status": "False", "reason": "PodCompleted"}
    elif unready or not statuses:
        ready = {
            "status": "False",
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{' '.join(unready)}]",
        }
    else:
        ready = {"status": "True"}
    wanted["Ready"] = ready
    wanted["ContainersReady"] = dict(ready)

    before = {c.get("type"): c for c in previous}
    conditions = []
    for kind in CONDITION_ORDER:
        fields = wanted[kind]
        old = before.get(kind) or {}
        unchanged = old.get("status") == fields["status"] and old.get("lastTransitionTime")
        condition: Obj = {
            "type": kind,
            "status": fields["status"],
            "lastProbeTime": None,
            "lastTransitionTime": old["lastTransitionTime"] if unchanged else now,
        }
        for extra in ("reason", "message"):
            if fields.get(extra):
                condition[extra] = fields[extra]
        conditions.append(condition)
    # Conditions written by others (readiness gates, DisruptionTarget) are kept.
    conditions += [c for c in previous if c.get("type") not in CONDITION_ORDER]
    return conditions
