"""Task results: small JSON values a task reports through its termination message.

A task that declares results writes one JSON object (declared name → any JSON value) to the file named
by `$BATON_RESULTS`. That file is the container's terminationMessagePath, so the kubelet hands its
content to the API (at most 4096 bytes: more is cut off by the kubelet) and any image works, with no
sidecar and no wrapper binary. When the task's Job succeeds, ``collect_results`` turns the message into
the task's recorded results, or fails the task with a message that says what to fix. A results problem
is not retried: the same program would write the same file again.

Each value is recorded as compact JSON text. Substituted into a command, a string value is the string
itself and any other value its compact JSON (``display``), so `echo $(tasks.count.results.rows)` prints
1234 and a list prints as `["eu","us"]`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from baton.api.pipeline import PipelineSpec
from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.foreach import task_result
from baton.core.references import result_reads
from baton.core.status import format_time, truncate

MAX_RESULTS_BYTES = 4096
"""The kubelet keeps at most this much of a container's termination message."""
MAX_ARGUMENT_BYTES = 128 * 1024
"""Linux refuses a single argument or environment string longer than this (MAX_ARG_STRLEN)."""
RESULTS_PATH = "/dev/termination-log"
"""Where a task writes its results: Kubernetes' default terminationMessagePath, which the kubelet creates
writable for any UID."""
RESULTS_ENV = "BATON_RESULTS"

INVALID_RESULTS = "InvalidResults"
RESULT_UNAVAILABLE = "ResultUnavailable"

T = TypeVar("T", bound=InstanceStatus)
_COMPACT = {"separators": (",", ":"), "ensure_ascii": False}


def compact(value: object) -> str:
    return json.dumps(value, **_COMPACT)  # type: ignore[arg-type]


def display(recorded: str) -> str:
    """A recorded value as it is substituted: a JSON string as itself, anything else as JSON."""
    if recorded.startswith('"'):
        try:
            value = json.loads(recorded)
        except ValueError:
            return recorded
        if isinstance(value, str):
            return value
    return recorded


def child_results(declared: Sequence[str], message: str | None, child: str) -> str:
    """The results a sub-pipeline task declares, from its child run's (a JSON object of them all, as the
    observation carries them): only those declared, as the task's termination message would hold them;
    or a message saying which the child run did not have."""
    given = json.loads(message) if message else {}
    missing = [name for name in declared if name not in given]
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing)
        raise ValueError(
            f"the child run {child} has no result {listed}: its Pipeline's spec.results must name it"
        )
    return json.dumps({name: given[name] for name in declared})


def parse_results(declared: Sequence[str], message: str | None) -> dict[str, str] | str:
    """The recorded results of a task that declares ``declared``, given its termination message; or a
    message saying why they cannot be recorded."""
    text = (message or "").strip()
    names = ", ".join(declared)
    if not text:
        return (
            f"the task declares results ({names}) but wrote none: write one JSON object to the file "
            "$BATON_RESULTS"
        )
    size = len((message or "").encode())
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        if size >= MAX_RESULTS_BYTES:
            return (
                f"results are limited to {MAX_RESULTS_BYTES} bytes, the Kubernetes termination message; "
                "write large outputs to a workspace"
            )
        return f"results are not valid JSON ({error.msg} at character {error.pos}): {_excerpt(text)}"
    if not isinstance(value, dict):
        kind = type(value).__name__.replace("dict", "object").replace("list", "array")
        return f"results must be one JSON object of declared names ({names}), not a JSON {kind}"
    undeclared = [key for key in value if key not in declared]
    missing = [name for name in declared if name not in value]
    problems = []
    if undeclared:
        listed = ", ".join(f'"{key}"' for key in undeclared[:5])
        problems.append(f"undeclared result(s) {listed}: the task declares {names}")
    if missing:
        listed = ", ".join(f'"{name}"' for name in missing)
        problems.append(f"declared result(s) {listed} missing from the JSON object the task wrote")
    if problems:
        return "; ".join(problems)
    return {name: compact(value[name]) for name in declared}


def collect_results(task: T, declared: Sequence[str], message: str | None, now: datetime) -> T:
    """A task whose Job just succeeded, with its results recorded; or Failed (reason InvalidResults)."""
    if not declared:
        return task
    parsed = parse_results(declared, message)
    if isinstance(parsed, dict):
        return task.model_copy(update={"results": parsed})
    return task.model_copy(
        update={
            "phase": TaskPhase.FAILED,
            "reason": INVALID_RESULTS,
            "message": truncate(f"{parsed} (not retried)"),
            "completion_time": task.completion_time or format_time(now),
        }
    )


def unavailable_result(
    spec: PipelineSpec, index: Mapping[str, int], tasks: Sequence[TaskStatus], reader: int
) -> str | None:
    """Why the task at ``reader``, about to run, cannot read a result it references: the task that
    reports it did not succeed (only possible for tasks that run after failures: `when` rules, finally).
    Such a task is Skipped with reason ResultUnavailable rather than run with a hole in its command."""
    for target, result in result_reads(spec.task_at(reader)):
        source = index.get(target)
        if source is None:
            continue
        owner = tasks[source]
        if owner.phase is not TaskPhase.SUCCEEDED or task_result(owner, result) is None:
            verb = owner.phase.value.lower()
            return f'result "{result}" of task "{target}" is unavailable: "{target}" {verb}'
    return None


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else f"{flat[:limit]}…")
