"""Validation of the failure-handling fields: rules, finally, retries, timeouts, run-time variables."""

from __future__ import annotations

from typing import Any

import pytest

from baton.core.validation import check_pipeline_spec, check_run_spec


def pipeline(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"taskDefaults": {"image": "python:3.12-slim"}, "tasks": list(tasks), **extra}


def echo(*args: str) -> list[str]:
    return ["echo", *args]


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        pytest.param(
            pipeline(
                {
                    "name": "a",
                    "retries": {"limit": 2, "backoff": {"initialSeconds": 0.5}},
                    "timeoutSeconds": 60,
                },
                {"name": "b", "dependsOn": ["a"], "when": "anyFailed", "command": echo("$(tasks.a.status)")},
                timeoutSeconds=3600,
                failurePolicy="FailFast",
                **{"finally": [{"name": "n", "command": echo("$(run.status)", "$(tasks.b.status)")}]},
            ),
            [],
            id="valid",
        ),
        pytest.param(
            pipeline({"name": "a", "dependsOn": ["notify"]}, **{"finally": [{"name": "notify"}]}),
            [
                'task "a" depends on finally task "notify": finally tasks run after every other task has '
                "ended, so only other finally tasks can depend on them"
            ],
            id="depends-on-finally",
        ),
        pytest.param(
            pipeline({"name": "a"}, **{"finally": [{"name": "a"}]}),
            ['task name "a" is used more than once'],
            id="finally-name-clash",
        ),
        pytest.param(
            pipeline({"name": "a", "when": "anyFailed"}),
            [
                'task "a" has when: anyFailed but no dependsOn: name the tasks whose failure it handles (or '
                "make it a finally task, which then looks at every task)"
            ],
            id="any-failed-without-dependencies",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "retries": {"limit": 1, "backoff": {"initialSeconds": 60, "maxSeconds": 10}}}
            ),
            ['task "a": retries.backoff.maxSeconds (10) is less than initialSeconds (60)'],
            id="backoff-max-below-initial",
        ),
        pytest.param(
            pipeline({"name": "a", "command": echo("$(run.status)")}),
            [
                'task "a": command[1] reads $(run.status), which only finally tasks can read (the run has '
                "not ended while its other tasks run)"
            ],
            id="run-status-outside-finally",
        ),
        pytest.param(
            pipeline({"name": "load"}, **{"finally": [{"name": "n", "args": ["$(tasks.laod.status)"]}]}),
            ['finally task "n": args[0] reads the status of unknown task "laod" (did you mean "load"?)'],
            id="unknown-task-status",
        ),
        pytest.param(
            pipeline({"name": "a"}, {"name": "b", "env": [{"name": "A", "value": "$(tasks.a.status)"}]}),
            [
                'task "b": env "A" reads the status of task "a", which it does not depend on (add it to '
                "dependsOn, directly or through another task)"
            ],
            id="status-of-a-task-not-upstream",
        ),
        pytest.param(
            pipeline(
                {"name": "a"}, **{"finally": [{"name": "n", "args": ["$(tasks.a.phase)", "$(run.id)"]}]}
            ),
            [
                'finally task "n": args[0] references unknown "$(tasks.a.phase)" '
                "(a task offers $(tasks.NAME.status) and $(tasks.NAME.results.RESULT))",
                'finally task "n": args[1] references unknown "$(run.id)" (the run offers $(run.status), '
                "$(run.reason) and $(run.failedTasks))",
            ],
            id="unknown-variables",
        ),
        pytest.param(
            pipeline({"name": "a", "args": ["$$(run.status)"]}),
            [],
            id="escaped-variable",
        ),
        pytest.param(
            pipeline({"name": "a", "when": "sometimes"}),
            [
                "spec.tasks[0].when: Input should be 'allSucceeded', 'allDone', 'anyFailed', 'allFailed', "
                "'noneFailed' or 'always'"
            ],
            id="unknown-rule",
        ),
        pytest.param(
            pipeline({"name": "a", "retries": {"limit": -1}, "timeoutSeconds": 0}),
            [
                "spec.tasks[0].retries.limit: Input should be greater than or equal to 0",
                "spec.tasks[0].timeoutSeconds: Input should be greater than or equal to 1",
            ],
            id="negative-limit-and-zero-timeout",
        ),
        pytest.param(
            pipeline(
                {"name": "a", "retries": {"limit": 1, "retryOn": ["Crashed"], "backoff": {"factor": 0.5}}}
            ),
            [
                "spec.tasks[0].retries.backoff.factor: Input should be greater than or equal to 1",
                "spec.tasks[0].retries.retryOn[0]: Input should be 'Failed', 'OOMKilled', "
                "'DeadlineExceeded', 'PodEvicted' or 'JobLost'",
            ],
            id="bad-backoff-and-kind",
        ),
        pytest.param(
            pipeline({"name": "a"}, failurePolicy="Stop", timeoutSeconds=0),
            [
                "spec.timeoutSeconds: Input should be greater than or equal to 1",
                "spec.failurePolicy: Input should be 'Continue' or 'FailFast'",
            ],
            id="bad-policy-and-run-timeout",
        ),
    ],
)
def test_pipeline_errors(raw: dict[str, Any], errors: list[str]) -> None:
    spec, found = check_pipeline_spec(raw)
    assert found == errors
    assert (spec is None) == bool(errors)


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ({"retryOf": "old", "retryFrom": ["load"], "timeoutSeconds": 60, "suspend": True}, []),
        ({"pipelineRef": {"name": "p"}, "cancel": {}}, []),
        ({"pipelineRef": {"name": "p"}, "cancel": {"runFinally": False, "message": "wrong date"}}, []),
        (
            {"pipelineRef": {"name": "p"}, "retryOf": "old"},
            ["spec: set exactly one of pipelineRef, pipelineSpec and retryOf"],
        ),
        (
            {"pipelineRef": {"name": "p"}, "retryFrom": ["a"]},
            ["spec: retryFrom needs retryOf: it names tasks of the run to retry"],
        ),
        (
            {"pipelineRef": {"name": "p"}, "timeoutSeconds": 0},
            ["spec.timeoutSeconds: Input should be greater than or equal to 1"],
        ),
        (
            {"pipelineRef": {"name": "p"}, "cancel": {"finally": False}},
            ["spec.cancel.finally: unknown field"],
        ),
    ],
)
def test_run_spec_errors(raw: dict[str, Any], errors: list[str]) -> None:
    assert check_run_spec(raw)[1] == errors
