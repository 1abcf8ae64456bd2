"""`kubectl baton suspend RUN` / `kubectl baton resume RUN`: hold a run, then let it go on.

Each sets the run's `spec.suspend` with a merge patch, the same change as

    kubectl patch pipelinerun RUN --type merge -p '{"spec":{"suspend":true}}'

While suspended no task starts (nor a retry); running tasks finish; the run is Suspended. Resuming
continues where it stopped. The run's timeout keeps counting meanwhile.
"""

from __future__ import annotations

import argparse

from baton.cli.acting import change_as
from baton.cli.kubeapi import EXIT_OK, KubeApi, add_connection_arguments, command
from baton.core.actors import Verb
from baton.core.run_actions import suspend_change


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun")
    add_connection_arguments(parser)


def _set(args: argparse.Namespace, suspend: bool) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(args.run)
        verb = Verb.SUSPEND if suspend else Verb.RESUME
        change = change_as(api, run, lambda now: suspend_change(now, suspend), verb)
        print(change.message, flush=True)
        return EXIT_OK
    finally:
        api.close()


@command
def suspend_main(args: argparse.Namespace) -> int:
    return _set(args, True)


@command
def resume_main(args: argparse.Namespace) -> int:
    return _set(args, False)
