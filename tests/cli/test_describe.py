"""`kubectl baton describe RUN`: what a person reads first, first; the frozen spec last, as one line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from baton.cli.describe import describe_lines
from baton.core.actors import ACTED_AT, ACTED_GENERATION, ACTION, ACTOR

NOW = datetime(2026, 12, 6, 12, 1, 0, tzinfo=UTC)
SCRIPT = "import sys\nfor line in sys.stdin:\n    print(line)\n"


def run(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "etl-retry-x",
            "namespace": "data",
            "uid": "u1",
            "annotations": {
                ACTOR: "alice@corp", ACTION: "retry", ACTED_AT: "2026-12-06T12:00:00Z", ACTED_GENERATION: "1"
            },
        },
        "spec": {"retryOf": "etl-1"},
        "status": {
            "phase": "Running",
            "pipeline": "etl",
            "progress": "2/5",
            "startTime": "2026-12-06T12:00:00Z",
            "params": {"date": "2026-12-05"},
            "pipelineSpec": {
                "tasks": [
                    {"name": "extract", "image": "busybox", "command": ["python3", "-c", SCRIPT]},
                    {"name": "shard", "image": "busybox", "forEach": {"items": "[1,2]"},
                     "dependsOn": ["extract"]},
                    {"name": "load", "image": "busybox", "dependsOn": ["shard"]},
                    {"name": "fetch", "image": "busybox"},
                ],
                "finally": [{"name": "notify", "image": "busybox"}],
            },
            "conditions": [
                {"type": "Succeeded", "status": "Unknown", "reason": "Running", "message": "2 of 5 done"},
            ],
            "tasks": [
                {"name": "extract", "phase": "Succeeded", "reason": "Reused", "reusedFrom": "etl-1"},
                {"name": "shard", "phase": "Succeeded", "items": 2, "attempts": 0,
                 "startTime": "2026-12-06T12:00:01Z", "completionTime": "2026-12-06T12:00:09Z"},
                {"name": "fetch", "phase": "Pending", "attempts": 1, "reason": "Failed", "exitCode": 75,
                 "message": "exit code 75: upstream busy\ntry later",
                 "nextAttemptAt": "2026-12-06T12:01:30Z"},
            ],
            **status,
        },
    }  # fmt: skip


EVENTS = [
    {
        "type": "Normal",
        "reason": "RetryStarted",
        "lastTimestamp": "2026-12-06T12:00:00Z",
        "message": "reuses 1",
    },
    {
        "type": "Warning",
        "reason": "TaskRetrying",
        "lastTimestamp": "2026-12-06T12:00:30Z",
        "message": "fetch",
    },
]


def test_a_run_reads_top_down_the_frozen_spec_last_in_one_line() -> None:
    lines = describe_lines(run(), EVENTS, NOW)
    text = "\n".join(lines)
    heads = [
        "Name:",
        "Phase:",
        "Message:",
        "Started:",
        "Retry of:",
        "Last action:",
        "Params:",
        "Tasks (",
        "Conditions:",
        "Events:",
        "Spec:",
    ]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(head)) for head in heads]
    assert positions == sorted(positions), text
    assert "Phase:        Running\n" in text + "\n"  # its reason says the same: not repeated
    assert "Started:      2026-12-06T12:00:00Z (1m ago), took 1m so far" in text
    assert "Last action:  retry started by alice@corp at 2026-12-06T12:00:00Z" in text
    assert "  date: 2026-12-05" in lines
    assert lines[-1].startswith(
        "Spec:         4 task(s) and 1 finally, frozen at its start (kubectl baton graph"
    )
    assert "for line in sys.stdin" not in text  # the script stays in the frozen spec, not on the page


def test_every_task_is_a_row_with_what_its_phase_hides() -> None:
    lines = describe_lines(run(), [], NOW)
    start = lines.index(next(line for line in lines if line.startswith("Tasks (5, 2/5)")))
    header, *rows = lines[start + 1 : start + 7]
    assert header.split() == ["TASK", "PHASE", "ATTEMPTS", "REASON", "EXIT", "DURATION", "MESSAGE"]
    by_task = {row.split()[0]: row for row in rows}
    assert list(by_task) == ["extract", "shard", "load", "fetch", "notify"]  # spec order, finally last
    assert "reused from etl-1" in by_task["extract"]
    assert "2 items" in by_task["shard"] and "8s" in by_task["shard"]
    assert by_task["load"].split()[1] == "Pending"  # not started: still listed
    assert "next attempt at 2026-12-06T12:01:30Z; try later" in by_task["fetch"]
    assert " 75 " in by_task["fetch"]
    assert by_task["notify"].rstrip().endswith("finally")
    assert "Events:       <none>" in lines


def test_events_in_order_with_their_age() -> None:
    lines = describe_lines(run(), list(reversed(EVENTS)), NOW)
    start = lines.index("Events:")
    assert [line.split()[:3] for line in lines[start + 1 : start + 4]] == [
        ["TYPE", "REASON", "AGE"],
        ["Normal", "RetryStarted", "1m"],
        ["Warning", "TaskRetrying", "30s"],
    ]


def test_a_run_not_started_yet_says_whose_spec_it_shows() -> None:
    pending = run(phase="Pending", pipelineSpec=None, tasks=[], startTime=None, conditions=[])
    pending["spec"] = {
        "pipelineRef": {"name": "etl"},
        "pipelineSpec": {"tasks": [{"name": "a", "image": "x"}]},
    }
    lines = describe_lines(pending, [], NOW)
    assert lines[-1].startswith("Spec:         1 task(s), its Pipeline's, not started yet")
    assert not [line for line in lines if line.startswith(("Started:", "Conditions:"))]
