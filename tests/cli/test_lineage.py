"""`kubectl baton lineage`: a dataset's upstream and downstream, and a run's datasets, as trees."""

from __future__ import annotations

from collections.abc import Callable

from plugin_kit import Plugin

from baton.api.datasets import ResolvedDataset
from baton.api.run import TaskPhase, TaskStatus
from baton.cli.lineage import Facts, dataset_tree, render, run_tree

WAREHOUSE = "postgres://warehouse:5432/analytics.public.daily_sales"
SOURCE = "postgres://pos:5432/shop.public.sales"


def test_the_daily_sales_lineage_from_a_dataset_and_from_a_run(
    baton: Plugin, finished_run: Callable[[str], str]
) -> None:
    run = finished_run("daily-sales")
    result = baton("lineage", WAREHOUSE)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{WAREHOUSE}  (postgres-analytics-public-daily-sales-")
    assert "latest partition 2025-01-31" in lines[0]
    text = result.out
    assert f"├── upstream\n│   └── written by {run}/load [2025-01-31] at " in text
    assert f"read by {run}/report [2025-01-31]" in text
    # The writer's own inputs are followed upstream: load read nothing declared; extract read the source.
    by_run = baton("lineage", run)
    assert by_run.code == 0, by_run
    assert by_run.out.splitlines()[0] == f"{run} (Succeeded)"
    assert f"read {SOURCE} [2025-01-31]" in by_run.out
    assert f"wrote {WAREHOUSE} [2025-01-31]" in by_run.out
    name = lines[0].split("(", 1)[1].split(",", 1)[0]
    assert baton("lineage", name).out == result.out  # the Dataset's name means the same


def test_an_unknown_target_lists_what_there_is(baton: Plugin) -> None:
    result = baton("lineage", "no-such-thing")
    assert result.code == 1
    assert 'dataset or pipelinerun "no-such-thing" not found in namespace' in result.err
    unknown = baton("lineage", "s3://nope/x")
    assert unknown.code == 1 and 'no Dataset holds "s3://nope/x" in namespace' in unknown.err


def test_trees_follow_datasets_through_tasks_and_stop_at_the_depth() -> None:
    def actor(run: str, task: str) -> dict[str, object]:
        return {"run": run, "task": task, "time": "T", "partition": "d"}

    datasets = {
        "s3://a": {"metadata": {"name": "a"}, "status": {"consumers": [actor("r1", "t1")]}},
        "s3://b": {
            "metadata": {"name": "b"},
            "status": {"producers": [actor("r1", "t1")], "consumers": [actor("r2", "t2")]},
        },
        "s3://c": {"metadata": {"name": "c"}, "status": {"producers": [actor("r2", "t2")]}},
    }
    tasks = {
        "r1": [
            TaskStatus(
                name="t1",
                phase=TaskPhase.SUCCEEDED,
                inputs=[ResolvedDataset(uri="s3://a")],
                outputs=[ResolvedDataset(uri="s3://b", partition="d")],
            )
        ],
        "r2": [
            TaskStatus(
                name="t2",
                phase=TaskPhase.SUCCEEDED,
                inputs=[ResolvedDataset(uri="s3://b", partition="d")],
                outputs=[ResolvedDataset(uri="s3://c")],
            )
        ],
    }
    facts = Facts(datasets.get, tasks.get)
    assert render(dataset_tree(facts, "s3://a", 3)) == [
        "s3://a  (a)",
        "├── upstream",
        "└── downstream",
        "    └── read by r1/t1 [d] at T",
        "        └── wrote s3://b [d]",
        "            └── read by r2/t2 [d] at T",
        "                └── wrote s3://c",
    ]
    assert render(dataset_tree(facts, "s3://a", 1))[-1] == "    └── read by r1/t1 [d] at T"
    assert render(dataset_tree(facts, "s3://c", 3))[2:4] == [
        "│   └── written by r2/t2 [d] at T",
        "│       └── read s3://b [d]",
    ]
    assert render(run_tree(facts, "r1", "Succeeded")) == [
        "r1 (Succeeded)",
        "└── t1 (Succeeded)",
        "    ├── read s3://a",
        "    └── wrote s3://b [d] → r2/t2",
    ]
    checked = {
        **datasets,
        "s3://b": {
            **datasets["s3://b"],
            "status": {
                **datasets["s3://b"]["status"],
                "checks": [{"run": "r2", "task": "t2", "passed": False, "severity": "Warn"}],
            },
        },
    }
    assert (
        render(run_tree(Facts(checked.get, tasks.get), "r2", None))[2]
        == "    ├── checked s3://b [d]: failed (Warn)"
    )
    gone = Facts(datasets.get, lambda run: None)
    assert "(run deleted)" in "\n".join(render(dataset_tree(gone, "s3://a", 2)))
