"""The operator through an API server that fails on purpose: each fault profile of the dev cluster, then
all of them at once, with runs of mixed shapes (chains, diamonds, fan-outs, retries, finally, a failure,
a cancel). Every run must reach its right outcome, with no Job created twice, no attempt too many, and the
operator never exiting. And the API server down for a while: the time to recover is reported."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from chaos_kit import DOWN_SECONDS, RUNS_PER_PROFILE, SEED, Workload

from baton.devcluster.cluster import DevCluster
from baton.devcluster.faults import PROFILES, FaultPlan, plan_of
from support import RunningOperator, own_cluster, wait_for

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def faulty(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DevCluster, Workload, RunningOperator]]:
    if request.param == "down":  # the test takes the API server down itself, at a moment it knows
        plan = FaultPlan(seed=SEED)
    else:  # with every profile at once, the API server also goes down once the runs are under way
        plan = replace(plan_of(request.param, seed=SEED), down_after=2.0, down_for=DOWN_SECONDS)
    namespace = f"chaos-{uuid.uuid4().hex[:6]}"
    with own_cluster(tmp_path, namespace, faults=plan) as (cluster, kubeconfig):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        operator = RunningOperator(namespace).start()
        try:
            yield cluster, Workload(cluster, namespace), operator
        finally:
            alive = operator._thread.is_alive()
            operator.stop()
            assert alive, "the operator exited under faults"


PROFILE_NAMES = [name for name in PROFILES if name != "down"]


@pytest.mark.parametrize("faulty", [*PROFILE_NAMES, "all"], indirect=True)
def test_every_run_reaches_its_outcome_through_api_faults(
    faulty: tuple[DevCluster, Workload, RunningOperator],
) -> None:
    cluster, workload, _ = faulty
    workload.start(RUNS_PER_PROFILE)
    workload.cancel_when_running(timeout=120)
    summary = workload.check(timeout=240)
    assert cluster.faults is not None
    injected = dict(cluster.faults.injected)
    print(f"\n{summary} injected={injected}")
    if cluster.faults.plan.errors:
        assert injected, "the profile injected no error: it tested nothing"


@pytest.mark.parametrize("faulty", ["down"], indirect=True)
def test_the_operator_recovers_after_the_api_server_was_down(
    faulty: tuple[DevCluster, Workload, RunningOperator],
) -> None:
    cluster, workload, _ = faulty
    workload.start(RUNS_PER_PROFILE)
    time.sleep(0.5)  # the runs are under way when it goes down
    cluster.call(cluster.go_down(DOWN_SECONDS), timeout=DOWN_SECONDS + 30)
    back = time.monotonic()
    # More runs once it is back: the operator must see them through re-established watches.
    after = workload.start(3, offset=1)
    wait_for(
        lambda: all((workload.run(n).get("status") or {}).get("phase") for n in after),
        timeout=120,
        message="the operator to pick up runs created after the outage",
    )
    recovery = time.monotonic() - back
    workload.cancel_when_running(timeout=120)
    summary = workload.check(timeout=240)
    print(f"\n{summary} down={DOWN_SECONDS}s recovery={recovery:.1f}s")


def test_a_short_watch_history_makes_the_operator_relist_and_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Watches cut every 5 events, and a history of 16: a resuming watch is often too old (410 Gone).
    # (Small, because the operator writes little: a history of 40 outlived most of its resumes.)
    plan = plan_of("watch-drops", seed=SEED)
    with own_cluster(tmp_path, "relist", history_limit=16, faults=plan) as (cluster, kubeconfig):
        namespace = "relist"
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        operator = RunningOperator(namespace).start()
        try:
            workload = Workload(cluster, namespace)
            workload.start(RUNS_PER_PROFILE)
            workload.cancel_when_running(timeout=120)
            workload.check(timeout=240)
        finally:
            operator.stop()
        assert cluster.store.expired_watches > 0, "no watch fell out of the history: 410 was not exercised"
