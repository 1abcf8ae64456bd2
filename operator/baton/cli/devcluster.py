"""`baton devcluster up`: serve the dev cluster until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from baton.devcluster.cluster import DevCluster


async def _serve(args: argparse.Namespace) -> None:
    cluster = DevCluster(
        port=args.port, workdir=Path(args.workdir) if args.workdir else None, instant=args.instant
    )
    await cluster.start()
    try:
        path = cluster.write_kubeconfig(Path(args.kubeconfig))
        print(f"dev cluster serving on {cluster.url} (127.0.0.1 only, bearer token required)", flush=True)
        print(f"kubeconfig written to {path}; try: KUBECONFIG={path} kubectl get namespaces", flush=True)
        print("images are not pulled: each container's command runs as a local process", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await cluster.stop()


def up(args: argparse.Namespace) -> int:
    try:
        asyncio.run(_serve(args))
    except OSError as error:
        print(f"baton devcluster: cannot serve: {error}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        print("dev cluster stopped", flush=True)
    return 0
