"""The README's dev-cluster path, exactly as written: `baton devcluster up`, then kubectl and kubectl baton.

`baton devcluster up` installs Baton's CRDs (so `kubectl apply -f examples/…` works at once) and, with
`--with-operator`, runs the operator too. Without the CRDs, `kubectl baton` says what is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import Kubectl, devcluster_up

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def up(tmp_path: Path, *flags: str) -> Iterator[Path]:
    kubeconfig = tmp_path / "kubeconfig"
    with devcluster_up(kubeconfig, *flags):
        yield kubeconfig


@pytest.fixture
def with_operator(tmp_path: Path) -> Iterator[Path]:
    yield from up(tmp_path, "--with-operator")


@pytest.fixture
def without_operator(tmp_path: Path) -> Iterator[Path]:
    yield from up(tmp_path)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Path]:
    yield from up(tmp_path, "--no-crds")


def plugin(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(home),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    return subprocess.run(["kubectl", "baton", *args], capture_output=True, text=True, env=env, timeout=180)


def test_the_readme_path_runs_a_pipeline(with_operator: Path, tmp_path: Path) -> None:
    kubectl = Kubectl(with_operator, tmp_path)
    kubectl("apply", "-f", str(ROOT / "examples" / "daily-sales.yaml"))
    result = plugin(with_operator, tmp_path, "run", "daily-sales", "--watch", "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  revenue: 10043.25" in result.stdout
    listed = kubectl("get", "pipelineruns", "-l", "baton.dev/pipeline=daily-sales").stdout
    assert "Succeeded" in listed, listed


def test_without_the_crds_the_cli_says_so(bare: Path, tmp_path: Path) -> None:
    result = plugin(bare, tmp_path, "run", "daily-sales")
    assert result.returncode == 1
    assert result.stderr == (
        "error: the Baton CRDs are not installed in this cluster: kubectl apply -f crds/ (from Baton's "
        "repository)\n"
    )
    assert plugin(bare, tmp_path, "logs", "some-run").stderr == result.stderr


def test_watching_a_run_no_operator_picks_up_says_so(without_operator: Path, tmp_path: Path) -> None:
    Kubectl(without_operator, tmp_path)("apply", "-f", str(ROOT / "examples" / "failing.yaml"))
    result = plugin(without_operator, tmp_path, "run", "failing", "--watch", "--timeout", "8")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith(": not picked up yet: is the Baton operator running? (still waiting)"), lines
    assert lines[0].startswith("pipelinerun/failing-") and len(lines) == 2, (
        lines
    )  # said once, then the timeout
