"""`baton operator`: run the kopf operator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import kopf


def _configure_logging(fmt: str, verbose: bool) -> None:
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.JSON if fmt == "json" else kopf.LogFormat.PLAIN)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def _run(args: argparse.Namespace) -> None:
    from baton.controller.operator import run_operator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_operator(
        namespaces=args.namespaces,
        metrics_port=args.metrics_port,
        liveness_endpoint=args.liveness or None,
        stop_flag=stop,
    )


def main(args: argparse.Namespace) -> int:
    _configure_logging(args.log_format, args.verbose)
    try:
        asyncio.run(_run(args))
    except kopf.LoginError as error:
        print(f"baton operator: {error}", file=sys.stderr)
        return 1
    return 0
