"""Structured logs with the run's context and no secret values; few, meaningful Events on a run."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from operator_kit import Api, RunningOperator, example, phase_of

from baton.logs import JsonFormatter, TextFormatter, configure, log_context, redact
from support import Kubectl, wait_for

SECRET = "s3cr3t-from-the-secret"
PLAIN_PASSWORD = "plain-hunter2"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged (kopf's debug lines included) as the operator writes it: JSON lines."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    assert configure("auto", verbose=True, stream=stream) == "json"  # not a terminal: JSON
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_operator_logs_are_json_lines_with_the_runs_context_and_no_secrets(
    api: Api,
    metrics_operator: Callable[[str], tuple[RunningOperator, int]],
    captured_logs: io.StringIO,
) -> None:
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": SECRET},
        }
    )
    pipeline = next(d for d in example("failing.yaml") if d["kind"] == "Pipeline")
    env = pipeline["spec"]["taskDefaults"]["env"]
    env.append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
    env.append({"name": "API_TOKEN", "value": PLAIN_PASSWORD})
    api.apply(pipeline)
    metrics_operator(api.namespace)
    name = api.start_run("failing")
    wait_for(lambda: phase_of(api.run(name)) == "Failed", timeout=60, message="the run to fail")
    wait_for(
        lambda: any(line["message"].startswith("run failed") for line in lines_of(captured_logs)),
        message="the run's outcome to be logged",
    )

    text = captured_logs.getvalue()
    lines = lines_of(captured_logs)  # every line is one JSON object
    assert len(lines) > 10
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= set(line), line
        assert line["ts"].endswith("Z") and line["level"] in ("debug", "info", "warning", "error", "critical")
    ours = [line for line in lines if line.get("run") == name]
    started = next(line for line in ours if line["message"] == "run started")
    assert (started["namespace"], started["pipeline"], started["logger"]) == (
        api.namespace,
        "failing",
        "baton.runs",
    )
    failed_task = next(line for line in ours if line["message"].startswith("task failed"))
    assert (failed_task["task"], failed_task["level"]) == ("validate", "warning")
    assert "exit code 3" in failed_task["message"]
    outcome = next(line for line in ours if line["message"].startswith("run failed"))
    assert outcome["level"] == "warning" and 'task "validate" failed' in outcome["message"]
    # The operator never reads Secrets: the Jobs reference it and its value appears nowhere.
    assert SECRET not in text
    job = next(j for j in api.jobs() if j["metadata"]["labels"]["baton.dev/task"] == "validate")
    container_env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert container_env["DB_PASSWORD"] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
    }
    assert SECRET not in json.dumps(job)
    # Nor does it log env values (even plain ones a user should have put in a Secret).
    assert PLAIN_PASSWORD not in text


def test_formatters_carry_context_and_redact_credentials() -> None:
    record = logging.LogRecord(
        "baton.x", logging.ERROR, __file__, 1, "patch failed: %s", ("token=abc123",), None
    )
    with log_context(namespace="etl", run="daily-sales-x7k2p"):
        record.task = "load"
        line = json.loads(JsonFormatter().format(record))
        text = TextFormatter().format(record)
    assert line["namespace"] == "etl" and line["run"] == "daily-sales-x7k2p" and line["task"] == "load"
    assert line["message"] == "patch failed: token=[redacted]" and line["level"] == "error"
    assert "[etl/daily-sales-x7k2p load] patch failed: token=[redacted]" in text
    echoed = (
        'Job.batch "x" is invalid: spec.template.spec.containers[0].env[3].value: Invalid value: "hunter2"'
    )
    assert "hunter2" not in redact(echoed)
    assert redact("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload") == "Authorization: Bearer [redacted]"
    assert redact("created Job daily-sales-x7k2p-load-1") == "created Job daily-sales-x7k2p-load-1"


def test_describe_tells_the_story_of_a_run_in_a_few_events(
    api: Api, metrics_operator: Callable[[str], tuple[RunningOperator, int]], kubectl: Kubectl
) -> None:
    for doc in example("fan-out.yaml"):
        api.apply(doc)
    metrics_operator(api.namespace)
    name = api.start_run("fan-out")
    wait_for(lambda: phase_of(api.run(name)) == "Succeeded", timeout=120, message="the run to succeed")
    wait_for(
        lambda: "RunSucceeded" in kubectl("describe", "pipelinerun", name, "-n", api.namespace).stdout,
        message="the outcome Event",
    )
    described = kubectl("describe", "pipelinerun", name, "-n", api.namespace).stdout
    events = described[described.index("Events:") :]
    assert "RunSucceeded" in events and " started: Job " in events and " succeeded" in events, described
    # 22 tasks, 44 transitions: progress rides with the outcome (or an Event every half minute), not an
    # Event per transition or per reconcile.
    ours = [e for e in api.events() if e["involvedObject"]["name"] == name]
    assert 1 <= len(ours) <= 3, [(e["reason"], e["message"]) for e in ours]
