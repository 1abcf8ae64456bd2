"""`kubectl baton why RUN`: why a run ended as it did, from its status alone.

For a failed, timed-out or cancelled run: every failure, first first, with the exit codes of its attempts
and the last line of the log tail the status kept, then the tasks it skipped downstream; the tasks the
timeout or the cancel stopped; how the finally tasks ended. It needs no Pod or Job, so it still answers
after they were deleted. RUN may also name a Pipeline: then its newest run.
"""

from __future__ import annotations

import argparse
import sys

from baton.api.codec import load_run_status
from baton.cli.kubeapi import EXIT_OK, KubeApi, add_connection_arguments, command
from baton.cli.logs import run_name
from baton.core.explain import explain


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun (or a Pipeline: its newest run)")
    add_connection_arguments(parser)


@command
def main(args: argparse.Namespace) -> int:
    api = KubeApi.from_args(args)
    try:
        run = api.get_run(run_name(api, args.run))
        status = load_run_status(run.get("status"))
        for line in explain(run["metadata"]["name"], status):
            print(line)
        sys.stdout.flush()
        return EXIT_OK
    finally:
        api.close()
