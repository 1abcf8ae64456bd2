"""The smoke benchmark (`baton bench --smoke`) keeps the benchmark working: every scenario runs the real
operator against the dev cluster at tiny sizes and reports complete, well-formed results. No timing is
asserted here: CI machines are too noisy for that, and the benchmark is never part of pass/fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baton.bench import SCENARIO_NAMES
from baton.cli.main import main

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("bench")
    code = main(["bench", "--smoke", "--out", str(out)])
    assert code == 0, (out / "bench.md").read_text() if (out / "bench.md").exists() else "no report"
    return json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text(), out


def metric(report: dict[str, Any], scenario: str, key: str) -> Any:
    return report["scenarios"][scenario]["metrics"][key]["value"]


def test_every_scenario_ran_to_completion(smoke: tuple[dict[str, Any], str, Path]) -> None:
    report, _, _ = smoke
    assert report["smoke"] is True
    assert list(report["scenarios"]) == list(SCENARIO_NAMES)
    for name, scenario in report["scenarios"].items():
        details = scenario["details"]
        assert scenario["completed"], (name, scenario["error"], details.get("task_phases"))
        assert scenario["error"] is None
        failed = details.get("tasks_failed_on_purpose", 0)  # day2's workload is failures
        assert details["tasks"] > 0 and details["tasks_succeeded"] + failed == details["tasks"], name
        failed_runs = details.get("runs_failed_on_purpose", 0)
        assert details["runs_succeeded"] + failed_runs == details["runs"] > 0, name
        assert details["operator_log_errors"] == 0, f"{name}: see {details['operator_log']}"


def test_requests_and_reconciles_are_counted(smoke: tuple[dict[str, Any], str, Path]) -> None:
    report, _, _ = smoke
    for name, scenario in report["scenarios"].items():
        requests = scenario["details"]["requests"]
        assert requests["per_task"] > 0 and requests["tasks"] == scenario["details"]["tasks"], name
        # every task's Job is created exactly once, by the operator (a sub-pipeline task has a child run)
        jobs = scenario["details"].get("job_tasks", requests["tasks"]) / requests["tasks"]
        created = requests["per_task_by_verb"]["create jobs.batch"]
        assert created == round(jobs, 3), (name, requests["by_verb"])
        assert not requests["errors"], (name, requests["errors"])
        assert requests["startup"], name
        assert scenario["details"]["reconciles"] > 0, name
        assert metric(report, name, "reconciles_per_run") > 0
        assert metric(report, name, "peak_rss_mib") > 0


def test_scenario_numbers_are_present(smoke: tuple[dict[str, Any], str, Path]) -> None:
    report, _, _ = smoke
    chain = report["scenarios"]["chain"]["details"]
    assert chain["overhead_ms"]["count"] == report["sizes"]["chain"] - 1
    assert metric(report, "chain", "overhead_p50_ms") is not None
    assert metric(report, "chain", "overhead_p99_ms") is not None
    assert metric(report, "fanout", "create_all_s") is not None
    assert metric(report, "fanout", "join_latency_p50_ms") is not None
    assert len(report["scenarios"]["fanout"]["details"]["join_latency_ms"]) == report["sizes"]["fanout_runs"]
    for name in ("fanout", "large", "foreach"):
        assert 0 < metric(report, name, "status_bytes") < 1024 * 1024
    assert metric(report, "foreach", "create_all_s") is not None
    assert metric(report, "foreach", "join_latency_ms") is not None
    snapshots = report["scenarios"]["large"]["details"]["snapshots"]
    assert snapshots and all(s["plan_ms"] > 0 and s["tasks"] == report["sizes"]["large"] for s in snapshots)
    assert metric(report, "large", "plan_p50_ms") > 0
    assert metric(report, "throughput", "tasks_per_minute") > 0
    assert metric(report, "large", "reconcile_max_ms") > 0
    curve = report["scenarios"]["width"]["details"]["curve"]
    assert [p["width"] for p in curve] == [report["sizes"]["width_max"]]  # smoke: below the first point
    assert all(p["operator_cpu_ms_per_task"] > 0 and p["join_latency_ms"] is not None for p in curve)
    assert metric(report, "width", "layered_cpu_ratio") > 0
    assert metric(report, "realjoin", "join_latency_ms") is not None
    assert metric(report, "realjoin", "chain_overhead_p50_ms") is not None
    assert metric(report, "huge", "status_bytes") > 0
    assert metric(report, "day2", "cleanup_start_p50_ms") is not None
    for key in ("timeout_end_p50_ms", "history_bytes_per_task", "why_ms"):
        assert metric(report, "day2", key) > 0, key
    assert metric(report, "ui", "run_page_p50_ms") > 0 and metric(report, "ui", "run_page_kib") > 0
    rss = report["scenarios"]["rss"]
    assert metric(report, "rss", "active_rss_mib") > 0
    assert rss["details"]["active_rss_bytes"] >= rss["details"]["baseline_rss_bytes"] > 0


def test_environment_and_targets_are_reported(smoke: tuple[dict[str, Any], str, Path]) -> None:
    report, markdown, _ = smoke
    env = report["environment"]
    assert env["cpu"]["cores"] >= 1 and env["cpu"]["model"]
    assert env["python"].count(".") == 2
    for package in ("baton-operator", "kopf", "aiohttp", "pydantic"):
        assert env["packages"][package], package
    assert "commit" in env["git"]
    assert report["targets"] and all(isinstance(met, bool) for met in report["targets"].values())
    assert markdown.startswith("Baton benchmark (smoke sizes)")
    assert "| Scenario | Metric | Value | Target | Met? |" in markdown
    for name in SCENARIO_NAMES:
        assert report["scenarios"][name]["title"] in markdown


def test_the_operator_ran_in_its_own_process(smoke: tuple[dict[str, Any], str, Path]) -> None:
    report, _, out = smoke
    for name in SCENARIO_NAMES:
        logs = list((out / "logs").glob(f"operator-{name}*.log"))  # the width curve has a world per point
        assert logs and all(log.stat().st_size > 0 for log in logs), name
        assert report["scenarios"][name]["details"]["operator_cpu_seconds"] > 0, name
