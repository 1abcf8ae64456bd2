"""`baton lint` is exactly as strict as the API server: a corpus of manifests, each applied with the real
kubectl to the dev cluster (Baton's CRDs, strict field validation) and linted, must get the same verdict.

The corpus holds what both can judge: the schema (fields, types, formats, bounds, enums, YAML's
booleans). Lint also checks what no schema can (cycles, references, forEach lists); those cases live in
test_lint.py and the core's validation tests, not here.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from baton.cli.dev import install_crds
from baton.cli.lint import lint_paths
from baton.devcluster.cluster import DevCluster
from support import Kubectl

CLAIM = "{accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}"


def pipeline(tasks: str, extra: str = "") -> str:
    name = f"p-{uuid.uuid4().hex[:6]}"
    return (
        f"apiVersion: baton.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: {name}\nspec:\n{extra}"
        f"  taskDefaults: {{image: busybox}}\n  tasks:\n{tasks}"
    )


CORPUS = [
    pytest.param(pipeline("    - name: a\n"), True, id="minimal"),
    pytest.param(
        pipeline(
            "    - name: a\n      forEach: {items: [eu, '7', 3]}\n      results: [{name: rows}]\n"
            "      workspaces: [{name: d, readOnly: true}]\n      podAnnotations: {x/y: z}\n      "
            "runAsUser: 1000\n",
            f"  workspaces:\n    - name: d\n      volumeClaimTemplate:\n        spec: {CLAIM}\n",
        ),
        True,
        id="data-flow",
    ),
    pytest.param(pipeline("    - name: a\n      dependsOn: []\n"), True, id="camel-case"),
    pytest.param(pipeline("    - name: a\n      depends_on: []\n"), False, id="snake-case-field"),
    pytest.param(
        pipeline("    - name: a\n", "  task_defaults: {image: x}\n"), False, id="snake-case-spec-field"
    ),
    pytest.param(pipeline("    - name: a\n      colour: red\n"), False, id="unknown-field"),
    pytest.param(pipeline("    - name: Extract\n"), False, id="name-pattern"),
    pytest.param(pipeline("    - name: a\n", "  parallelism: 0\n"), False, id="below-minimum"),
    pytest.param(pipeline("    - name: a\n", "  parallelism: two\n"), False, id="wrong-type"),
    pytest.param(pipeline("    - name: a\n      when: sometimes\n"), False, id="enum"),
    pytest.param(
        pipeline("    - name: a\n      forEach: {items: [se, no, dk]}\n"), False, id="yaml-boolean-item"
    ),
    pytest.param(pipeline("    - name: a\n      runAsUser: 0\n"), False, id="root"),
    pytest.param(
        pipeline("    - name: a\n      volumes: [{name: h, hostPath: {path: /etc}}]\n"), False, id="host-path"
    ),
    pytest.param(
        pipeline("    - name: a\n      resources: {requests: {memory: 1 Gi}}\n"), False, id="quantity-format"
    ),
    pytest.param(
        pipeline(
            "    - name: a\n",
            "  workspaces:\n    - name: d\n      volumeClaimTemplate:\n"
            "        spec: {accessModes: [ReadWriteSometimes], resources: {requests: {storage: 1Gi}}}\n",
        ),
        False,
        id="access-mode",
    ),
    pytest.param(pipeline("", "  params: [{name: p}]\n").replace("  tasks:\n", ""), False, id="no-tasks"),
]


@pytest.fixture(scope="module")
def kubectl(devcluster: DevCluster, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    devcluster.sync(install_crds, devcluster)
    return Kubectl(kubeconfig, tmp_path_factory.mktemp("home"))


@pytest.mark.parametrize(("manifest", "valid"), CORPUS)
def test_lint_and_the_server_agree(
    manifest: str, valid: bool, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(manifest)
    applied = kubectl("apply", "-n", namespace, "-f", str(path), check=False)
    findings = lint_paths([str(path)])
    server = applied.returncode == 0
    assert server == valid, applied.stderr
    assert (not findings) == valid, findings
