"""Run the chosen scenarios one after another and write bench.json and bench.md."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import SCENARIO_NAMES
from .composition import composition
from .dataflow import foreach
from .datasets import datasets
from .day2 import day2
from .environment import environment, load_average, machine_cpu_seconds
from .harness import Timeout
from .memory import rss
from .report import Report, ScenarioResult
from .scenarios import Scenario, chain, fanout, large, requests, throughput
from .schedules import schedules
from .sizes import Sizes
from .ui import ui
from .width import huge, realjoin, width

SCENARIOS: dict[str, Scenario] = {
    "chain": chain,
    "requests": requests,
    "fanout": fanout,
    "large": large,
    "throughput": throughput,
    "rss": rss,
    "foreach": foreach,
    "width": width,
    "realjoin": realjoin,
    "huge": huge,
    "schedules": schedules,
    "composition": composition,
    "datasets": datasets,
    "day2": day2,
    "ui": ui,
}
assert tuple(SCENARIOS) == SCENARIO_NAMES

log = logging.getLogger(__name__)


def run_bench(
    sizes: Sizes,
    out: Path,
    *,
    scenarios: Sequence[str] = (),
    smoke: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Run `scenarios` (all when empty) at `sizes`; write the report into `out` and return it.

    A scenario that fails or times out is reported as incomplete with its error; the others still run.
    """
    chosen = list(scenarios) or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    started, clock = datetime.now(UTC), time.monotonic()
    env = environment()
    logs = out / "logs"
    results: list[ScenarioResult] = []
    for name in chosen:
        progress(f"{name}: running")
        begun, machine, mine = time.monotonic(), machine_cpu_seconds(), time.process_time()
        try:
            result = SCENARIOS[name](sizes, logs)
        except Timeout as error:
            result = ScenarioResult(name, name, error=str(error))
        except Exception as error:  # report it and go on with the next scenario
            log.debug("scenario %s failed", name, exc_info=True)
            result = ScenarioResult(name, name, error=f"{type(error).__name__}: {error}")
            result.details["traceback"] = traceback.format_exc()
        result.seconds = time.monotonic() - begun
        result.details["machine"] = _machine_load(result, machine, mine)
        results.append(result)
        progress(_line(result))
    report = Report(
        started=started.isoformat(timespec="seconds"),
        smoke=smoke,
        environment={**env, "load_average_end": load_average()},
        sizes=dataclasses.asdict(sizes),
        scenarios=results,
        seconds=time.monotonic() - clock,
    )
    report.write(out)
    return report


def _machine_load(result: ScenarioResult, machine_from: float, mine_from: float) -> dict[str, float]:
    """How busy the machine was during the scenario, and roughly how much of that was neither the
    benchmark process nor the operator: other work on the machine skews every timing."""
    cores = os.cpu_count() or 1
    machine = machine_cpu_seconds() - machine_from
    mine = time.process_time() - mine_from + float(result.details.get("operator_cpu_total_seconds") or 0.0)
    wall = max(result.seconds, 1e-9)
    return {
        "busy_fraction": round(machine / (wall * cores), 3),
        "others_fraction": round(max(0.0, machine - mine) / (wall * cores), 3),
    }


def _line(result: ScenarioResult) -> str:
    state = "done" if result.completed else f"INCOMPLETE ({result.error or 'not every task succeeded'})"
    head = ", ".join(f"{m.label}: {m.value}{' ' + m.unit if m.unit else ''}" for m in result.metrics[:3])
    return f"{result.name}: {state} in {result.seconds:.1f}s; {head}"
