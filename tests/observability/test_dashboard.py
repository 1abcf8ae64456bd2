"""The dashboard and the alerts, proven against a real Prometheus that scraped the operator running the
examples on the dev cluster; promtool on a scrape taken during a run and on the rules."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from obs_kit import DASHBOARD, RULES, RULES_TEST, Prometheus, need, samples, scrape, start_metrics_operator
from operator_kit import Api, example, phase_of

from baton.devcluster.cluster import DevCluster
from support import wait_for

EXAMPLES = {"daily-sales.yaml": "daily-sales", "fan-out.yaml": "fan-out", "failing.yaml": "failing"}
ALLOWED_LABELS = {
    "namespace",
    "pipeline",
    "task",
    "phase",
    "kind",
    "verb",
    "resource",
    "code",
    "version",
    "le",
    # One Dataset per URI: bounded by the datasets the Pipelines declare, like pipeline and task.
    "dataset",
    "severity",
    "result",
}


@dataclass
class Scenario:
    prometheus: Prometheus
    namespace: str
    runs: dict[str, str]  # pipeline → run name
    started: float
    finished: float
    during: str  # a scrape taken while tasks were running
    after: str  # a scrape taken after every run finished


@pytest.fixture(scope="module")
def scenario(
    devcluster: DevCluster,
    kubeconfig: Path,
    observability_crds: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    need("promtool")
    namespace = f"obs-{uuid.uuid4().hex[:8]}"
    devcluster.sync(
        devcluster.store.create,
        devcluster.registry.storage("", "namespaces"),
        "",
        {"metadata": {"name": namespace}},
    )
    api = Api(devcluster, namespace)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(kubeconfig))
        operator, port = start_metrics_operator(namespace, patch)
        prometheus = Prometheus(tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{port}"])
        try:
            prometheus.wait_ready()
            started = time.time()
            for file in EXAMPLES:
                for doc in example(file):
                    api.apply(doc)

            def series(query: str) -> int:
                return len(prometheus.api("query", query=query)["data"]["result"])

            # As in life, Prometheus knows the Pipelines (their counters, at 0) before their runs start.
            wait_for(
                lambda: (
                    series(f'baton_runs_finished_total{{namespace="{namespace}"}}') == 3 * len(EXAMPLES)
                ),  # Succeeded, Failed, Cancelled
                timeout=30,
                message="Prometheus to scrape the Pipelines' counters",
            )
            runs = {pipeline: api.start_run(pipeline) for pipeline in EXAMPLES.values()}

            def running_scrape() -> str | None:
                text = scrape(port)
                return text if sum(samples(text, "baton_active_tasks", phase="Running")) else None

            during = wait_for(running_scrape, timeout=60, message="a scrape with tasks running")
            wait_for(
                lambda: all(phase_of(api.run(name)) in ("Succeeded", "Failed") for name in runs.values()),
                timeout=120,
                message="every example run to finish",
            )
            finished = time.time()

            def settled_scrape() -> str | None:  # the operator's watch may trail the API by a moment
                text = scrape(port)
                runs_done = sum(samples(text, "baton_runs_finished_total", namespace=namespace))
                tasks_done = sum(samples(text, "baton_tasks_finished_total", namespace=namespace))
                return text if (runs_done, tasks_done) == (3, 6 + 22 + 5) else None

            after = wait_for(settled_scrape, timeout=30, message="the operator to count every run and task")

            def scraped_since_finish() -> bool:
                result = prometheus.api("query", query='timestamp(up{job="baton"})')["data"]["result"]
                return bool(result) and float(result[0]["value"][1]) > finished + 2

            wait_for(scraped_since_finish, timeout=30, message="Prometheus to scrape after the runs finished")
            # daily-sales wrote the warehouse table: its Dataset's age is scraped from then on.
            wait_for(
                lambda: series(f'baton_dataset_age_seconds{{namespace="{namespace}"}}') >= 1,
                timeout=30,
                message="Prometheus to scrape the age of the Dataset daily-sales wrote",
            )
            yield Scenario(prometheus, namespace, runs, started, time.time(), during, after)
        finally:
            prometheus.stop()
            operator.stop()


# -- the metrics themselves --------------------------------------------------------------------------


def test_promtool_finds_a_scrape_taken_during_a_run_clean(scenario: Scenario) -> None:
    assert (
        sum(samples(scenario.during, "baton_active_tasks", namespace=scenario.namespace, phase="Running")) > 0
    )
    result = subprocess.run(
        [need("promtool"), "check", "metrics"],
        input=scenario.during,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result


def test_the_metrics_count_what_happened(scenario: Scenario) -> None:
    text, ns = scenario.after, scenario.namespace
    for pipeline in EXAMPLES.values():
        assert samples(text, "baton_runs_started_total", namespace=ns, pipeline=pipeline) == [1]
        assert sum(samples(text, "baton_run_duration_seconds_count", namespace=ns, pipeline=pipeline)) == 1
    assert samples(
        text, "baton_runs_finished_total", namespace=ns, pipeline="daily-sales", phase="Succeeded"
    ) == [1]
    assert samples(text, "baton_runs_finished_total", namespace=ns, pipeline="failing", phase="Failed") == [1]
    assert samples(
        text, "baton_runs_finished_total", namespace=ns, pipeline="failing", phase="Succeeded"
    ) == [0]

    def task_count(task: str, phase: str, pipeline: str = "failing") -> float:
        return sum(
            samples(
                text, "baton_tasks_finished_total", namespace=ns, pipeline=pipeline, task=task, phase=phase
            )
        )

    assert (
        task_count("validate", "Failed"),
        task_count("publish", "Skipped"),
        task_count("audit", "Succeeded"),
    ) == (1, 1, 1)
    assert (
        sum(samples(text, "baton_tasks_finished_total", namespace=ns, pipeline="fan-out", phase="Succeeded"))
        == 22
    )
    assert sum(samples(text, "baton_task_attempts_total", namespace=ns)) == 5 + 22 + 3
    assert sum(samples(text, "baton_task_retries_total", namespace=ns)) == 0
    # Every task that started was scheduled once; fan-out's 20 shards queued behind its parallelism of 8.
    assert samples(text, "baton_task_scheduling_latency_seconds_count", namespace=ns, pipeline="fan-out") == [
        22
    ]
    assert samples(text, "baton_task_parallelism_wait_seconds_sum", namespace=ns, pipeline="fan-out")[0] > 0
    assert samples(text, "baton_task_parallelism_wait_seconds_sum", namespace=ns, pipeline="daily-sales") == [
        0
    ]
    assert samples(
        text, "baton_task_duration_seconds_count", namespace=ns, pipeline="daily-sales", task="load"
    ) == [1]
    # Nothing is active any more: the gauges say 0 for every Pipeline, not nothing.
    assert samples(text, "baton_active_runs", namespace=ns, pipeline="failing", phase="Running") == [0]
    assert sum(samples(text, "baton_active_tasks", namespace=ns)) == 0
    assert (
        sum(
            samples(text, "baton_kubernetes_requests_total", verb="create", resource="jobs.batch", code="201")
        )
        >= 30
    )


def test_labels_stay_bounded(scenario: Scenario) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    families = [f for f in text_string_to_metric_families(scenario.after) if f.name.startswith("baton_")]
    run_names = set(scenario.runs.values())
    for family in families:
        assert family.documentation, f"{family.name} has no HELP"
        if family.type == "counter":
            assert any(s.name == f"{family.name}_total" for s in family.samples) or not family.samples
        for sample in family.samples:
            assert set(sample.labels) <= ALLOWED_LABELS, (sample.name, sample.labels)
            assert not run_names & set(sample.labels.values()), sample


# -- the dashboard ---------------------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def test_the_dashboard_is_importable_anywhere() -> None:
    board = dashboard()
    assert "__inputs" not in board and "__requires" not in board
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    for name in ("namespace", "pipeline"):
        assert variables[name]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert variables[name]["includeAll"] and variables[name]["multi"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and panel["description"], panel["title"]
        assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"] and target["refId"] and target["expr"]
    titles = {p["title"] for p in panels()}
    for wanted in (
        "Runs by status",
        "Success rate",
        "Run duration by pipeline (p50, p95)",
        "Slowest tasks",
        "Failures and retries by task",
        "Tasks running and pending",
        "Scheduling latency",
        "Reconcile errors",
        "Kubernetes API requests",
    ):
        assert wanted in titles


def substitute(expr: str, scenario: Scenario) -> str:
    span = int(scenario.finished - scenario.started) + 10
    values = {
        "$namespace": scenario.namespace,
        "$pipeline": "daily-sales|fan-out|failing",
        "$__rate_interval": "15s",
        "$__interval": "5s",
        "$__range": f"{span}s",
    }
    for name, value in values.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def has_data(result: dict[str, Any]) -> bool:
    if result.get("status") != "success":
        return False
    data = result["data"]["result"]
    if result["data"]["resultType"] == "matrix":
        return any(not math.isnan(float(v)) for series in data for _, v in series["values"])
    return any(not math.isnan(float(series["value"][1])) for series in data)


def test_every_panel_query_is_valid_and_returns_data(scenario: Scenario) -> None:
    prometheus, failures = scenario.prometheus, []
    for panel in panels():
        for target in panel["targets"]:
            expr = substitute(target["expr"], scenario)
            # An instant panel shows the moment one looks: some series exist only while runs are active
            # (active runs), some only once a run wrote (dataset age), and scrapes a loaded machine let
            # time out (1 s) leave gaps a 15 s rate() finds empty. So any moment from the scenario's
            # start to now does: the same query, evaluated every second of that span.
            result = prometheus.api(
                "query_range",
                query=expr,
                start=str(scenario.started),
                end=str(max(scenario.finished, time.time())),
                step="1",
            )
            if not has_data(result):
                failures.append(
                    f"{panel['title']} / {target['refId']}: {expr}\n  -> {json.dumps(result)[:300]}"
                )
    if failures:  # how the scrapes went, to tell a slow scrape from a missing series
        health = prometheus.api("query", query='max_over_time(scrape_duration_seconds{job="baton"}[10m])')
        samples = prometheus.api("query", query='max_over_time(scrape_samples_scraped{job="baton"}[10m])')
        failures.append(f"scrapes: longest {json.dumps(health)[:200]}; samples {json.dumps(samples)[:200]}")
    assert not failures, "\n".join(failures)


def test_the_variables_find_the_namespace_and_its_pipelines(scenario: Scenario) -> None:
    prometheus = scenario.prometheus
    namespaces = prometheus.api("series", **{"match[]": "baton_runs_started_total"})["data"]
    assert scenario.namespace in {s["namespace"] for s in namespaces}
    pipelines = prometheus.api(
        "series", **{"match[]": f'baton_runs_started_total{{namespace=~"{scenario.namespace}"}}'}
    )
    assert {s["pipeline"] for s in pipelines["data"]} == set(EXAMPLES.values())


def metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(baton_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def test_every_metric_used_by_the_dashboard_and_the_rules_exists(scenario: Scenario) -> None:
    exposed = set(re.findall(r"^# HELP (baton_\w+) ", scenario.after, re.M))
    exposed |= {
        name.removesuffix("_total") + "_total" for name in exposed if name + "_total" in scenario.after
    }
    used = {
        name for panel in panels() for target in panel["targets"] for name in metric_names(target["expr"])
    }
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            used |= metric_names(rule["expr"])
    helped = {re.sub(r"_total$", "", name) for name in exposed}
    missing = {name for name in used if name not in exposed and re.sub(r"_total$", "", name) not in helped}
    assert not missing, missing


# -- the alerts -------------------------------------------------------------------------------------------


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = need("promtool")
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", RULES_TEST.name],
        cwd=RULES_TEST.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_the_rules_run_in_prometheus_and_the_failed_run_alerts(scenario: Scenario) -> None:
    prometheus = scenario.prometheus
    groups = prometheus.api("rules")["data"]["groups"]
    assert {g["name"] for g in groups} == {"baton.recording", "baton.alerts"}
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"]), groups

    def failed_alert() -> list[dict[str, Any]]:
        alerts = prometheus.api("alerts")["data"]["alerts"]
        return [
            a
            for a in alerts
            if a["labels"]["alertname"] == "BatonRunFailed"
            and a["labels"].get("namespace") == scenario.namespace
        ]

    alerts = wait_for(failed_alert, timeout=30, message="BatonRunFailed to fire")
    assert [a["labels"]["pipeline"] for a in alerts] == ["failing"]
    assert alerts[0]["state"] == "firing"
    recorded = prometheus.api(
        "query",
        query=f'namespace_pipeline:baton_run_duration_seconds:p95_1d{{namespace="{scenario.namespace}"}}',
    )["data"]["result"]
    assert {r["metric"]["pipeline"] for r in recorded} == set(EXAMPLES.values())
