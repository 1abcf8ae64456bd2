"""The benchmark's own pieces: shapes, sizes, measures and the report, without a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.bench import shapes
from baton.bench.measures import chain_overheads, percentile, request_summary
from baton.bench.report import Report, ScenarioResult, Target, markdown
from baton.bench.sizes import FULL, SMOKE, with_overrides
from baton.core.dag import build_dag
from baton.devcluster.audit import RequestRecord, TransitionRecord


def test_layered_dag_is_valid_deterministic_and_of_the_asked_size() -> None:
    tasks = shapes.layered(10_000)
    assert len(tasks) == 10_000 and tasks == shapes.layered(10_000)
    dag = build_dag([(t["name"], t.get("dependsOn", [])) for t in tasks])
    assert len(dag.order) == 10_000
    assert all(1 <= len(t.get("dependsOn", [])) <= 3 for t in tasks[100:])


@pytest.mark.parametrize(
    "tasks", [shapes.chain(5), shapes.fan_out_in(7), shapes.diamond(3), shapes.layered(50)]
)
def test_every_shape_is_a_valid_dag(tasks: list[dict[str, object]]) -> None:
    build_dag([(str(t["name"]), t.get("dependsOn", [])) for t in tasks])


def test_sizes_can_be_overridden_one_by_one() -> None:
    assert with_overrides(FULL, ["chain=500", "rss-runs=2000"]).chain == 500
    assert with_overrides(SMOKE, ["timeout=5.5"]).timeout == 5.5
    with pytest.raises(ValueError, match="unknown size"):
        with_overrides(FULL, ["chains=5"])
    with pytest.raises(ValueError, match="positive"):
        with_overrides(FULL, ["chain=0"])


def test_percentiles_interpolate_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99


def test_chain_overhead_is_next_creation_minus_previous_completion() -> None:
    times = {"a": {"Created": 0.0, "Complete": 10.0}, "b": {"Created": 25.0, "Complete": 26.0}, "c": {}}
    assert chain_overheads(["a", "b", "c"], times) == [15.0]


def test_requests_per_task_leave_out_watches_and_other_clients() -> None:
    def request(verb: str, resource: str, client: str = "baton-operator", sub: str = "") -> RequestRecord:
        return RequestRecord(0, 0.0, client, verb, resource, "ns", "", sub, 201)

    records = [
        request("create", "jobs.batch"),
        request("create", "jobs.batch"),
        request("patch", "pipelineruns.baton.dev", sub="status"),
        request("watch", "jobs.batch", client="kopf"),
        request("create", "jobs.batch", client="kubectl"),
        TransitionRecord(0, 0.0, "Job", "ns", "a", "Created"),
    ]
    summary = request_summary(records, tasks=2)
    assert summary["per_task"] == 1.5
    assert summary["per_task_by_verb"] == {
        "create jobs.batch": 1.0,
        "patch pipelineruns.baton.dev/status": 0.5,
    }
    assert summary["by_client"] == {"baton-operator": 3, "kopf": 1}


def test_report_marks_targets_met_and_missed(tmp_path: Path) -> None:
    result = ScenarioResult("chain", "1. Chain of 3", completed=True)
    result.add("overhead_p50_ms", "overhead per task, p50", 12.0, "ms", Target("<", 20, "ms"))
    result.add("requests_per_task", "operator requests per task", 2.5, "", Target("<=", 2))
    report = Report("2026-01-01T00:00:00+00:00", False, {"cpu": {"model": "x", "cores": 2}}, {}, [result])
    text = markdown(report)
    assert "| 1. Chain of 3 | overhead per task, p50 | 12 ms | < 20 ms | yes |" in text
    assert "| 2.50 | ≤ 2 | **no** |" in text
    json_path, md_path = report.write(tmp_path)
    assert json_path.exists() and md_path.read_text() == text
    assert report.as_json()["targets"] == {"chain.overhead_p50_ms": True, "chain.requests_per_task": False}


def test_make_bench_and_the_readme_agree() -> None:
    root = Path(__file__).resolve().parents[2]
    makefile = (root / "Makefile").read_text()
    assert "\nbench: $(STAMP)\n\t$(BIN)/baton bench --out .bench\n" in makefile
    readme = (root / "README.md").read_text()
    performance = readme.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert "make bench" in performance and "baton bench --smoke" in performance
    for target in ("< 20 ms", "< 100 ms", "≤ 2", "≤ 5 s", "< 50 ms", "≥ 3,000", "< 256 MiB", "< 1 MiB"):
        assert target in performance, target
