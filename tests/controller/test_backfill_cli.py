"""`kubectl baton backfill` against the dev cluster with the real operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from operator_kit import Api, phase_of
from test_steering_cli import Baton, finished, pipeline, sh

from baton.kube.slotruns import SCHEDULED_TIME
from support import wait_for


@pytest.fixture
def baton(
    api: Api, kubeconfig: Path, capsys: pytest.CaptureFixture[str], start_operator: Callable[..., Any]
) -> Baton:
    start_operator(api.namespace)
    api.apply(
        pipeline(
            "daily",
            [sh("load", 'test "$(params.day)" != ""'), sh("check", "true", "load")],
            params=[{"name": "day"}, {"name": "region", "default": "eu"}],
            schedule={
                "cron": "30 2 * * *",
                "timezone": "Europe/Berlin",
                "params": {"day": "$(schedule.date)"},
            },
            maxActiveRuns=2,
        )
    )
    wait_for(lambda: (api.pipeline("daily") or {}).get("status"), message="the Pipeline to be seen")
    return Baton(api, kubeconfig, capsys)


def runs(api: Api) -> dict[str, dict[str, Any]]:
    listed = api.cluster.sync(
        api.cluster.store.list, api.cluster.registry.storage("baton.dev", "pipelineruns"), api.namespace
    )
    return {r["metadata"]["name"]: r for r in listed}


def test_backfill_creates_each_slot_once_and_rerun_runs_it_again(baton: Baton, api: Api) -> None:
    code, out, err = baton("backfill", "daily", "--from", "2025-03-29", "--to", "2025-03-31", "--dry-run")
    assert code == 0, err
    # 02:30 in Berlin is 01:30 UTC in winter and 00:30 UTC in summer (from March 30th).
    assert out.splitlines() == [
        "2025-03-29T02:30:00+01:00  daily-202503290130  would be created",
        "2025-03-30T03:00:00+02:00  daily-202503300100  would be created",  # the gap: right after it
        "2025-03-31T02:30:00+02:00  daily-202503310030  would be created",
        "3 slots from 2025-03-29T01:30:00Z to 2025-03-31T00:30:00Z (dry run)",
    ]
    assert not runs(api)
    code, out, err = baton(
        "backfill", "daily", "--from", "2025-03-29", "--to", "2025-03-31", "-p", "region=us", "-w"
    )
    assert code == 0, err
    made = runs(api)
    assert sorted(made) == ["daily-202503290130", "daily-202503300100", "daily-202503310030"]
    first = made["daily-202503290130"]
    assert first["metadata"]["annotations"][SCHEDULED_TIME] == "2025-03-29T01:30:00Z"
    assert first["status"]["params"] == {"day": "2025-03-29", "region": "us"}
    assert all(phase_of(run) == "Succeeded" for run in made.values())
    # Twice: nothing new, each slot listed as skipped.
    code, out, _ = baton("backfill", "daily", "--from", "2025-03-29", "--to", "2025-03-31")
    assert code == 0 and out.count("skipped (exists: Succeeded)") == 3 and len(runs(api)) == 3
    # --rerun: a retry of the slot's run that runs every task again.
    code, out, err = baton("backfill", "daily", "--from", "2025-03-31", "--to", "2025-03-31", "--rerun", "-w")
    assert code == 0, err
    (rerun,) = [name for name in runs(api) if name.startswith("daily-202503310030-rerun-")]
    again = finished(api, rerun)
    assert again["spec"]["retryOf"] == "daily-202503310030"
    assert {t["name"]: t.get("reason") for t in again["status"]["tasks"]} == {"load": None, "check": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-02-30", "--to", "2025-03-01"], '"2025-02-30" is not a date'),
        (["--from", "2025-03-02", "--to", "2025-03-01"], "--to 2025-03-01 is before --from 2025-03-02"),
        (["--from", "2020-01-01", "--to", "2025-01-01"], "1,828 slots: pass --yes"),
        (["--from", "2025-01-01", "--to", "2025-01-01", "-p", "regin=x"], 'unknown param "regin"'),
    ],
)
def test_backfill_refuses_bad_ranges_and_params(
    baton: Baton, api: Api, args: list[str], message: str
) -> None:
    code, _, err = baton("backfill", "daily", *args)
    assert code != 0 and message in err
    assert not runs(api)


def test_backfill_needs_a_schedule(baton: Baton, api: Api) -> None:
    api.apply(pipeline("manual", [sh("a")]))
    code, _, err = baton("backfill", "manual", "--from", "2025-01-01", "--to", "2025-01-02")
    assert code == 2 and "pipeline manual has no schedule" in err
