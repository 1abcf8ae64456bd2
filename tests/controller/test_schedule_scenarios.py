"""Schedules, queues and history, end to end: the real operator on the dev cluster.

The schedule's clock is the operator's test-only `schedule_clock`: the wall clock moved so that the next
minute is about two seconds away, so a `* * * * *` schedule fires without a test waiting for a minute.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, phase_of, when
from test_failure_scenarios import FINISHED, finished, patch_run, pipeline, sh

from baton.core.status import parse_time
from baton.kube.slotruns import SCHEDULED_TIME
from support import wait_for

StartOperator = Callable[..., Any]


class Clock:
    """The wall clock plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def before_next_minute(self, seconds: float) -> datetime:
        """Move so that the next minute starts in `seconds`; that minute (the slot)."""
        real = datetime.now(UTC)
        slot = real.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.offset = slot - timedelta(seconds=seconds) - real
        return slot


def scheduled_runs(api: Api, name: str) -> list[dict[str, Any]]:
    runs = api.cluster.sync(
        api.cluster.store.list, api.cluster.registry.storage("baton.dev", "pipelineruns"), api.namespace
    )
    return [r for r in runs if (r["spec"].get("pipelineRef") or {}).get("name") == name]


def every_minute(name: str, **spec: Any) -> dict[str, Any]:
    return pipeline(
        name,
        [sh("report", 'test "$(params.date)" != ""')],
        params=[{"name": "date"}],
        schedule={"cron": "* * * * *", "params": {"date": "$(schedule.date)"}, **spec},
    )


def test_a_schedule_fires_once_at_its_slot_and_records_it(api: Api, start_operator: StartOperator) -> None:
    clock = Clock()
    slot = clock.before_next_minute(2.0)
    start_operator(api.namespace, schedule_clock=clock)
    api.apply(every_minute("ticker"))
    waiting = wait_for(
        lambda: when(api.pipeline("ticker"), lambda p: (p.get("status") or {}).get("nextScheduleTime")),
        message="the next slot to be announced",
    )
    assert waiting["status"]["nextScheduleTime"] == slot.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not scheduled_runs(api, "ticker")  # nothing before its time
    name = f"ticker-{slot:%Y%m%d%H%M}"
    run = finished(
        api,
        wait_for(
            lambda: when(
                name, lambda n: any(r["metadata"]["name"] == n for r in scheduled_runs(api, "ticker"))
            ),
            timeout=15,
        ),
    )
    assert phase_of(run) == "Succeeded"
    assert run["metadata"]["annotations"][SCHEDULED_TIME] == slot.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run["status"]["params"] == {"date": slot.date().isoformat()}
    status = wait_for(
        lambda: when(api.pipeline("ticker")["status"], lambda s: s.get("lastScheduledRun") == name),
        message="the Pipeline to record its scheduled run",
    )
    assert parse_time(status["lastScheduleTime"]) == slot
    assert parse_time(status["nextScheduleTime"]) == slot + timedelta(minutes=1)
    assert len(scheduled_runs(api, "ticker")) == 1
    fired = [e for e in api.events() if e.get("reason") == "Scheduled"]
    assert fired and name in fired[0]["message"]


def test_an_operator_killed_across_a_slot_creates_its_run_once(
    api: Api, start_operator: StartOperator
) -> None:
    clock = Clock()
    slot = clock.before_next_minute(2.0)
    first = start_operator(api.namespace, schedule_clock=clock)
    api.apply(every_minute("nightly", concurrencyPolicy="Allow"))
    wait_for(
        lambda: (api.pipeline("nightly").get("status") or {}).get("nextScheduleTime"),
        message="the next slot to be announced",
    )
    first.stop()  # down before the slot …
    clock.offset += timedelta(seconds=20)  # … and the slot passes meanwhile
    second = start_operator(api.namespace, schedule_clock=clock)
    third = start_operator(api.namespace, schedule_clock=clock)  # a duplicated operator, for good measure
    name = f"nightly-{slot:%Y%m%d%H%M}"
    finished(
        api,
        wait_for(
            lambda: when(
                name, lambda n: [r for r in scheduled_runs(api, "nightly") if r["metadata"]["name"] == n]
            ),
            timeout=15,
        ),
    )
    wait_for(lambda: when(api.pipeline("nightly")["status"], lambda s: s.get("lastScheduledRun") == name))
    second.stop()
    third.stop()
    start_operator(api.namespace, schedule_clock=clock)  # and once more: the slot is recorded, not redone
    wait_for(lambda: all(phase_of(r) in FINISHED for r in scheduled_runs(api, "nightly")))
    assert [r["metadata"]["name"] for r in scheduled_runs(api, "nightly")] == [name]


