"""The dev cluster's kubelet: every Pod's containers run as local processes on this machine.

What a Pod gets
- Images are not pulled. Each container's `command` + `args` run as a local process (the `Started`
  Event and the PodScheduled condition say so); `image` is only reported back. A container without
  `command` relies on its image's entrypoint, which does not exist here: it terminates at once with
  exit code 128, reason `EntrypointUnavailable` and a message asking for a command.
- Init containers run one after another, then all containers run together. `restartPolicy`
  OnFailure/Always restarts a container in place (restartCount + 1) after a back-off of 0.1 s doubling
  up to 10 s, shown as Waiting/CrashLoopBackOff. A process that cannot be started (missing executable,
  permission denied) terminates with exit code 128 and reason `StartError`, as containerd reports it. A
  process killed by signal N exits with 128 + N, reason `Error`.
- The environment is minimal and resolved as the kubelet does (see env.py); `$$` is Kubernetes'
  escape for `$` in `command`, `args` and `env`, so a shell's `$$` is written `$$$$`. A missing
  ConfigMap, Secret or key keeps the container Waiting with `CreateContainerConfigError`; it starts
  once the object appears.
- Every Pod is bound at admission to the single node `devcluster` (poddefaults.py), except a Pod that
  mounts PersistentVolumeClaims: the scheduler (scheduler.py) binds it once they are bound, and this
  kubelet only runs Pods that have a node.
- Files live in the Pod's sandbox `<workdir>/pods/<namespace>/<pod>/`, which is also the default
  working directory and `HOME`; it is removed when the Pod is deleted (also long after it finished).
  A `workingDir` inside a volume mount is that volume's local directory; otherwise one that exists on
  this machine is used as it is, and one that does not is created empty inside the sandbox, at
  `<sandbox>/rootfs/<workingDir>` (runc creates a missing working directory; the dev cluster never
  creates directories outside its workdir).
- Volumes (volumes.py): nothing is mounted. Each volume is a local directory, set up before the first
  container starts: a claim's directory `<workdir>/volumes/<namespace>/<claim>-<uid8>` (shared by every
  Pod that mounts the claim), ConfigMap and Secret keys as read-only files in
  `<sandbox>/volumes/<volume>/`, and an empty `<sandbox>/volumes/<volume>/` for emptyDir and every other
  type. Each container's `volumeMounts` map its `mountPath`s (plus `subPath`) to those directories: every
  occurrence of a mountPath in `command`, `args` and `env` values is replaced by its local directory, at
  a path boundary only (`/workspace/data` rewrites `/workspace/data/x.csv` but not
  `/workspace/database`; see pathmap.py for the rule). A volume that cannot be set up (a missing
  ConfigMap or Secret that is not optional) keeps the containers Waiting in `ContainerCreating`, posts a
  FailedMount Warning, and is tried again when ConfigMaps, Secrets or claims change.
- Termination messages: the container's `terminationMessagePath` (default `/dev/termination-log`) is
  mapped to the local file `<sandbox>/<container>.termination-log` the same way (its occurrences in
  `command`, `args` and `env` values are rewritten), and `BATON_TERMINATION_MESSAGE_PATH` points at it,
  so `echo done > /dev/termination-log` works unchanged.
  `state.terminated.message` is the file's first 4096 bytes; with `FallbackToLogsOnError`, a failed
  container with an empty file reports the last 80 lines (at most 2048 bytes) of its log.
- Logs: stdout and stderr go to `<sandbox>/<container>.log` (see logs.py), served by `stream_log`.
- Status: phase, conditions and container statuses as the kubelet writes them, `hostIP`/`podIP`
  127.0.0.1, `containerID` `devcluster://<pid>`, `imageID` "". `activeDeadlineSeconds` kills the
  Pod's processes and fails it with reason `DeadlineExceeded`. A Pod the kubelet cannot run at all
  (say its sandbox cannot be created) fails with reason `KubeletError`; the other Pods carry on.
- Deleting a Pod kills its process trees at once: SIGTERM, then SIGKILL after the grace period,
  capped at 3 s. `stop()` does the same to every Pod (1 s grace).

Not emulated: image pulls and entrypoints, real mounts (paths inside files or built at run time are not
rewritten; `readOnly` is not enforced; ConfigMap and Secret changes do not reach a running Pod), resource
limits, securityContext (processes run as the dev cluster's user), probes (a running container is
ready), ports and networking (processes share the host network), native sidecars (an init container
with `restartPolicy: Always` runs as an ordinary init container, so one that never exits keeps the
Pod initializing), ephemeral containers, and the service environment variables
(`KUBERNETES_SERVICE_HOST`, ...). A kubelet started on a store that already holds running Pods starts
their containers afresh.

Process lifetime: every container is its own session, killed as a group. Each direct child also has
`PR_SET_PDEATHSIG` = SIGKILL (Linux), so if the dev cluster is SIGKILLed its direct children die with
it (the signal follows the thread that runs the event loop, so that thread must live as long as the
cluster, which `DevCluster.running()` ensures); grandchildren (what a shell starts) are not covered
by that and may survive such a hard kill. An orderly `stop()` kills whole groups; only processes that
left their session (daemons) escape it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from . import errors
from .audit import AuditLog
from .events import EventRecorder
from .logs import LogWriter, previous_path, stream
from .poddefaults import NODE_NAME
from .podstatus import TERMINAL_PHASES
from .podworker import DELETE_GRACE_CAP, PodWorker
from .store import Obj, Store, WatchEvent

log = logging.getLogger(__name__)

PODS = ("", "pods")
STOP_GRACE = 1.0
# Changes that may let a waiting volume or container start.
_WAKING = (("", "configmaps"), ("", "secrets"), ("", "persistentvolumeclaims"))


class Kubelet:
    """Watches Pods and runs each one that is not terminal; serves their logs."""

    def __init__(self, store: Store, audit: AuditLog, workdir: Path) -> None:
        self.store = store
        self.audit = audit
        self.workdir = workdir
        pod_type = store.registry.storage(*PODS)
        assert pod_type is not None
        self.pod_type = pod_type
        self.events = EventRecorder(store, "kubelet", NODE_NAME)
        self.scheduler_events = EventRecorder(store, "default-scheduler")
        self.writers: dict[tuple[str, str, str], LogWriter] = {}
        self.stopping = False
        self._workers: dict[str, PodWorker] = {}
        self._by_name: dict[tuple[str, str], PodWorker] = {}
        # Sandboxes of deleted, finished Pods being removed, by (namespace, name).
        self._cleanups: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._queue: asyncio.Queue[WatchEvent] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Subscribing here rather than in __init__: an idle kubelet (instant mode) must not queue events.
        self._queue = self.store.subscribe()
        self._task = asyncio.create_task(self._run(), name="devcluster-kubelet")

    async def stop(self) -> None:
        self.stopping = True
        await self.store.unfollow(self._queue, self._task)
        workers = list(self._workers.values())
        for worker in workers:
            worker.terminate("stopped", STOP_GRACE)
        tasks = [worker.task for worker in workers]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE + 5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*self._cleanups.values(), return_exceptions=True)
        for writer in self.writers.values():
            writer.close()

    def sandbox(self, namespace: str, pod: str) -> Path:
        return self.workdir / "pods" / namespace / pod

    def log_path(self, namespace: str, pod: str, container: str) -> Path:
        return self.sandbox(namespace, pod) / f"{container}.log"

    def forget(self, worker: PodWorker) -> None:
        self._workers.pop(worker.uid, None)
        if self._by_name.get((worker.namespace, worker.name)) is worker:
            del self._by_name[(worker.namespace, worker.name)]
        if worker.deleted or worker.stopping == "stopped":
            for key in [k for k in self.writers if k[:2] == (worker.namespace, worker.name)]:
                self.writers.pop(key).close()

    # -- watching Pods ---------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._queue is not None
        for pod in self.store.list(self.pod_type):
            self._consider(pod)
        while True:
            event = await self._queue.get()
            try:
                self._handle(event)
            except Exception:  # one bad Pod must not stop every other Pod
                log.exception(
                    "kubelet: handling %s %s failed", event.type, event.obj.get("metadata", {}).get("name")
                )

    def _handle(self, event: WatchEvent) -> None:
        if event.group_resource in _WAKING:
            for waiting in self._workers.values():
                waiting.wake.notify()  # volumes and containers waiting for these objects try again
            return
        if event.group_resource != PODS:
            return
        meta = event.obj["metadata"]
        worker = self._workers.get(meta.get("uid", ""))
        if event.type == "DELETED":
            self.audit.transition(
                kind="Pod", namespace=event.namespace, name=meta["name"], transition="Deleted"
            )
            if worker is not None:
                worker.terminate("deleted", _grace(event.obj))
            else:
                self._remove_sandbox(event.namespace, meta["name"])
            return
        if worker is not None:
            worker.observe(event.obj)
            if meta.get("deletionTimestamp"):
                worker.terminate("deleted", _grace(event.obj))
            return
        # Decide from the Pod as stored now: this event may be older than the worker that finished it.
        current = self.store.find(PODS, event.namespace, meta["name"])
        if current is not None and current["metadata"].get("uid") == meta.get("uid"):
            self._consider(current)

    def _consider(self, pod: Obj) -> None:
        meta = pod["metadata"]
        if meta["uid"] in self._workers or meta.get("deletionTimestamp"):
            return
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            return
        if not (pod.get("spec") or {}).get("nodeName"):
            return  # not scheduled yet: the scheduler binds it, and that update brings it back here
        key = (meta.get("namespace", ""), meta["name"])
        # Whatever still owns the sandbox directory: a Pod of the same name, or its removal.
        predecessor = self._by_name.get(key)
        owner = predecessor.task if predecessor is not None else self._cleanups.get(key)
        worker = PodWorker(self, pod, owner)
        self._workers[worker.uid] = worker
        self._by_name[key] = worker

    def _remove_sandbox(self, namespace: str, name: str) -> None:
        """A finished Pod's sandbox (logs, emptyDirs, ConfigMap and Secret files) goes when it is deleted."""
        key = (namespace, name)
        if key in self._by_name:
            return  # a newer Pod of that name owns the sandbox now
        for writer_key in [k for k in self.writers if k[:2] == key]:
            self.writers.pop(writer_key).close()
        previous = self._cleanups.get(key)

        async def remove() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await asyncio.to_thread(shutil.rmtree, self.sandbox(namespace, name), True)

        task = asyncio.create_task(remove(), name=f"kubelet-cleanup-{namespace}/{name}")
        self._cleanups[key] = task
        task.add_done_callback(lambda done: self._forget_cleanup(key, done))

    def _forget_cleanup(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._cleanups.get(key) is task:
            del self._cleanups[key]

    # -- logs ------------------------------------------------------------------------------------------

    async def stream_log(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        *,
        follow: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
        limit_bytes: int | None = None,
        previous: bool = False,
    ) -> AsyncIterator[bytes]:
        """A container's log for `GET .../pods/{name}/log`, raising the apiserver's errors."""
        obj = self.store.find(PODS, namespace, pod)
        if obj is None:
            raise errors.not_found("pods", pod)
        name = _pick_container(obj, container or "")
        path = self.log_path(namespace, pod, name)
        writer: LogWriter | None = None
        if previous:
            path = previous_path(path)
            if not path.exists():
                raise errors.bad_request(f'previous terminated container "{name}" in pod "{pod}" not found')
        else:
            writer = self.writers.get((namespace, pod, name))
            if not path.exists():
                state = _container_state(obj, name)
                if "terminated" in state:
                    return
                reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
                raise errors.bad_request(f'container "{name}" in pod "{pod}" is waiting to start: {reason}')
        async for chunk in stream(
            path,
            writer,
            follow=follow,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps,
            limit_bytes=limit_bytes,
        ):
            yield chunk


def _grace(pod: Obj) -> float:
    seconds = pod["metadata"].get("deletionGracePeriodSeconds")
    if seconds is None:
        seconds = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return min(float(seconds), DELETE_GRACE_CAP)


def _pick_container(pod: Obj, wanted: str) -> str:
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    names = [str(c.get("name", "")) for c in spec.get("containers") or ()]
    init_names = [str(c.get("name", "")) for c in spec.get("initContainers") or ()]
    if not wanted:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        if init_names:
            message += f" or one of the init containers: [{' '.join(init_names)}]"
        raise errors.bad_request(message)
    if wanted not in names and wanted not in init_names:
        raise errors.bad_request(f'container "{wanted}" is not valid for pod "{name}"')
    return wanted


def _container_state(pod: Obj, container: str) -> Obj:
    status = pod.get("status") or {}
    for entry in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]:
        if entry.get("name") == container:
            return dict(entry.get("state") or {})
    return {}
