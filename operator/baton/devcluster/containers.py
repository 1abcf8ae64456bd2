"""One container of a Pod run as a local process tree: start, log, wait, kill, report its status.

See kubelet.py for what is and is not emulated. A container instance is a process started in its own
session (so `os.killpg` reaches everything it forks) with `PR_SET_PDEATHSIG` set to SIGKILL, so a
dev cluster that is itself SIGKILLed takes its direct children with it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .env import ConfigError, command_line, declared_environment, process_environment
from .logs import LogWriter, Signal, rotate, tail_text
from .pathmap import PathMap
from .store import Obj, Store, rfc3339
from .volumes import container_mounts

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048
_PR_SET_PDEATHSIG = 1


class PodContext(Protocol):
    """What a container needs from the Pod it belongs to (the kubelet's pod worker)."""

    store: Store
    sandbox: Path
    stopping: str | None
    # Notified when the Pod is stopping and when ConfigMaps, Secrets or claims change.
    wake: Signal

    @property
    def volumes(self) -> Mapping[str, Path]:
        """Each volume's local directory, by volume name (set up before any container starts)."""

    def pod(self) -> Obj: ...

    def publish(self) -> None: ...

    def event(self, type_: str, reason: str, message: str, container: str) -> None: ...

    def attach_log(self, container: str, writer: LogWriter) -> None: ...


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGKILL the child when the dev cluster's thread dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(137)

    return hook


def signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def go_duration(seconds: float) -> str:
    """A duration as Go prints it in kubelet messages (`100ms`, `1.6s`, `10s`)."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"


class ContainerRunner:
    """A container's instances, one at a time, and its `containerStatus`."""

    def __init__(self, pod: PodContext, spec: Obj, *, init: bool, first_reason: str) -> None:
        self.pod = pod
        self.spec = spec
        self.name: str = spec["name"]
        self.init = init
        self.restart_count = 0
        self.instances = 0
        self.state: Obj = {"waiting": {"reason": first_reason}}
        self.last_state: Obj = {}
        self.container_id = ""
        self.paths = PathMap()
        self.process: asyncio.subprocess.Process | None = None
        self._kill_timer: asyncio.TimerHandle | None = None

    @property
    def log_path(self) -> Path:
        return self.pod.sandbox / f"{self.name}.log"

    @property
    def termination_log(self) -> Path:
        return self.pod.sandbox / f"{self.name}.termination-log"

    @property
    def exit_code(self) -> int | None:
        terminated = self.state.get("terminated")
        return None if terminated is None else int(terminated["exitCode"])

    def status(self) -> Obj:
        running = "running" in self.state
        succeeded = self.exit_code == 0
        status: Obj = {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "ready": (succeeded if self.init else running),
            "started": running,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status

    # -- one instance ------------------------------------------------------------------------------

    async def run_once(self) -> int | None:
        """Run one instance to its end and return its exit code (None: stopped before it started)."""
        prepared = await self._prepare()
        if prepared is None:
            return None
        env, argv = prepared
        if self.instances:
            self.restart_count += 1
            rotate(self.log_path)
        self.instances += 1
        self.container_id = ""
        started_at = rfc3339(self.pod.store.clock())
        if not argv:
            return self._terminated(
                128,
                "EntrypointUnavailable",
                started_at,
                (
                    f'container "{self.name}" has no command: the dev cluster does not pull image '
                    f'"{self.spec.get("image", "")}" and cannot run its entrypoint; set command (and args) '
                    "in the container spec"
                ),
            )
        self.termination_log.write_bytes(b"")
        writer = LogWriter(self.log_path)
        self.pod.attach_log(self.name, writer)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self._working_dir(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent_hook(),
            )
        except (OSError, subprocess.SubprocessError) as error:
            writer.close()
            return self._terminated(128, "StartError", started_at, _start_error(argv[0], error))
        self.process = process
        if self.pod.stopping:
            self.terminate(0)  # stopped while the process was being started: it must not outlive the Pod
        self.container_id = f"devcluster://{process.pid}"
        self.state = {"running": {"startedAt": started_at}}
        self.pod.event(
            "Normal",
            "Started",
            f"Started container {self.name} as local process {process.pid} "
            f'(image "{self.spec.get("image", "")}" is not pulled in the dev cluster)',
            self.name,
        )
        self.pod.publish()
        pump = asyncio.create_task(self._pump(process, writer))
        try:
            code = await process.wait()
        finally:
            self._end(process)
            # The container's other processes end with its main process, as in a real container.
            signal_group(process.pid, signal.SIGKILL)
            if process.returncode is None:
                await process.wait()
            try:
                await asyncio.wait_for(pump, timeout=2.0)
            except TimeoutError:
                log.warning("output of %s/%s still open after it ended", self.pod.sandbox, self.name)
            writer.close()
        exit_code = code if code >= 0 else 128 - code
        return self._terminated(
            exit_code,
            "Completed" if exit_code == 0 else "Error",
            started_at,
            self._termination_message(exit_code),
        )

    def terminate(self, grace: float) -> None:
        """Stop the running instance: SIGTERM to its process group, SIGKILL after `grace` seconds."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        if grace <= 0:
            signal_group(process.pid, signal.SIGKILL)
            return
        signal_group(process.pid, signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = asyncio.get_running_loop().call_later(
                grace, signal_group, process.pid, signal.SIGKILL
            )

    def back_off(self, delay: float) -> None:
        """Wait in CrashLoopBackOff before the next instance, with the last one as `lastState`."""
        meta = self.pod.pod()["metadata"]
        self.last_state = {"terminated": self.state["terminated"]} if "terminated" in self.state else {}
        self.state = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": (
                    f"back-off {go_duration(delay)} restarting failed container={self.name} "
                    f"pod={meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
                ),
            }
        }

    # -- helpers -----------------------------------------------------------------------------------

    async def _prepare(self) -> tuple[dict[str, str], list[str]] | None:
        """Environment and command line; Waiting in CreateContainerConfigError while refs are missing."""
        while not self.pod.stopping:
            try:
                pod = self.pod.pod()
                declared = declared_environment(self.pod.store, pod, self.spec)
                self.paths = PathMap.of(
                    [
                        (str(self.spec.get("terminationMessagePath") or ""), self.termination_log),
                        *container_mounts(self.spec, self.pod.volumes, declared),
                    ]
                )
                env = process_environment(pod, declared, self.pod.sandbox, self.termination_log, self.paths)
                return env, command_line(self.spec, env, self.paths)
            except ConfigError as error:
                waiting = {"reason": "CreateContainerConfigError", "message": error.message}
                if self.state.get("waiting") != waiting:
                    self.state = {"waiting": waiting}
                    self.pod.event("Warning", "Failed", f"Error: {error.message}", self.name)
                    self.pod.publish()
                await self.pod.wake.wait()
        return None

    def _working_dir(self) -> Path:
        """`workingDir` in a mounted volume, else as it exists here, else an empty stand-in in the sandbox."""
        wanted = str(self.spec.get("workingDir") or "")
        if not wanted:
            return self.pod.sandbox
        mounted = self.paths.resolve(wanted)
        if mounted is not None:
            mounted.mkdir(parents=True, exist_ok=True)  # runc creates a missing working directory
            return mounted
        path = Path(wanted)
        if path.is_absolute() and path.is_dir():
            return path
        # runc creates a missing working directory; create it inside the sandbox, never on the host.
        stand_in = self.pod.sandbox / "rootfs" / wanted.lstrip("/")
        stand_in.mkdir(parents=True, exist_ok=True)
        return stand_in

    @staticmethod
    async def _pump(process: asyncio.subprocess.Process, writer: LogWriter) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(64 * 1024):
            writer.write(chunk)

    def _end(self, process: asyncio.subprocess.Process) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None
        if self.process is process:
            self.process = None

    def _termination_message(self, exit_code: int) -> str:
        try:
            with self.termination_log.open("rb") as file:
                message = file.read(MAX_MESSAGE_BYTES).decode("utf-8", "replace")
        except OSError:
            message = ""
        if (
            not message
            and exit_code != 0
            and self.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError"
        ):
            message = tail_text(self.log_path, FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES)
        return message

    def _terminated(self, exit_code: int, reason: str, started_at: str, message: str) -> int:
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started_at,
            "finishedAt": rfc3339(self.pod.store.clock()),
        }
        if message:
            terminated["message"] = message
        if self.container_id:
            terminated["containerID"] = self.container_id
        self.state = {"terminated": terminated}
        if reason in ("StartError", "EntrypointUnavailable"):
            self.pod.event("Warning", "Failed", f"Error: {message}", self.name)
        self.pod.publish()
        return exit_code


def _start_error(executable: str, error: BaseException) -> str:
    """containerd's wording for a process that could not be started."""
    if isinstance(error, FileNotFoundError) and "/" not in executable and error.filename == executable:
        why = f'exec: "{executable}": executable file not found in $PATH'
    elif isinstance(error, OSError):
        why = f'exec: "{executable}": {error.strerror or error}'
    else:
        why = str(error)
    return f"failed to create containerd task: failed to start container process: {why}: unknown"
