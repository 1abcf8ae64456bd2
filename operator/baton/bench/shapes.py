"""The Pipelines the benchmark runs: a chain, a fan-out/fan-in, and a layered random DAG.

Tasks run no real command (instant mode finishes their Jobs at once), so each task is its name, a
placeholder command and its dependencies; the image comes from taskDefaults. Names are zero-padded so
that the spec order is also the name order.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from baton import GROUP, VERSION

IMAGE = "busybox:1.36"
SEED = 20250131
"""The fixed seed of the random DAG: every run of the benchmark plans the same graph."""


def task(name: str, *after: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "command": ["true"]}
    if after:
        spec["dependsOn"] = list(after)
    return spec


def pipeline(name: str, tasks: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Pipeline",
        "metadata": {"name": name},
        "spec": {"taskDefaults": {"image": IMAGE}, "tasks": tasks, **spec},
    }


def for_each(name: str, *after: str, max_items: int) -> dict[str, Any]:
    """A forEach task over the run's `items` param (see `run(…, items=N)`)."""
    return {**task(name, *after), "forEach": {"from": "$(params.items)", "maxItems": max_items}}


def run(pipeline_name: str, name: str | None = None, *, items: int | None = None) -> dict[str, Any]:
    """A run of the Pipeline; with `items`, its `items` param is the JSON list of 0 to items - 1."""
    metadata: dict[str, Any] = {"name": name} if name else {"generateName": f"{pipeline_name}-"}
    # Labelled as `kubectl baton run` labels its runs: the operator would otherwise add the label itself.
    metadata["labels"] = {"baton.dev/pipeline": pipeline_name}
    spec: dict[str, Any] = {"pipelineRef": {"name": pipeline_name}}
    if items is not None:
        spec["params"] = {"items": json.dumps(list(range(items)))}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "PipelineRun", "metadata": metadata, "spec": spec}


def chain(length: int) -> list[dict[str, Any]]:
    """step-0000 → step-0001 → … → step-(length-1)."""
    names = [f"step-{i:04}" for i in range(length)]
    return [task(name, *names[i - 1 : i]) for i, name in enumerate(names)]


def fan_out_in(width: int) -> list[dict[str, Any]]:
    """split → width parallel tasks → join."""
    middle = [f"part-{i:04}" for i in range(width)]
    return [task("split"), *(task(name, "split") for name in middle), task("join", *middle)]


def layered(
    tasks: int, layers: int | None = None, seed: int = SEED, max_parents: int = 3
) -> list[dict[str, Any]]:
    """A random DAG of `tasks` tasks in `layers` layers (about √tasks by default): every task after the
    first layer depends on 1 to `max_parents` distinct tasks of the layer before. Deterministic per seed."""
    layers = layers or max(2, round(math.sqrt(tasks)))
    width = math.ceil(tasks / layers)
    rng = random.Random(seed)
    specs: list[dict[str, Any]] = []
    previous: list[str] = []
    for layer in range(layers):
        count = min(width, tasks - len(specs))
        if count <= 0:
            break
        current = [f"l{layer:03}-t{i:04}" for i in range(count)]
        for name in current:
            parents = (
                rng.sample(previous, rng.randint(1, min(max_parents, len(previous)))) if previous else []
            )
            specs.append(task(name, *sorted(parents)))
        previous = current
    return specs


def diamond(width: int, depth: int = 2) -> list[dict[str, Any]]:
    """start → `depth` layers of `width` tasks (each depends on every task of the layer before, as a
    typical extract → transform → load pipeline does) → end; `2 + width * depth` tasks."""
    specs = [task("start")]
    previous = ["start"]
    for layer in range(depth):
        current = [f"l{layer}-t{i:02}" for i in range(width)]
        specs.extend(task(name, *previous) for name in current)
        previous = current
    specs.append(task("end", *previous))
    return specs
