"""Dataset triggers: which dataset updates start a run (exact URI or glob), once each, named from the
update, with the dataset's URI and partition as params."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from baton.api.pipeline import PipelineSpec
from baton.core.triggers import (
    DatasetUpdate,
    UpstreamRun,
    decide_triggers,
    trigger_errors,
    triggered_run_name,
)

T = datetime(2026, 12, 6, tzinfo=UTC)
PARAMS = {"day": "$(trigger.dataset.partition)", "source": "$(trigger.dataset.uri)"}


def spec(*triggers: dict[str, object]) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "params": [{"name": "day", "default": ""}, {"name": "source", "default": ""}],
            "tasks": [{"name": "a", "image": "busybox"}],
            "triggers": list(triggers),
        }
    )


def update(
    uri: str, partition: str | None = "2026-12-06", run: str = "ingest-1", seconds: int = 10
) -> UpstreamRun:
    return UpstreamRun(
        "lake",
        run,
        "ingest",
        "Succeeded",
        T + timedelta(seconds=seconds),
        dataset=DatasetUpdate(uri, partition, "extract"),
    )


@pytest.mark.parametrize(
    ("pattern", "uri", "fires"),
    [
        ("s3://lake/sales", "s3://lake/sales", True),
        ("s3://lake/sales", "s3://lake/sales-eu", False),
        ("s3://lake/*", "s3://lake/sales", True),
        ("s3://lake/*", "s3://lake/sales/eu", True),  # a glob's * crosses slashes, as in fnmatch
        ("s3://lake/sales/*", "s3://lake/sales", False),
        ("s3://lake/sales-??", "s3://lake/sales-eu", True),
        ("s3://LAKE/*", "s3://lake/sales", False),  # case matters, as in URIs
    ],
)
def test_exact_uris_and_globs(pattern: str, uri: str, fires: bool) -> None:
    decision = decide_triggers(
        "report", "lake", spec({"dataset": pattern, "params": PARAMS}), T, [update(uri)]
    )
    assert bool(decision.create) is fires


def test_each_update_starts_one_run_named_from_it_with_its_uri_and_partition() -> None:
    pipeline = spec({"dataset": "s3://lake/*", "params": PARAMS})
    first = decide_triggers("report", "lake", pipeline, T, [update("s3://lake/sales")])
    (run,) = first.create
    assert run.params == {"day": "2026-12-06", "source": "s3://lake/sales"}
    assert run.name.startswith("report-2026-12-06-") and len(run.name) == len("report-2026-12-06-") + 8
    assert first.events[0].message.startswith(
        f"created 1 run: {run.name} (after s3://lake/sales partition 2026-12-06"
    )
    # seen again (a restart, a second reconcile): handled, nothing new; a new partition: a new run
    again = decide_triggers(
        "report", "lake", pipeline, first.through or T, [update("s3://lake/sales")], first.handled
    )
    assert again.create == ()
    later = [update("s3://lake/sales"), update("s3://lake/sales", "2026-12-07", "ingest-2", 20)]
    (new,) = decide_triggers("report", "lake", pipeline, first.through or T, later, first.handled).create
    assert new.params["day"] == "2026-12-07" and new.name != run.name


def test_an_update_of_another_namespace_or_before_the_trigger_existed_fires_nothing() -> None:
    pipeline = spec({"dataset": "s3://lake/*"})
    other = UpstreamRun("other", "r", "p", "Succeeded", T, dataset=DatasetUpdate("s3://lake/x", None, "t"))
    assert decide_triggers("report", "lake", pipeline, T, [other]).create == ()
    assert (
        decide_triggers("report", "lake", pipeline, T + timedelta(hours=1), [update("s3://lake/x")]).create
        == ()
    )


def test_a_run_trigger_is_not_fired_by_a_dataset_update_nor_the_other_way() -> None:
    on_runs = spec({"pipeline": "ingest"})
    assert decide_triggers("report", "lake", on_runs, T, [update("s3://lake/x")]).create == ()
    run = UpstreamRun("lake", "ingest-1", "ingest", "Succeeded", T + timedelta(seconds=5))
    assert decide_triggers("report", "lake", spec({"dataset": "s3://lake/*"}), T, [run]).create == ()


def test_names_stay_dns_labels() -> None:
    long = update("s3://x", "A Very Long Partition Name With Spaces And More Words Than Fit In A Label")
    name = triggered_run_name("a-pipeline-with-a-long-name", long, "lake")
    assert len(name) <= 63 and name == name.lower() and " " not in name
    assert triggered_run_name("report", update("s3://x", None), "lake").startswith("report-")


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (
            {"dataset": "s3://x", "params": {"day": "$(trigger.params.date)"}},
            'unknown variable "$(trigger.params.date)"',
        ),
        (
            {"dataset": "s3://x", "params": {"day": "$(trigger.dataset.name)"}},
            "for a dataset trigger; known:",
        ),
        ({"dataset": "s3://x", "namespace": "other"}, "watches the Datasets of this namespace"),
        ({"dataset": "lake/*"}, 'dataset "lake/*" can never match: dataset URIs start with a scheme'),
    ],
)
def test_dataset_trigger_errors(trigger: dict[str, object], expected: str) -> None:
    errors = trigger_errors(spec(trigger))
    assert any(expected in e for e in errors), errors


def test_a_trigger_names_a_pipeline_or_a_dataset() -> None:
    for trigger in ({}, {"pipeline": "a", "dataset": "s3://x"}):
        with pytest.raises(ValidationError, match="set one of pipeline and dataset"):
            spec(trigger)


def test_trigger_edges_through_datasets_find_loops_even_of_one_pipeline() -> None:
    from baton.core.triggers import dataset_trigger_edges, trigger_loops

    def p(outputs: list[object], *patterns: str) -> dict[str, object]:
        return {"tasks": [{"name": "t", "outputs": outputs}], "triggers": [{"dataset": g} for g in patterns]}

    specs = {
        ("lake", "self"): p(["s3://loop/out"], "s3://loop/*"),
        ("lake", "a"): p([{"dataset": "s3://ab/a", "partition": "$(params.d)"}], "s3://ab/b"),
        ("lake", "b"): p(["s3://ab/b"], "s3://ab/a"),
        ("lake", "dynamic"): p(["s3://dyn/$(tasks.t.results.x)"], "s3://dyn/*"),
        ("other", "far"): p(["s3://loop/x"]),
    }
    edges = dataset_trigger_edges(specs)
    assert edges == {
        ("lake", "self"): [("lake", "self")],
        ("lake", "a"): [("lake", "b")],
        ("lake", "b"): [("lake", "a")],
    }
    loops = trigger_loops(edges)
    assert loops[("lake", "self")] == "self <- self"
    assert loops[("lake", "a")] == "a <- b <- a"
    assert ("lake", "dynamic") not in loops  # a URI known only at run time is not followed


def test_a_burst_of_writes_fires_once_each_and_late_records_are_not_lost() -> None:
    from baton.controller.triggering import dataset_updates

    producers = [
        {
            "run": "ingest-1",
            "task": "extract",
            "partition": f"p{i:02}",
            "time": "2026-12-06T00:00:10Z",
            "recorded": f"2026-12-06T00:01:{i:02}Z",
        }
        for i in range(30)
    ]
    datasets = {("lake", "d"): {"spec": {"uri": "s3://lake/sales"}, "status": {"producers": producers}}}
    updates = dataset_updates(datasets, "lake", ["s3://lake/*"])
    decision = decide_triggers(
        "report", "lake", spec({"dataset": "s3://lake/*", "params": PARAMS}), T, updates
    )
    assert len(decision.create) == 30  # one task wrote 30 partitions: 30 runs
    # ordered by when they were recorded (a minute after the task ended), so the watermark follows them
    assert decision.through == datetime(2026, 12, 6, 0, 1, 29, tzinfo=UTC)
    assert dataset_updates(datasets, "lake", ["s3://other/*"]) == []
