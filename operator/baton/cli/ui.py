"""`baton ui`: serve Baton's web UI locally, reading the cluster with your own credentials.

    baton ui                          # http://127.0.0.1:8080, the context's namespace
    baton ui -A --port 9000           # every namespace
    baton ui -n etl -n reporting      # these namespaces

It listens on loopback unless `--address` says otherwise: anyone who can reach it sees what your
credentials see. The pages are server-rendered HTML without script; they show what the cluster holds
when they are loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys

from baton.cli.kubeapi import EXIT_FAILED, EXIT_OK

USER_AGENT = "baton-ui"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-n", "--namespace", action="append", default=[], dest="namespaces",
        help="show this namespace (repeatable; default: the context's namespace)",
    )  # fmt: skip
    where.add_argument("-A", "--all-namespaces", action="store_true", help="show every namespace")


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


async def serve(args: argparse.Namespace, ready: asyncio.Event | None = None) -> None:
    from aiohttp import web

    from baton.controller.client import KubeClient, connection_info
    from baton.ui.server import Ui

    info = connection_info()
    namespaces = None if args.all_namespaces else (args.namespaces or [info.default_namespace or "default"])
    client = KubeClient(info, user_agent=USER_AGENT)
    # On loopback, only the names of loopback: a web page that rebinds its own name to 127.0.0.1 cannot
    # read through it. Beyond loopback the names are the network's to give (and it warned).
    hosts = (
        {f"{host}:{args.port}" for host in ("127.0.0.1", "localhost", "[::1]", args.address)}
        if _loopback(args.address)
        else set()
    )
    runner = web.AppRunner(Ui(client, namespaces, hosts=hosts).app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.address, args.port)
        await site.start()
        shown = "every namespace" if namespaces is None else ", ".join(namespaces)
        print(f"Baton UI on http://{args.address}:{args.port}/ ({shown}); Ctrl-C stops it", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await client.close()


def main(args: argparse.Namespace) -> int:
    if args.kubeconfig:
        if not os.path.exists(args.kubeconfig):
            print(f"error: kubeconfig {args.kubeconfig} not found", file=sys.stderr)
            return EXIT_FAILED
        os.environ["KUBECONFIG"] = args.kubeconfig
    if not _loopback(args.address):
        print(
            f"warning: listening on {args.address}: anyone who reaches it sees what your credentials see",
            file=sys.stderr,
        )
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as error:
        print(f"error: cannot serve on {args.address}:{args.port}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # kopf's LoginError: no credentials
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
