from __future__ import annotations

import itertools

import pytest

from baton.core.dag_layout import NODE_HEIGHT, NODE_WIDTH, Layout, layers_of, layout

Deps = dict[str, list[str]]


def chain(n: int) -> Deps:
    return {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(n)}


def fan(width: int) -> Deps:
    deps: Deps = {"start": []}
    deps.update({f"w{i:04}": ["start"] for i in range(width)})
    deps["end"] = [f"w{i:04}" for i in range(width)]
    return deps


SHAPES: dict[str, tuple[Deps, list[str]]] = {
    "single": ({"a": []}, []),
    "chain": (chain(6), []),
    "diamond": ({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}, []),
    "skip-level": ({"a": [], "b": ["a"], "c": ["a", "b"]}, []),
    "fan-100": (fan(100), []),
    "with-finally": ({"a": [], "b": ["a"]}, ["notify", "cleanup"]),
    "unknown-dependency": ({"a": ["ghost"], "b": ["a"]}, []),
    "cycle": ({"a": [], "b": ["a", "c"], "c": ["b"]}, []),
}


def boxes_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] - b[0]) < NODE_WIDTH and abs(a[1] - b[1]) < NODE_HEIGHT


@pytest.mark.parametrize("shape", SHAPES)
def test_no_two_nodes_overlap_and_every_edge_points_down(shape: str) -> None:
    deps, finals = SHAPES[shape]
    placed = layout(deps, finals)
    assert set(placed.nodes) == set(deps) | set(finals)
    for a, b in itertools.combinations(placed.nodes.values(), 2):
        assert not boxes_overlap((a.x, a.y), (b.x, b.y)), (a, b)
    for up, down in placed.edges:
        assert placed.nodes[down].y >= placed.nodes[up].y + NODE_HEIGHT, (up, down)
    for node in placed.nodes.values():
        assert 0 <= node.x <= placed.width - NODE_WIDTH and 0 <= node.y <= placed.height - NODE_HEIGHT


@pytest.mark.parametrize(
    ("deps", "layers"),
    [
        ({"a": [], "b": ["a"], "c": ["a", "b"]}, {"a": 0, "b": 1, "c": 2}),  # the longest chain
        ({"a": ["ghost"], "b": ["a", "a"]}, {"a": 0, "b": 1}),  # unknown and repeated parents
        ({"a": [], "b": ["a", "c"], "c": ["b"]}, {"a": 0, "b": 1, "c": 1}),  # a cycle: below the rest
        ({"a": ["a"]}, {"a": 0}),  # depends on itself
    ],
    ids=["longest-chain", "unknown-and-repeated", "cycle", "self"],
)
def test_layers(deps: Deps, layers: dict[str, int]) -> None:
    assert layers_of(deps) == layers


def test_finally_tasks_go_below_everything() -> None:
    placed = layout({"a": [], "b": ["a"]}, ["notify"])
    assert placed.nodes["notify"].layer == 2 and placed.nodes["notify"].y > placed.nodes["b"].y


def test_a_wide_layer_wraps_onto_rows_of_its_own_band() -> None:
    placed = layout(fan(100), per_row=40)
    rows = sorted({node.y for name, node in placed.nodes.items() if name.startswith("w")})
    assert len(rows) == 3  # 40 + 40 + 20
    assert placed.nodes["start"].y < rows[0] and placed.nodes["end"].y > rows[-1]
    assert placed.width == 40 * NODE_WIDTH + 39 * 24


def crossings(placed: Layout) -> int:
    edges = [(placed.nodes[a], placed.nodes[b]) for a, b in placed.edges]
    count = 0
    for (a1, b1), (a2, b2) in itertools.combinations(edges, 2):
        if a1.layer == a2.layer and b1.layer == b2.layer and (a1.x - a2.x) * (b1.x - b2.x) < 0:
            count += 1
    return count


def test_sweeps_untangle_a_crossed_spec_order() -> None:
    deps: Deps = {"a": [], "b": [], "y": ["b"], "x": ["a"]}  # written crossed: y (of b) before x (of a)
    assert crossings(layout(deps, sweeps=0)) == 1
    assert crossings(layout(deps)) == 0


def test_the_same_spec_is_drawn_the_same_every_time() -> None:
    deps = fan(30) | {"late": ["w0003", "w0020"]}
    assert layout(deps) == layout(dict(deps))
