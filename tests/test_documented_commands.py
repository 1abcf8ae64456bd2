"""Every command the README and the examples show is run here exactly as written, in order, against
`baton devcluster up --with-operator` (the README's own dev-cluster path), or is listed below with the
reason it is not. A new command in the docs fails this test until it is one or the other.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import devcluster_up

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KUBECONFIG = "/tmp/baton.kubeconfig"  # as the README writes it
STARTS = ("kubectl ", "baton ", "make ", "export ", "docker ", "helm ", ".venv/bin/")

# Not run here, and why.
ELSEWHERE = {
    "make demo": "tests/test_readme_commands.py runs its recipe",
    "make test": "it is CI itself (.ci/run)",
    "make bench": "minutes long; tests/bench runs the benchmark at smoke sizes",
    ".venv/bin/baton bench --smoke": "tests/bench runs it",
    ".venv/bin/baton bench --scenario chain --size chain=500 --out /tmp/bench": "minutes long",
    "docker build -t registry.example.com/baton-operator:0.1.0 .": "no Docker engine on this machine",
    "docker push registry.example.com/baton-operator:0.1.0": "no registry to push to",
    "helm install baton helm/baton -n baton-system --create-namespace \\": "needs a real cluster (e2e)",
    "--set image.repository=registry.example.com/baton-operator": "the helm install's second line",
    "baton devcluster up --kubeconfig /tmp/baton.kubeconfig --with-operator": "started by this test",
    "baton ui": "serves until stopped (on fixed ports); tests/ui/test_ui_server.py runs baton ui",
    "baton ui -A --port 9000": "as baton ui",
    "baton ui -n etl --read-only": "as baton ui; tests/ui/test_ui_actions.py tests a read-only UI",
}
# A usage line names its arguments in capitals (RUN, TASK): it is a synopsis, not a command to run.
USAGE = re.compile(r"\b(RUN|TASK|NAME|FILE|TEXT)\b")


def documented_commands() -> list[str]:
    commands = []
    readme = (ROOT / "README.md").read_text()
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", readme, re.S):
        if lang == "yaml":
            continue
        commands += [_command(line) for line in body.splitlines() if _command(line)]
    for example in (
        "daily-sales-run.yaml",
        "daily-sales.yaml",
        "resilient.yaml",
        "failing.yaml",
        "nightly-report.yaml",
        "sales-quality.yaml",
    ):
        for line in (ROOT / "examples" / example).read_text().splitlines():
            if line.startswith("#   "):
                command = _command(line[4:])
                if command:
                    commands.append(command)
    return commands


def _command(line: str) -> str:
    text = line.strip()
    if not text.startswith(STARTS):
        return ""  # output shown in the docs, or prose
    return re.sub(r"\s+#\s.*$", "", text).strip()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("KUBECONFIG", None)
    with devcluster_up(Path(KUBECONFIG), "--with-operator", env=env):
        # The README's first commands assume kubectl already points at a cluster: this one.
        yield {**env, "KUBECONFIG": KUBECONFIG}


# The one run the docs name (daily-sales-x7k2p) is created under that name, once its Pipeline is there.
NAMED_RUN = (
    "kubectl create -f - <<'EOF'\napiVersion: baton.dev/v1alpha1\nkind: PipelineRun\nmetadata:\n"
    "  name: daily-sales-x7k2p\nspec:\n  pipelineRef: {name: daily-sales}\nEOF"
)


def test_every_documented_command_runs_as_written(cluster: dict[str, str]) -> None:
    commands = documented_commands()
    assert (
        "kubectl baton run daily-sales --watch" in commands and "kubectl get pipelineruns -o wide" in commands
    )
    script = ["set -euo pipefail", f"cd {ROOT}"]
    ran, named = [], False
    for command in commands:
        if command in ELSEWHERE or USAGE.search(command):
            continue
        script.append(f"echo '### {command.replace(chr(39), '')}'")
        script.append(command)
        ran.append(command)
        if command == "kubectl apply -f examples/daily-sales.yaml" and not named:
            script.append(NAMED_RUN)
            named = True
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)], capture_output=True, text=True, env=cluster, timeout=600
    )
    last = [line for line in result.stdout.splitlines() if line.startswith("### ")][-1:]
    assert result.returncode == 0, f"{last}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert len(ran) >= 15, ran
    assert re.search(r"^pipelinerun/daily-sales-x7k2p +✓ Succeeded", result.stdout, re.M)  # graph --watch
    assert "results:" in result.stdout and "Daily sales report for 2025-02-01" in result.stdout
