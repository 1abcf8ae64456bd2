"""`kubectl baton suspend RUN` / `kubectl baton resume RUN`: hold a run, then let it go on.

Each sets the run's `spec.suspend` with a merge patch, the same change as

    kubectl patch pipelinerun RUN --type merge -p '{"spec":{"suspend":true}}'

While suspended no task starts (nor a retry); running tasks finish; the run is Suspended. Resuming
continues where it stopped. The run's timeout keeps counting meanwhile.
"""

from __future__ import annotations

import argparse

from baton import GROUP
from baton.cli.kubeapi import EXIT_OK, CliError, KubeApi, add_connection_arguments, command

FINISHED = ("Succeeded", "Failed", "Cancelled")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun")
    add_connection_arguments(parser)


def _set(args: argparse.Namespace, suspend: bool) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(args.run)
        name = run["metadata"]["name"]
        phase = (run.get("status") or {}).get("phase")
        verb = "suspend" if suspend else "resume"
        if phase in FINISHED:
            raise CliError(f'pipelinerun "{name}" has already finished ({phase}): there is nothing to {verb}')
        if bool((run.get("spec") or {}).get("suspend")) == suspend:
            state = "suspended" if suspend else "not suspended"
            print(f"pipelinerun.{GROUP}/{name} is already {state}", flush=True)
            return EXIT_OK
        api.patch_run(name, {"spec": {"suspend": suspend}})
        what = "no new task starts; running ones finish" if suspend else "its tasks start again"
        done = "suspended" if suspend else "resumed"
        print(f"pipelinerun.{GROUP}/{name} {done} ({what})", flush=True)
        return EXIT_OK
    finally:
        api.close()


@command
def suspend_main(args: argparse.Namespace) -> int:
    return _set(args, True)


@command
def resume_main(args: argparse.Namespace) -> int:
    return _set(args, False)
