"""One scenario's world: its own dev cluster (instant mode unless asked otherwise) in a thread of this
process, a namespace, and `baton operator` in a subprocess of its own, so that the operator's memory
is the operator's.

The harness creates objects through the cluster's store (no HTTP, so none of it counts as a client
request) and waits on conditions by polling the store; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from baton import GROUP
from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster
from baton.idle_gc import collected_when_idle

T = TypeVar("T")

WATCHED = ("pipelineruns.baton.dev", "pipelines.baton.dev", "jobs.batch", "pods")


class Timeout(Exception):
    """A wait of the benchmark ran out of time; the scenario is reported as incomplete."""


def wait_until(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll `condition()` until it returns something truthy; raise Timeout after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of a process (or of one of its threads), in seconds."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


class OperatorProcess:
    """`baton operator -n NAMESPACE` as a subprocess, with its metrics on a free port."""

    def __init__(self, kubeconfig: Path, namespace: str, log_path: Path, args: Sequence[str] = ()) -> None:
        self.args = list(args)
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.log_path = log_path
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        command = [
            sys.executable, "-m", "baton.cli.main", "operator",
            "-n", self.namespace,
            "--liveness", "",
            "--log-format", "json",
            "--metrics-port", str(self.metrics_port),
            *self.args,
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def memory(self) -> dict[str, int]:
        return memory_of(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def metrics(self) -> dict[str, float]:
        """The operator's Prometheus samples, by `name{label="value",...}` (labels sorted)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    def stop(self, grace: float = 1.0) -> str:
        """SIGTERM, then SIGKILL after `grace` seconds; says which ended it.

        The measurements are all taken before this, so a short grace costs nothing. (It is short because
        `baton operator` takes about 5 s to exit on SIGTERM: kopf's own signal handler replaces the
        CLI's, so the CLI's stop flag is never set and kopf waits 5 s for the task that waits on it.)
        """
        if self.process is None:
            return "not started"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                return f"killed after a {grace:g}s grace"
        return f"exited {self.process.returncode}"


class World:
    """A dev cluster with Baton's CRDs, one namespace, and the operator watching it."""

    def __init__(self, cluster: DevCluster, namespace: str, operator: OperatorProcess) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.operator = operator
        self.workload_from = 0
        """Audit sequence number where the workload began (see `begin_workload`)."""
        self.cpu_from = (0.0, 0.0)
        """CPU seconds of the operator and of the dev cluster's thread when the workload began."""

    def begin_workload(self) -> None:
        """Mark the start of the measured workload: requests before it (kopf's discovery and lists,
        the Pipeline's own status) are the operator's start-up, not the cost of any task."""
        self.settle(0.3)
        self.workload_from = self.cluster.audit.last_seq
        self.cpu_from = self.cpu()

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the operator process and of the dev cluster's thread (the API server,
        its Job controller and watches; the benchmark's own thread is not counted)."""
        cluster = next((t for t in threading.enumerate() if t.name == "baton-devcluster"), None)
        tid = cluster.native_id if cluster is not None else None
        return self.operator.cpu(), cpu_seconds(os.getpid(), tid) if tid is not None else 0.0

    # -- objects -----------------------------------------------------------------------------------

    def create(self, doc: dict[str, Any]) -> dict[str, Any]:
        rt = self.cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert rt is not None, doc["kind"]
        created: dict[str, Any] = self.cluster.sync(self.cluster.store.create, rt, self.namespace, doc)
        return created

    def find(self, group: str, plural: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.cluster.sync(
            self.cluster.store.find, (group, plural), self.namespace, name
        )
        return found

    def run(self, name: str) -> dict[str, Any] | None:
        """The stored run: a snapshot (the store never changes a stored object, it replaces it)."""
        return self.find(GROUP, "pipelineruns", name)

    def runs(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage(GROUP, "pipelineruns")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def jobs(self) -> list[dict[str, Any]]:
        rt = self.cluster.registry.storage("batch", "jobs")
        return list(self.cluster.sync(self.cluster.store.list, rt, self.namespace))

    def job_count(self) -> int:
        def count() -> int:
            return sum(1 for ns, _ in self.cluster.store.objects(("batch", "jobs")) if ns == self.namespace)

        return int(self.cluster.sync(count))

    def phases(self) -> dict[str, str | None]:
        """Every run's phase, by name."""

        def read() -> dict[str, str | None]:
            return {
                name: (obj.get("status") or {}).get("phase")
                for (ns, name), obj in self.cluster.store.objects((GROUP, "pipelineruns")).items()
                if ns == self.namespace
            }

        return dict(self.cluster.sync(read))

    def settle(self, quiet: float = 0.5, timeout: float = 60.0) -> None:
        """Wait until the audit log has recorded nothing (no request, no Job transition) for `quiet`
        seconds: the operator and the cluster have done all that the last change asked for."""
        last = (self.cluster.audit.last_seq, time.monotonic())

        def quiet_enough() -> bool:
            nonlocal last
            now = self.cluster.audit.last_seq
            if now != last[0]:
                last = (now, time.monotonic())
                return False
            return time.monotonic() - last[1] >= quiet

        wait_until(quiet_enough, timeout, "the operator to go quiet", interval=0.05)


def _watching(cluster: DevCluster, namespace: str) -> bool:
    watched = {  # kopf watches the runs and Pipelines, the operator's own informers the Jobs and Pods
        r.resource
        for client in ("kopf", "baton-operator")
        for r in cluster.audit.requests(client)
        if r.verb == "watch" and r.namespace == namespace
    }
    return all(resource in watched for resource in WATCHED)


@contextlib.contextmanager
def world(
    scenario: str,
    log_dir: Path,
    *,
    hold_jobs: bool = False,
    instant: bool = True,
    operator_args: Sequence[str] = (),
) -> Iterator[World]:
    """A fresh dev cluster and operator for one scenario; the operator's log goes to `log_dir`. With
    `instant=False` the Jobs' containers run as real processes, as in `baton devcluster up`."""
    namespace = f"bench-{scenario}"
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        cluster = DevCluster(instant=instant, hold_jobs=hold_jobs, workdir=Path(tmp) / "cluster")
        with cluster.running(), collected_when_idle(lambda: cluster.store.resource_version):
            cluster.sync(install_crds, cluster)
            ns_type = cluster.registry.storage("", "namespaces")
            cluster.sync(cluster.store.create, ns_type, "", {"metadata": {"name": namespace}})
            kubeconfig = cluster.write_kubeconfig(Path(tmp) / "kubeconfig", namespace)
            log_path = log_dir / f"operator-{scenario}.log"
            operator = OperatorProcess(kubeconfig, namespace, log_path, operator_args).start()
            try:
                wait_until(
                    lambda: _watching(cluster, namespace) or _exited(operator),
                    60,
                    "the operator's watches",
                )
                if not operator.alive():
                    raise RuntimeError(f"the operator exited at start; see {operator.log_path}")
                wait_until(lambda: _metrics_up(operator), 30, "the operator's metrics endpoint")
                yield World(cluster, namespace, operator)
            finally:
                operator.stop()


def _exited(operator: OperatorProcess) -> bool:
    return not operator.alive()


def _metrics_up(operator: OperatorProcess) -> bool:
    try:
        operator.metrics()
    except OSError:
        return False
    return True
