"""The chart ships the dashboard and the rules: a ConfigMap for Grafana's sidecar and a PrometheusRule,
both off by default, carrying the very files the other tests prove."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from obs_kit import CHART, DASHBOARD, ROOT, RULES

HELM = ROOT / ".tools" / "helm"


def template(*sets: str) -> list[dict[str, Any]]:
    if not HELM.exists():
        message = f"{HELM} is missing: run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    args = [str(HELM), "template", "baton", str(CHART), "--namespace", "monitoring"]
    for value in sets:
        args += ["--set", value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_neither_is_rendered_by_default() -> None:
    kinds = {doc["kind"] for doc in template()}
    assert "PrometheusRule" not in kinds
    assert not any(
        d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard") for d in template()
    )


def test_the_dashboard_configmap_carries_the_tested_dashboard(tmp_path: Path) -> None:
    docs = template(
        "metrics.grafanaDashboard.enabled=true", "metrics.grafanaDashboard.annotations.grafana_folder=Baton"
    )
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Baton"}
    assert json.loads(configmap["data"]["baton.json"]) == json.loads(DASHBOARD.read_text())
    manifest = tmp_path / "configmap.yaml"
    manifest.write_text(yaml.safe_dump(configmap))
    validate = Path(sys.executable).parent / "kubernetes-validate"
    checked = subprocess.run(
        [str(validate), "--strict", "-k", "1.30", str(manifest)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_prometheusrule_carries_the_tested_rules() -> None:
    docs = template("metrics.prometheusRule.enabled=true", "metrics.prometheusRule.labels.release=kps")
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
