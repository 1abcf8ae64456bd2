"""`baton operator`: run the kopf operator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import kopf

from baton.controller.leader import LeaderElection
from baton.core.api_retry import BURST, QPS
from baton.core.leases import Timing
from baton.logs import configure


async def _run(args: argparse.Namespace) -> None:
    from baton.controller.operator import run_operator

    # kopf installs its own SIGINT/SIGTERM handlers in the main thread and stops gracefully on them; a
    # stop flag of ours would never be set (kopf's handlers replace ours) and only delay the exit.
    await run_operator(
        namespaces=args.namespaces,
        metrics_port=args.metrics_port,
        metrics_host=getattr(args, "metrics_host", "127.0.0.1"),
        liveness_endpoint=args.liveness or None,
        schedule_clock=_moved_clock(getattr(args, "schedule_clock_offset", 0.0)),
        leader_election=leader_election(args),
        qps=getattr(args, "kube_api_qps", QPS),
        burst=getattr(args, "kube_api_burst", BURST),
    )


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kube-api-qps",
        type=float,
        default=QPS,
        metavar="N",
        help=f"client-side rate limit of API requests a second ({QPS:g}; see the README for why)",
    )
    parser.add_argument(
        "--kube-api-burst", type=int, default=BURST, metavar="N", help=f"requests allowed at once ({BURST})"
    )


def add_leader_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("leader election (two or more replicas)")
    group.add_argument(
        "--leader-elect",
        action="store_true",
        help="reconcile only while holding a coordination.k8s.io Lease; standbys watch and take over",
    )
    group.add_argument("--leader-elect-lease-name", default="baton-operator", metavar="NAME")
    group.add_argument(
        "--leader-elect-namespace", default=None, metavar="NS", help="default: the operator's own namespace"
    )
    defaults = Timing()
    for flag, default, what in (
        ("--leader-elect-lease-duration", defaults.lease_duration, "how long a lease lasts unrenewed"),
        ("--leader-elect-renew-deadline", defaults.renew_deadline, "a leader that cannot renew stops then"),
        ("--leader-elect-retry-period", defaults.retry_period, "how often each replica looks at the Lease"),
    ):
        group.add_argument(flag, type=float, default=default, metavar="SECONDS", help=f"{what} ({default:g})")


def leader_election(args: argparse.Namespace) -> LeaderElection | None:
    """The leader election asked for (None without --leader-elect); ValueError says what is wrong."""
    if not getattr(args, "leader_elect", False):
        return None
    timing = Timing(
        lease_duration=args.leader_elect_lease_duration,
        renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period,
    )
    problems = timing.problems()
    if problems:
        raise ValueError("; ".join(problems))
    return LeaderElection(
        name=args.leader_elect_lease_name, namespace=args.leader_elect_namespace, timing=timing
    )


def _moved_clock(offset: float) -> Callable[[], datetime] | None:
    if not offset:
        return None
    moved = timedelta(seconds=offset)
    return lambda: datetime.now(UTC) + moved


def main(args: argparse.Namespace) -> int:
    configure(args.log_format, verbose=args.verbose)
    try:
        leader_election(args)
        if getattr(args, "kube_api_qps", QPS) <= 0 or getattr(args, "kube_api_burst", BURST) < 1:
            raise ValueError("--kube-api-qps must be positive and --kube-api-burst at least 1")
    except ValueError as error:
        print(f"baton operator: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args))
    except kopf.LoginError as error:
        print(f"baton operator: {error}", file=sys.stderr)
        return 1
    return 0
