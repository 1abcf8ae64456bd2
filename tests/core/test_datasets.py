"""Datasets in the graph: the short form, implicit dependencies (and none for dynamic URIs), validation,
and the resolved inputs and outputs a run records."""

from __future__ import annotations

from typing import Any

import pytest
from failure_kit import Sim, spec, task

from baton.api.datasets import ResolvedDataset
from baton.api.pipeline import PipelineSpec
from baton.core.dag import dag_of
from baton.core.dataset_io import MAX_RESOLVED, resolve_text
from baton.core.datasets import dynamic_notes, implied_dependencies, is_static
from baton.core.validation import check_pipeline_spec

SALES = "s3://lake/sales"


def parsed(*tasks: dict[str, Any], **extra: Any) -> PipelineSpec:
    extra.setdefault("params", [{"name": "date", "default": "2026-12-06"}])
    checked, errors = check_pipeline_spec(spec(*tasks, **extra))
    assert checked is not None and not errors, errors
    return checked


def errors_of(*tasks: dict[str, Any], **extra: Any) -> list[str]:
    _, errors = check_pipeline_spec(spec(*tasks, params=[{"name": "date", "default": "d"}], **extra))
    return errors


def test_a_plain_string_is_the_short_form_of_an_unpartitioned_dataset() -> None:
    pipeline = parsed(task("a", outputs=[SALES, {"dataset": SALES + "2", "partition": "$(params.date)"}]))
    refs = pipeline.tasks[0].outputs
    assert [(r.dataset, r.partition) for r in refs] == [(SALES, None), (SALES + "2", "$(params.date)")]


@pytest.mark.parametrize(
    ("text", "static"),
    [
        ("s3://lake/sales", True),
        ("s3://lake/$(params.table)", True),
        ("s3://lake/$(tasks.a.results.table)", False),
        ("s3://lake/$(item)", False),
        ("s3://lake/$(item.index)", False),
        ("s3://lake/$$(item)", True),
        (None, True),
    ],
)
def test_static_means_params_and_literal_text_only(text: str | None, static: bool) -> None:
    assert is_static(text) is static


P = "$(params.date)"


@pytest.mark.parametrize(
    ("tasks", "implied"),
    [
        # a consumer depends on the producer of the same URI
        ([task("extract", outputs=[SALES]), task("load", inputs=[SALES])], {"load": ["extract"]}),
        # … whatever the order in the spec, and with the same partition on both sides
        (
            [
                task("load", inputs=[{"dataset": SALES, "partition": P}]),
                task("extract", outputs=[{"dataset": SALES, "partition": P}]),
            ],
            {"load": ["extract"]},
        ),
        # a partition on one side only still means the same dataset
        (
            [task("extract", outputs=[{"dataset": SALES, "partition": P}]), task("load", inputs=[SALES])],
            {"load": ["extract"]},
        ),
        # different static partitions: yesterday's reader does not wait for today's writer
        (
            [
                task("extract", outputs=[{"dataset": SALES, "partition": P}]),
                task("load", inputs=[{"dataset": SALES, "partition": "2026-01-01"}]),
            ],
            {},
        ),
        # a URI or partition from a result or an item implies nothing
        (
            [
                task("extract", outputs=["s3://lake/$(item)"], forEach={"items": ["a"]}),
                task("load", inputs=["s3://lake/$(item)"], forEach={"items": ["a"]}),
            ],
            {},
        ),
        (
            [
                task("list", results=[{"name": "day"}]),
                task("extract", outputs=[{"dataset": SALES, "partition": "$(tasks.list.results.day)"}]),
                task("load", inputs=[SALES]),
            ],
            {},
        ),
        # every producer, and the checks of the dataset, in that order
        (
            [
                task("eu", outputs=[SALES]),
                task("us", outputs=[SALES]),
                task("rows", check={"dataset": SALES}),
                task("load", inputs=[SALES]),
            ],
            {"rows": ["eu", "us"], "load": ["eu", "us", "rows"]},
        ),
        # a task reading what it writes does not depend on itself
        ([task("upsert", inputs=[SALES], outputs=[SALES])], {}),
        # different URIs: nothing
        ([task("extract", outputs=[SALES]), task("load", inputs=[SALES + "-eu"])], {}),
    ],
)
def test_implicit_dependencies_through_datasets(
    tasks: list[dict[str, Any]], implied: dict[str, list[str]]
) -> None:
    assert implied_dependencies(parsed(*tasks)) == implied


