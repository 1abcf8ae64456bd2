"""What a person's action on a run changes, decided once for the CLI and the UI: run a Pipeline with
params, retry a finished run (from a task), cancel, suspend, resume.

Each is a pure function of the objects as read: it returns the object to create or the merge patch to
apply with a message saying what it does, or refuses with ``ActionRefused`` saying why and what to do
instead. The shells add who asked (``baton.core.actors``) and send it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from baton import GROUP, VERSION
from baton.api.pipeline import PipelineSpec
from baton.api.run import FINISHED_PHASES
from baton.core.foreach import param_items_errors
from baton.core.params import resolve_params
from baton.kube import labels
from baton.kube.names import label_value

RETRY_OF_LABEL = f"{GROUP}/retry-of"


class ActionRefused(ValueError):
    """Why an action cannot be done. ``field``: the input that is wrong (the CLI names its flag, the UI
    answers 422); None when the run's state is what refuses it (409)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Change:
    """A merge patch for the run (None: it is in that state already) and what it does, for people."""

    patch: dict[str, Any] | None
    message: str


def param_problems(
    pipeline: Mapping[str, Any], params: Mapping[str, str], give: str = "pass -p {param}=VALUE"
) -> list[str]:
    """Why a run of ``pipeline`` with ``params`` would fail at once: unknown or missing params (``give``
    says how to give one), a forEach param that is no JSON list. Empty when it would start."""
    declared = {p["name"]: p for p in (pipeline.get("spec") or {}).get("params") or ()}
    name = pipeline["metadata"]["name"]
    problems = []
    for given in params:
        if given not in declared:
            close = difflib.get_close_matches(given, list(declared), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            known = ", ".join(declared) or "none"
            problems.append(f'unknown param "{given}"{hint}; Pipeline {name} declares: {known}')
    for param, spec in declared.items():
        if param not in params and spec.get("default") is None:
            problems.append(f'missing value for required param "{param}" ({give.format(param=param)})')
    return problems or _items_problems(pipeline, params)


def _items_problems(pipeline: Mapping[str, Any], params: Mapping[str, str]) -> list[str]:
    try:
        spec = PipelineSpec.model_validate(pipeline.get("spec") or {})
    except ValueError:
        return []  # an invalid Pipeline: its Ready condition says why, and the run will too
    values, _ = resolve_params(spec, params)
    return [problem for task in spec.all_tasks() for problem in param_items_errors(task, values)]


def not_ready(pipeline: Mapping[str, Any]) -> str | None:
    """Why a run of ``pipeline`` would fail at once, as its operator-set Ready condition says for its
    current spec (a cycle, an unknown reference); None when it may run or nothing has judged it yet."""
    meta, status = pipeline.get("metadata") or {}, pipeline.get("status") or {}
    ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "False":
        return None
    if ready.get("observedGeneration") not in (None, meta.get("generation")):
        return None  # judged an older spec: the operator has not looked at this one yet
    message = str(ready.get("message") or ready.get("reason") or "not ready")
    return f'pipeline "{meta.get("name", "")}" is not ready: {message[:500]}'


def new_run(pipeline: str, namespace: str, params: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": f"{pipeline}-",
            "namespace": namespace,
            "labels": {labels.PIPELINE: label_value(pipeline)},
        },
        "spec": {"pipelineRef": {"name": pipeline}, "params": dict(params)},
    }


