"""`baton ui`: serve Baton's web UI locally, reading the cluster with your own credentials.

    baton ui                          # http://127.0.0.1:8080, the context's namespace
    baton ui -A --port 9000           # every namespace
    baton ui -n etl -n reporting      # these namespaces
    baton ui --read-only              # no action buttons

It listens on loopback unless `--address` says otherwise: anyone who can reach it sees what your
credentials see, and does what they may. The pages are server-rendered HTML; a run page follows its run
live (server-sent events). Its actions (run, retry, cancel, suspend, resume) are recorded on the run as
yours (who the API server says your credentials are).

Behind an authenticating proxy (the chart's `ui.impersonation`), `--impersonate-user-header` makes every
API request impersonate the user the proxy names: that user's RBAC applies, not the UI's.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys

from baton.cli.kubeapi import EXIT_FAILED, EXIT_OK, EXIT_USAGE

USER_AGENT = "baton-ui"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-n", "--namespace", action="append", default=[], dest="namespaces", type=_namespace,
        help="show this namespace (repeatable; default: the context's namespace)",
    )  # fmt: skip
    where.add_argument("-A", "--all-namespaces", action="store_true", help="show every namespace")
    parser.add_argument("--read-only", action="store_true", help="show no actions and refuse them")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        dest="allowed_hosts",
        metavar="NAME",
        help="a host name it is served under (repeatable; any other Host header is refused: DNS rebinding)",
    )
    parser.add_argument(
        "--impersonate-user-header",
        metavar="HEADER",
        help="act as the user this request header names (set by an authenticating proxy), never as itself",
    )
    parser.add_argument(
        "--impersonate-groups-header",
        metavar="HEADER",
        help="with --impersonate-user-header: the header with the user's groups (comma-separated)",
    )


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a port number') from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a port: 1 to 65535")
    return port


def _namespace(text: str) -> str:
    from baton.ui.server import NAMESPACE

    if len(text) > 63 or not NAMESPACE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f'"{text[:80]}" is not a namespace name (lowercase letters, digits, -)'
        )
    return text


def answered_hosts(address: str, allowed: list[str]) -> set[str]:
    """The host names the UI answers (empty: any). Loopback's names always (a port-forward reaches it
    as localhost), the listening address, and the names it is served under (`--allowed-host`); beyond
    loopback without any, every name (and it warned)."""
    if not allowed and not _loopback(address):
        return set()
    named = [f"[{address}]" if ":" in address else address, *allowed]
    return {*LOOPBACK_NAMES, *(name.lower() for name in named if name not in ("0.0.0.0", "[::]"))}


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
    hosts = answered_hosts(args.address, args.allowed_hosts)
    ui = Ui(
        client,
        namespaces,
        hosts=hosts,
        actions=not args.read_only,
        user_header=args.impersonate_user_header,
        groups_header=args.impersonate_groups_header,
    )
    runner = web.AppRunner(ui.app(), access_log=None)
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
    if args.impersonate_groups_header and not args.impersonate_user_header:
        print("error: --impersonate-groups-header needs --impersonate-user-header", file=sys.stderr)
        return EXIT_USAGE
    if not _loopback(args.address) and not args.impersonate_user_header:
        print(
            f"warning: listening on {args.address}: anyone who reaches it sees what your credentials see",
            file=sys.stderr,
        )
    if not _loopback(args.address) and not args.allowed_hosts:
        print(
            "warning: no --allowed-host: it answers any host name, so a web page can rebind its own name "
            "to this address and use it",
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
