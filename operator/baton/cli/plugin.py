"""The kubectl plugin's commands (`kubectl baton …`, also `baton …`), registered on the main parser.

Each command lives in its own module with `add_arguments(parser)` and `main(args) -> int`, and shares
the connection flags, errors and exit codes of `baton.cli.kubeapi` and the output of `baton.cli.output`.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

# (command, module, help)
COMMANDS = (
    ("run", "baton.cli.run", "create a PipelineRun of a Pipeline (--watch: follow it to its end)"),
    ("graph", "baton.cli.graph", "draw a run's or a Pipeline's task graph (--watch: live)"),
    ("logs", "baton.cli.logs", "print the logs of a run's tasks (-f: follow)"),
    ("why", "baton.cli.why", "explain why a run failed: each failure, its exit codes, what it skipped"),
    ("describe", "baton.cli.describe", "describe a run, what a person reads first: phase, tasks, Events"),
    (
        "lineage",
        "baton.cli.lineage",
        "show where a dataset came from and went, or a run's datasets, as a tree",
    ),
)


def add_commands(commands: Any) -> None:
    """Add the plugin's commands to `commands` (the main parser's subparsers)."""
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(module_name)
        parser: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, description=module.__doc__
        )
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        module.add_arguments(parser)
        parser.set_defaults(handler=module.main)
