"""`kubectl baton retry RUN [--from TASK]... [--watch]`: run a finished run again from where it failed.

Creates a new PipelineRun (`generateName: PIPELINE-retry-`) with `spec.retryOf: RUN`, the same as
applying

    apiVersion: baton.dev/v1alpha1
    kind: PipelineRun
    metadata: {generateName: daily-sales-retry-}
    spec: {retryOf: RUN, retryFrom: [TASK]}

The new run uses RUN's frozen spec and params; the tasks that succeeded in RUN are reused (Succeeded,
marked as reused from RUN, no Job), the others run again. `--from TASK` also runs TASK and everything
downstream of it again, even if they succeeded. RUN itself is left as it was. With `--watch` the command
follows the new run and exits with its result.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from baton.cli.acting import create_as
from baton.cli.kubeapi import CliError, KubeApi, add_connection_arguments, command
from baton.core import run_actions
from baton.core.actors import Verb


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the finished PipelineRun to retry")
    parser.add_argument(
        "--from",
        action="append",
        default=[],
        dest="tasks",
        metavar="TASK",
        help="also run TASK and everything downstream of it again, even if they succeeded (repeatable)",
    )
    parser.add_argument(
        "-w", "--watch", action="store_true", help="follow the new run and exit with its result"
    )
    parser.add_argument("--timeout", type=float, default=None, help="with --watch: give up after SECONDS")
    parser.add_argument("-o", "--output", choices=("json", "yaml", "name"), help="print the created run")
    add_connection_arguments(parser)


def retry_run(old: Mapping[str, Any], tasks: Sequence[str], namespace: str) -> dict[str, Any]:
    """The PipelineRun that retries ``old`` (checked: finished, started, ``tasks`` known)."""
    try:
        return run_actions.retry_run(old, tasks, namespace)
    except run_actions.ActionRefused as refused:
        flag = f"--{refused.field}: " if refused.field else ""
        raise CliError(flag + refused.message) from None


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        old = api.get_run(args.run)
        from baton.cli.run import announce

        return announce(api, create_as(api, retry_run(old, args.tasks, api.namespace), Verb.RETRY), args)
    finally:
        api.close()
