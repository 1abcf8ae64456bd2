"""OpenLineage end to end: the operator's events (through the client's file transport) match the run, and a
lineage endpoint that never answers does not hold up the run."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, example, phase_of, when
from test_dataset_scenarios import WAREHOUSE, dataset, lake
from test_failure_scenarios import finished

from baton import GROUP
from baton.controller import metrics
from baton.kube.labels import PIPELINE
from support import wait_for

StartOperator = Callable[..., Any]
SOURCE = "postgres://pos:5432/shop.public.sales"


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def lineage_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Configure the OpenLineage client's file transport (its own environment variables) into a file."""
    log = tmp_path / "lineage.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return log


def test_openlineage_events_match_the_run(
    api: Api, start_operator: StartOperator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = lineage_file(tmp_path, monkeypatch)
    start_operator(api.namespace)
    api.apply(lake())
    run = finished(api, api.start_run("lake", {"date": "2026-12-06"}))
    assert phase_of(run) == "Succeeded"
    events = wait_for(lambda: (found := read_events(log)) and len(found) >= 6 and found, message="six events")
    ns = api.namespace
    seen = [(e["eventType"], e["job"]["name"]) for e in events]
    for task in ("extract", "rows", "load"):
        job = f"{ns}.lake.{task}"
        assert seen.index(("START", job)) < seen.index(("COMPLETE", job))
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in events}
    assert parents == {run["metadata"]["uid"]}
    assert {e["run"]["facets"]["parent"]["job"]["name"] for e in events} == {f"{ns}.lake"}
    load = next(e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".load"))
    assert [(d["namespace"], d["name"]) for d in load["inputs"]] == [("s3://lake", "sales")]
    assert (
        load["inputs"][0]["inputFacets"]["subset"]["inputCondition"]["partitions"][0]["identifier"]
        == "2026-12-06"
    )
    assert [(d["namespace"], d["name"]) for d in load["outputs"]] == [
        ("postgres://warehouse:5432", "analytics.public.daily_sales")
    ]
    check = next(e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".rows"))
    assertion = check["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0]
    assert (assertion["assertion"], assertion["success"]) == ("rows", True)
    assert all(e["producer"].startswith("https://baton.dev/operator/") for e in events)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_lineage_endpoint_that_never_answers_does_not_hold_up_runs(
    api: Api, start_operator: StartOperator, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", silent_endpoint)
    sent = metrics.LINEAGE_EVENTS.labels(result="sent")._value.get()
    start_operator(api.namespace)
    assert any(t.name == "baton-openlineage" for t in threading.enumerate()), "the emitter is on"
    api.apply(lake())
    for day in ("2026-12-05", "2026-12-06", "2026-12-07"):
        assert phase_of(finished(api, api.start_run("lake", {"date": day}), timeout=30)) == "Succeeded"
    # Every event waits on the silent endpoint (none could be sent), yet each run went its normal pace.
    assert metrics.LINEAGE_EVENTS.labels(result="sent")._value.get() == sent


def test_the_daily_sales_example_as_datasets_lineage_gates_cache_and_a_dataset_trigger(
    api: Api, start_operator: StartOperator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = lineage_file(tmp_path, monkeypatch)
    start_operator(api.namespace)
    for file in ("daily-sales.yaml", "sales-quality.yaml"):
        for doc in example(file):
            if doc["kind"] == "Pipeline":
                api.apply(doc)
    run = finished(api, api.start_run("daily-sales"), timeout=120)
    assert phase_of(run) == "Succeeded"
    name, uid = run["metadata"]["name"], run["metadata"]["uid"]

    # Dataset objects: the source read by extract, the warehouse table written by load and read by report
    warehouse = wait_for(lambda: when(dataset(api, WAREHOUSE), lambda d: "status" in d))
    assert warehouse["status"]["lastProducer"]["run"] == name
    assert warehouse["status"]["lastProducer"]["task"] == "load"
    assert warehouse["status"]["latestPartition"] == "2025-01-31"
    source = wait_for(lambda: when(dataset(api, SOURCE), lambda d: "status" in d))
    assert [c["task"] for c in source["status"]["consumers"]] == ["extract"]

    # OpenLineage: every task's START and COMPLETE, children of this run, with the same datasets
    tasks = ("regions", "extract", "revenue-by-region", "revenue-by-product", "load", "report")

    def task_events() -> list[dict[str, Any]]:
        return [
            e
            for e in read_events(log)
            if (e["run"].get("facets") or {}).get("parent", {}).get("run", {}).get("runId") == uid
        ]

    def completed(found: list[dict[str, Any]]) -> set[str]:
        return {e["job"]["name"].rsplit(".", 1)[1] for e in found if e["eventType"] == "COMPLETE"}

    # The emitter writes from its own thread, after the status write that records each outcome: wait for
    # this run's last task's event itself. Counting events could stop early: the sales-quality run that
    # this one's write triggers writes its own events to the same file (seen once in CI).
    mine = wait_for(lambda: when(task_events(), lambda found: completed(found) >= set(tasks)))
    completes = {e["job"]["name"].rsplit(".", 1)[1]: e for e in mine if e["eventType"] == "COMPLETE"}
    assert set(completes) == set(tasks)
    assert {e["job"]["name"].rsplit(".", 1)[1] for e in mine if e["eventType"] == "START"} == set(tasks)
    assert [(d["namespace"], d["name"]) for d in completes["load"]["outputs"]] == [
        ("postgres://warehouse:5432", "analytics.public.daily_sales")
    ]
    assert [(d["namespace"], d["name"]) for d in completes["extract"]["inputs"]] == [
        ("postgres://pos:5432", "shop.public.sales")
    ]

    # The write of the table started sales-quality: its gate passed, publish ran
    def quality_runs() -> list[dict[str, Any]]:
        rt = api.cluster.registry.storage(GROUP, "pipelineruns")
        runs = api.cluster.sync(api.cluster.store.list, rt, api.namespace)
        return [r for r in runs if (r["metadata"].get("labels") or {}).get(PIPELINE) == "sales-quality"]

    first = wait_for(lambda: when(quality_runs(), lambda r: len(r) == 1), message="sales-quality triggered")[
        0
    ]
    checked = finished(api, first["metadata"]["name"])
    assert phase_of(checked) == "Succeeded"
    assert checked["status"]["params"] == {"day": "2025-01-31"}
    assert {t["name"]: t["phase"] for t in checked["status"]["tasks"]} == {
        "rows": "Succeeded",
        "fx-rates": "Succeeded",
        "publish": "Succeeded",
    }
    # The same day again: a second update, a second run, whose fx-rates comes from the cache
    finished(api, api.start_run("daily-sales"), timeout=120)
    second = wait_for(lambda: when(quality_runs(), lambda r: len(r) == 2), message="a second trigger")
    newer = next(r for r in second if r["metadata"]["name"] != first["metadata"]["name"])
    again = finished(api, newer["metadata"]["name"])
    fx = next(t for t in again["status"]["tasks"] if t["name"] == "fx-rates")
    assert (fx["reason"], fx["cachedFrom"]) == ("Cached", first["metadata"]["name"])
