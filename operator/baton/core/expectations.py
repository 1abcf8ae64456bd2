"""`baton dev --expect-results NAME=VALUE`: does a run's result say what a pipeline's own test expects?

A value matches when it is the same text, or when both are JSON and equal as JSON (`12` and `12.0`,
`["eu","us"]` and `["eu", "us"]`): results are recorded as compact JSON text, a test writes them by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from baton.core.status import shorten


def result_mismatches(expected: Mapping[str, str], results: Mapping[str, str]) -> list[str]:
    """What differs between ``expected`` and a run's ``results`` (name → value), one line each."""
    problems = []
    for name, want in expected.items():
        if name not in results:
            known = ", ".join(sorted(results)) or "none"
            problems.append(f'no result "{name}" (its results: {known})')
        elif not _same(results[name], want):
            problems.append(f'result "{name}" is {_short(results[name])}, expected {_short(want)}')
    return problems


def _same(got: str, want: str) -> bool:
    if got == want:
        return True
    try:
        return bool(json.loads(got) == json.loads(want))
    except ValueError:
        return False


def _short(value: str, limit: int = 80) -> str:
    return repr(shorten(value, limit))
