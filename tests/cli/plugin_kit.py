"""Helpers for the plugin's tests: run `baton ARGS…` in this process and capture what it prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from operator_kit import Api

from baton.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Plugin:
    """`baton ARGS…` in this process, against one namespace; output captured."""

    namespace: str
    api: Api
    kubeconfig: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, namespaced: bool = True) -> Result:
        argv = list(args) + (["-n", self.namespace] if namespaced else [])
        self.capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)
