"""`kubectl baton backfill PIPELINE --from START --to END [-p k=v]... [--rerun] [--dry-run] [--watch]`

Creates one run per slot of the Pipeline's schedule from START to END (both inclusive; dates or
`YYYY-MM-DDTHH:MM` times, read in the schedule's time zone), named exactly as the scheduler names them:
running it twice, or the scheduler reaching one of those slots, creates nothing twice. Slots whose run
exists are listed as skipped; `--rerun` runs them again on purpose, as retries of the existing runs
(`retryOf`, every task run again). The Pipeline's maxActiveRuns throttles them (the rest wait as Queued).
`--dry-run` lists the slots and creates nothing; a range of more than 1,000 slots needs `--yes`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from baton import GROUP, VERSION
from baton.api.pipeline import PipelineSpec
from baton.api.run import FINISHED_PHASES
from baton.cli.kubeapi import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    KubeApi,
    add_connection_arguments,
    command,
)
from baton.cli.run import add_param_argument, check_params, parse_params
from baton.core.schedule import Schedule, scheduled_run_name
from baton.core.scheduler import schedule_of, scheduled_params
from baton.core.status import format_time, plural
from baton.core.validation import check_pipeline_spec, join_errors
from baton.kube.names import label_value
from baton.kube.slotruns import TRIGGER, run_body

CONFIRM_ABOVE = 1_000
"""More slots than this need --yes."""
MAX_SLOTS = 100_000
"""A range is never walked past this many slots (a minutely schedule over years), --yes or not."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", metavar="PIPELINE", help="the Pipeline (it must have a schedule)")
    parser.add_argument("--from", dest="start", required=True, metavar="START", help="first day or time")
    parser.add_argument("--to", dest="end", required=True, metavar="END", help="last day or time (inclusive)")
    add_param_argument(parser, "override a param of every run (repeatable)")
    parser.add_argument("--rerun", action="store_true", help="run slots whose run exists again (retryOf)")
    parser.add_argument("--dry-run", action="store_true", help="list the slots, create nothing")
    parser.add_argument("--yes", action="store_true", help=f"allow more than {CONFIRM_ABOVE:,} slots")
    parser.add_argument("-w", "--watch", action="store_true", help="wait for the runs; exit 1 if one failed")
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    add_connection_arguments(parser)


