"""Datasets end to end: the real operator on the dev cluster records what runs wrote, read and checked on
Dataset objects, and keeps their freshness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from operator_kit import Api, phase_of, tasks_of, when
from test_failure_scenarios import finished, pipeline, sh

from baton import GROUP, VERSION
from baton.kube.datasets import dataset_name
from support import wait_for

StartOperator = Callable[..., Any]
SALES = "s3://lake/sales"
WAREHOUSE = "postgres://warehouse:5432/analytics.public.daily_sales"


def dataset(api: Api, uri: str) -> dict[str, Any] | None:
    found = api.cluster.sync(api.cluster.store.find, (GROUP, "datasets"), api.namespace, dataset_name(uri))
    return dict(found) if found is not None else None


def lake(severity: str = "Error", check: str = "true") -> dict[str, Any]:
    day = {"dataset": SALES, "partition": "$(params.date)"}
    return pipeline(
        "lake",
        [
            sh("extract", "true", outputs=[day]),
            sh("rows", check, check={**day, "severity": severity}),
            sh("load", "true", inputs=[day], outputs=[WAREHOUSE]),
        ],
        params=[{"name": "date"}],
    )


def test_a_run_records_its_writes_reads_and_checks_on_dataset_objects(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    api.apply(lake())
    first = finished(api, api.start_run("lake", {"date": "2026-12-05"}))
    second = finished(api, api.start_run("lake", {"date": "2026-12-06"}))
    assert phase_of(first) == phase_of(second) == "Succeeded"
    name = second["metadata"]["name"]
    assert tasks_of(second)["load"]["inputs"] == [{"uri": SALES, "partition": "2026-12-06"}]
    assert tasks_of(second)["load"]["outputs"] == [{"uri": WAREHOUSE}]

    sales = wait_for(lambda: when(dataset(api, SALES), lambda d: (d.get("status") or {}).get("updates") == 2))
    assert sales["spec"] == {"uri": SALES}
    status = sales["status"]
    assert status["latestPartition"] == "2026-12-06"
    assert [p["name"] for p in status["partitions"]] == ["2026-12-06", "2026-12-05"]
    assert status["lastProducer"]["run"] == name and status["lastProducer"]["task"] == "extract"
    assert status["lastUpdated"] == tasks_of(second)["extract"]["completionTime"]
    assert next((c["run"], c["task"], c["partition"], c["passed"]) for c in status["checks"]) == (
        name,
        "rows",
        "2026-12-06",
        True,
    )
    assert next((c["task"], c["partition"]) for c in status["consumers"]) == ("load", "2026-12-06")
    warehouse = wait_for(lambda: dataset(api, WAREHOUSE))
    assert warehouse["status"]["lastProducer"]["task"] == "load"
    assert "latestPartition" not in warehouse["status"]


def test_a_declared_freshness_turns_stale_with_an_event(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Dataset",
            "metadata": {"name": "sales-daily"},  # any name: the operator finds it by its URI
            "spec": {"uri": SALES, "freshness": {"maxAgeSeconds": 2}},
        }
    )
    api.apply(lake())
    finished(api, api.start_run("lake", {"date": "2026-12-06"}))

    def fresh() -> str | None:
        found = (
            api.cluster.sync(api.cluster.store.find, (GROUP, "datasets"), api.namespace, "sales-daily") or {}
        )
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c["status"] for c in conditions if c["type"] == "Fresh"), None)

    wait_for(lambda: fresh() == "True", message="Fresh=True after the write")
    wait_for(lambda: fresh() == "False", timeout=15, message="Fresh=False two seconds later")
    stale = wait_for(
        lambda: [e for e in api.events() if e.get("reason") == "Stale"], message="the Stale Event"
    )
    assert stale[0]["involvedObject"]["kind"] == "Dataset"
    assert 'partition "2026-12-06" updated at' in stale[0]["message"]
    assert dataset(api, SALES) is None  # no second Dataset for the URI


def test_an_error_gate_stops_the_load_and_a_warn_gate_does_not(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    failing = "echo 'only 3 rows' >&2; exit 1"
    api.apply(lake("Error", failing))
    stopped = finished(api, api.start_run("lake", {"date": "2026-12-06"}))
    assert phase_of(stopped) == "Failed"
    load = tasks_of(stopped)["load"]
    assert (load["phase"], load["reason"]) == ("Skipped", "QualityGateFailed")
    assert load["message"].startswith('quality check "rows" of s3://lake/sales (partition 2026-12-06) failed')

    warned = lake("Warn", failing)
    warned["metadata"]["name"] = "lake-warn"
    api.apply(warned)
    run = finished(api, api.start_run("lake-warn", {"date": "2026-12-07"}))
    assert phase_of(run) == "Succeeded"
    assert tasks_of(run)["load"]["phase"] == "Succeeded"
    assert tasks_of(run)["rows"]["reason"] == "QualityWarning"
    warning = next(c for c in run["status"]["conditions"] if c["type"] == "QualityWarning")
    assert warning["status"] == "True"

    def checks() -> list[tuple[str, str, bool]]:
        status = (dataset(api, SALES) or {}).get("status") or {}
        return [(c["severity"], c["partition"], c["passed"]) for c in status.get("checks") or ()]

    wait_for(lambda: len(checks()) == 2, message="both checks recorded on the Dataset")
    assert checks() == [("Warn", "2026-12-07", False), ("Error", "2026-12-06", False)]


def test_a_second_run_is_served_from_the_cache_unless_it_says_no_cache(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    extract = sh("extract", "echo '{\"rows\": 42}' > $BATON_RESULTS", results=[{"name": "rows"}])
    extract["cache"] = {"ttlSeconds": 3600}
    extract["outputs"] = [{"dataset": SALES, "partition": "$(params.date)"}]
    load = sh("load", 'test "$(tasks.extract.results.rows)" = 42')
    api.apply(pipeline("cached", [extract, load], params=[{"name": "date"}]))
    first = finished(api, api.start_run("cached", {"date": "2026-12-06"}))
    assert phase_of(first) == "Succeeded" and tasks_of(first)["extract"]["cacheKey"]
    second = finished(api, api.start_run("cached", {"date": "2026-12-06"}))
    served = tasks_of(second)["extract"]
    assert (served["phase"], served["reason"], served["cachedFrom"]) == (
        "Succeeded",
        "Cached",
        first["metadata"]["name"],
    )
    assert served["results"] == {"rows": "42"} and "jobName" not in served
    assert tasks_of(second)["load"]["phase"] == "Succeeded"  # it read the cached result
    other_day = finished(api, api.start_run("cached", {"date": "2026-12-07"}))
    assert tasks_of(other_day)["extract"].get("reason") != "Cached"  # another partition: another key

    run = api.apply(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PipelineRun",
            "metadata": {"generateName": "cached-"},
            "spec": {
                "pipelineRef": {"name": "cached"},
                "params": {"date": "2026-12-06"},
                "cache": "Disabled",
            },
        }
    )
    bypassed = finished(api, run["metadata"]["name"])
    assert (
        tasks_of(bypassed)["extract"].get("reason") != "Cached" and tasks_of(bypassed)["extract"]["jobName"]
    )
    # only runs that really ran the task produced the dataset
    sales = wait_for(lambda: when(dataset(api, SALES), lambda d: (d.get("status") or {}).get("updates") == 3))
    assert first["metadata"]["name"] in {p["run"] for p in sales["status"]["producers"]}


def test_a_dataset_trigger_chain_runs_each_pipeline_once_per_update(
    api: Api, start_operator: StartOperator
) -> None:
    start_operator(api.namespace)
    day = {"dataset": SALES, "partition": "$(params.date)"}
    api.apply(pipeline("ingest", [sh("extract", "true", outputs=[day])], params=[{"name": "date"}]))
    api.apply(
        pipeline(
            "aggregate",
            [
                sh(
                    "load",
                    'test "$(params.day)" = 2026-12-06',
                    inputs=[{**day, "partition": "$(params.day)"}],
                    outputs=[WAREHOUSE],
                )
            ],
            params=[{"name": "day"}],
            triggers=[{"dataset": "s3://lake/*", "params": {"day": "$(trigger.dataset.partition)"}}],
        )
    )
    api.apply(
        pipeline(
            "publish",
            [sh("post", 'test "$(params.source)" = "' + WAREHOUSE + '"')],
            params=[{"name": "source"}],
            triggers=[{"dataset": WAREHOUSE, "params": {"source": "$(trigger.dataset.uri)"}}],
        )
    )
    first = finished(api, api.start_run("ingest", {"date": "2026-12-06"}))
    assert phase_of(first) == "Succeeded"

    def runs_of(name: str) -> list[dict[str, Any]]:
        rt = api.cluster.registry.storage(GROUP, "pipelineruns")
        runs = api.cluster.sync(api.cluster.store.list, rt, api.namespace)
        return [r for r in runs if ((r.get("spec") or {}).get("pipelineRef") or {}).get("name") == name]

    aggregate = wait_for(
        lambda: when(runs_of("aggregate"), lambda r: len(r) == 1), message="aggregate triggered"
    )[0]
    annotations = aggregate["metadata"]["annotations"]
    assert annotations["baton.dev/triggered-by-dataset"] == f"{SALES}#2026-12-06"
    assert aggregate["metadata"]["name"].startswith("aggregate-2026-12-06-")
    assert phase_of(finished(api, aggregate["metadata"]["name"])) == "Succeeded"
    publish = wait_for(lambda: when(runs_of("publish"), lambda r: len(r) == 1), message="publish triggered")[
        0
    ]
    assert phase_of(finished(api, publish["metadata"]["name"])) == "Succeeded"
    # Nothing fires twice: the Pipelines reconcile again on every Dataset change, and find it handled.
    finished(api, api.start_run("ingest", {"date": "2026-12-06"}))
    wait_for(lambda: len(runs_of("aggregate")) == 2, message="the second write triggers a second run")
    assert len(runs_of("aggregate")) == 2


def test_runs_writing_one_dataset_at_once_are_all_recorded(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    writer = sh("write", "true", outputs=[{"dataset": "s3://race/one", "partition": "$(params.part)"}])
    api.apply(pipeline("race", [writer], params=[{"name": "part"}]))
    names = [api.start_run("race", {"part": f"p{i}"}) for i in range(8)]
    for name in names:
        assert phase_of(finished(api, name)) == "Succeeded"
    wait_for(
        lambda: ((dataset(api, "s3://race/one") or {}).get("status") or {}).get("updates") == 8,
        message="eight writes recorded",
    )
    status = (dataset(api, "s3://race/one") or {})["status"]
    assert sorted(p["name"] for p in status["partitions"]) == [f"p{i}" for i in range(8)]
