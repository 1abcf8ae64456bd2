"""The planner with data flow: results between tasks, forEach fan-out (static and dynamic), run results."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from failure_kit import META, T0, Sim, spec, task

from baton.api.run import RunPhase
from baton.core.foreach import MAX_RECORDED_RESULTS
from baton.core.observed import JobState
from baton.core.start import start_run


def results(**values: Any) -> str:
    return json.dumps(values)


def env_of(sim: Sim, unit: str, attempt: int = 1) -> dict[str, str]:
    container = sim.bodies[(unit, attempt)]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


# -- results -------------------------------------------------------------------------------------------


def test_a_result_flows_downstream_and_implies_the_dependency() -> None:
    sim = Sim.start(
        spec(
            task("count", results=[{"name": "rows"}, {"name": "regions"}], command=["count"]),
            task(
                "load",
                command=["load", "--expect", "$(tasks.count.results.rows)", "$(tasks.count.results.regions)"],
            ),
        )
    )
    assert sim.step().create_jobs and sim.created() == ["run-1-count-1"]  # load waits: it reads count
    assert env_of(sim, "count")["BATON_RESULTS"] == "/dev/termination-log"
    sim.finish("count", message=results(rows=1234, regions=["eu", "us"])).step()
    assert sim.task("count").results == {"rows": "1234", "regions": '["eu","us"]'}
    assert sim.command("load") == ["load", "--expect", "1234", '["eu","us"]']


def test_a_string_result_is_substituted_as_itself_and_escaped_for_the_kubelet() -> None:
    sim = Sim.start(spec(task("a", results=[{"name": "path"}]), task("b", args=["$(tasks.a.results.path)"])))
    sim.step()
    sim.finish("a", message=results(path="s3://x/$(HOME)")).step()
    assert sim.bodies[("b", 1)]["spec"]["template"]["spec"]["containers"][0]["args"] == ["s3://x/$$(HOME)"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (None, "declares results (rows) but wrote none"),
        ("{not json", "results are not valid JSON"),
        ("[1, 2]", "results must be one JSON object of declared names (rows), not a JSON array"),
        (results(rows=1, extra=2), 'undeclared result(s) "extra": the task declares rows'),
        (results(other=1), 'undeclared result(s) "other"'),
        ("{}", 'declared result(s) "rows" missing'),
        ('{"rows": "' + "x" * 5000, "results are limited to 4096 bytes, the Kubernetes termination message"),
    ],
)
def test_bad_results_fail_the_task_without_a_retry(message: str | None, expected: str) -> None:
    sim = Sim.start(
        spec(task("count", results=[{"name": "rows"}], retries={"limit": 3}), task("load", "count"))
    )
    sim.step()
    sim.finish("count", message=message).step()
    count = sim.task("count")
    assert (count.phase.value, count.reason) == ("Failed", "InvalidResults")
    assert expected in (count.message or "") and "(not retried)" in (count.message or "")
    assert sim.phases()["load"] == "Skipped"
    assert len(count.message or "") < 1100


def test_a_succeeded_job_waits_briefly_for_its_pods_termination_message() -> None:
    sim = Sim.start(spec(task("count", results=[{"name": "rows"}])))
    sim.step()
    sim.finish("count")
    key = ("count", 1)
    sim.jobs[key] = replace(sim.jobs[key], pod_pending=True)  # the Job's event came before the Pod's
    p = sim.step()
    assert sim.task("count").phase.value == "Running" and p.wake_at is not None
    sim.jobs[key] = replace(sim.jobs[key], pod_pending=False, message=results(rows=3))
    sim.step()
    assert sim.task("count").results == {"rows": "3"}


@pytest.mark.parametrize("rule", ["allDone", "anyFailed"])
def test_a_consumer_that_runs_after_a_failure_is_skipped_when_its_result_is_unavailable(rule: str) -> None:
    sim = Sim.start(
        spec(
            task("count", results=[{"name": "rows"}]),
            task("report", "count", when=rule, command=["report", "$(tasks.count.results.rows)"]),
        )
    )
    sim.step()
    sim.finish("count", exit_code=1).step()
    report = sim.task("report")
    assert (report.phase.value, report.reason) == ("Skipped", "ResultUnavailable")
    assert report.message == 'result "rows" of task "count" is unavailable: "count" failed'


def test_a_finally_task_reading_a_result_runs_when_it_is_there() -> None:
    sim = Sim.start(
        spec(
            task("count", results=[{"name": "rows"}]),
            **{"finally": [task("notify", command=["notify", "$(tasks.count.results.rows)"])]},
        )
    )
    sim.step()
    sim.finish("count", message=results(rows=7)).step()
    assert sim.command("notify") == ["notify", "7"]


def test_run_results_are_recorded_when_the_run_ends() -> None:
    sim = Sim.start(
        spec(
            task("load", results=[{"name": "total"}]),
            task("audit", "load", results=[{"name": "ok"}]),
            results=[
                {"name": "total", "value": "$(tasks.load.results.total) rows"},
                {"name": "audited", "value": "$(tasks.audit.results.ok)"},
            ],
        )
    )
    sim.step()
    sim.finish("load", message=results(total=99)).step()
    assert sim.status.results == []
    sim.finish("audit", exit_code=1).step()
    assert sim.phase is RunPhase.FAILED
    assert [(r.name, r.value) for r in sim.status.results] == [("total", "99 rows")]


# -- forEach -------------------------------------------------------------------------------------------


def test_static_items_expand_into_instances_with_item_and_index() -> None:
    sim = Sim.start(
        spec(
            task(
                "extract", forEach={"items": ["eu", "us", 3]}, command=["extract", "$(item)", "$(item.index)"]
            ),
            task("report", "extract"),
        )
    )
    sim.step()
    extract = sim.task("extract")
    assert (extract.phase.value, extract.items) == ("Running", 3)
    assert [(i.name, i.item, i.phase.value) for i in extract.instances] == [
        ("extract[0]", "eu", "Running"),
        ("extract[1]", "us", "Running"),
        ("extract[2]", "3", "Running"),
    ]
    assert sim.command("extract[1]") == ["extract", "us", "1"]
    labels = sim.bodies[("extract[2]", 1)]["metadata"]["labels"]
    assert (labels["baton.dev/task"], labels["baton.dev/instance"]) == ("extract", "2")
    assert env_of(sim, "extract[2]")["BATON_ITEM"] == "3"
    for k in range(3):
        sim.finish(f"extract[{k}]")
    sim.step()
    assert sim.phases() == {"extract": "Succeeded", "report": "Running"}
    assert sim.status.progress == "3/4"


def test_a_dynamic_fan_out_grows_from_a_result_and_aggregates_in_item_order() -> None:
    sim = Sim.start(
        spec(
            task("list", results=[{"name": "regions"}]),
            task(
                "extract",
                forEach={"from": "$(tasks.list.results.regions)"},
                results=[{"name": "rows"}],
                command=["extract", "$(item)"],
            ),
            task("load", command=["load", "$(tasks.extract.results.rows)"]),
        )
    )
    sim.step()
    sim.finish("list", message=results(regions=["eu", "us", "apac"])).step()
    assert sim.created() == [sim.jobs[(f"extract[{k}]", 1)].name for k in range(3)]
    assert all(name.startswith("run-1-extract-") for name in sim.created())
    for k, rows in [(2, 30), (0, 10), (1, 20)]:
        sim.finish(f"extract[{k}]", message=results(rows=rows))
    sim.step()
    assert sim.command("load") == ["load", "[10,20,30]"]


def test_an_instance_fails_is_retried_and_the_task_waits_for_all() -> None:
    sim = Sim.start(
        spec(
            task(
                "extract",
                forEach={"items": list(range(4))},
                retries={"limit": 1, "backoff": {"initialSeconds": 5}},
            ),
            task("load", "extract"),
        )
    )
    sim.step()
    sim.finish("extract[1]", exit_code=1)
    for k in (0, 2, 3):
        sim.finish(f"extract[{k}]")
    p = sim.step()
    one = sim.task("extract").instances[1]
    assert (one.phase.value, one.reason, one.next_attempt_at is not None) == ("Pending", "Failed", True)
    assert sim.phases()["load"] == "Pending" and p.wake_at is not None
    sim.at(6).step()
    assert sim.created() == [sim.jobs[("extract[1]", 2)].name]
    sim.finish("extract[1]", attempt=2).step()
    assert sim.phases() == {"extract": "Succeeded", "load": "Running"}


def test_a_failed_instance_fails_the_task_once_every_instance_ended() -> None:
    sim = Sim.start(spec(task("extract", forEach={"items": ["a", "b", "c"]}), task("load", "extract")))
    sim.step()
    sim.finish("extract[0]", exit_code=2).step()
    assert sim.task("extract").phase.value == "Running"
    assert sim.task("extract").message == "1 of 3 instances failed so far"
    sim.finish("extract[1]").finish("extract[2]").step()
    extract = sim.task("extract")
    assert (extract.phase.value, extract.reason) == ("Failed", "Failed")
    assert extract.message is not None and extract.message.startswith(
        "1 of 3 instances failed; extract[0]: exit code 2"
    )
    assert sim.reasons()["load"] == "UpstreamFailed"
    assert sim.phase is RunPhase.FAILED


def test_parallelism_counts_instances() -> None:
    sim = Sim.start(spec(task("a", forEach={"items": list(range(5))}), parallelism=2))
    sim.step()
    assert len(sim.created()) == 2
    sim.finish("a[0]").step()
    assert sim.created() == [sim.jobs[("a[2]", 1)].name]


def test_fail_fast_skips_the_instances_not_started() -> None:
    sim = Sim.start(
        spec(task("a", forEach={"items": list(range(4))}), parallelism=2, failurePolicy="FailFast")
    )
    sim.step()
    sim.finish("a[0]", exit_code=1).step()
    instances = sim.task("a").instances
    assert [i.phase.value for i in instances] == ["Failed", "Running", "Skipped", "Skipped"]
    sim.finish("a[1]").step()
    assert sim.task("a").phase.value == "Failed" and sim.phase is RunPhase.FAILED


def test_cancel_stops_running_instances_and_skips_the_rest() -> None:
    sim = Sim.start(spec(task("a", forEach={"items": list(range(3))}), parallelism=1))
    sim.step()
    sim.step(cancel=True)
    a = sim.task("a")
    assert [i.phase.value for i in a.instances] == ["Cancelled", "Skipped", "Skipped"]
    assert (a.phase.value, a.reason) == ("Cancelled", "Cancelled")
    assert len(sim.deleted) == 1
    assert sim.phase is RunPhase.CANCELLED


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("eu,us", 'forEach of task "a": param "regions" is not a JSON list: \'eu,us\''),
        (
            '{"a": 1}',
            'forEach of task "a": param "regions" is a JSON object, not a list of strings and numbers',
        ),
        ('[1, {"a": 1}]', 'forEach of task "a": item 1 of param "regions" is a JSON object'),
        ("[1,2,3]", 'forEach of task "a": param "regions" has 3 items, more than its maxItems (2)'),
    ],
)
def test_a_bad_list_in_a_param_fails_the_run_before_anything_runs(value: str, message: str) -> None:
    pipeline = spec(
        task("a", forEach={"from": "$(params.regions)", "maxItems": 2}), params=[{"name": "regions"}]
    )
    start = start_run(META, {"pipelineSpec": pipeline, "params": {"regions": value}}, None, T0)
    assert start.status.phase is RunPhase.FAILED
    assert message in start.status.conditions[0].message


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        ("eu,us", "InvalidItems", 'result "items" of task "list" is a JSON string, not a list'),
        ([1, {"a": 1}], "InvalidItems", 'item 1 of result "items" of task "list" is a JSON object'),
        ([1, 2, 3], "TooManyItems", 'forEach of task "a" has 3 items, more than its maxItems (2)'),
    ],
)
def test_a_bad_list_in_a_result_fails_the_task_clearly(value: object, reason: str, message: str) -> None:
    sim = Sim.start(
        spec(
            task("list", results=[{"name": "items"}]),
            task("a", forEach={"from": "$(tasks.list.results.items)", "maxItems": 2}),
            task("b", "a"),
        )
    )
    sim.step()
    sim.finish("list", message=results(items=value)).step()
    a = sim.task("a")
    assert (a.phase.value, a.reason) == ("Failed", reason)
    assert message in (a.message or "") and (a.message or "").endswith("(not retried)")
    assert sim.phases()["b"] == "Skipped" and sim.phase is RunPhase.FAILED


def test_an_empty_list_succeeds_with_no_items_and_aggregates_to_an_empty_list() -> None:
    sim = Sim.start(
        spec(
            task("a", forEach={"from": "$(params.regions)"}, results=[{"name": "rows"}]),
            task("b", command=["b", "$(tasks.a.results.rows)"]),
            params=[{"name": "regions", "default": "[]"}],
        )
    )
    sim.step()
    a = sim.task("a")
    assert (a.phase.value, a.reason, a.items) == ("Succeeded", "NoItems", 0)
    assert sim.command("b") == ["b", "[]"]


def test_an_operator_restart_while_a_dynamic_fan_out_expands_creates_no_duplicate() -> None:
    sim = Sim.start(
        spec(
            task("list", results=[{"name": "items"}]),
            task("fan", forEach={"from": "$(tasks.list.results.items)"}),
        )
    )
    sim.step()
    sim.finish("list", message=results(items=list(range(20))))
    before = sim.status
    plan = sim.step()
    assert len(plan.create_jobs) == 20
    # The status write was lost in a crash: a new operator plans from the old status and sees the Jobs.
    sim.status = before
    sim.restart()
    again = sim.step()
    assert again.create_jobs == ()  # Sim asserts no (task, attempt) is created twice
    assert sum(1 for i in sim.task("fan").instances if i.phase.value == "Running") == 20
    for k in range(20):
        sim.finish(f"fan[{k}]")
    sim.step()
    assert sim.phase is RunPhase.SUCCEEDED


def test_results_of_all_instances_are_bounded() -> None:
    big = "x" * 3000
    count = MAX_RECORDED_RESULTS // 3000 + 2
    sim = Sim.start(spec(task("a", forEach={"items": list(range(count))}, results=[{"name": "blob"}])))
    sim.step()
    for k in range(count):
        sim.finish(f"a[{k}]", message=results(blob=big))
    sim.step()
    failed = [i for i in sim.task("a").instances if i.phase.value == "Failed"]
    assert failed and failed[0].reason == "ResultsTooLarge"
    assert "write large outputs to a workspace" in (failed[0].message or "")


def test_an_aggregate_too_large_for_one_argument_fails_the_consumer() -> None:
    sim = Sim.start(
        spec(
            task("a", forEach={"items": list(range(30))}, results=[{"name": "blob"}]),
            task("b", command=["b", "--both=$(tasks.a.results.blob),$(tasks.a.results.blob)"]),
        )
    )
    sim.step()
    for k in range(30):
        sim.finish(f"a[{k}]", message=results(blob="y" * 3500))
    sim.step()
    b = sim.task("b")
    assert (b.phase.value, b.reason) == ("Failed", "ResultsTooLarge")
    assert "the aggregated results of a are" in (b.message or "")
    assert "pass them through a workspace" in (b.message or "")


def test_the_fan_out_of_a_thousand_items_keeps_the_status_readable() -> None:
    sim = Sim.start(spec(task("a", forEach={"items": list(range(1000))}), task("b", "a")))
    sim.step()
    a = sim.task("a")
    assert a.items == 1000 and len(a.instances) == 1000
    assert sim.last.events and len(sim.last.events) <= 3  # one aggregated TaskStarted Event
    for k in range(1000):
        sim.jobs[(f"a[{k}]", 1)] = replace(sim.jobs[(f"a[{k}]", 1)], state=JobState.SUCCEEDED)
    sim.step()
    assert sim.phases() == {"a": "Succeeded", "b": "Running"}


def test_a_retry_runs_only_the_instances_that_did_not_succeed() -> None:
    pipeline = spec(
        task("list", results=[{"name": "items"}]),
        task("fan", forEach={"from": "$(tasks.list.results.items)"}, results=[{"name": "r"}]),
        task("sum", command=["sum", "$(tasks.fan.results.r)"]),
    )
    sim = Sim.start(pipeline)
    sim.step()
    sim.finish("list", message=results(items=["a", "b", "c"])).step()
    sim.finish("fan[0]", message=results(r=1)).finish("fan[1]", exit_code=1).finish(
        "fan[2]", message=results(r=3)
    )
    sim.step()
    assert sim.phase is RunPhase.FAILED
    retry_meta = replace(META, name="run-2", uid="uid-2")
    start = start_run(retry_meta, {"retryOf": "run-1"}, None, T0, retry_of=sim.status)
    assert start.started
    assert start.events[0].message == (
        'retrying run "run-1": reused 1 task(s) that succeeded there (list) and 2 instance(s) of fan'
    )
    retry = Sim(start.status, meta=retry_meta)
    retry.step()
    fan = retry.task("fan")
    assert [(i.name, i.phase.value, i.reason) for i in fan.instances] == [
        ("fan[0]", "Succeeded", "Reused"),
        ("fan[1]", "Running", None),
        ("fan[2]", "Succeeded", "Reused"),
    ]
    assert retry.created() == [retry.jobs[("fan[1]", 1)].name]
    retry.finish("fan[1]", message=results(r=2)).step()
    assert retry.command("sum") == ["sum", "[1,2,3]"]
