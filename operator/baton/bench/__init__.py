"""`baton bench`: the real operator against the dev cluster in instant mode, measured from its audit log.

Each scenario starts its own dev cluster (Jobs finish the moment they are created, or are held active),
runs `baton operator` as a subprocess so that its memory is its own, drives Pipelines and PipelineRuns
through the cluster's store, and computes its numbers from the cluster's audit log (millisecond request
and Job-transition timestamps) and the operator's own metrics. Modules:

  shapes       the Pipelines: chain, fan-out/fan-in, layered random DAG
  sizes        full and smoke sizes, overridable one by one
  harness      one scenario's cluster, namespace and operator process; waiting on conditions
  measures     percentiles, overhead per task, requests by verb, status bytes, from the audit log
  planning     planning time per reconcile, measured in-process on snapshots of a real run
  scenarios    the scenarios of issue 6 (but memory)
  memory       scenario 6: the operator's RSS with 1,000 active runs, and once they are gone (no leak)
  dataflow     the forEach fan-out (1 → forEach of N items from a param → 1)
  width        the cost of width: the fan-out curve, the join on real processes, 100,000 instances
  schedules    1,000 scheduled Pipelines: a slot firing for all, then the quiet between slots
  composition  Pipelines of Pipelines: a trigger chain and a chain of sub-pipelines, per hop
  datasets     a chain through datasets (its cost), again from the cache, a chain of dataset triggers
  day2         cleanup after run timeouts on real processes; what a failed run keeps, and `why` on it
  ui           the web UI's page of a 1,000-task run: request to last byte, size, layout
  report       targets, bench.json and bench.md
  environment  CPU, Python, package versions, git commit
  runner       runs the chosen scenarios and writes the report
"""

SCENARIO_NAMES = (
    "chain", "requests", "fanout", "large", "throughput", "rss", "foreach", "width", "realjoin", "huge",
    "schedules", "composition", "datasets", "day2", "ui",
)  # fmt: skip
"""The scenarios, in the order they run (kept here so that the CLI can list them without importing them)."""