def test_implied_edges_are_edges_of_the_dag_and_never_point_to_finally_tasks() -> None:
    pipeline = parsed(
        task("extract", outputs=[SALES]),
        task("load", inputs=[SALES]),
        **{"finally": [task("audit", inputs=[SALES], outputs=["s3://lake/audit"])]},
    )
    dag = dag_of(pipeline)
    assert dag.upstream(["load"]) == {"extract"}
    assert dag.upstream(["audit"]) == {"extract"}

    with_finally_producer = parsed(
        task("load", inputs=["s3://lake/audit"]),
        **{"finally": [task("audit", outputs=["s3://lake/audit"])]},
    )
    assert dag_of(with_finally_producer).upstream(["load"]) == set()


def test_a_cycle_through_datasets_is_reported_as_a_cycle() -> None:
    errors = errors_of(task("a", outputs=[SALES], dependsOn=["b"]), task("b", inputs=[SALES]))
    assert errors == ["dependency cycle: a -> b -> a"]


def test_lint_notes_name_the_dynamic_references() -> None:
    notes = dynamic_notes(
        parsed(
            task("list", results=[{"name": "day"}]),
            task("extract", outputs=[{"dataset": SALES, "partition": "$(tasks.list.results.day)"}]),
            task("load", inputs=["s3://lake/$(tasks.list.results.day)"]),
        )
    )
    assert notes == [
        'task "extract": output "s3://lake/sales" has a partition known only at run time (it reads a result '
        "or an item), so it implies no dependency: add dependsOn where one is needed",
        'task "load": input "s3://lake/$(tasks.list.results.day)" has a URI known only at run time (it reads '
        "a result or an item), so it implies no dependency: add dependsOn where one is needed",
    ]


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([task("a", outputs=["sales"])], 'task "a": outputs[0].dataset "sales" is not a URI'),
        (
            [task("a", outputs=["s3://x", "s3://x"])],
            'task "a": outputs dataset name "s3://x" is used more than',
        ),
        (
            [task("a", inputs=["s3://x/$(params.day)"])],
            'task "a": inputs[0].dataset references undeclared param',
        ),
        (
            [task("a", inputs=["s3://x/$(run.status)"])],
            "a dataset may use params, $(tasks.NAME.results.RESULT)",
        ),
        (
            [task("a", outputs=[{"dataset": "s3://x", "partition": "$(item)"}])],
            "which only forEach tasks have",
        ),
        (
            [
                task(
                    "a",
                    results=[{"name": "d"}],
                    outputs=[{"dataset": "s3://x", "partition": "$(tasks.a.results.d)"}],
                )
            ],
            "reads its own result",
        ),
        ([task("a", check={"dataset": "s3://x"}, sensor={})], "a sensor cannot be a quality check"),
        ([task("a", outputs=[{"bucket": "x"}])], "tasks[0].outputs[0]"),
    ],
)
def test_bad_datasets_are_specific_errors(tasks: list[dict[str, Any]], expected: str) -> None:
    errors = errors_of(*tasks)
    assert any(expected in e for e in errors), errors


