"""`kubectl baton why`'s explanation, from the run's status alone: the chain from each failure to what it
skipped, exit codes and the kept tail's last line, what a timeout or cancel stopped, the finally tasks."""

from __future__ import annotations

from failure_kit import META, T0, Sim, spec, task

from baton.core.explain import MAX_FAILURES_SHOWN, explain
from baton.core.start import start_run

RETRIED = {"limit": 2, "backoff": {"initialSeconds": 1}}


def why(sim: Sim) -> list[str]:
    sim.restart()  # as kubectl reads it back
    return explain("run-1", sim.status)


def test_the_first_failure_its_exit_codes_its_tail_and_everything_it_skipped() -> None:
    sim = Sim.start(
        spec(
            task("extract", retries=RETRIED),
            task("side"),
            task("load", "extract"),
            task("report", "load"),
            task("audit", "side", "load"),
            **{"finally": [task("notify")]},
        )
    )
    sim.step()
    sim.at(1).finish("side").finish("extract", 1, message="Traceback\nKeyError: 'day'").step()
    sim.at(3).step()
    sim.at(4).finish("extract", 137, reason="OOMKilled").step()
    sim.at(8).step()
    sim.at(9).finish("extract", 1, message="Traceback\nValueError: bad row 17").step()
    sim.at(10).finish("notify").step()
    assert why(sim) == [
        "pipelinerun run-1: Failed after 10s",
        '  task "extract" failed: exit code 1: ValueError: bad row 17; 3 skipped',
        'first failure: task "extract" failed (Failed, 3 attempts), exit codes 1, 137 (OOMKilled), 1',
        "  last line: ValueError: bad row 17",
        "  skipped because of it: load, report, audit (3)",
        "finally: notify Succeeded",
    ]


def test_a_retried_task_that_succeeded_is_no_failure_but_a_failed_finally_task_is() -> None:
    sim = Sim.start(spec(task("a", retries=RETRIED), **{"finally": [task("notify")]}))
    sim.step()
    sim.at(1).finish("a", 1, message="flaky").step()
    sim.at(3).step()
    sim.at(4).finish("a").step()
    sim.at(5).finish("notify", 2, message="smtp\nConnectionRefused").step()
    lines = why(sim)
    assert lines[0] == "pipelinerun run-1: Failed after 5s"
    assert "first failure" not in "\n".join(lines)
    assert lines[-3:] == [
        "finally: notify Failed",
        '  task "notify" failed (Failed), exit code 2',
        "    last line: ConnectionRefused",
    ]


def test_a_timed_out_run_names_what_the_timeout_stopped_and_the_finally_outcome() -> None:
    sim = Sim.start(
        spec(
            task("quick"),
            task("slow"),
            task("after", "slow"),
            timeoutSeconds=60,
            **{"finally": [task("notify")]},
        )
    )
    sim.step()
    sim.at(1).finish("quick").step()
    sim.at(60).step()
    sim.at(61).finish("notify").step()
    assert why(sim) == [
        "pipelinerun run-1: Failed (Timeout) after 1m1s",
        "  timed out: the run's timeout of 60s passed; finally: notify Succeeded; 1 stopped; 1 skipped",
        "stopped by the run's timeout: slow",
        "  not started because of it: after (1)",
        "finally: notify Succeeded",
    ]


def test_a_succeeded_run_says_nothing_failed() -> None:
    sim = Sim.start(spec(task("a")))
    sim.step()
    sim.at(2).finish("a").step()
    assert why(sim) == ["pipelinerun run-1: Succeeded after 2s", "  the task succeeded", "nothing failed"]


def test_many_failures_are_bounded() -> None:
    names = [f"t{i:02d}" for i in range(MAX_FAILURES_SHOWN + 5)]
    sim = Sim.start(spec(*(task(n) for n in names)))
    sim.step()
    for second, name in enumerate(names, start=1):
        sim.at(second).finish(name, 1, message=f"boom {name}")
    sim.step()
    lines = why(sim)
    assert sum(line.startswith(("first failure", "then")) for line in lines) == MAX_FAILURES_SHOWN
    assert lines[-1] == "… and 5 more failed tasks"


def test_a_run_that_never_started_shows_its_condition() -> None:
    started = start_run(META, {"pipelineSpec": {"tasks": []}}, None, T0)
    lines = explain("run-1", started.status)
    assert lines[0].startswith("pipelinerun run-1: Failed (Invalid)") and len(lines) == 2


def test_the_run_message_and_why_name_the_first_task_to_fail_not_the_first_in_the_spec() -> None:
    sim = Sim.start(spec(task("a"), task("b")))
    sim.step()
    sim.at(2).finish("b", 4, message="disk full").step()
    sim.at(5).finish("a", 1, message="late").step()
    assert sim.condition()[2] == '2 tasks failed (b, a); "b": exit code 4: disk full'
    lines = why(sim)
    assert lines[2] == 'first failure: task "b" failed (Failed), exit code 4'
    assert lines[4] == 'then: task "a" failed (Failed), exit code 1'
