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
from typing import Any

from baton import GROUP
from baton.cli.kubeapi import EXIT_OK, CliError, KubeApi, add_connection_arguments, command

FINISHED = ("Succeeded", "Failed", "Cancelled")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun to cancel")
    parser.add_argument(
        "--no-finally", action="store_true", help="stop and skip the finally tasks too (default: they run)"
    )
    parser.add_argument("-m", "--message", help="why, shown in the run's status and Events")
    parser.add_argument("-w", "--watch", action="store_true", help="follow the run to its end")
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    add_connection_arguments(parser)


def cancel_patch(run_finally: bool, message: str | None) -> dict[str, Any]:
    cancel: dict[str, Any] = {"runFinally": run_finally}
    if message:
        cancel["message"] = message
    return {"spec": {"cancel": cancel}}


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(args.run)
        name = run["metadata"]["name"]
        phase = (run.get("status") or {}).get("phase")
        if phase in FINISHED:
            raise CliError(f'pipelinerun "{name}" has already finished ({phase}): there is nothing to cancel')
        cancel = (run.get("spec") or {}).get("cancel")
        timed_out = any(
            c.get("type") == "Succeeded" and c.get("reason") == "TimingOut"
            for c in (run.get("status") or {}).get("conditions") or ()
        )
        if cancel is not None and (not args.no_finally or cancel.get("runFinally") is False):
            print(f"pipelinerun.{GROUP}/{name} is already being cancelled", flush=True)
        elif cancel is not None or (timed_out and args.no_finally):
            # Its tasks were stopped already (a cancel, the timeout): only its finally tasks run.
            api.patch_run(name, {"spec": {"cancel": {"runFinally": False}}})
            print(f"pipelinerun.{GROUP}/{name}: its finally tasks are stopped too", flush=True)
        elif timed_out:
            print(
                f"pipelinerun.{GROUP}/{name} has timed out already: its finally tasks run "
                "(--no-finally stops them)",
                flush=True,
            )
        else:
            api.patch_run(name, cancel_patch(not args.no_finally, args.message))
            what = "finally tasks are stopped or skipped" if args.no_finally else "finally tasks still run"
            print(f"pipelinerun.{GROUP}/{name} cancelled (running Jobs are deleted; {what})", flush=True)
        if not args.watch:
            return EXIT_OK
        from baton.cli.run import follow

        follow(api, name, sys.stdout, timeout=args.timeout)
        return EXIT_OK  # the cancel did what was asked, whatever the run's phase says
    finally:
        api.close()
