"""`baton dev` as a pipeline's test runner: each task attempt's log, printed once the attempt is over,
every line prefixed with the task (and the attempt, from the second on), as `airflow dags test` does.

Logs are read where the dev cluster's kubelet writes them (``Kubelet.log_path``); an attempt is over when
its task has a later attempt, has finished, or waits for its retry. A forEach task's instances are printed
one by one, as `TASK[K]`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from baton.devcluster.cluster import DevCluster
from baton.kube.names import job_name
from baton.kube.render import CONTAINER

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
MAX_LINES = 200
"""Lines of one attempt's log printed inline; the rest is counted (`baton dev --keep` keeps the file)."""


def _units(task: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if isinstance(task.get("items"), int):
        yield from task.get("instances") or ()
    else:
        yield task


def _over(unit: Mapping[str, Any], attempt: int) -> bool:
    attempts = int(unit.get("attempts") or 0)
    phase = unit.get("phase")
    if attempt < attempts:
        return True
    return phase in ("Succeeded", "Failed", "Cancelled") or (
        phase == "Pending" and bool(unit.get("nextAttemptAt"))
    )


class LogPrinter:
    def __init__(self, cluster: DevCluster, namespace: str, out: TextIO) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.out = out
        self.printed: set[tuple[str, str, int]] = set()

    def print_new(self, runs: Sequence[Mapping[str, Any]], tasks_of: Any) -> bool:
        """Print the log of every attempt that is over and was not printed yet; whether it printed."""
        before = len(self.printed)
        for run in runs:
            name = run["metadata"]["name"]
            for task in tasks_of(run.get("status") or {}):
                if task.get("reason") == "Reused":
                    continue
                for unit in _units(task):
                    for attempt in range(1, int(unit.get("attempts") or 0) + 1):
                        key = (name, str(unit.get("name")), attempt)
                        if key not in self.printed and _over(unit, attempt):
                            self.printed.add(key)
                            self._print(name, str(unit.get("name")), attempt)
        return len(self.printed) > before

    def _print(self, run: str, unit: str, attempt: int) -> None:
        job = job_name(run, unit, attempt)
        pod_type = self.cluster.registry.storage("", "pods")
        assert pod_type is not None
        pods = [
            pod
            for pod in self.cluster.store.list(pod_type, self.namespace)
            if ((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL) == job
        ]
        if not pods:
            return
        path = self.cluster.kubelet.log_path(self.namespace, pods[-1]["metadata"]["name"], CONTAINER)
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return
        prefix = unit if attempt == 1 else f"{unit} (attempt {attempt})"
        for line in lines[:MAX_LINES]:
            print(f"  {prefix} | {line}", file=self.out)
        if len(lines) > MAX_LINES:
            print(f"  {prefix} | … {len(lines) - MAX_LINES} more lines", file=self.out)
        self.out.flush()
