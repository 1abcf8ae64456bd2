from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.api.pipeline import PipelineSpec
from baton.api.run import TaskPhase
from baton.core.dag import InvalidGraph, Node, build_dag, dag_of, graph_errors, ready_tasks

ETL: list[Node] = [
    ("extract", []),
    ("transform-a", ["extract"]),
    ("transform-b", ["extract"]),
    ("load", ["transform-a", "transform-b"]),
    ("report", ["load"]),
]


@pytest.mark.parametrize(
    ("nodes", "errors"),
    [
        pytest.param(ETL, [], id="valid"),
        pytest.param([("a", []), ("a", [])], ['task name "a" is used more than once'], id="duplicate"),
        pytest.param(
            [("transform", []), ("load", ["transfrom"])],
            ['task "load" depends on unknown task "transfrom" (did you mean "transform"?)'],
            id="unknown-with-hint",
        ),
        pytest.param([("a", ["zzz"])], ['task "a" depends on unknown task "zzz"'], id="unknown"),
        pytest.param([("a", ["a"])], ['task "a" depends on itself'], id="self"),
        pytest.param(
            [("a", []), ("b", ["a", "a"])], ['task "b" lists dependency "a" more than once'], id="repeated"
        ),
        pytest.param(
            [("extract", ["load"]), ("load", ["extract"])],
            ["dependency cycle: extract -> load -> extract"],
            id="two-cycle",
        ),
        pytest.param(
            [("extract", ["load"]), ("transform", ["extract"]), ("load", ["transform"])],
            ["dependency cycle: extract -> transform -> load -> extract"],
            id="three-cycle-follows-the-flow-of-work",
        ),
        pytest.param(
            [("a", ["b"]), ("b", ["a"]), ("c", []), ("d", ["e"]), ("e", ["d", "c"]), ("f", ["a"])],
            ["dependency cycle: a -> b -> a", "dependency cycle: d -> e -> d"],
            id="one-message-per-cycle",
        ),
        pytest.param(
            [("a", ["c"]), ("b", ["a"]), ("c", ["b", "x"]), ("x", ["x"])],
            ['task "x" depends on itself', "dependency cycle: a -> b -> c -> a"],
            id="self-loop-reported-once",
        ),
    ],
)
def test_graph_errors(nodes: list[Node], errors: list[str]) -> None:
    assert graph_errors(nodes) == errors


def test_build_dag_raises_with_every_error() -> None:
    with pytest.raises(InvalidGraph) as caught:
        build_dag([("a", ["b"]), ("b", ["a"]), ("c", ["nope"])])
    assert caught.value.errors == (
        'task "c" depends on unknown task "nope"',
        "dependency cycle: a -> b -> a",
    )


def test_edges_and_topological_order() -> None:
    dag = build_dag(ETL)
    assert dag.names == ("extract", "transform-a", "transform-b", "load", "report")
    assert dag.parents[3] == (1, 2) and dag.children[0] == (1, 2)
    assert dag.order == (0, 1, 2, 3, 4)
    # spec order breaks ties among tasks whose dependencies are met
    assert build_dag([("z", ["b"]), ("a", []), ("b", [])]).order == (1, 2, 0)


def test_closures() -> None:
    dag = build_dag(ETL)
    assert dag.upstream(["load"]) == {"extract", "transform-a", "transform-b"}
    assert dag.downstream(["transform-a"]) == {"load", "report"}
    assert dag.downstream(["report"]) == set()


@pytest.mark.parametrize(
    ("phases", "ready"),
    [
        ({}, ["extract"]),
        ({"extract": TaskPhase.RUNNING}, []),
        ({"extract": TaskPhase.SUCCEEDED}, ["transform-a", "transform-b"]),
        ({"extract": TaskPhase.SUCCEEDED, "transform-a": TaskPhase.SUCCEEDED}, ["transform-b"]),
        (
            {
                "extract": TaskPhase.SUCCEEDED,
                "transform-a": TaskPhase.SUCCEEDED,
                "transform-b": TaskPhase.FAILED,
            },
            [],
        ),
        (
            {
                "extract": TaskPhase.SUCCEEDED,
                "transform-a": TaskPhase.SUCCEEDED,
                "transform-b": TaskPhase.SUCCEEDED,
            },
            ["load"],
        ),
    ],
)
def test_ready_tasks(phases: dict[str, TaskPhase], ready: list[str]) -> None:
    assert ready_tasks(build_dag(ETL), phases) == ready


def test_long_chains_need_no_recursion() -> None:
    n = 20_000
    nodes: list[Node] = [(f"t{i}", [f"t{i - 1}"] if i else []) for i in range(n)]
    assert build_dag(nodes).order == tuple(range(n))
    nodes[0] = ("t0", [f"t{n - 1}"])
    (error,) = graph_errors(nodes)
    assert error == f"dependency cycle of {n} tasks: t0 -> t1 -> t2 -> t3 -> t4 -> t5 -> … -> t{n - 1} -> t0"


def test_dag_of_is_cached_per_spec_object() -> None:
    spec = PipelineSpec.model_validate({"tasks": [{"name": "a", "image": "x"}]})
    assert dag_of(spec) is dag_of(spec)
    again = PipelineSpec.model_validate({"tasks": [{"name": "a", "image": "x"}]})
    assert dag_of(again) is not dag_of(spec) and dag_of(again) == dag_of(spec)


@st.composite
def dags(draw: st.DrawFn, max_tasks: int = 25) -> list[Node]:
    """A random DAG: each task depends on some earlier ones; then shuffled, so the spec order is arbitrary."""
    n = draw(st.integers(min_value=1, max_value=max_tasks))
    names = [f"t{i}" for i in range(n)]
    nodes = [(names[i], sorted(draw(st.sets(st.sampled_from(names[:i]))) if i else [])) for i in range(n)]
    return draw(st.permutations(nodes))


@settings(max_examples=150, deadline=None)
@given(dags())
def test_random_dags_are_valid_and_ordered(nodes: list[Node]) -> None:
    dag = build_dag(nodes)
    position = {node: k for k, node in enumerate(dag.order)}
    assert sorted(dag.order) == list(range(len(nodes)))
    for child, parents in enumerate(dag.parents):
        assert all(position[p] < position[child] for p in parents)


@settings(max_examples=150, deadline=None)
@given(dags(), st.data())
def test_every_cycle_is_reported_with_real_edges(nodes: list[Node], data: st.DataObject) -> None:
    """Add a back edge from an ancestor to one of its descendants: that closes a cycle, always reported."""
    dag = build_dag(nodes)
    edges = [(p, c) for c, parents in enumerate(dag.parents) for p in parents]
    if not edges:
        return
    parent, child = data.draw(st.sampled_from(edges))
    name, deps = nodes[parent]
    nodes[parent] = (name, [*deps, dag.names[child]])
    errors = graph_errors(nodes)
    cycles = [e for e in errors if e.startswith("dependency cycle: ")]
    assert cycles, errors
    deps_of = {n: set(d) for n, d in nodes}
    for message in cycles:
        walk = message.removeprefix("dependency cycle: ").split(" -> ")
        assert walk[0] == walk[-1] and len(set(walk[:-1])) == len(walk) - 1
        for upstream, downstream in pairwise(walk):
            assert upstream in deps_of[downstream]  # the walk follows real dependsOn edges, flow-wise
    assert graph_errors(nodes) == errors  # deterministic
