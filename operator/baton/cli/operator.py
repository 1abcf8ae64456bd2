"""`baton operator`: run the kopf operator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import kopf

from baton.logs import configure


async def _run(args: argparse.Namespace) -> None:
    from baton.controller.operator import run_operator

    # kopf installs its own SIGINT/SIGTERM handlers in the main thread and stops gracefully on them; a
    # stop flag of ours would never be set (kopf's handlers replace ours) and only delay the exit.
    await run_operator(
        namespaces=args.namespaces,
        metrics_port=args.metrics_port,
        metrics_host=getattr(args, "metrics_host", "0.0.0.0"),
        liveness_endpoint=args.liveness or None,
        schedule_clock=_moved_clock(getattr(args, "schedule_clock_offset", 0.0)),
    )


def _moved_clock(offset: float) -> Callable[[], datetime] | None:
    if not offset:
        return None
    moved = timedelta(seconds=offset)
    return lambda: datetime.now(UTC) + moved


def main(args: argparse.Namespace) -> int:
    configure(args.log_format, verbose=args.verbose)
    try:
        asyncio.run(_run(args))
    except kopf.LoginError as error:
        print(f"baton operator: {error}", file=sys.stderr)
        return 1
    return 0
