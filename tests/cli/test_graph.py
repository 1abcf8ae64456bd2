"""`kubectl baton graph`: the DAG as layers, phases as symbols (colour on a terminal), live with --watch."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from plugin_kit import Plugin

from baton.cli.graph import layers, render
from baton.cli.output import run_view, use_colour

DAILY_SALES = """\
pipeline/daily-sales  6 tasks

  1  regions
  2  extract             (forEach)  ← regions
  3  revenue-by-region   ← extract
     revenue-by-product  ← extract
  4  load                ← revenue-by-region, revenue-by-product, extract
  5  report              ← load
"""


def test_graph_of_a_pipeline_draws_its_layers(baton: Plugin) -> None:
    result = baton("graph", "daily-sales")
    assert (result.code, result.out, result.err) == (0, DAILY_SALES, "")
    assert baton("graph", "pipeline/daily-sales").out == DAILY_SALES


def test_graph_of_a_finished_run_shows_every_task_phase(
    baton: Plugin, finished_run: Callable[[str], str]
) -> None:
    name = finished_run("failing")
    result = baton("graph", name)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert re.fullmatch(rf"pipelinerun/{name}  ✗ Failed  5/5  \d+s  \(pipeline failing\)", lines[0]), lines[0]
    body = [re.sub(r"  \d+s", "", line) for line in lines[2:7]]  # durations vary
    assert body == [
        "  1  ✓ prepare   Succeeded",
        "  2  ✗ validate  Failed     ← prepare",
        "     ✓ audit     Succeeded  ← prepare",
        "  3  ⊘ publish   Skipped    ← validate",
        "  4  ⊘ notify    Skipped    ← publish",
    ], result.out
    assert lines[-1].startswith('task "validate" failed: exit code 3'), lines[-1]
    assert baton("graph", f"pipelinerun/{name}").out == result.out


def test_graph_watch_redraws_until_the_run_ends_and_exits_with_its_result(baton: Plugin) -> None:
    created = baton("run", "daily-sales")
    name = created.out.split("/")[1].split()[0]
    result = baton("graph", name, "--watch", "--timeout", "120")
    assert result.code == 0, result
    frames = result.out.split(f"pipelinerun/{name}")[1:]
    assert len(frames) >= 2, result.out  # it redrew as the run went on
    assert "✓ Succeeded" in frames[-1].splitlines()[0]
    assert frames[-1].count("✓") == 7  # the run and its six tasks
    assert re.search(r"✓ extract +Succeeded +3 items \(3 succeeded\)", frames[-1]), frames[-1]
    assert any("● " in frame and "Running" in frame for frame in frames[:-1]), result.out

    failed = baton("run", "failing")
    failed_name = failed.out.split("/")[1].split()[0]
    assert baton("graph", failed_name, "--watch", "--timeout", "120").code == 1


def test_unknown_names_list_the_runs_and_pipelines_there(baton: Plugin) -> None:
    result = baton("graph", "fan-out")
    assert result.code == 1
    assert result.err.startswith(
        f'error: no pipelinerun or pipeline "fan-out" in namespace "{baton.namespace}"'
    )
    assert result.err.rstrip().endswith("; Pipelines: daily-sales, failing"), result.err
    assert baton("graph", "pipeline/nope").err.startswith('error: pipeline "nope" not found')
    assert baton("graph", "job/x").code == 2
    assert baton("graph", "daily-sales", "--watch").code == 2  # a Pipeline has nothing to follow


def test_layers_put_every_task_below_its_dependencies() -> None:
    tasks = [
        {"name": "report", "dependsOn": ["load"]},
        {"name": "extract"},
        {"name": "load", "dependsOn": ["extract", "audit"]},
        {"name": "audit", "dependsOn": ["extract"]},
        {"name": "loop-a", "dependsOn": ["loop-b"]},
        {"name": "loop-b", "dependsOn": ["loop-a"]},
    ]
    assert layers(tasks) == [["extract"], ["audit"], ["load"], ["report"], ["loop-a", "loop-b"]]


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {"tasks": [{"name": "a"}, {"name": "b", "dependsOn": ["a"]}]}
    states = {"a": {"name": "a", "phase": "Succeeded"}, "b": {"name": "b", "phase": "Failed"}}
    coloured = render(spec, states, colour=True)
    assert "\x1b[32m✓ a" in coloured[0] and "\x1b[31m✗ b" in coloured[1]
    assert "\x1b" not in "".join(render(spec, states, colour=False))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())


def test_a_fan_out_shows_its_items_and_which_failed() -> None:
    spec = {"tasks": [{"name": "fan", "forEach": {"items": ["a.csv", "b.csv"]}}]}
    states = {
        "fan": {
            "name": "fan",
            "phase": "Failed",
            "items": 2,
            "instances": [
                {"name": "fan[0]", "phase": "Succeeded", "item": "a.csv"},
                {"name": "fan[1]", "phase": "Failed", "item": "b.csv"},
            ],
        }
    }
    (line,) = render(spec, states, colour=False)
    assert "2 items (1 succeeded, 1 failed)  failed: fan[1] b.csv" in line, line
    assert render(spec, None, colour=False) == ["  1  fan  (forEach)"]


def test_a_10000_wide_fan_out_stays_one_line_with_its_compact_successes_counted() -> None:
    spec = {"tasks": [{"name": "fan", "forEach": {"from": "$(params.items)"}}]}
    failed = {"name": "fan[42]", "phase": "Failed", "attempts": 1, "item": "42"}
    task = {"name": "fan", "phase": "Failed", "items": 10_000, "instances": [failed]}
    task["succeededInstances"] = "0-41,43-9999"  # as the status stores a wide task's successes
    run = {"metadata": {"name": "r"}, "status": {"phase": "Failed", "tasks": [task], "pipelineSpec": spec}}
    view = run_view(run)
    lines = render(spec, {t["name"]: t for t in view.tasks}, colour=False)
    assert len(lines) == 1, lines
    assert "10000 items (9999 succeeded, 1 failed)  failed: fan[42] 42" in lines[0], lines[0]


def test_finally_tasks_are_drawn_after_every_other_task() -> None:
    spec = {
        "tasks": [{"name": "fetch"}, {"name": "publish", "dependsOn": ["fetch"]}],
        "finally": [{"name": "notify"}, {"name": "cleanup", "dependsOn": ["notify"]}],
    }
    assert render(spec, None, colour=False) == [
        "  1  fetch",
        "  2  publish  ← fetch",
        "  ⤷  notify",
        "     cleanup  ← notify",
    ]
    states = {"fetch": {"phase": "Succeeded", "reason": "Reused"}, "notify": {"phase": "Running"}}
    lines = render(spec, states, colour=False)
    assert lines[0].endswith("reused") and lines[2].startswith("  ⤷  ● notify"), lines


def test_a_task_waiting_for_its_retry_says_when() -> None:
    spec = {"tasks": [{"name": "fetch"}]}
    states = {"fetch": {"phase": "Pending", "attempts": 1, "nextAttemptAt": "2025-01-31T10:00:05.250Z"}}
    (line,) = render(spec, states, colour=False)
    assert line.endswith("retry at 10:00:05 UTC"), line