def retry_run(old: Mapping[str, Any], tasks: Sequence[str], namespace: str) -> dict[str, Any]:
    """The PipelineRun that retries ``old`` (which must have started and finished), running ``tasks``
    and what depends on them again even if they succeeded."""
    from baton.api.codec import load_run_status

    name = old["metadata"]["name"]
    raw = old.get("status") or {}
    phase = raw.get("phase")
    if phase not in FINISHED_PHASES:
        raise ActionRefused(
            f'pipelinerun "{name}" has not finished (it is {phase or "Pending"}): wait for it to end, '
            f"or cancel it first (kubectl baton cancel {name})"
        )
    status = load_run_status(raw)
    spec = status.pipeline_spec
    if spec is None:
        why = status.condition("Succeeded")
        detail = f" ({why.reason}: {why.message})" if why is not None else ""
        raise ActionRefused(f'pipelinerun "{name}" never started{detail}: there is nothing to retry')
    known = [task.name for task in spec.all_tasks()]
    for task in tasks:
        if task not in known:
            close = difflib.get_close_matches(task, known, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            listed = ", ".join(known[:20]) + (f", … ({len(known) - 20} more)" if len(known) > 20 else "")
            raise ActionRefused(f'run "{name}" has no task "{task[:80]}"{hint}; its tasks: {listed}', "from")
    if phase == "Succeeded" and not tasks:
        raise ActionRefused(
            f'pipelinerun "{name}" succeeded: there is nothing to retry '
            "(use --from TASK to run a task and what depends on it again)"
        )
    base = status.pipeline or name
    run_labels = {RETRY_OF_LABEL: label_value(name)}
    if status.pipeline:
        run_labels[labels.PIPELINE] = label_value(status.pipeline)
    run_spec: dict[str, Any] = {"retryOf": name}
    if tasks:
        run_spec["retryFrom"] = list(dict.fromkeys(tasks))
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "metadata": {"generateName": f"{base[:40]}-retry-", "namespace": namespace, "labels": run_labels},
        "spec": run_spec,
    }


def _phase(run: Mapping[str, Any]) -> str | None:
    phase = (run.get("status") or {}).get("phase")
    return phase if isinstance(phase, str) else None


def _finished(name: str, phase: str, verb: str) -> str:
    return f'pipelinerun "{name}" has already finished ({phase}): there is nothing to {verb}'


def cancel_change(run: Mapping[str, Any], *, run_finally: bool, message: str | None) -> Change:
    """Cancel ``run`` (``run_finally``: its finally tasks still run). A second cancel without finally
    stops finally tasks already running: after an earlier cancel or the run's timeout."""
    name = run["metadata"]["name"]
    phase = _phase(run)
    if phase in FINISHED_PHASES:
        raise ActionRefused(_finished(name, phase, "cancel"))
    cancel = (run.get("spec") or {}).get("cancel")
    timed_out = any(
        c.get("type") == "Succeeded" and c.get("reason") == "TimingOut"
        for c in (run.get("status") or {}).get("conditions") or ()
    )
    if cancel is not None and (run_finally or cancel.get("runFinally") is False):
        return Change(None, f"pipelinerun.{GROUP}/{name} is already being cancelled")
    if cancel is not None or (timed_out and not run_finally):
        # Its tasks were stopped already (a cancel, the timeout): only its finally tasks run.
        return Change(
            {"spec": {"cancel": {"runFinally": False}}},
            f"pipelinerun.{GROUP}/{name}: its finally tasks are stopped too",
        )
    if timed_out:
        return Change(
            None,
            f"pipelinerun.{GROUP}/{name} has timed out already: its finally tasks run "
            "(--no-finally stops them)",
        )
    body: dict[str, Any] = {"runFinally": run_finally}
    if message:
        body["message"] = message
    what = "finally tasks still run" if run_finally else "finally tasks are stopped or skipped"
    return Change(
        {"spec": {"cancel": body}},
        f"pipelinerun.{GROUP}/{name} cancelled (running Jobs are deleted; {what})",
    )


def suspend_change(run: Mapping[str, Any], suspend: bool) -> Change:
    name = run["metadata"]["name"]
    phase = _phase(run)
    verb = "suspend" if suspend else "resume"
    if phase in FINISHED_PHASES:
        raise ActionRefused(_finished(name, phase, verb))
    if bool((run.get("spec") or {}).get("suspend")) == suspend:
        state = "suspended" if suspend else "not suspended"
        return Change(None, f"pipelinerun.{GROUP}/{name} is already {state}")
    what = "no new task starts; running ones finish" if suspend else "its tasks start again"
    done = "suspended" if suspend else "resumed"
    return Change({"spec": {"suspend": suspend}}, f"pipelinerun.{GROUP}/{name} {done} ({what})")
