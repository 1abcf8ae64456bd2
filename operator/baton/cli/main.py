"""`baton` (and `kubectl baton`): one entry point, one module per command."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from baton import __version__


def _devcluster(args: argparse.Namespace) -> int:
    from baton.cli.devcluster import up

    return up(args)


def _lint(args: argparse.Namespace) -> int:
    from baton.cli import lint

    return lint.run(args)


def _dev(args: argparse.Namespace) -> int:
    from baton.cli.dev import main as dev_main

    return dev_main(args)


def _operator(args: argparse.Namespace) -> int:
    from baton.cli.operator import main as operator_main

    return operator_main(args)


def _bench(args: argparse.Namespace) -> int:
    from baton.cli.bench import main as bench_main

    return bench_main(args)


def duration(text: str) -> float:
    """Seconds from "90", "90s", "5m", "1h30m" (argparse turns the ValueError into a usage error)."""
    parts = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or parts is None or not any(parts.groups()):
        raise argparse.ArgumentTypeError(f'"{text}" is not a duration (90, 90s, 5m, 1h30m)')
    hours, minutes, seconds = parts.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise argparse.ArgumentTypeError(f'"{text}" is not a positive duration')
    return total


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Baton: Kubernetes-native data pipelines.")
    parser.add_argument("--version", action="version", version=f"baton {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    devcluster = commands.add_parser("devcluster", help="the embedded Kubernetes dev cluster")
    dev_commands = devcluster.add_subparsers(dest="devcluster_command", metavar="SUBCOMMAND", required=True)
    up = dev_commands.add_parser("up", help="serve the dev cluster in the foreground until interrupted")
    up.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig for clients")
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    up.add_argument("--workdir", help="where Pods' sandboxes and logs go (default: a temporary folder)")
    up.add_argument("--instant", action="store_true", help="complete Jobs at once without running processes")
    up.add_argument(
        "--no-crds",
        dest="crds",
        action="store_false",
        help="do not install Baton's CRDs (tests that bring their own)",
    )
    up.add_argument(
        "--with-operator", action="store_true", help="also run the Baton operator, in every namespace"
    )
    up.add_argument(
        "--faults",
        metavar="PROFILES",
        help="test only: fail on purpose, e.g. errors,throttle,conflicts,latency,watch-drops,down or all "
        "(see the dev cluster's README)",
    )
    up.add_argument("--faults-seed", type=int, default=0, metavar="N", help="seed of the faults' draws")
    up.set_defaults(handler=_devcluster)

    lint = commands.add_parser("lint", help="validate Pipeline and PipelineRun manifests offline")
    from baton.cli.lint import add_arguments as add_lint_arguments

    add_lint_arguments(lint)
    lint.set_defaults(handler=_lint)

    dev = commands.add_parser("dev", help="run pipeline manifests end to end on the embedded dev cluster")
    dev.add_argument("files", nargs="+", metavar="FILE")
    dev.add_argument("-n", "--namespace", default="default", help="namespace for objects that name none")
    dev.add_argument(
        "--timeout",
        type=duration,
        default=600.0,
        metavar="DURATION",
        help="give up after this long: 90, 90s, 5m, 1h30m (default 10m)",
    )
    from baton.cli.run import add_param_argument

    add_param_argument(dev, "a param of the runs baton dev starts (repeatable)")
    dev.add_argument(
        "--expect-results",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="exit 1 unless every run ended with this result (repeatable): a pipeline's own test in CI",
    )
    dev.add_argument(
        "--keep",
        action="store_true",
        help="keep the cluster's folder (workspace files, Pod logs) and say where",
    )
    dev.set_defaults(handler=_dev)

    operator = commands.add_parser("operator", help="run the Baton operator against the current cluster")
    operator.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        dest="namespaces",
        help="watch only this namespace (repeatable; default: all namespaces)",
    )
    operator.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics here")
    operator.add_argument(
        "--metrics-address",
        default="127.0.0.1",
        dest="metrics_host",
        help="address the metrics server listens on (default: loopback only; the chart gives 0.0.0.0)",
    )
    operator.add_argument(
        "--liveness",
        default="http://127.0.0.1:8080/healthz",
        help="liveness endpoint URL, loopback by default (empty to disable; the chart gives 0.0.0.0)",
    )
    from baton.cli.operator import add_client_arguments, add_leader_arguments

    add_client_arguments(operator)
    add_leader_arguments(operator)
    operator.add_argument(
        "--schedule-clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="test only: schedules read the clock moved by SECONDS (the benchmark brings a slot near)",
    )
    operator.add_argument("--log-format", choices=("json", "text", "auto"), default="auto")
    operator.add_argument("-v", "--verbose", action="store_true")
    operator.set_defaults(handler=_operator)

    from baton.cli import backfill, cancel, retry  # kubectl plugin commands that steer runs

    for module, help_text in (
        (backfill, "create the runs of a Pipeline's schedule for a range of past slots, each once"),
        (cancel, "cancel a run: delete its running Jobs, skip the rest, still run finally tasks"),
        (retry, "retry a finished run, reusing the tasks that succeeded (--from TASK: re-run a sub-DAG)"),
    ):
        name = module.__name__.rsplit(".", 1)[1]
        steer = commands.add_parser(name, help=help_text, description=module.__doc__)
        steer.formatter_class = argparse.RawDescriptionHelpFormatter
        module.add_arguments(steer)
        steer.set_defaults(handler=module.main)

    from baton.cli import suspend

    for name, handler, help_text in (
        ("suspend", suspend.suspend_main, "hold a run: no new task starts, running ones finish"),
        ("resume", suspend.resume_main, "let a suspended run go on where it stopped"),
    ):
        held = commands.add_parser(name, help=help_text, description=suspend.__doc__)
        held.formatter_class = argparse.RawDescriptionHelpFormatter
        suspend.add_arguments(held)
        held.set_defaults(handler=handler)

    from baton.cli.plugin import add_commands as add_plugin_commands

    add_plugin_commands(commands)  # run, graph, logs: the kubectl plugin

    from baton.cli import ui

    ui_parser = commands.add_parser("ui", help="serve Baton's web UI locally", description=ui.__doc__)
    ui_parser.formatter_class = argparse.RawDescriptionHelpFormatter
    ui.add_arguments(ui_parser)
    ui_parser.set_defaults(handler=ui.main)

    from baton.cli.crds import add_arguments as crds_arguments

    crds = commands.add_parser(
        "crds", help="print, check or apply the CRDs this build of Baton was made with"
    )
    crds_arguments(crds)

    from baton.cli.bench import add_arguments as bench_arguments

    bench = commands.add_parser("bench", help="benchmark the operator against the dev cluster (instant mode)")
    bench_arguments(bench)
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
