"""Jobs refused for quota: the units wait with reason ExceededQuota and start once the quota allows."""

from __future__ import annotations

import pytest
from failure_kit import Sim, spec, task

from baton.api.run import InstanceStatus, TaskPhase
from baton.core.quota import EXCEEDED_QUOTA, hold, quota_delay, quota_refusal

REFUSAL = (
    'jobs.batch "run-1-b-1" is forbidden: exceeded quota: q, requested: count/jobs.batch=1, '
    "used: count/jobs.batch=1, limited: count/jobs.batch=1"
)


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (403, REFUSAL, True),
        (403, "pods is forbidden: Exceeded quota: compute, requested: pods=1", True),
        (403, 'jobs.batch is forbidden: User "x" cannot create resource "jobs"', False),  # RBAC, not quota
        (422, "exceeded quota", False),
        (409, "already exists", False),
    ],
)
def test_a_quota_refusal_is_a_403_that_says_exceeded_quota(code: int, message: str, expected: bool) -> None:
    assert quota_refusal(code, message) is expected


@pytest.mark.parametrize(
    ("refusals", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (40, 60.0)]
)
def test_the_delay_doubles_from_2s_to_a_minute(refusals: int, delay: float) -> None:
    assert quota_delay(refusals) == delay


def test_hold_keeps_the_same_object_when_it_already_waits_for_the_same_reason() -> None:
    unit = InstanceStatus(name="a", phase=TaskPhase.PENDING)
    held = hold(unit, REFUSAL)
    assert (held.reason, held.phase) == (EXCEEDED_QUOTA, TaskPhase.PENDING)
    assert held.message is not None and held.message.startswith("waiting for quota: jobs.batch")
    assert hold(held, REFUSAL) is held
    assert len(hold(unit, "x" * 5000).message or "") <= 1000


def test_refused_tasks_wait_say_why_and_start_when_the_quota_allows() -> None:
    sim = Sim.start(spec(task("a"), task("b"), task("c"), task("d", "a", "b", "c")))
    sim.step(quota=1)
    assert [j for j in sim.jobs] == [("a", 1)]
    assert sim.phases() == {"a": "Running", "b": "Pending", "c": "Pending", "d": "Pending"}
    assert sim.reasons() == {"a": None, "b": EXCEEDED_QUOTA, "c": EXCEEDED_QUOTA, "d": None}
    status, reason, message = sim.condition()
    assert (status, reason) == ("Unknown", EXCEEDED_QUOTA)
    assert message.startswith("waiting for quota: 2 Job(s) refused (b, c): jobs.batch")
    assert [e.reason for e in sim.last.events if e.reason == EXCEEDED_QUOTA] == [EXCEEDED_QUOTA]
    assert sim.task("b").attempts == 0  # waiting for quota costs no attempt

    sim.at(2).step(quota=1)  # tried again: one more fits
    assert sim.reasons()["b"] is None and sim.phases()["b"] == "Running"
    assert sim.reasons()["c"] == EXCEEDED_QUOTA
    sim.at(4).step()  # the quota was raised
    assert sim.phases() == {"a": "Running", "b": "Running", "c": "Running", "d": "Pending"}
    assert set(sim.reasons().values()) == {None}
    _, reason, message = sim.condition()
    assert reason == "Running" and "quota" not in message
    for name in ("a", "b", "c"):
        sim.finish(name)
    sim.step()
    sim.finish("d").step()
    assert sim.phase is not None and sim.phase.value == "Succeeded"


def test_a_refusal_of_the_first_task_leaves_the_run_pending_and_saying_why() -> None:
    sim = Sim.start(spec(task("only")))
    sim.step(quota=0)
    assert sim.phases() == {"only": "Pending"} and not sim.jobs
    status, reason, message = sim.condition()
    assert (status, reason) == (
        "Unknown",
        EXCEEDED_QUOTA,
    ) and "waiting for quota: 1 Job(s) refused" in message


def test_refused_for_each_instances_wait_and_the_others_run() -> None:
    sim = Sim.start(spec(task("fan", forEach={"items": ["x", "y", "z"]})))
    sim.step(quota=1)  # it expands and starts its instances in one plan
    fan = sim.task("fan")
    assert [(i.phase.value, i.reason) for i in fan.instances] == [
        ("Running", None),
        ("Pending", EXCEEDED_QUOTA),
        ("Pending", EXCEEDED_QUOTA),
    ]
    sim.at(3).step()
    assert [i.phase.value for i in sim.task("fan").instances] == ["Running"] * 3
    for k in range(3):
        sim.finish(f"fan[{k}]")
    sim.step()
    assert sim.phases() == {"fan": "Succeeded"}


def test_refused_units_do_not_count_against_parallelism() -> None:
    sim = Sim.start(spec(task("a"), task("b"), task("c"), parallelism=2))
    sim.step(quota=1)
    assert list(sim.jobs) == [("a", 1)] and sim.reasons()["b"] == EXCEEDED_QUOTA
    assert sim.reasons()["c"] is None  # not tried while the quota refuses: it would be refused too
    sim.at(2).step()
    assert sim.phases() == {"a": "Running", "b": "Running", "c": "Pending"}  # the limit of 2 holds
