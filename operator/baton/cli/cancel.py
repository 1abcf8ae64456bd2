"""`kubectl baton cancel RUN [--no-finally] [--message TEXT] [--watch]`: cancel a run.

Sets the run's `spec.cancel` with a merge patch, the same change as

    kubectl patch pipelinerun RUN --type merge -p '{"spec":{"cancel":{}}}'

so a cancel by hand, by GitOps or by this command is one and the same. The operator then deletes the
run's running Jobs, skips the tasks that have not started, runs the finally tasks (unless
`--no-finally`), and the run ends Cancelled. With `--watch` the command follows it to that end.

`--no-finally` also stops finally tasks already running: after an earlier cancel (it sets that cancel's
`runFinally` to false) or after the run's timeout (the run still ends Failed with reason Timeout).
"""

from __future__ import annotations

import argparse
import sys

from baton.cli.acting import change_as
from baton.cli.kubeapi import EXIT_OK, KubeApi, add_connection_arguments, command
from baton.core.actors import Verb
from baton.core.run_actions import cancel_change


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun to cancel")
    parser.add_argument(
        "--no-finally", action="store_true", help="stop and skip the finally tasks too (default: they run)"
    )
    parser.add_argument("-m", "--message", help="why, shown in the run's status and Events")
    parser.add_argument("-w", "--watch", action="store_true", help="follow the run to its end")
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    add_connection_arguments(parser)


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(args.run)
        name = run["metadata"]["name"]
        change = change_as(
            api,
            run,
            lambda now: cancel_change(now, run_finally=not args.no_finally, message=args.message),
            Verb.CANCEL,
        )
        print(change.message, flush=True)
        if not args.watch:
            return EXIT_OK
        from baton.cli.run import follow

        follow(api, name, sys.stdout, timeout=args.timeout)
        return EXIT_OK  # the cancel did what was asked, whatever the run's phase says
    finally:
        api.close()
