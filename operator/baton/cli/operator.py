"""`baton operator`: run the kopf operator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import kopf

from baton.logs import configure


async def _run(args: argparse.Namespace) -> None:
    from baton.controller.operator import run_operator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_operator(
        namespaces=args.namespaces,
        metrics_port=args.metrics_port,
        metrics_host=getattr(args, "metrics_host", "0.0.0.0"),
        liveness_endpoint=args.liveness or None,
        stop_flag=stop,
    )


def main(args: argparse.Namespace) -> int:
    configure(args.log_format, verbose=args.verbose)
    try:
        asyncio.run(_run(args))
    except kopf.LoginError as error:
        print(f"baton operator: {error}", file=sys.stderr)
        return 1
    return 0
