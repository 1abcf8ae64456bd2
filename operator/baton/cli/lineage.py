"""`kubectl baton lineage DATASET|RUN [--depth N]`: where a dataset came from and where it went, as a tree.

For a dataset (a Dataset's name, or its URI): upstream, the tasks that wrote it, what each of them read,
who wrote that, and so on; downstream, the tasks that read it, what each of them wrote, who read that.
For a run: each of its tasks with the datasets it read (and who wrote them) and wrote (and who read them).
The facts come from the Dataset objects (their latest producers and consumers, a bounded history) and the
runs' own status (what each task read and wrote); a run deleted since is shown as such.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baton import GROUP, VERSION
from baton.api.codec import load_run_status
from baton.api.datasets import ResolvedDataset
from baton.api.run import TaskStatus
from baton.cli.kubeapi import EXIT_OK, EXIT_USAGE, CliError, KubeApi, add_connection_arguments, command
from baton.kube.datasets import dataset_name

DATASETS = "datasets"
DEFAULT_DEPTH = 3
MAX_CHILDREN = 10


@dataclass
class Node:
    text: str
    children: list[Node] = field(default_factory=list)


@dataclass
class Facts:
    """What the tree is drawn from: Datasets by URI, and a run's tasks by run name (None: no such run)."""

    dataset: Callable[[str], Mapping[str, Any] | None]
    tasks: Callable[[str], list[TaskStatus] | None]


def _slice(partition: str | None) -> str:
    return f" [{partition}]" if partition else ""


def _actors(dataset: Mapping[str, Any] | None, role: str) -> list[Mapping[str, Any]]:
    found = ((dataset or {}).get("status") or {}).get(role) or []
    seen: set[tuple[str, str]] = set()
    unique = []
    for actor in found:
        key = (str(actor.get("run")), str(actor.get("task")))
        if isinstance(actor, Mapping) and key not in seen:
            seen.add(key)
            unique.append(actor)
    return unique


def _task(facts: Facts, run: str, task: str) -> tuple[bool, TaskStatus | None]:
    """(whether the run still exists, the task's status in it if it has one)."""
    tasks = facts.tasks(run)
    if tasks is None:
        return False, None
    return True, next((t for t in tasks if t.name == task.split("[", 1)[0]), None)


def dataset_tree(facts: Facts, uri: str, depth: int) -> Node:
    dataset = facts.dataset(uri)
    status = (dataset or {}).get("status") or {}
    head = f"{uri}"
    if dataset is None:
        head += " (no Dataset: nothing recorded yet)"
    else:
        head += f"  ({dataset['metadata']['name']}"
        if status.get("latestPartition"):
            head += f", latest partition {status['latestPartition']}"
        if status.get("lastUpdated"):
            head += f", updated {status['lastUpdated']}"
        head += ")"
    root = Node(head)
    upstream = Node("upstream", list(_follow(facts, UPSTREAM, uri, depth, frozenset({uri}))))
    downstream = Node("downstream", list(_follow(facts, DOWNSTREAM, uri, depth, frozenset({uri}))))
    root.children = [upstream, downstream]
    return root


@dataclass(frozen=True)
class _Way:
    actors: str
    """The Dataset's list to follow: producers (upstream) or consumers (downstream)."""
    did: str
    then: str
    follow: Callable[[TaskStatus], list[ResolvedDataset]]


UPSTREAM = _Way("producers", "written by", "read", lambda task: task.inputs)
DOWNSTREAM = _Way("consumers", "read by", "wrote", lambda task: task.outputs)


def _follow(facts: Facts, way: _Way, uri: str, depth: int, seen: frozenset[str]) -> Iterator[Node]:
    actors = _actors(facts.dataset(uri), way.actors)
    for actor in actors[:MAX_CHILDREN]:
        where = f"{actor['run']}/{actor['task']}{_slice(actor.get('partition'))}"
        node = Node(f"{way.did} {where} at {actor.get('time')}")
        if depth > 1:
            exists, task = _task(facts, str(actor["run"]), str(actor["task"]))
            if not exists:
                node.children.append(Node("(run deleted)"))
            for found in way.follow(task) if task is not None else ():
                child = Node(f"{way.then} {found.uri}{_slice(found.partition)}")
                if found.uri not in seen:
                    child.children = list(_follow(facts, way, found.uri, depth - 1, seen | {found.uri}))
                node.children.append(child)
        yield node
    if len(actors) > MAX_CHILDREN:
        yield Node(f"… {len(actors) - MAX_CHILDREN} more")


