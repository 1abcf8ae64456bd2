"""One Pod on the dev cluster's kubelet: its containers from start to a terminal phase, and its status.

See kubelet.py for what is emulated. The worker owns the Pod's status while it runs: it writes the whole
status (phase, conditions, container statuses) through the status subresource whenever a container
changes state, records each phase change in the audit log, and never leaves a terminal phase. Before
the first container starts it sets up the Pod's volumes (volumes.py); while one cannot be set up, the
containers wait (ContainerCreating) and each new reason is posted as a FailedMount Warning Event.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors
from .containers import ContainerRunner
from .logs import LogWriter, Signal
from .poddefaults import NODE_IP, NODE_NAME
from .podstatus import TERMINAL_PHASES, pod_conditions, pod_phase
from .store import Obj, Store, rfc3339
from .volumes import MountError, set_up

if TYPE_CHECKING:
    from .kubelet import Kubelet

log = logging.getLogger(__name__)

PODS = ("", "pods")
BACKOFF_BASE = 0.1
BACKOFF_CAP = 10.0
DELETE_GRACE_CAP = 3.0
IMAGE_NOTE = (
    "images are not pulled in the dev cluster: each container's command runs as a local process "
    f"on node {NODE_NAME}"
)
_MANAGED_STATUS = (
    "phase",
    "conditions",
    "hostIP",
    "hostIPs",
    "podIP",
    "podIPs",
    "startTime",
    "initContainerStatuses",
    "containerStatuses",
    "reason",
    "message",
)


class PodWorker:
    """Runs one Pod (by uid) from its start to a terminal phase, or until it is deleted."""

    def __init__(self, kubelet: Kubelet, pod: Obj, predecessor: asyncio.Task[None] | None) -> None:
        meta = pod["metadata"]
        self.kubelet = kubelet
        self.store: Store = kubelet.store
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "")
        self.name: str = meta["name"]
        self.sandbox = kubelet.sandbox(self.namespace, self.name)
        # Why the Pod is stopped for good: "deadline", "deleted", "stopped" (the kubelet stops) or "error".
        self.stopping: str | None = None
        self.deleted = False
        self.wake = Signal()
        self.volumes: dict[str, Path] = {}
        self._last_known = pod
        spec = pod.get("spec") or {}
        self.restart_policy: str = spec.get("restartPolicy", "Always")
        init_specs, main_specs = spec.get("initContainers") or [], spec.get("containers") or []
        self.init = [ContainerRunner(self, c, init=True, first_reason="PodInitializing") for c in init_specs]
        first = "PodInitializing" if init_specs else "ContainerCreating"
        self.main = [ContainerRunner(self, c, init=False, first_reason=first) for c in main_specs]
        self._predecessor = predecessor
        self._start_time = ""
        self._started_monotonic = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_seconds = spec.get("activeDeadlineSeconds")
        self._final = False
        self._error = ""
        self._phase: str | None = None
        self.task = asyncio.create_task(self._run(), name=f"kubelet-{self.namespace}/{self.name}")

    # -- PodContext ----------------------------------------------------------------------------------

    def pod(self) -> Obj:
        current = self.store.find(PODS, self.namespace, self.name)
        if current is not None and current["metadata"].get("uid") == self.uid:
            self._last_known = current
        return self._last_known

    def event(self, type_: str, reason: str, message: str, container: str) -> None:
        self.kubelet.events.record(self.pod(), type_, reason, message, field_path=self._field_path(container))

    def attach_log(self, container: str, writer: LogWriter) -> None:
        self.kubelet.writers[(self.namespace, self.name, container)] = writer

    def publish(self) -> None:
        """Write the Pod's status as it now stands (skipped once terminal, or when the Pod is gone)."""
        if self._final or self.kubelet.stopping:
            return
        for _ in range(3):
            current = self.store.find(PODS, self.namespace, self.name)
            if current is None or current["metadata"].get("uid") != self.uid:
                return
            status = self._status(current)
            try:
                self.store.update(
                    self.kubelet.pod_type,
                    self.namespace,
                    self.name,
                    {"metadata": {"name": self.name}, "status": status},
                    subresource="status",
                )
            except errors.ApiError as error:
                if error.code == 409:
                    continue  # changed under us: compute again from the stored Pod
                if error.code != 404:
                    log.warning(
                        "status of pod %s/%s not written: %s", self.namespace, self.name, error.message
                    )
                return
            phase = status["phase"]
            if phase != self._phase:
                self._phase = phase
                self.kubelet.audit.transition(
                    kind="Pod", namespace=self.namespace, name=self.name, transition=phase
                )
            self._final = phase in TERMINAL_PHASES
            return

    # -- lifecycle ---------------------------------------------------------------------------------

    def observe(self, pod: Obj) -> None:
        """A newer version of the Pod was stored: `activeDeadlineSeconds` may have changed."""
        self._last_known = pod
        seconds = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        if seconds != self._deadline_seconds:
            self._deadline_seconds = seconds
            self._arm_deadline()

    def terminate(self, reason: str, grace: float) -> None:
        """Stop for good: deleted, deadline or stop. Running processes get SIGTERM, then SIGKILL."""
        self.deleted = self.deleted or reason == "deleted"
        if self.stopping is None:
            self.stopping = reason
        for runner in [*self.init, *self.main]:
            runner.terminate(grace)
        self.wake.notify()

    async def _run(self) -> None:
        try:
            if self._predecessor is not None:
                # A Pod of the same name being torn down still owns the sandbox directory.
                await asyncio.gather(self._predecessor, return_exceptions=True)
            await asyncio.to_thread(shutil.rmtree, self.sandbox, True)
            self.sandbox.mkdir(parents=True, exist_ok=True)
            self._begin()
            if await self._mount() and await self._run_init() and not self.stopping:
                await asyncio.gather(*(self._keep_running(runner) for runner in self.main))
            self.publish()
        except Exception as error:  # a bug or a broken sandbox: fail this Pod visibly, keep the others
            log.exception("pod %s/%s: the kubelet failed to run it", self.namespace, self.name)
            self._error = f"the dev cluster's kubelet could not run this Pod: {error}"
            self.stopping = self.stopping or "error"
            for runner in [*self.init, *self.main]:
                runner.terminate(0)
            try:
                self.publish()
            except Exception:
                log.exception("pod %s/%s: its failure could not be recorded", self.namespace, self.name)
        finally:
            if self._deadline is not None:
                self._deadline.cancel()
            for runner in [*self.init, *self.main]:
                runner.terminate(0)
            self.kubelet.forget(self)
            if self.deleted:
                await asyncio.to_thread(shutil.rmtree, self.sandbox, True)

    def _begin(self) -> None:
        now = self.store.clock()
        self._start_time = rfc3339(now)
        self._started_monotonic = asyncio.get_running_loop().time()
        self._arm_deadline()
        pod = self.pod()
        self.kubelet.scheduler_events.record(
            pod, "Normal", "Scheduled", f"Successfully assigned {self.namespace}/{self.name} to {NODE_NAME}"
        )
        self.publish()

    async def _mount(self) -> bool:
        """Set up the volumes, waiting (saying why once per reason) until they can be; False if stopped."""
        reported = ""
        while not self.stopping:
            try:
                self.volumes = set_up(self.store, self.kubelet.workdir, self.sandbox, self.pod())
                return True
            except MountError as error:
                if error.message != reported:
                    reported = error.message
                    self.event("Warning", "FailedMount", error.message, "")
                await self.wake.wait()
        return False

    async def _run_init(self) -> bool:
        for runner in self.init:
            while True:
                code = await runner.run_once()
                if self.stopping or code is None:
                    return False
                if code == 0:
                    break
                if self.restart_policy == "Never":
                    return False
                await self._back_off(runner)
                if self.stopping:
                    return False
        return True

    async def _keep_running(self, runner: ContainerRunner) -> None:
        while True:
            code = await runner.run_once()
            if self.stopping or code is None:
                return
            if self.restart_policy == "Never" or (self.restart_policy == "OnFailure" and code == 0):
                return
            await self._back_off(runner)
            if self.stopping:
                return

    async def _back_off(self, runner: ContainerRunner) -> None:
        delay = min(BACKOFF_BASE * 2**runner.restart_count, BACKOFF_CAP)
        runner.back_off(delay)
        self.event(
            "Warning",
            "BackOff",
            f"Back-off restarting failed container {runner.name} in pod "
            f"{self.name}_{self.namespace}({self.uid})",
            runner.name,
        )
        self.publish()
        loop = asyncio.get_running_loop()
        until = loop.time() + delay
        while not self.stopping and (left := until - loop.time()) > 0:
            await self.wake.wait(left)

    def _arm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._deadline_seconds is None or not self._started_monotonic:
            return
        loop = asyncio.get_running_loop()
        at = self._started_monotonic + float(self._deadline_seconds)
        self._deadline = loop.call_at(at, self._deadline_exceeded)

    def _deadline_exceeded(self) -> None:
        if self.stopping is None:
            grace = float((self.pod().get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            self.event(
                "Normal",
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
                "",
            )
            self.terminate("deadline", min(grace, DELETE_GRACE_CAP))

    # -- status ------------------------------------------------------------------------------------

    def _status(self, current: Obj) -> Obj:
        init_statuses = [runner.status() for runner in self.init]
        statuses = [runner.status() for runner in self.main]
        reason = message = ""
        if not self.stopping or self._running():
            phase = pod_phase(self.restart_policy, init_statuses, statuses)
        elif self.stopping == "error":
            phase, reason, message = "Failed", "KubeletError", self._error
        elif self.stopping == "deadline":
            phase, reason = "Failed", "DeadlineExceeded"
            message = "Pod was active on the node longer than the specified deadline"
        else:
            # Killed for deletion: it will not run again, so it ends by how its containers ended.
            phase = "Succeeded" if self.main and all(r.exit_code == 0 for r in self.main) else "Failed"
        previous = current.get("status") or {}
        status = {k: v for k, v in previous.items() if k not in _MANAGED_STATUS}
        status.update(
            {
                "phase": phase,
                "conditions": pod_conditions(
                    phase,
                    init_statuses,
                    statuses,
                    image_note=IMAGE_NOTE,
                    previous=previous.get("conditions") or [],
                    now=rfc3339(self.store.clock()),
                ),
                "hostIP": NODE_IP,
                "hostIPs": [{"ip": NODE_IP}],
                "podIP": NODE_IP,
                "podIPs": [{"ip": NODE_IP}],
                "startTime": self._start_time,
                "containerStatuses": statuses,
            }
        )
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        if reason:
            status["reason"], status["message"] = reason, message
        return status

    def _running(self) -> bool:
        return any(runner.process is not None for runner in [*self.init, *self.main])

    def _field_path(self, container: str) -> str | None:
        if not container:
            return None
        kind = "initContainers" if any(r.name == container for r in self.init) else "containers"
        return f"spec.{kind}{{{container}}}"