def test_an_invalid_schedule_makes_the_pipeline_not_ready(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    api.apply(every_minute("broken", timezone="Europe/Atlantis"))
    status = wait_for(lambda: (api.pipeline("broken") or {}).get("status"))
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Invalid")
    assert 'schedule.timezone: "Europe/Atlantis" is not an IANA time zone' in ready["message"]
    assert "nextScheduleTime" not in status


def test_max_active_runs_queues_runs_in_creation_order(
    api: Api, start_operator: StartOperator, tmp_path: Path
) -> None:
    gate = tmp_path / "open"  # each run's task waits for it: the first run stays active until it exists
    start_operator(api.namespace)
    script = f"while [ ! -f {shlex.quote(str(gate))} ]; do sleep 0.02; done"
    api.apply(pipeline("one-at-a-time", [sh("work", script)], maxActiveRuns=1))
    wait_for(lambda: (api.pipeline("one-at-a-time") or {}).get("status"), message="the Pipeline to be seen")
    names = [api.start_run("one-at-a-time") for _ in range(3)]

    def reason(name: str) -> str | None:
        conditions = (api.run(name).get("status") or {}).get("conditions") or [{}]
        return conditions[0].get("reason")

    # One starts: the first the operator saw, or, when it saw them together, the first in queue order
    # (creation times have second precision, and ties go by name).
    first = wait_for(
        lambda: next((n for n in names if phase_of(api.run(n)) == "Running"), None), message="a run to start"
    )
    others = [name for name in names if name != first]
    waiting = sorted(others, key=lambda name: (api.run(name)["metadata"]["creationTimestamp"], name))
    wait_for(lambda: reason(others[0]) == reason(others[1]) == "Queued", message="the others to be queued")

    def messages() -> tuple[str, str]:
        second, third = (api.run(name)["status"]["conditions"][0]["message"] for name in waiting)
        return second, third

    # Both are Queued before both say their final place: a run's message is written by its own reconcile,
    # and the last one's may be written before the one ahead of it was queued (seen once in CI). Level-
    # triggered, it is rewritten when that one moves; wait for it rather than read one moment.
    second, third = wait_for(
        lambda: when(messages(), lambda m: m[1].endswith("it starts in creation order")),
        message="the last run to say it waits for the one before it",
    )
    assert second.endswith("allows 1 active run at once (maxActiveRuns); this run starts next")
    assert third.endswith("it starts in creation order")
    assert "pipelineSpec" not in api.run(waiting[1])["status"]  # nothing frozen before its turn
    gate.touch()
    runs = [finished(api, name, timeout=30) for name in names]
    assert all(phase_of(run) == "Succeeded" for run in runs)
    spans = sorted(
        (parse_time(r["status"]["startTime"]), parse_time(r["status"]["completionTime"])) for r in runs
    )
    started = {r["metadata"]["name"]: parse_time(r["status"]["startTime"]) for r in runs}
    assert started[first] <= started[waiting[0]] <= started[waiting[1]]  # in order
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # never two at once


def test_run_history_and_ttl_delete_finished_runs(api: Api, start_operator: StartOperator) -> None:
    start_operator(api.namespace)
    # Each run takes over a second, so that the two completion times (second precision) differ.
    api.apply(pipeline("kept", [sh("work", "sleep 1.1")], runHistory={"succeeded": 1}))
    first = api.start_run("kept")
    finished(api, first)
    second = api.start_run("kept")
    finished(api, second)
    wait_for(
        lambda: [r["metadata"]["name"] for r in scheduled_runs(api, "kept")] == [second], message="pruning"
    )
    api.apply(pipeline("brief", [sh("work")], ttlSecondsAfterFinished=1))
    short = api.start_run("brief")
    finished(api, short)
    wait_for(lambda: not scheduled_runs(api, "brief"), timeout=15, message="the TTL to delete the run")
    gone = {j["metadata"]["labels"].get("baton.dev/run") for j in api.jobs()}
    wait_for(
        lambda: not {first, short} & {j["metadata"]["labels"].get("baton.dev/run") for j in api.jobs()},
        message=f"their Jobs to go ({gone})",
    )


@pytest.mark.kubectl
def test_kubectl_shows_the_schedule_columns(api: Api, start_operator: StartOperator, kubectl: Any) -> None:
    clock = Clock()
    slot = clock.before_next_minute(30.0)
    start_operator(api.namespace, schedule_clock=clock)
    api.apply(every_minute("columns"))
    wait_for(lambda: (api.pipeline("columns").get("status") or {}).get("nextScheduleTime"))
    out = kubectl("get", "pipelines", "-n", api.namespace).stdout
    header, row = out.splitlines()[0].split(), out.splitlines()[1]
    assert header[-4:] == ["SCHEDULE", "NEXT", "LAST", "AGE"], out
    assert "* * * * *" in row and slot.strftime("%Y-%m-%dT%H:%M:%SZ") in row, out


def test_a_queued_run_cancelled_ends_at_once(
    api: Api, start_operator: StartOperator, tmp_path: Path, k8s_client: Any
) -> None:
    gate = tmp_path / "open"
    start_operator(api.namespace)
    script = f"while [ ! -f {shlex.quote(str(gate))} ]; do sleep 0.02; done"
    api.apply(pipeline("single", [sh("work", script)], maxActiveRuns=1))
    wait_for(lambda: (api.pipeline("single") or {}).get("status"), message="the Pipeline to be seen")
    first = api.start_run("single")
    wait_for(lambda: phase_of(api.run(first)) == "Running", message="the first run to start")
    second = api.start_run("single")
    wait_for(
        lambda: ((api.run(second).get("status") or {}).get("conditions") or [{}])[0].get("reason") == "Queued"
    )
    patch_run(k8s_client, api, second, {"cancel": {"message": "not needed"}})
    cancelled = finished(api, second)
    assert phase_of(cancelled) == "Cancelled" and phase_of(api.run(first)) == "Running"
    assert cancelled["status"]["conditions"][0]["message"] == "cancelled before it started: not needed"
    assert not [j for j in api.jobs() if j["metadata"]["labels"]["baton.dev/run"] == second]
    gate.touch()
    assert phase_of(finished(api, first)) == "Succeeded"
