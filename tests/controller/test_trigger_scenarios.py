"""Triggers between Pipelines, end to end: the real operator on the dev cluster."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from operator_kit import Api, phase_of
from test_failure_scenarios import FINISHED, finished, pipeline, sh

from baton.core.status import parse_time
from baton.kube.slotruns import TRIGGERED_BY
from support import wait_for

StartOperator = Callable[..., Any]


def runs_of(api: Api, name: str) -> list[dict[str, Any]]:
    rt = api.cluster.registry.storage("baton.dev", "pipelineruns")
    return [
        r
        for r in api.cluster.sync(api.cluster.store.list, rt, api.namespace)
        if (r["spec"].get("pipelineRef") or {}).get("name") == name
    ]


def ready(api: Api, name: str) -> dict[str, Any]:
    status = wait_for(lambda: (api.pipeline(name) or {}).get("status"), message=f"pipeline {name} seen")
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_a_trigger_chain_runs_each_downstream_once(api: Api, start_operator: StartOperator) -> None:
    first = start_operator(api.namespace)
    api.apply(pipeline("ingest", [sh("pull", "true")], params=[{"name": "date"}], results=[]))
    api.apply(
        pipeline(
            "load",
            [sh("copy", 'test "$(params.date)" = 2026-01-31 && test "$(params.upstream)" != ""')],
            params=[{"name": "date"}, {"name": "upstream"}],
            triggers=[
                {
                    "pipeline": "ingest",
                    "params": {"date": "$(trigger.params.date)", "upstream": "$(trigger.run)"},
                }
            ],
        )
    )
    api.apply(
        pipeline(
            "report",
            [sh("mail", "true")],
            triggers=[{"pipeline": "load", "phases": ["Succeeded", "Failed"]}],
        )
    )
    for name in ("ingest", "load", "report"):
        assert ready(api, name)["status"] == "True"
    upstream = api.start_run("ingest", {"date": "2026-01-31"})
    finished(api, upstream)
    load = wait_for(lambda: runs_of(api, "load"), message="the load run")[0]
    assert load["metadata"]["name"] == f"load-{upstream}"
    assert load["metadata"]["annotations"][TRIGGERED_BY] == f"{api.namespace}/{upstream}"
    assert phase_of(finished(api, load["metadata"]["name"])) == "Succeeded"
    report = wait_for(lambda: runs_of(api, "report"), message="the report run")[0]
    assert report["metadata"]["name"] == f"report-load-{upstream}"
    finished(api, report["metadata"]["name"])
    told = [e for e in api.events() if e.get("reason") == "TriggeredBy"]
    assert any(upstream in e["message"] for e in told)
    # A restarted operator (and a second one at once) creates nothing again.
    first.stop()
    second, third = start_operator(api.namespace), start_operator(api.namespace)
    again = api.start_run("ingest", {"date": "2026-01-31"})
    finished(api, again)
    wait_for(lambda: len(runs_of(api, "report")) == 2, message="the second chain to reach report")
    wait_for(lambda: all(phase_of(r) in FINISHED for r in runs_of(api, "report")))
    second.stop()
    third.stop()
    assert sorted(r["metadata"]["name"] for r in runs_of(api, "load")) == sorted(
        [f"load-{upstream}", f"load-{again}"]
    )


def test_a_trigger_added_later_does_not_fire_for_the_past(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("ingest", [sh("pull")]))
    old = api.start_run("ingest")
    finished(api, old)
    api.apply(pipeline("load", [sh("copy")]))
    ready(api, "load")
    patched = copy.deepcopy(api.pipeline("load"))  # the store's own objects are never changed in place
    assert patched is not None
    patched["spec"]["triggers"] = [{"pipeline": "ingest"}]
    pipelines = api.cluster.registry.storage("baton.dev", "pipelines")
    api.cluster.sync(api.cluster.store.update, pipelines, api.namespace, "load", patched)  # generation 2
    through = wait_for(lambda: (api.pipeline("load") or {}).get("status", {}).get("triggeredThrough"))
    wait_for(lambda: datetime.now(UTC) > parse_time(through), message="the clock to pass it")
    new = api.start_run("ingest")
    finished(api, new)
    wait_for(lambda: runs_of(api, "load"), message="the new upstream run to trigger")
    assert [r["metadata"]["name"] for r in runs_of(api, "load")] == [f"load-{new}"]


def test_trigger_loops_are_reported_on_the_pipelines(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("ping", [sh("a")], triggers=[{"pipeline": "pong"}]))
    api.apply(pipeline("pong", [sh("a")], triggers=[{"pipeline": "ping"}]))
    for name, loop in (("ping", "ping <- pong <- ping"), ("pong", "pong <- ping <- pong")):
        condition = wait_for(
            lambda name=name: (c := ready(api, name))["status"] == "False" and c,
            message=f"{name} to be reported",
        )
        assert condition["reason"] == "Invalid" and f"trigger loop: {loop}" in condition["message"]
    run = api.start_run("ping")  # a run by hand still runs; it triggers nothing
    assert phase_of(finished(api, run)) == "Succeeded"
    assert not runs_of(api, "pong")
