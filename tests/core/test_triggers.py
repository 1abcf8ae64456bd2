"""Triggers between Pipelines: which upstream runs start a run, its name and params, loops, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.api.pipeline import PipelineSpec
from baton.core.triggers import (
    UpstreamRun,
    allowed,
    decide_triggers,
    trigger_errors,
    trigger_loops,
    triggered_run_name,
)

T = datetime(2026, 1, 1, tzinfo=UTC)
S = timedelta(seconds=1)


def spec(*triggers: dict[str, object], params: list[dict[str, object]] | None = None) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "params": params
            if params is not None
            else [{"name": "date"}, {"name": "upstream", "default": ""}],
            "tasks": [{"name": "a", "image": "busybox"}],
            "triggers": list(triggers),
        }
    )


def upstream(name: str, phase: str = "Succeeded", seconds: int = 10, **fields: object) -> UpstreamRun:
    values: dict[str, object] = {
        "namespace": "etl",
        "name": name,
        "pipeline": "ingest",
        "phase": phase,
        "completed": T + timedelta(seconds=seconds),
        **fields,
    }
    return UpstreamRun(**values)  # type: ignore[arg-type]


ON_INGEST = {"pipeline": "ingest", "params": {"date": "$(trigger.params.date)", "upstream": "$(trigger.run)"}}


@pytest.mark.parametrize(
    ("triggers", "runs", "created"),
    [
        ([ON_INGEST], [upstream("i-1")], ["load-i-1"]),
        ([ON_INGEST], [upstream("i-1", "Failed")], []),  # Succeeded only, by default
        ([{**ON_INGEST, "phases": ["Failed", "Cancelled"]}], [upstream("i-1", "Failed")], ["load-i-1"]),
        ([ON_INGEST], [upstream("i-1", seconds=-5)], []),  # ended before `since`: handled already
        ([ON_INGEST], [upstream("i-1", seconds=0)], ["load-i-1"]),  # at `since`: again (a 409 if done)
        ([ON_INGEST], [upstream("i-1", pipeline="other")], []),
        ([ON_INGEST], [upstream("i-1", namespace="elsewhere")], []),  # another namespace: not named
        # Two triggers on the same upstream: still one run per upstream run.
        ([ON_INGEST, {**ON_INGEST, "phases": ["Succeeded", "Failed"]}], [upstream("i-1")], ["load-i-1"]),
        ([ON_INGEST], [upstream("i-2", seconds=20), upstream("i-1")], ["load-i-1", "load-i-2"]),  # in order
    ],
)
def test_which_upstream_runs_trigger(
    triggers: list[dict[str, object]], runs: list[UpstreamRun], created: list[str]
) -> None:
    decision = decide_triggers("load", "etl", spec(*triggers), T, runs)
    assert [run.name for run in decision.create] == created
    assert decision.through == max([T, *(r.completed for r in runs if r.completed >= T)])
    assert bool(decision.events) == bool(created)


def test_handled_runs_are_not_triggered_again_and_late_ones_still_are() -> None:
    first = decide_triggers("load", "etl", spec(ON_INGEST), T, [upstream("i-1", seconds=10)])
    assert [r.name for r in first.create] == ["load-i-1"]
    assert (first.through, first.handled) == (T + 10 * S, ("etl/i-1",))
    # Next decision: i-1 is handled (its downstream run may be gone, pruned: it is not made again); i-0
    # ended earlier but its status came later; i-2 ended in the same second as i-1.
    runs = [upstream("i-1", seconds=10), upstream("i-0", seconds=5), upstream("i-2", seconds=10)]
    again = decide_triggers("load", "etl", spec(ON_INGEST), first.through, runs, first.handled)
    assert [r.name for r in again.create] == ["load-i-0", "load-i-2"]
    assert again.handled == ("etl/i-0", "etl/i-1", "etl/i-2")
    # Once the watermark is a minute further on, old names are dropped and old runs are not looked at.
    later = decide_triggers(
        "load", "etl", spec(ON_INGEST), again.through, [*runs, upstream("i-9", seconds=90)], again.handled
    )
    assert [r.name for r in later.create] == ["load-i-9"]
    assert later.handled == ("etl/i-9",)  # the others ended 80 s and more before: out of the window
    assert decide_triggers("load", "etl", spec(ON_INGEST), later.through, runs, later.handled).create == ()


def test_params_come_from_the_upstream_run() -> None:
    triggers = {
        "pipeline": "ingest",
        "params": {
            "date": "$(trigger.params.date)",
            "upstream": "$(trigger.namespace)/$(trigger.pipeline)/$(trigger.run) $(trigger.phase) "
            "rows=$(trigger.results.rows) missing=[$(trigger.results.nope)]",
        },
    }
    run = upstream("i-1", params={"date": "2026-01-01"}, results={"rows": "42"})
    (created,) = decide_triggers("load", "etl", spec(triggers), T, [run]).create
    assert created.params == {
        "date": "2026-01-01",
        "upstream": "etl/ingest/i-1 Succeeded rows=42 missing=[]",
    }
    (event,) = decide_triggers("load", "etl", spec(triggers), T, [run]).events
    assert (event.reason, event.message) == ("Triggered", "created 1 run: load-i-1 (after etl/i-1 Succeeded)")


def test_names_are_deterministic_fit_63_and_tell_namespaces_apart() -> None:
    here, there = upstream("ingest-x7k2p"), upstream("ingest-x7k2p", namespace="raw")
    assert triggered_run_name("load", here, "etl") == "load-ingest-x7k2p"
    assert triggered_run_name("load", there, "etl") != triggered_run_name("load", here, "etl")
    long = upstream("i" * 60)
    name = triggered_run_name("load-the-warehouse", long, "etl")
    assert len(name) <= 63 and name == triggered_run_name("load-the-warehouse", long, "etl")
    assert name != triggered_run_name("load-the-warehouse", upstream("i" * 59 + "j"), "etl")


@pytest.mark.parametrize(
    ("edges", "loops"),
    [
        ({("n", "b"): [("n", "a")]}, {}),
        (
            {("n", "a"): [("n", "b")], ("n", "b"): [("n", "a")]},
            {("n", "a"): "a <- b <- a", ("n", "b"): "b <- a <- b"},
        ),
        ({("n", "a"): [("n", "a")]}, {("n", "a"): "a <- a"}),
        (
            {
                ("n", "a"): [("n", "c")],
                ("n", "b"): [("n", "a")],
                ("n", "c"): [("n", "b")],
                ("n", "d"): [("n", "a")],
            },
            {("n", "a"): "a <- c <- b <- a", ("n", "b"): "b <- a <- c <- b", ("n", "c"): "c <- b <- a <- c"},
        ),
        (
            {("n", "a"): [("m", "b")], ("m", "b"): [("n", "a")]},
            {("n", "a"): "a <- m/b <- a", ("m", "b"): "b <- n/a <- b"},
        ),
    ],
)
def test_trigger_loops_are_found_like_cycles(
    edges: dict[tuple[str, str], list[tuple[str, str]]], loops: dict[tuple[str, str], str]
) -> None:
    assert trigger_loops(edges) == loops


def test_a_long_trigger_chain_is_no_recursion_problem() -> None:
    edges = {("n", f"p{i}"): [("n", f"p{i - 1}")] for i in range(1, 5000)}
    assert trigger_loops(edges) == {}
    edges[("n", "p0")] = [("n", "p4999")]
    assert len(trigger_loops(edges)) == 5000


def test_other_namespaces_need_the_upstreams_consent() -> None:
    assert allowed(None, "etl", "etl")
    assert not allowed({}, "etl", "raw")
    assert allowed({"allowTriggersFrom": ["etl"]}, "etl", "raw")
    assert allowed({"allowTriggersFrom": ["*"]}, "etl", "raw")
    assert not allowed({"allowTriggersFrom": ["bi"]}, "etl", "raw")


def test_trigger_errors() -> None:
    broken = spec(
        {"pipeline": "ingest", "params": {"dat": "$(trigger.params)", "upstream": "$(trigger.runs)"}},
    )
    assert trigger_errors(broken) == [
        'triggers[0].params: "dat" is not a param of the Pipeline',
        'triggers[0].params.dat: unknown variable "$(trigger.params)"; known: $(trigger.run), '
        "$(trigger.pipeline), $(trigger.namespace), $(trigger.phase), $(trigger.params.NAME), …results.NAME",
        'triggers[0].params.upstream: unknown variable "$(trigger.runs)"; known: $(trigger.run), '
        "$(trigger.pipeline), $(trigger.namespace), $(trigger.phase), $(trigger.params.NAME), …results.NAME",
        'triggers[0].params: param "date" has no default: give it a value here',
    ]
    assert trigger_errors(spec(ON_INGEST)) == []


def test_a_loop_through_many_pipelines_is_told_in_a_bounded_message() -> None:
    keys = [("ns", f"p{i:03}") for i in range(500)]
    edges = {key: [keys[i - 1]] for i, key in enumerate(keys)}  # p000 is triggered by p499: one loop
    loops = trigger_loops(edges)
    assert len(loops) == 500 and max(len(text) for text in loops.values()) < 200
    assert (
        loops[keys[0]] == "p000 <- p499 <- p498 <- p497 <- p496 <- p495 <- … <- p001 <- p000 (500 Pipelines)"
    )
