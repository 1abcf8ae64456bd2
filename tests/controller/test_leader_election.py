"""Two replicas, one leader, on the dev cluster: the standby watches but does not act, takes over at once
when the leader shuts down (it releases the Lease) and after the lease expires when the leader dies; and
when two operators act at once (a forced overlap, or two started by mistake without --leader-elect),
deterministic names and resourceVersion preconditions still give every run its right outcome, with no Job
created twice and no attempt too many."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from operator_kit import Api, RunningOperator, phase_of, tasks_of
from test_failure_scenarios import pipeline, sh

from baton.controller.client import ApiFailure
from baton.controller.leader import LeaderElection, LeaderElector
from baton.core.leases import Timing
from baton.devcluster.audit import RequestRecord
from support import wait_for

StartOperator = Callable[..., RunningOperator]
FAST = Timing(lease_duration=3, renew_deadline=2, retry_period=0.25)
FINISHED = ("Succeeded", "Failed", "Cancelled")


SHAPES = [
    pipeline("chain", [sh("a"), sh("b", "true", "a"), sh("c", "true", "b")]),
    pipeline(
        "wide",
        [sh("start"), *(sh(f"w{i}", "true", "start") for i in range(4)), sh("end", "true", "w0", "w3")],
    ),
    pipeline(
        "flaky",
        [
            sh(
                "fetch",
                'test "$BATON_ATTEMPT" -ge 2',
                retries={"limit": 2, "backoff": {"initialSeconds": 0.2}},
            )
        ],
        **{"finally": [sh("notify", 'echo "$(run.status)"')]},
    ),
]
ATTEMPTS = {"chain": {}, "wide": {}, "flaky": {"fetch": 2}}


def electing(namespace: str) -> LeaderElection:
    return LeaderElection(name="baton-test", namespace=namespace, timing=FAST)


def leader_of(api: Api) -> str | None:
    where = ("coordination.k8s.io", "leases")
    found = api.cluster.sync(api.cluster.store.find, where, api.namespace, "baton-test")
    return ((found or {}).get("spec") or {}).get("holderIdentity")


def start_runs(api: Api, count: int) -> dict[str, str]:
    for shape in SHAPES:
        if api.pipeline(shape["metadata"]["name"]) is None:
            api.apply(shape)
    names = {}
    for i in range(count):
        shape = SHAPES[i % len(SHAPES)]["metadata"]["name"]
        names[api.start_run(shape)] = shape
    return names


def assert_right_outcomes(api: Api, runs: dict[str, str]) -> None:
    for name, shape in runs.items():
        run = wait_for(
            lambda name=name: (lambda r: r if phase_of(r) in FINISHED else None)(api.run(name)),
            timeout=60,
            message=f"run {name} to finish",
        )
        assert phase_of(run) == "Succeeded", run["status"]
        for task, status in tasks_of(run).items():
            assert status["attempts"] == ATTEMPTS[shape].get(task, 1), (name, task, status)
    created = Counter(
        r.name
        for r in api.cluster.sync(api.cluster.audit.records)
        if isinstance(r, RequestRecord)
        and r.verb == "create"
        and r.resource == "jobs.batch"
        and r.namespace == api.namespace
        and r.code == 201
    )
    assert created and max(created.values()) == 1, [n for n, c in created.items() if c > 1]
    theirs = [j for j in api.jobs() if j["metadata"]["labels"]["baton.dev/run"] in runs]
    assert len(theirs) == sum(
        sum(ATTEMPTS[shape].get(t, 1) for t in tasks_of(api.run(name))) for name, shape in runs.items()
    )


def test_one_leader_acts_and_the_standby_takes_over_when_it_shuts_down(
    api: Api, start_operator: StartOperator
) -> None:
    first = start_operator(api.namespace, leader_election=electing(api.namespace))
    second = start_operator(api.namespace, leader_election=electing(api.namespace))
    holder = wait_for(lambda: leader_of(api), message="a leader")
    leader, standby = (first, second) if first.operator.elector.me == holder else (second, first)
    assert standby.call(lambda: standby.operator.queue.paused) and not standby.operator.elector.leading
    assert_right_outcomes(api, start_runs(api, 6))
    assert standby.call(lambda: standby.operator.queue.paused)
    wait_for(
        lambda: any(e["reason"] == "LeaderElection" and holder in e["message"] for e in api.events()),
        message="an Event on the Lease",
    )

    leader.stop()  # graceful: it releases the Lease
    wait_for(lambda: standby.operator.elector.leading, timeout=10, message="the standby to lead")
    assert leader_of(api) == standby.operator.elector.me
    assert_right_outcomes(api, start_runs(api, 3))


def test_a_dead_leader_is_replaced_once_its_lease_expires(api: Api, start_operator: StartOperator) -> None:
    first = start_operator(api.namespace, leader_election=electing(api.namespace))
    wait_for(lambda: first.operator.elector.leading, message="the first to lead")
    second = start_operator(api.namespace, leader_election=electing(api.namespace))
    runs = start_runs(api, 3)

    def die() -> None:  # a leader that stops answering: no renewal, no release, no more reconciles
        first.operator.queue.pause()
        assert first.operator._electing is not None
        first.operator._electing.cancel()

    first.call(die)
    wait_for(lambda: second.operator.elector.leading, timeout=15, message="the standby to take over")
    assert leader_of(api) == second.operator.elector.me
    assert_right_outcomes(api, {**runs, **start_runs(api, 3)})


def test_a_forced_overlap_of_two_leaders_is_safe(api: Api, start_operator: StartOperator) -> None:
    first = start_operator(api.namespace, leader_election=electing(api.namespace))
    wait_for(lambda: first.operator.elector.leading, message="the first to lead")
    second = start_operator(api.namespace, leader_election=electing(api.namespace))

    def overlap() -> None:  # a paused leader waking up: it acts although another holds the Lease
        assert second.operator._electing is not None
        second.operator._electing.cancel()
        second.operator.release("standby")

    second.call(overlap)
    # Once its first look at the CRDs is done too, it acts beside the leader.
    wait_for(lambda: not second.call(lambda: second.operator.queue.paused), message="both to act")
    assert_right_outcomes(api, start_runs(api, 10))


def test_two_operators_started_by_mistake_without_leader_election_are_safe(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    start_operator(api.namespace)
    assert_right_outcomes(api, start_runs(api, 10))


class FakeLeaseApi:
    """A Lease store behind the client's `request`, which can be made to hang (a partitioned leader)."""

    def __init__(self) -> None:
        self.obj: dict[str, Any] | None = None
        self.version = 0
        self.hang = False

    async def request(self, method: str, path: str, *, body: Any = None, **_: Any) -> dict[str, Any]:
        if self.hang:
            await asyncio.sleep(3600)
        if method == "GET":
            if self.obj is None:
                raise ApiFailure(404, "NotFound", "no lease")
            return self.obj
        self.version += 1
        self.obj = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.version)}}
        return self.obj


async def test_a_leader_that_cannot_renew_stops_at_its_renew_deadline_not_later() -> None:
    api = FakeLeaseApi()
    loop = asyncio.get_running_loop()
    stopped: list[float] = []
    started, ended = asyncio.Event(), asyncio.Event()

    def stop() -> None:
        stopped.append(loop.time())
        ended.set()

    elector = LeaderElector(
        api,  # type: ignore[arg-type]
        "ns",
        timing=Timing(lease_duration=1.2, renew_deadline=1.0, retry_period=0.2),
        on_started=started.set,
        on_stopped=stop,
    )
    running = asyncio.create_task(elector.run())
    try:
        await asyncio.wait_for(started.wait(), 5)
        api.hang = True  # every request from now on hangs
        await asyncio.wait_for(ended.wait(), 5)
        assert elector._renewed is not None
        late = stopped[0] - (elector._renewed + 1.0)
        assert -0.01 <= late < 0.1, late  # at its deadline, well before the lease (1.2 s) could expire
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
