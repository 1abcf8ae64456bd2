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
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from baton import GROUP, VERSION
from baton.cli.kubeapi import CliError, KubeApi, add_connection_arguments, command
from baton.kube.names import label_value

RETRY_OF_LABEL = f"{GROUP}/retry-of"
PIPELINE_LABEL = f"{GROUP}/pipeline"
FINISHED = ("Succeeded", "Failed", "Cancelled")


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
    from baton.api.codec import load_run_status

    name = old["metadata"]["name"]
    raw = old.get("status") or {}
    phase = raw.get("phase")
    if phase not in FINISHED:
        raise CliError(
            f'pipelinerun "{name}" has not finished (it is {phase or "Pending"}): wait for it to end, '
            f"or cancel it first (kubectl baton cancel {name})"
        )
    status = load_run_status(raw)
    spec = status.pipeline_spec
    if spec is None:
        why = status.condition("Succeeded")
        detail = f" ({why.reason}: {why.message})" if why is not None else ""
        raise CliError(f'pipelinerun "{name}" never started{detail}: there is nothing to retry')
    known = [task.name for task in spec.all_tasks()]
    for task in tasks:
        if task not in known:
            close = difflib.get_close_matches(task, known, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise CliError(f'--from: run "{name}" has no task "{task}"{hint}; its tasks: {", ".join(known)}')
    if phase == "Succeeded" and not tasks:
        raise CliError(
            f'pipelinerun "{name}" succeeded: there is nothing to retry '
            "(use --from TASK to run a task and what depends on it again)"
        )
    base = status.pipeline or name
    labels = {RETRY_OF_LABEL: label_value(name)}
    if status.pipeline:
        labels[PIPELINE_LABEL] = label_value(status.pipeline)
    run_spec: dict[str, Any] = {"retryOf": name}
    if tasks:
        run_spec["retryFrom"] = list(dict.fromkeys(tasks))
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {"generateName": f"{base[:40]}-retry-", "namespace": namespace, "labels": labels},
        "spec": run_spec,
    }


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        old = api.get_run(args.run)
        from baton.cli.run import announce

        return announce(api, api.create_run(retry_run(old, args.tasks, api.namespace)), args)
    finally:
        api.close()