def parse_bound(text: str, schedule: Schedule, *, end: bool) -> datetime:
    """A day (the whole day: from its start, or to its end) or a local time, in the schedule's zone."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), schedule.zone)
            return moment - timedelta(microseconds=1) if end else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f'"{text}" is not a date (2025-01-31) or a time (2025-01-31T02:30)', EXIT_USAGE
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=schedule.zone)


def slots_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    slots: list[datetime] = []
    for slot in schedule.slots_after(start - timedelta(microseconds=1)):
        if slot > end:
            break
        slots.append(slot)
        if len(slots) > MAX_SLOTS:
            raise CliError(
                f"the range holds more than {MAX_SLOTS:,} slots: backfill a shorter one", EXIT_USAGE
            )
    return slots


@dataclass(frozen=True)
class Slot:
    slot: datetime
    name: str
    existing: dict[str, Any] | None


def rerun_body(pipeline: str, old: dict[str, Any], spec: PipelineSpec) -> dict[str, Any]:
    """A retry of the slot's run that runs every task again: retryFrom the tasks that depend on nothing,
    as every task is downstream of one of them."""
    roots = [task.name for task in spec.all_tasks() if not task.depends_on]
    name = old["metadata"]["name"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": f"{name[:45]}-rerun-",
            "labels": {"baton.dev/pipeline": label_value(pipeline), TRIGGER: "backfill"},
            "annotations": dict(old["metadata"].get("annotations") or {}),
        },
        "spec": {"retryOf": name, "retryFrom": roots},
    }


def _line(slot: Slot, zone: Any, what: str) -> str:
    return f"{slot.slot.astimezone(zone).isoformat()}  {slot.name}  {what}"


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        return _backfill(api, args)
    finally:
        api.close()


def _backfill(api: KubeApi, args: argparse.Namespace) -> int:
    pipeline = api.get_pipeline(args.pipeline)
    spec, errors = check_pipeline_spec(pipeline.get("spec") or {})
    if spec is None or errors:
        raise CliError(f"pipeline {args.pipeline} is not valid: {join_errors(errors)}")
    if spec.schedule is None:
        raise CliError(
            f"pipeline {args.pipeline} has no schedule: backfill needs one to know its slots", EXIT_USAGE
        )
    schedule = schedule_of(spec.schedule)
    assert schedule is not None  # the spec is valid
    start, end = parse_bound(args.start, schedule, end=False), parse_bound(args.end, schedule, end=True)
    if end < start:
        raise CliError(f"--to {args.end} is before --from {args.start}", EXIT_USAGE)
    slots = slots_between(schedule, start, end)
    if not slots:
        print(f"no slot of {spec.schedule.cron} ({schedule.zone.key}) between {args.start} and {args.end}")
        return EXIT_OK
    if len(slots) > CONFIRM_ABOVE and not args.yes and not args.dry_run:
        raise CliError(
            f"{len(slots):,} slots: pass --yes to create that many runs (or --dry-run to list them)"
        )
    overrides = parse_params(args.params)
    existing = {run["metadata"]["name"]: run for run in api.runs()}
    plan = [
        Slot(slot, name, existing.get(name))
        for slot in slots
        for name in [scheduled_run_name(args.pipeline, slot)]
    ]
    bodies: dict[str, dict[str, Any]] = {}
    for item in plan:
        if item.existing is None:
            params = {**scheduled_params(spec.schedule, schedule, item.slot), **overrides}
            check_params(pipeline, params)
            bodies[item.name] = run_body(pipeline, item.name, item.slot, params, trigger="backfill")
            bodies[item.name]["metadata"]["namespace"] = api.namespace
    created: list[str] = []
    for item in plan:
        phase = ((item.existing or {}).get("status") or {}).get("phase")
        if item.existing is None:
            if args.dry_run:
                print(_line(item, schedule.zone, "would be created"))
                continue
            if _create(api, bodies[item.name]):
                created.append(item.name)
                print(_line(item, schedule.zone, "created"))
            else:  # the scheduler (or another backfill) was there first, between the list and now
                print(_line(item, schedule.zone, "skipped (exists: created meanwhile)"))
        elif not args.rerun:
            print(_line(item, schedule.zone, f"skipped (exists: {phase or 'Pending'})"))
        elif phase not in FINISHED_PHASES:
            print(_line(item, schedule.zone, f"skipped (still {phase or 'Pending'}: rerun it once it ended)"))
        elif args.dry_run:
            print(_line(item, schedule.zone, "would be rerun"))
        else:
            assert item.existing is not None
            made = api.create_run(rerun_body(args.pipeline, item.existing, spec))
            created.append(made["metadata"]["name"])
            print(_line(item, schedule.zone, f"rerun as {made['metadata']['name']}"))
    if args.dry_run:
        print(
            f"{plural(len(slots), 'slot')} from {format_time(slots[0])} to {format_time(slots[-1])} (dry run)"
        )
        return EXIT_OK
    if not args.watch or not created:
        return EXIT_OK
    return _wait(api, created, args.timeout)


def _create(api: KubeApi, body: dict[str, Any]) -> bool:
    """Create the slot's run; False when it exists already (409)."""
    from kubernetes.client.exceptions import ApiException

    try:
        api.create_run(body)
    except ApiException as error:
        if error.status == 409:
            return False
        raise
    return True


def _wait(api: KubeApi, names: list[str], timeout: float | None) -> int:
    failed = 0
    for name in names:
        phase = None
        for run in api.watch_run(name, timeout=timeout):
            phase = (run.get("status") or {}).get("phase")
            if phase in FINISHED_PHASES:
                break
        print(f"pipelinerun/{name} {phase or 'did not finish in time'}", flush=True)
        failed += phase != "Succeeded"
    if failed:
        print(f"{failed} of {len(names)} runs did not succeed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
