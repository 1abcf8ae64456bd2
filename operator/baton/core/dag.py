"""The task graph: build and validate it, order it, and find what is ready to run.

Edges point the way work flows: from a dependency to the task that depends on it. Everything here is
O(V + E); a built ``Dag`` is immutable and is cached per spec object (``dag_of``), so a reconcile of a
10,000-task run does not rebuild it.
"""

from __future__ import annotations

import difflib
import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from baton.api.run import TaskPhase
from baton.api.weakcache import IdentityCache
from baton.core.references import graph_nodes

if TYPE_CHECKING:
    from baton.api.pipeline import PipelineSpec

# (task name, names of the tasks it depends on)
Node = tuple[str, Sequence[str]]


class InvalidGraph(ValueError):
    """The tasks do not form a DAG; ``errors`` says why, one user-actionable message each."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class Dag:
    """Tasks as indices in spec order, with their edges both ways and a topological order."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    parents: tuple[tuple[int, ...], ...]
    children: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]
    """Topological order; among tasks whose dependencies are met, the earlier in the spec comes first.
    Finally tasks (indices from ``finally_from`` on) come after every other task."""
    finally_from: int = -1
    """Index of the first finally task (``len`` when there are none; -1 means the same)."""

    def is_finally(self, index: int) -> bool:
        return 0 <= self.finally_from <= index

    def __len__(self) -> int:
        return len(self.names)

    def ready(self, phases: Sequence[TaskPhase]) -> list[int]:
        """Indices of Pending tasks whose dependencies all succeeded, in spec order."""
        succeeded = TaskPhase.SUCCEEDED
        return [
            i
            for i, phase in enumerate(phases)
            if phase is TaskPhase.PENDING and all(phases[p] is succeeded for p in self.parents[i])
        ]

    def upstream(self, names: Iterable[str]) -> set[str]:
        """All tasks the given ones transitively depend on (not including themselves)."""
        return self._closure(names, self.parents)

    def downstream(self, names: Iterable[str]) -> set[str]:
        """All tasks that transitively depend on the given ones (not including themselves)."""
        return self._closure(names, self.children)

    def _closure(self, names: Iterable[str], edges: tuple[tuple[int, ...], ...]) -> set[str]:
        start = [self.index[name] for name in names]
        seen: set[int] = set()
        queue = deque(start)
        while queue:
            for nxt in edges[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return {self.names[i] for i in seen}


def ready_tasks(dag: Dag, phases: Mapping[str, TaskPhase]) -> list[str]:
    """Names of the tasks that may start now: Pending, with every dependency Succeeded; in spec order."""
    by_index = [phases.get(name, TaskPhase.PENDING) for name in dag.names]
    return [dag.names[i] for i in dag.ready(by_index)]


def graph_errors(nodes: Sequence[Node]) -> list[str]:
    """Everything wrong with the graph, in a stable order: duplicates, unknown or repeated dependencies,
    self-dependencies, then one cycle per strongly connected component."""
    errors: list[str] = []
    index: dict[str, int] = {}
    for i, (name, _) in enumerate(nodes):
        if name in index:
            errors.append(f'task name "{name}" is used more than once')
        else:
            index[name] = i
    parents: list[list[int]] = [[] for _ in nodes]
    for i, (name, deps) in enumerate(nodes):
        if index[name] != i:
            continue  # a duplicate: its edges would be ambiguous
        seen: set[str] = set()
        for dep in deps:
            if dep in seen:
                errors.append(f'task "{name}" lists dependency "{dep}" more than once')
            elif dep == name:
                errors.append(f'task "{name}" depends on itself')
            elif dep not in index:
                errors.append(f'task "{name}" depends on unknown task "{dep}"{_did_you_mean(dep, index)}')
            else:
                parents[i].append(index[dep])
            seen.add(dep)
    names = [name for name, _ in nodes]
    errors.extend(cycle_message([names[i] for i in cycle]) for cycle in _cycles(parents))
    return errors


CYCLE_SHOWN = 6
"""Tasks of a long cycle named in its message: the first ones and the last (a message is for reading)."""


def cycle_message(walk: Sequence[str]) -> str:
    """A closed walk (first name repeated last) as an error: the whole of a short cycle, the start and
    the end of a long one with its length."""
    if len(walk) <= CYCLE_SHOWN + 2:
        return f"dependency cycle: {' -> '.join(walk)}"
    shown = [*walk[:CYCLE_SHOWN], "…", *walk[-2:]]
    return f"dependency cycle of {len(walk) - 1} tasks: {' -> '.join(shown)}"


def build_dag(nodes: Sequence[Node], finally_from: int | None = None) -> Dag:
    """The DAG of ``nodes``; raises ``InvalidGraph`` with every problem when they are not one.

    Nodes from index ``finally_from`` on are finally tasks: they come after all others in the order
    (validation makes sure no other task depends on them)."""
    errors = graph_errors(nodes)
    if errors:
        raise InvalidGraph(errors)
    names = tuple(name for name, _ in nodes)
    index = {name: i for i, name in enumerate(names)}
    parents = tuple(tuple(index[dep] for dep in deps) for _, deps in nodes)
    children_lists: list[list[int]] = [[] for _ in names]
    for child, ps in enumerate(parents):
        for parent in ps:
            children_lists[parent].append(child)
    children = tuple(tuple(cs) for cs in children_lists)
    order = _topological_order(parents, children)
    if finally_from is None or finally_from >= len(names):
        return Dag(names, index, parents, children, order, len(names))
    order = (*(i for i in order if i < finally_from), *(i for i in order if i >= finally_from))
    return Dag(names, index, parents, children, order, finally_from)


def _topological_order(
    parents: Sequence[Sequence[int]], children: Sequence[Sequence[int]]
) -> tuple[int, ...]:
    indegree = [len(ps) for ps in parents]
    heap = [i for i, d in enumerate(indegree) if d == 0]  # already sorted: a valid heap
    order: list[int] = []
    while heap:
        node = heapq.heappop(heap)
        order.append(node)
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(heap, child)
    return tuple(order)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _cycles(parents: Sequence[Sequence[int]]) -> list[list[int]]:
    """One cycle per strongly connected component, as a closed walk along the flow of work
    (dependency -> dependent), starting and ending at the component's first task in spec order."""
    children: list[list[int]] = [[] for _ in parents]
    for child, ps in enumerate(parents):
        for parent in ps:
            children[parent].append(child)
    cycles = []
    for component in _strongly_connected(children):
        if len(component) > 1:
            cycles.append(_shortest_cycle(min(component), set(component), children))
    cycles.sort(key=lambda cycle: cycle[0])
    return cycles


def _shortest_cycle(start: int, component: set[int], children: Sequence[Sequence[int]]) -> list[int]:
    came_from: dict[int, int] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(children[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt in component and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError("a strongly connected component of more than one node has a cycle")


def _strongly_connected(children: Sequence[Sequence[int]]) -> list[list[int]]:
    """Tarjan's algorithm without recursion (a 10,000-task chain would overflow Python's stack)."""
    n = len(children)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, child_pos = work[-1]
            if child_pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            if child_pos < len(children[node]):
                work[-1] = (node, child_pos + 1)
                child = children[node][child_pos]
                if index[child] == -1:
                    work.append((child, 0))
                elif on_stack[child]:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


_DAGS: IdentityCache[PipelineSpec, Dag] = IdentityCache()


def dag_of(spec: PipelineSpec) -> Dag:
    """The DAG of a (valid) spec, built once per spec object. Its edges are the tasks' dependsOn and
    the dependencies their result references imply.

    Specs are frozen models, so the DAG is kept for as long as the spec object lives (the shell keeps
    one parsed spec per run).
    """
    return _DAGS.get_or_make(spec, lambda s: build_dag(graph_nodes(s), len(s.tasks)))