def run_tree(facts: Facts, run: str, phase: str | None) -> Node:
    root = Node(f"{run}" + (f" ({phase})" if phase else ""))
    for task in facts.tasks(run) or ():
        if not task.inputs and not task.outputs:
            continue
        node = Node(f"{task.name}" + (f" ({task.phase.value})" if task.phase else ""))
        for read in task.inputs:
            held = facts.dataset(read.uri)
            checks = ((held or {}).get("status") or {}).get("checks") or []
            check = next((c for c in checks if c.get("run") == run and c.get("task") == task.name), None)
            if check is not None:
                outcome = "passed" if check.get("passed") else f"failed ({check.get('severity')})"
                node.children.append(Node(f"checked {read.uri}{_slice(read.partition)}: {outcome}"))
                continue
            writers = ", ".join(f"{a['run']}/{a['task']}" for a in _actors(held, "producers")[:3])
            text = f"read {read.uri}{_slice(read.partition)}"
            node.children.append(Node(text + (f" ← {writers}" if writers else "")))
        for wrote in task.outputs:
            readers = [a for a in _actors(facts.dataset(wrote.uri), "consumers") if a.get("run") != run][:3]
            shown = ", ".join(f"{a['run']}/{a['task']}" for a in readers)
            node.children.append(
                Node(f"wrote {wrote.uri}{_slice(wrote.partition)}" + (f" → {shown}" if shown else ""))
            )
        root.children.append(node)
    if not root.children:
        root.children.append(Node("(no task of this run declares inputs or outputs)"))
    return root


def render(node: Node) -> list[str]:
    lines = [node.text]
    lines += _render_children(node.children, "")
    return lines


def _render_children(children: Sequence[Node], prefix: str) -> list[str]:
    lines: list[str] = []
    for index, child in enumerate(children):
        last = index == len(children) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{child.text}")
        lines += _render_children(child.children, prefix + ("    " if last else "│   "))
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="DATASET|RUN", help="a Dataset (its name or URI) or a PipelineRun")
    parser.add_argument(
        "--depth",
        type=int,
        default=DEFAULT_DEPTH,
        help=f"levels of datasets to follow (default {DEFAULT_DEPTH})",
    )
    add_connection_arguments(parser)


def _facts(api: KubeApi) -> Facts:
    datasets: dict[str, Mapping[str, Any] | None] = {}
    runs: dict[str, list[TaskStatus] | None] = {}

    listed: list[dict[str, Any]] | None = None

    def dataset(uri: str) -> Mapping[str, Any] | None:
        nonlocal listed
        if uri not in datasets:
            found = _get(api, DATASETS, dataset_name(uri))
            if found is None:  # a Dataset a user created under a name of their own
                if listed is None:
                    listed = (
                        api.custom.list_namespaced_custom_object(GROUP, VERSION, api.namespace, DATASETS).get(
                            "items"
                        )
                        or []
                    )
                found = next((d for d in listed if (d.get("spec") or {}).get("uri") == uri), None)
            datasets[uri] = found
        return datasets[uri]

    def tasks(run: str) -> list[TaskStatus] | None:
        if run not in runs:
            found = api.find_run(run)
            runs[run] = None if found is None else _tasks_of(found)
        return runs[run]

    return Facts(dataset, tasks)


def _tasks_of(run: Mapping[str, Any]) -> list[TaskStatus]:
    try:
        return load_run_status(run.get("status")).tasks
    except ValueError:
        return []


def _get(api: KubeApi, plural: str, name: str) -> dict[str, Any] | None:
    from kubernetes.client.exceptions import ApiException

    try:
        found: dict[str, Any] = api.custom.get_namespaced_custom_object(
            GROUP, VERSION, api.namespace, plural, name
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return found


@command
def main(args: argparse.Namespace) -> int:
    if args.depth < 1:
        raise CliError("--depth must be at least 1", EXIT_USAGE)
    api = KubeApi.from_args(args)
    try:
        facts = _facts(api)
        target: str = args.target
        if "://" in target or ":" in target.split("/", 1)[0]:
            if facts.dataset(target) is None:
                raise CliError(
                    f'no Dataset holds "{target}" in namespace "{api.namespace}": no task has written, read '
                    "or checked it yet"
                )
            tree = dataset_tree(facts, target, args.depth)
        elif (found := _get(api, DATASETS, target)) is not None:
            tree = dataset_tree(facts, str(found["spec"]["uri"]), args.depth)
        elif (run := api.find_run(target)) is not None:
            tree = run_tree(facts, target, (run.get("status") or {}).get("phase"))
        else:
            listed = api.custom.list_namespaced_custom_object(GROUP, VERSION, api.namespace, DATASETS)
            names = [d["metadata"]["name"] for d in listed.get("items") or ()]
            names += [r["metadata"]["name"] for r in api.runs()]
            raise api.unknown("dataset or pipelinerun", target, names, "Datasets and runs")
        sys.stdout.write("\n".join(render(tree)) + "\n")
        return EXIT_OK
    finally:
        api.close()
