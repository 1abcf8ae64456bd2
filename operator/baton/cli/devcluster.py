"""`baton devcluster up`: serve the dev cluster until interrupted, with Baton's CRDs installed (unless
`--no-crds`) and, with `--with-operator`, the operator running against it in the same process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from baton.cli.dev import install_crds
from baton.devcluster.cluster import DevCluster
from baton.devcluster.faults import FaultPlan, plan_of
from baton.idle_gc import collected_when_idle


async def _serve(args: argparse.Namespace, faults: FaultPlan | None) -> None:
    cluster = DevCluster(
        port=args.port,
        workdir=Path(args.workdir) if args.workdir else None,
        instant=args.instant,
        faults=faults,
    )
    await cluster.start()
    with collected_when_idle(lambda: cluster.store.resource_version):
        await _serving(cluster, args, faults)


async def _serving(cluster: DevCluster, args: argparse.Namespace, faults: FaultPlan | None) -> None:
    operator: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    try:
        if args.crds:
            install_crds(cluster)
        path = cluster.write_kubeconfig(Path(args.kubeconfig))
        print(f"dev cluster serving on {cluster.url} (127.0.0.1 only, bearer token required)", flush=True)
        print(f"kubeconfig written to {path}; try: KUBECONFIG={path} kubectl get namespaces", flush=True)
        print("images are not pulled: each container's command runs as a local process", flush=True)
        if args.crds:
            print("Baton's CRDs are installed (Pipelines, PipelineRuns, Datasets)", flush=True)
        if faults is not None:
            print(f"FAULTS injected on purpose (test only): {args.faults}", flush=True)
        if args.with_operator:
            from baton.controller.operator import run_operator

            os.environ["KUBECONFIG"] = str(path)
            ready = asyncio.Event()
            operator = asyncio.create_task(run_operator(stop_flag=stop, ready_flag=ready))
            await asyncio.wait_for(ready.wait(), 60)
            print("the Baton operator runs here, in every namespace", flush=True)
        else:
            print(
                f"start the operator with: KUBECONFIG={path} baton operator (or use --with-operator)",
                flush=True,
            )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        stop.set()
        if operator is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(operator, 10)
        await cluster.stop()


def up(args: argparse.Namespace) -> int:
    faults = None
    if getattr(args, "faults", None):
        try:
            faults = plan_of(args.faults, seed=args.faults_seed)
        except ValueError as error:
            print(f"baton devcluster: {error}", file=sys.stderr)
            return 2
    try:
        asyncio.run(_serve(args, faults))
    except OSError as error:
        print(f"baton devcluster: cannot serve: {error}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        print("dev cluster stopped", flush=True)
    return 0
