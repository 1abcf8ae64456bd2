"""Pipelines tested in CI, as the project documents it: the example workflow's steps run as written (but
the `pip install`: this environment has the package), each kustomize overlay lints clean from stdin, the
prod overlay really changes params, image and schedule, and the pre-commit hook runs `baton lint`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}


def test_the_example_ci_workflow_runs_as_written() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "pipelines.yaml").read_text())
    steps = [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    assert steps[0].startswith("pip install baton-operator")
    for script in steps[1:]:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, (script, result.stdout[-2000:], result.stderr[-2000:])
    assert "total: 42" in result.stdout  # the last step: the dev overlay's own test


def test_the_prod_overlay_changes_params_image_and_schedule() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", "examples/kustomize/overlays/prod"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    spec = yaml.safe_load(rendered)["spec"]
    assert [p["default"] for p in spec["params"]] == ["prod", "1200"]
    assert spec["taskDefaults"]["image"] == "registry.example.com/orders-etl:1.4.2"
    assert spec["schedule"]["cron"] == "30 2 * * *"
    lint = subprocess.run(
        [str(BIN / "baton"), "lint", "--output", "json", "-"],
        input=rendered,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (lint.returncode, json.loads(lint.stdout)) == (0, [])


def test_the_pre_commit_hook_runs_baton_lint() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"]) == ("baton-lint", "baton lint", "python")
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    result = subprocess.run(
        [*hook["entry"].split(), *examples], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
