"""Helpers for the observability tests: free ports, the tools, an operator serving metrics, Prometheus."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from operator_kit import RunningOperator

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "baton"
DASHBOARD = CHART / "dashboards" / "baton.json"
RULES = CHART / "prometheus" / "rules.yaml"
RULES_TEST = CHART / "prometheus" / "rules_test.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(tool: str) -> str:
    """The tool's path; skipped where it is not installed, failed in CI (`CI` set) where it must be."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (make tools: apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def start_metrics_operator(namespace: str, patch: pytest.MonkeyPatch) -> tuple[RunningOperator, int]:
    """`baton operator` for `namespace`, serving its metrics on a free port of 127.0.0.1."""
    port = free_port()
    operator = RunningOperator(namespace, metrics_port=port, metrics_host="127.0.0.1").start()
    return operator, port


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def samples(text: str, name: str, **labels: str) -> list[float]:
    """Values of `name` samples in an exposition whose labels include `labels`."""
    return [
        value
        for sample_name, sample_labels, value in _parsed(text)
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    ]


@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> tuple[tuple[str, dict[str, str], float], ...]:
    """Every sample of an exposition, parsed once: the in-process operators of a whole test session share
    one registry, so late in a run a scrape holds every earlier test's series, and a test that looks up
    twenty of them parsed it twenty times (40 s)."""
    from prometheus_client.parser import text_string_to_metric_families

    return tuple(
        (sample.name, sample.labels, float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )


class Prometheus:
    """A real Prometheus on 127.0.0.1, scraping `targets` every second, with Baton's rules loaded."""

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.binary = need("prometheus")
        self.port = free_port()
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(
            json.dumps(
                {
                    # A scrape may take more than a second late in the suite: the registry is the test
                    # process's, with the series of every Pipeline every earlier test made.
                    "global": {"scrape_interval": "3s", "scrape_timeout": "3s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {"job_name": "baton", "static_configs": [{"targets": targets}]},
                    ],
                }
            )
        )
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "prometheus.log", "wb"),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {(self.workdir / 'prometheus.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("prometheus did not become ready")

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET /api/v1/PATH?PARAMS as JSON (errors too: a bad query's body says what is wrong)."""
        query = urllib.parse.urlencode(params)
        request = urllib.request.Request(f"{self.url}/api/v1/{path}?{query}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:  # 400/422: a bad query; its body says why
            body = json.loads(error.read())
        return body

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
