"""Sensor tasks, end to end: the real operator on the dev cluster, pokes one second apart."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from operator_kit import Api, phase_of, tasks_of
from test_failure_scenarios import finished, pipeline, sh
from test_schedule_scenarios import Clock, scheduled_runs

from baton.kube.labels import RUN
from support import wait_for

StartOperator = Callable[..., Any]


def sensor(name: str, flag: Path, interval: int = 1, timeout: int = 60) -> dict[str, Any]:
    check = f"test -f {shlex.quote(str(flag))} || {{ echo 'no file yet' >&2; exit 1; }}"
    return {**sh(name, check), "sensor": {"intervalSeconds": interval, "timeoutSeconds": timeout}}


def test_a_sensor_pokes_until_ready_then_downstream_runs(
    api: Api, start_operator: StartOperator, tmp_path: Path
) -> None:
    flag = tmp_path / "landed"
    start_operator(api.namespace)
    api.apply(pipeline("partner", [sensor("wait-for-file", flag), sh("load", "true", "wait-for-file")]))
    name = api.start_run("partner")
    waiting = wait_for(
        lambda: (t := tasks_of(api.run(name)).get("wait-for-file", {})).get("pokes", 0) >= 2 and t,
        message="two not-ready pokes",
    )
    assert (waiting["phase"], waiting["reason"]) in {("Pending", "NotReady"), ("Running", None)}
    assert waiting["lastAnswer"].startswith("not ready: exit code 1")
    assert tasks_of(api.run(name))["load"]["phase"] == "Pending"
    assert not any(e.get("reason") == "TaskRetrying" for e in api.events())  # not ready is no failure
    flag.touch()
    run = finished(api, name, timeout=30)
    assert phase_of(run) == "Succeeded"
    wait = tasks_of(run)["wait-for-file"]
    assert wait["lastAnswer"] == "ready" and wait["pokes"] == wait["attempts"] >= 3
    # Only the last poke's Job is kept: the earlier ones were deleted once their answer was recorded.
    jobs = [j for j in api.jobs() if j["metadata"]["labels"][RUN] == name]
    assert sorted(j["metadata"]["name"] for j in jobs) == sorted(
        {wait["jobName"], tasks_of(run)["load"]["jobName"]}
    )


def test_a_sensor_that_never_turns_ready_times_out(
    api: Api, start_operator: StartOperator, tmp_path: Path
) -> None:
    start_operator(api.namespace)
    api.apply(pipeline("never", [sensor("wait", tmp_path / "never", timeout=3), sh("load", "true", "wait")]))
    run = finished(api, api.start_run("never"), timeout=30)
    assert phase_of(run) == "Failed"
    wait = tasks_of(run)["wait"]
    assert (wait["phase"], wait["reason"]) == ("Failed", "SensorTimeout")
    assert wait["message"].startswith(f"still not ready after {wait['pokes']} pokes in 3s")
    assert tasks_of(run)["load"]["reason"] == "UpstreamFailed"


def test_every_morning_wait_for_the_file_then_load(
    api: Api, start_operator: StartOperator, tmp_path: Path
) -> None:
    flag = tmp_path / "export.csv"
    clock = Clock()
    slot = clock.before_next_minute(2.0)
    start_operator(api.namespace, schedule_clock=clock)
    api.apply(
        pipeline(
            "morning",
            [sensor("export-ready", flag), sh("load", "true", "export-ready")],
            schedule={"cron": "* * * * *"},
        )
    )
    name = f"morning-{slot:%Y%m%d%H%M}"
    wait_for(lambda: scheduled_runs(api, "morning"), timeout=15, message="the slot's run")
    wait_for(lambda: tasks_of(api.run(name)).get("export-ready", {}).get("pokes"), message="a poke")
    flag.touch()
    assert phase_of(finished(api, name, timeout=30)) == "Succeeded"
