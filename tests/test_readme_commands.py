"""The README's promises, run as a user runs them: `make demo` is `baton dev` on the ETL example."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATON = Path(sys.executable).parent / "baton"


def make_recipe(target: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{target}:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_readme_names_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")


def test_make_demo_runs_the_daily_sales_pipeline_end_to_end(tmp_path: Path) -> None:
    assert make_recipe("demo") == ["$(BIN)/baton dev examples/daily-sales.yaml"]
    result = subprocess.run(
        [str(BATON), "dev", "examples/daily-sales.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(summary) if line.startswith("NAME"))
    assert summary[header].split()[:6] == ["NAME", "PIPELINE", "STATUS", "PROGRESS", "STARTED", "DURATION"]
    row = summary[header + 1].split()
    assert row[1:4] == ["daily-sales", "Succeeded", "8/8"], result.stdout
    # What the pipeline produced, not only that it succeeded: the run's results, the report among them.
    results = summary[summary.index(f"results of {row[0]}:") :]
    assert results[1] == "  revenue: 10043.25", result.stdout
    assert "    Daily sales report for 2025-01-31 (regions: apac, eu, us)" in results, result.stdout


def test_baton_dev_exits_non_zero_when_a_run_fails() -> None:
    result = subprocess.run(
        [str(BATON), "dev", "--keep", "examples/failing.yaml", "-p", "records=8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    # Why, not only what: the failure and the skips name their cause in the progress lines, and each
    # task's log is printed inline once it ended, prefixed with the task (-p set the run's param).
    assert "  prepare | prepared 8 records\n" in result.stdout
    assert (
        "  validate | validation failed: 2 of 8 records have a negative amount (ids [3, 7])\n"
        in result.stdout
    )
    assert 'upstream task "validate" failed' in result.stdout
    # --keep says where the cluster's files are (the workspace the tasks shared among them).
    kept = Path(result.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1])
    try:
        assert (kept / "cluster" / "volumes").is_dir(), result.stdout
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def test_baton_dev_rejects_bad_input_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [\n")
    result = subprocess.run([str(BATON), "dev", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not valid YAML" in result.stderr
    missing = subprocess.run(
        [str(BATON), "dev", str(tmp_path / "nope.yaml")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_baton_lint_passes_on_every_example() -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    result = subprocess.run([str(BATON), "lint", *examples], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_baton_dev_lints_first_and_checks_its_params(tmp_path: Path) -> None:
    root_task = tmp_path / "root.yaml"
    root_task.write_text(
        "apiVersion: baton.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  tasks:\n"
        "    - name: a\n      image: x\n      runAsUser: 0\n"
    )
    result = subprocess.run([str(BATON), "dev", str(root_task)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"baton dev: the manifests are not valid:\n{root_task}:9: Pipeline/p: spec.tasks[0].runAsUser: "
        'must not be 0: root is not allowed (Pod Security Standard "restricted")\n'
    )
    typo = subprocess.run(
        [str(BATON), "dev", "examples/failing.yaml", "-p", "recs=4"], cwd=ROOT, capture_output=True, text=True
    )
    assert typo.returncode == 2
    assert typo.stderr == (
        'baton dev: unknown param "recs" (did you mean "records"?); Pipeline failing declares: records\n'
    )


def test_baton_dev_checks_the_expected_results_a_pipelines_test_gives() -> None:
    command = [str(BATON), "dev", "examples/daily-sales.yaml", "--timeout", "5m"]
    passes = subprocess.run(
        [*command, "--expect-results", "revenue=10043.25"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert passes.returncode == 0, passes.stdout + passes.stderr
    wrong = subprocess.run(
        [*command, "--expect-results", "revenue=10000", "--expect-results", "rows=8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wrong.returncode == 1  # the run succeeded, but not with what the test expects
    problems = [line for line in wrong.stderr.splitlines() if line.startswith("baton dev: run ")]
    assert len(problems) == 2 and problems[0].endswith("result \"revenue\" is '10043.25', expected '10000'")
    assert 'no result "rows" (its results: ' in problems[1]
    bad = subprocess.run([*command[:3], "--timeout", "soon"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and '"soon" is not a duration (90, 90s, 5m, 1h30m)' in bad.stderr


def test_baton_dev_shows_retries_with_their_attempt_and_when() -> None:
    result = subprocess.run(
        [str(BATON), "dev", "examples/resilient.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(
        r"fetch +Pending +attempt 1 failed \(Failed, exit 75\), retrying at \d\d:\d\d:\d\d UTC", result.stdout
    )
    assert "  fetch (attempt 2) | attempt 2: the source answered 503, giving up for now\n" in result.stdout
