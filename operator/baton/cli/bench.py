"""`baton bench`: how fast Baton orchestrates and what it costs the API server (see baton.bench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = ".bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from baton.bench import SCENARIO_NAMES

    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI keeps the benchmark working)")
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"where bench.json and bench.md go ({DEFAULT_OUT})"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        dest="scenarios",
        choices=SCENARIO_NAMES,
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        dest="sizes",
        metavar="NAME=VALUE",
        help="override one size, e.g. chain=500 or rss_runs=2000 (repeatable)",
    )


def main(args: argparse.Namespace) -> int:
    from baton.bench.runner import run_bench
    from baton.bench.sizes import FULL, SMOKE, with_overrides

    try:
        sizes = with_overrides(SMOKE if args.smoke else FULL, args.sizes)
    except ValueError as error:
        print(f"baton bench: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    report = run_bench(
        sizes,
        out,
        scenarios=args.scenarios,
        smoke=args.smoke,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print((out / "bench.md").read_text())
    print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}", file=sys.stderr)
    return 0 if all(s.completed for s in report.scenarios) else 1
