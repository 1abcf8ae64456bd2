"""The operator SIGKILLed at random moments (a fixed, printed seed) while runs of mixed shapes go on, and
started again each time: every run still reaches its right outcome, no Job is created twice, and no
task gets an attempt too many. Nothing that matters lived only in the killed process's memory."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_kit import KILL_RUNS, KILLS, SEED, Workload

from baton.devcluster.cluster import DevCluster
from support import own_cluster

pytestmark = pytest.mark.timeout(900)


class OperatorProcess:
    """`baton operator -n NAMESPACE` in a process of its own, which a test may SIGKILL."""

    def __init__(self, kubeconfig: Path, namespace: str, log: Path) -> None:
        self.command = [
            sys.executable, "-m", "baton.cli.main", "operator", "-n", namespace,
            "--liveness", "", "--log-format", "json",
        ]  # fmt: skip
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, f"the operator exited by itself (see {self.log})"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[DevCluster, Workload, OperatorProcess]]:
    namespace = "kills"
    with own_cluster(tmp_path, namespace) as (cluster, kubeconfig):
        operator = OperatorProcess(kubeconfig, namespace, tmp_path / "operator.log")
        operator.start()
        try:
            yield cluster, Workload(cluster, namespace), operator
        finally:
            operator.stop()


def test_runs_survive_an_operator_sigkilled_at_random_moments(
    world: tuple[DevCluster, Workload, OperatorProcess],
) -> None:
    _, workload, operator = world
    rng = random.Random(SEED)
    print(f"\nseed {SEED}: {KILL_RUNS} runs, {KILLS} kills")
    waves = KILLS + 1
    for wave in range(waves):
        workload.start(KILL_RUNS // waves + (1 if wave < KILL_RUNS % waves else 0), offset=wave)
        if wave == waves - 1:
            break
        time.sleep(rng.uniform(0.2, 1.5))  # mid-flight: Jobs being created, statuses being written
        operator.kill()
        time.sleep(rng.uniform(0.0, 0.5))
        operator.start()
    workload.cancel_when_running(timeout=120)
    summary = workload.check(timeout=300)
    print(f"{summary} after {KILLS} kills")
    assert operator.process is not None and operator.process.poll() is None, "the operator died"