def test_a_check_cannot_be_a_finally_task() -> None:
    errors = errors_of(task("a"), **{"finally": [task("rows", check={"dataset": SALES})]})
    assert errors == [
        'finally task "rows": a quality check cannot be a finally task (no task could wait for it)'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://lake/$(params.date)/$(item)", "s3://lake/2026-12-06/eu"),
        ("$(item.index)-$(tasks.a.results.r)", "2-42"),
        ("cost $$5 $(tasks.a.results.missing)", "cost $5 $(tasks.a.results.missing)"),
        ("s3://x/$(params.nope)", "s3://x/$(params.nope)"),
    ],
)
def test_resolving_substitutes_without_kubelet_escaping(text: str, expected: str) -> None:
    context = {"tasks.a.results.r": "42"}
    assert resolve_text(text, {"date": "2026-12-06"}, context, (2, "eu")) == expected


def test_a_run_records_resolved_inputs_and_outputs_when_tasks_start() -> None:
    sim = Sim.start(
        spec(
            task("list", results=[{"name": "table"}]),
            task(
                "extract",
                outputs=[{"dataset": SALES, "partition": "$(params.date)"}],
                inputs=["postgres://db:5432/shop.public.$(tasks.list.results.table)"],
            ),
            task("rows", check={"dataset": SALES, "partition": "$(params.date)", "severity": "Warn"}),
            task("load", inputs=[{"dataset": SALES, "partition": "$(params.date)"}]),
            params=[{"name": "date"}],
        ),
        params={"date": "2026-12-06"},
    )
    sim.step()
    sim.finish("list", message='{"table": "orders"}').step()
    extract = sim.task("extract")
    day = ResolvedDataset(uri=SALES, partition="2026-12-06")
    assert extract.inputs == [ResolvedDataset(uri="postgres://db:5432/shop.public.orders")]
    assert extract.outputs == [day]
    assert sim.phases()["load"] == "Pending"  # it waits for extract and for the check
    sim.finish("extract").step()
    assert sim.task("rows").inputs == [day]
    assert sim.phases()["load"] == "Pending"
    sim.finish("rows").step()
    assert sim.task("load").inputs == [day]


def test_a_for_each_task_collects_its_instances_datasets_up_to_a_bound() -> None:
    items = [f"p{i}" for i in range(MAX_RESOLVED + 20)]
    sim = Sim.start(
        spec(task("extract", forEach={"items": items}, outputs=[{"dataset": SALES, "partition": "$(item)"}]))
    )
    sim.step()
    outputs = sim.task("extract").outputs
    assert len(outputs) == MAX_RESOLVED
    assert outputs[:2] == [
        ResolvedDataset(uri=SALES, partition="p0"),
        ResolvedDataset(uri=SALES, partition="p1"),
    ]


@pytest.mark.parametrize(
    ("uri", "valid"),
    [
        ("s3://lake/sales", True),
        ("postgres://warehouse:5432/analytics.public.daily_sales", True),
        ("file:///data/x.csv", True),
        ("bigquery:project.dataset.table", True),
        ("s3://", False),
        ("s3:///", False),
        ("C:/data/x.csv", False),  # a drive letter, not a scheme
        ("sales", False),
        ("s3://lake/a b", False),
    ],
)
def test_what_counts_as_a_dataset_uri(uri: str, valid: bool) -> None:
    errors = errors_of(task("a", outputs=[uri]))
    assert (not any("is not a URI" in e for e in errors)) is valid, errors


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"uri": "s3://lake/x", "part": "d"}, []),
        (
            {"uri": "notauri", "part": "d"},
            ['outputs[0].dataset is "notauri" with this run\'s params, which is not a URI'],
        ),
        (
            {"uri": "s3://lake/x", "part": ""},
            ['outputs[0].partition "$(params.part)" is empty with this run\'s params'],
        ),
    ],
)
def test_a_runs_params_must_make_uris_and_partitions(params: dict[str, str], expected: list[str]) -> None:
    from baton.core.validation import run_errors

    pipeline = parsed(
        task("a", outputs=[{"dataset": "$(params.uri)", "partition": "$(params.part)"}]),
        params=[{"name": "uri"}, {"name": "part"}],
    )
    errors = run_errors(pipeline, params)
    assert len(errors) == len(expected) and all(e in got for e, got in zip(expected, errors, strict=True)), (
        errors
    )
