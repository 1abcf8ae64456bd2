"""How big each scenario is: the full benchmark, the smoke version CI runs, and overrides one by one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    chain: int = 200
    """Tasks in the chain (scenario 1)."""
    requests_runs: int = 10
    """Runs of the request-count scenario (2), one after another."""
    requests_width: int = 4
    """Width of its diamond Pipeline: start → width → width → end."""
    fanout: int = 1000
    """Width of the fan-out/fan-in (scenario 3)."""
    fanout_runs: int = 5
    """Runs of it, one after another (the join latency is their median)."""
    large: int = 10_000
    """Tasks of the layered random DAG (scenario 4)."""
    snapshots: int = 8
    """Snapshots of the large run on which planning is timed."""
    throughput_in_flight: int = 50
    """Runs kept in flight in the throughput scenario (5)."""
    throughput_tasks: int = 20
    """Tasks per run there (a chain)."""
    throughput_runs: int = 300
    """Runs started in all there; the window measured is while `throughput_in_flight` are in flight."""
    rss_runs: int = 1000
    """Active runs for the memory scenario (6)."""
    rss_width: int = 3
    """Their Pipeline: start → width → end."""
    foreach: int = 1000
    """Items of the forEach fan-out (scenario 7)."""
    width_max: int = 10_000
    """The widest fan-out of the width curve (scenario 8: 100, 1,000, 3,000, 10,000 up to this)."""
    realjoin_width: int = 50
    """Width of the fan-out on real processes (scenario 9)."""
    realjoin_chain: int = 20
    """Length of the chain it is compared with."""
    realjoin_runs: int = 7
    """Rounds of a chain then a fan-out: the join latency is the fan-outs' median (one join is one
    sample), the chain's overhead the median of all the chains' steps."""
    huge_tasks: int = 10
    """forEach tasks of the 100,000-instance run (scenario 10), one after another."""
    huge_items: int = 10_000
    """Items of each."""
    schedules: int = 1000
    """Scheduled Pipelines of scenario 11 (each `* * * * *`, one task)."""
    schedules_lead: float = 30.0
    """Seconds from the operator's start to their first slot (time to create them)."""
    schedules_idle: float = 40.0
    """Seconds of quiet measured after that slot's runs ended (at most until the next slot)."""
    composed: int = 20
    """Scenario 12: links of the trigger chain, and sub-pipeline tasks of the composite Pipeline; scenario
    13: links of the dataset trigger chain."""
    datasets: int = 100
    """Scenario 13: tasks of the chain linked through datasets (run twice: the second from the cache)."""
    day2_runs: int = 10
    """Scenario 14: runs that time out and clean up (real processes)."""
    day2_width: int = 50
    """Scenario 14: tasks of the run whose every task fails three times."""
    ui_width: int = 1000
    """Scenario 15: the width of the run whose page the web UI serves."""
    ui_loads: int = 5
    """Scenario 15: how many times the page is loaded."""
    timeout: float = 900.0
    """Seconds any one wait may take before the scenario is reported as incomplete."""


FULL = Sizes()
SMOKE = Sizes(
    chain=10,
    requests_runs=2,
    requests_width=2,
    fanout=20,
    large=200,
    snapshots=3,
    throughput_in_flight=5,
    throughput_tasks=5,
    throughput_runs=10,
    rss_runs=20,
    foreach=20,
    fanout_runs=2,
    width_max=30,
    realjoin_width=3,
    realjoin_chain=3,
    realjoin_runs=2,
    huge_tasks=2,
    huge_items=10,
    schedules=5,
    schedules_lead=8.0,
    schedules_idle=3.0,
    composed=3,
    datasets=5,
    day2_runs=2,
    day2_width=4,
    ui_width=10,
    ui_loads=2,
    timeout=60.0,
)


def with_overrides(sizes: Sizes, overrides: list[str]) -> Sizes:
    """`sizes` with `NAME=VALUE` overrides (e.g. `chain=500`); ValueError names what is wrong."""
    fields = {f.name: f for f in dataclasses.fields(Sizes)}
    changes: dict[str, int | float] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ValueError(f'unknown size "{item}"; known: {", ".join(fields)} (as NAME=VALUE)')
        try:
            number = float(value) if fields[name].type == "float" else int(value)
        except ValueError:
            raise ValueError(f'size "{name}" needs a number, not "{value}"') from None
        if number <= 0:
            raise ValueError(f'size "{name}" must be positive')
        changes[name] = number
    return dataclasses.replace(sizes, **changes)  # type: ignore[arg-type]
