"""`baton dev` as a pipeline's test runner: each task attempt's log, printed as it is written, every line
prefixed with the task (and the attempt, from the second on), as `airflow dags test` or
`docker compose up` do.

Logs are read where the dev cluster's kubelet writes them (``Kubelet.log_path``), from where the last
look stopped; complete lines are printed at each look, and the rest once the attempt is over (its task
has a later attempt, has finished, or waits for its retry). A forEach task's instances are printed one
by one, as `TASK[K]`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from baton.devcluster.cluster import DevCluster
from baton.kube.names import job_name
from baton.kube.render import CONTAINER

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
MAX_LINES = 500
"""Lines of one attempt's log printed inline; the rest is counted (`baton dev --keep` keeps the file)."""

Key = tuple[str, str, int]  # (run, task or instance, attempt)


def _units(task: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if isinstance(task.get("items"), int):
        yield from task.get("instances") or ()
    else:
        yield task


def _over(unit: Mapping[str, Any], attempt: int) -> bool:
    phase = unit.get("phase")
    if attempt < int(unit.get("attempts") or 0):
        return True
    return phase in ("Succeeded", "Failed", "Cancelled") or (
        phase == "Pending" and bool(unit.get("nextAttemptAt"))
    )


class LogPrinter:
    def __init__(self, cluster: DevCluster, namespace: str, out: TextIO) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.out = out
        self.offsets: dict[Key, int] = {}
        self.lines: dict[Key, int] = {}
        self.done: set[Key] = set()
        self._pods: dict[str, str] | None = None

    def print_new(self, runs: Sequence[Mapping[str, Any]], tasks_of: Any) -> bool:
        """Print what the runs' task attempts wrote since the last look; whether anything was printed."""
        printed = False
        self._pods = None  # Job name → its newest Pod, read once per look
        for run in runs:
            name = run["metadata"]["name"]
            for task in tasks_of(run.get("status") or {}):
                if task.get("reason") == "Reused":
                    continue
                for unit in _units(task):
                    for attempt in range(1, int(unit.get("attempts") or 0) + 1):
                        key = (name, str(unit.get("name")), attempt)
                        if key not in self.done:
                            printed |= self._follow(key, _over(unit, attempt))
        return printed

    def _follow(self, key: Key, over: bool) -> bool:
        path = self._log(key)
        if path is None:
            if over:
                self.done.add(key)  # no Pod (ever): nothing to show
            return False
        try:
            with path.open("rb") as file:
                file.seek(self.offsets.get(key, 0))
                chunk = file.read()
        except OSError:
            return False
        if over:
            self.done.add(key)
        elif b"\n" in chunk:
            chunk = chunk[: chunk.rindex(b"\n") + 1]  # complete lines now, the rest when it is complete
        else:
            return False
        self.offsets[key] = self.offsets.get(key, 0) + len(chunk)
        _, unit, attempt = key
        prefix = unit if attempt == 1 else f"{unit} (attempt {attempt})"
        shown = self.lines.get(key, 0)
        lines = chunk.decode(errors="replace").splitlines()
        for line in lines[: max(0, MAX_LINES - shown)]:
            print(f"  {prefix} | {line}", file=self.out)
        self.lines[key] = shown + len(lines)
        if over and self.lines[key] > MAX_LINES:
            print(f"  {prefix} | … {self.lines[key] - MAX_LINES} more lines", file=self.out)
        self.out.flush()
        return bool(lines)

    def _log(self, key: Key) -> Path | None:
        if self._pods is None:
            pod_type = self.cluster.registry.storage("", "pods")
            assert pod_type is not None
            self._pods = {}
            for pod in self.cluster.store.list(pod_type, self.namespace):
                job = ((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL)
                if job:
                    self._pods[str(job)] = str(pod["metadata"]["name"])
        pod_name = self._pods.get(job_name(*key))
        if pod_name is None:
            return None
        return self.cluster.kubelet.log_path(self.namespace, pod_name, CONTAINER)
