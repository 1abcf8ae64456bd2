"""`baton` (and `kubectl baton`): one entry point, one module per command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from baton import __version__


def _devcluster(args: argparse.Namespace) -> int:
    from baton.cli.devcluster import up

    return up(args)


def _lint(args: argparse.Namespace) -> int:
    from baton.cli import lint

    return lint.main(args.files)


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
    up.set_defaults(handler=_devcluster)

    lint = commands.add_parser("lint", help="validate Pipeline and PipelineRun manifests offline")
    lint.add_argument("files", nargs="+", metavar="FILE")
    lint.set_defaults(handler=_lint)
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
