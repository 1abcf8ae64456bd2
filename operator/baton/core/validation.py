"""Every check of a Pipeline spec and of a run against it, as user-actionable messages.

The operator (Pipeline Ready condition, a run that fails at once) and ``baton lint`` share these, so a
problem reads the same in CI, in ``kubectl get pipelines`` and in a run's Events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from baton.api.common import DNS1123_LABEL, DNS1123_SUBDOMAIN, ENV_VAR_NAME, QUANTITY, EnvVar, from_wire
from baton.api.datasets import URI_PATTERN
from baton.api.pipeline import PARAM_NAME, PipelineSpec, RetryPolicy, TaskSpec, TriggerRule, param_defaults
from baton.api.run import PipelineRunSpec
from baton.api.weakcache import IdentityCache
from baton.core.dag import dag_of, graph_errors
from baton.core.dataflow_checks import dataflow_errors, duplicates
from baton.core.dataset_checks import dataset_errors, dataset_run_errors
from baton.core.foreach import param_items_errors
from baton.core.params import reference_errors, resolve_params
from baton.core.references import graph_nodes
from baton.core.scheduler import schedule_errors
from baton.core.status import shorten
from baton.core.triggers import trigger_errors
from baton.core.variables import variable_errors
from baton.kube.names import is_dns_label, is_label_value, job_name, label_value

# What each pattern means, in words, for pydantic's "String should match pattern '…'".
_PATTERN_WORDS = {
    DNS1123_LABEL: "must be a DNS-1123 label: lowercase letters, digits and '-', "
    "starting and ending with a letter or digit",
    DNS1123_SUBDOMAIN: "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'",
    PARAM_NAME: "must be letters, digits, '_' and '-', starting with a letter or '_'",
    ENV_VAR_NAME: "must be letters, digits, '_', '-' and '.', not starting with a digit",
    QUANTITY: "must be a quantity such as 500m, 2, 1.5 or 1Gi",
    URI_PATTERN: "must be a URI such as s3://bucket/key, postgres://host:5432/db.schema.table or file:///path",
}


def pipeline_errors(spec: PipelineSpec) -> list[str]:
    """Semantic problems of a schema-valid spec (the schema itself is the model's business). Found once
    per spec object (0.2 s for 10,000 tasks; the Pipeline's status and every run's start ask)."""
    return list(_ERRORS.get_or_make(spec, lambda s: tuple(_pipeline_errors(s))))


_ERRORS: IdentityCache[PipelineSpec, tuple[str, ...]] = IdentityCache()


def _pipeline_errors(spec: PipelineSpec) -> list[str]:
    errors = duplicates("param", [param.name for param in spec.params])
    every = spec.all_tasks()
    for task in every:
        if not is_dns_label(task.name):
            errors.append(f'task name "{task.name}" {_PATTERN_WORDS[DNS1123_LABEL]}, at most 63 characters')
    graph = graph_errors(graph_nodes(spec))
    graph += _finally_errors(spec)
    errors += graph
    default_image = spec.task_defaults.image if spec.task_defaults else None
    for task in every:
        if task.pipeline_ref is not None:
            errors += _sub_pipeline_errors(task)
        elif task.params:
            errors.append(f'task "{task.name}": params are for a sub-pipeline (pipelineRef): it has none')
        elif task.image is None and default_image is None:
            errors.append(f'task "{task.name}" has no image (set image, or taskDefaults.image)')
        errors += _env_errors(f'task "{task.name}"', task.env)
        errors += _retry_errors(f'task "{task.name}"', task.retries)
        if task.sensor is not None and task.sensor.interval_seconds >= task.sensor.timeout_seconds:
            errors.append(
                f'task "{task.name}": sensor.intervalSeconds ({task.sensor.interval_seconds}) is not shorter '
                f"than its timeoutSeconds ({task.sensor.timeout_seconds}): it could poke only once"
            )
    if spec.task_defaults is not None:
        errors += _env_errors("taskDefaults", spec.task_defaults.env)
        errors += _retry_errors("taskDefaults", spec.task_defaults.retries)
    for task in spec.tasks:
        if task.when in (TriggerRule.ANY_FAILED, TriggerRule.ALL_FAILED) and not task.depends_on:
            errors.append(
                f'task "{task.name}" has when: {task.when.value} but no dependsOn: name the tasks whose '
                "failure it handles (or make it a finally task, which then looks at every task)"
            )
    errors += dataflow_errors(spec)
    errors += dataset_errors(spec)
    defaults = param_defaults(spec)
    for task in every:  # a default every run would fail on is a mistake of the Pipeline itself
        errors += [f"{e} (the param's default)" for e in param_items_errors(task, defaults)]
    errors += reference_errors(spec)
    errors += schedule_errors(spec)
    errors += trigger_errors(spec)
    if not graph:  # the references are checked against the graph, which must be one
        errors += variable_errors(spec, dag_of(spec))
    return errors


def _sub_pipeline_errors(task: TaskSpec) -> list[str]:
    """A task that runs another Pipeline has no container of its own: what would configure one is a
    mistake (it would be ignored), and so are the features built on a container."""
    present = {
        "image": task.image is not None,
        "command": bool(task.command),
        "args": bool(task.args),
        "env": bool(task.env),
        "workspaces": bool(task.workspaces),
        "volumes": bool(task.volumes),
        "forEach": task.for_each is not None,
        "sensor": task.sensor is not None,
        "resources": task.resources is not None,
        "nodeSelector": bool(task.node_selector),
        "tolerations": bool(task.tolerations),
        "serviceAccountName": task.service_account_name is not None,
        "workingDir": task.working_dir is not None,
        "podLabels": bool(task.pod_labels),
        "podAnnotations": bool(task.pod_annotations),
        "priorityClassName": task.priority_class_name is not None,
        "affinity": task.affinity is not None,
        "imagePullSecrets": bool(task.image_pull_secrets),
        "runAsUser": task.run_as_user is not None,
        "runAsGroup": task.run_as_group is not None,
        "fsGroup": task.fs_group is not None,
    }
    given = [name for name, there in present.items() if there]
    if not given:
        return []
    return [
        f'task "{task.name}" runs pipeline "{task.pipeline_ref.name if task.pipeline_ref else ""}" '
        f"(pipelineRef), so {', '.join(given)} cannot apply: remove {'it' if len(given) == 1 else 'them'}"
    ]


def _finally_errors(spec: PipelineSpec) -> list[str]:
    finally_names = {task.name for task in spec.finally_}
    errors = []
    for task in spec.tasks:
        for dep in task.depends_on:
            if dep in finally_names:
                errors.append(
                    f'task "{task.name}" depends on finally task "{dep}": finally tasks run after every '
                    "other task has ended, so only other finally tasks can depend on them"
                )
    return errors


def _retry_errors(owner: str, retries: RetryPolicy | None) -> list[str]:
    if retries is None:
        return []
    backoff = retries.backoff
    if backoff.max_seconds < backoff.initial_seconds:
        return [
            f"{owner}: retries.backoff.maxSeconds ({backoff.max_seconds:g}) is less than initialSeconds "
            f"({backoff.initial_seconds:g})"
        ]
    return []


MAX_PARAMS_BYTES = 128 * 1024
"""A run keeps its params in its status, and a status must stay well under etcd's 1.5 MiB object limit."""


def run_errors(spec: PipelineSpec, given_params: Mapping[str, str], run_name: str | None = None) -> list[str]:
    """Problems of running ``spec`` with ``given_params``: unknown and missing params, and names that
    cannot be derived for ``run_name`` (impossible by construction; checked so it stays impossible)."""
    params, errors = resolve_params(spec, given_params)
    size = sum(len(name.encode()) + len(value.encode()) for name, value in params.items())
    if size > MAX_PARAMS_BYTES:
        errors.append(
            f"the run's params are {size} bytes, more than {MAX_PARAMS_BYTES} (they are kept in the run's "
            "status): pass large inputs through a workspace or a ConfigMap"
        )
    for task in spec.all_tasks():
        errors += param_items_errors(task, params)
    if not errors:
        errors += dataset_run_errors(spec, params)
    if run_name:
        for task in spec.all_tasks():
            name = job_name(run_name, task.name, 1)
            if not is_dns_label(name):  # pragma: no cover - job_name always returns a label
                errors.append(f'task "{task.name}": derived Job name "{name}" is not a DNS-1123 label')
        if not is_label_value(label_value(run_name)):  # pragma: no cover - ditto
            errors.append(f'run name "{run_name}" cannot be made a label value')
    return errors


def check_pipeline_spec(raw: Mapping[str, Any]) -> tuple[PipelineSpec | None, list[str]]:
    """Parse and check a Pipeline spec as found in an object; the model only when there are no errors."""
    try:
        spec = from_wire(PipelineSpec, raw)
    except ValidationError as error:
        return None, schema_errors(error)
    errors = pipeline_errors(spec)
    return (None if errors else spec), errors


def check_run_spec(raw: Mapping[str, Any]) -> tuple[PipelineRunSpec | None, list[str]]:
    """Parse a PipelineRun spec (schema only: the Pipeline it runs is checked with ``run_errors``)."""
    try:
        return from_wire(PipelineRunSpec, raw), []
    except ValidationError as error:
        return None, schema_errors(error)


def schema_errors(error: ValidationError, prefix: str = "spec") -> list[str]:
    """pydantic's errors as ``spec.tasks[1].name: …`` lines, with patterns explained in words.

    A value that fits no branch of a union (a quantity is an int or a string) gives one line, not one
    per branch: the branch tags pydantic adds to the location are dropped and the clearest kept.
    """
    by_path: dict[str, tuple[int, str]] = {}
    for detail in error.errors():
        path = prefix
        for part in detail["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif not _is_union_tag(part):
                path += f".{part}" if path else part
        rank, message = 1, detail["msg"].removeprefix("Value error, ")
        pattern = (detail.get("ctx") or {}).get("pattern")
        if detail["type"] == "string_pattern_mismatch" and pattern in _PATTERN_WORDS:
            rank, message = 0, f'"{detail["input"]}" {_PATTERN_WORDS[pattern]}'
        elif detail["type"] == "extra_forbidden":
            message = "unknown field"
        elif isinstance(detail.get("input"), bool):
            shown = str(detail["input"]).lower()
            message = (
                f"got the boolean {shown}: YAML reads unquoted yes/no/on/off/y/n/true/false as booleans; "
                "quote the value to make it a string"
            )
        elif path.endswith((".runAsUser",)) and detail["type"] == "greater_than_equal":
            message = 'must not be 0: root is not allowed (Pod Security Standard "restricted")'
        if path not in by_path or rank < by_path[path][0]:
            by_path[path] = (rank, message)
    return [f"{path}: {message}" for path, (_, message) in by_path.items()]


def _is_union_tag(part: str) -> bool:
    return part in ("int", "str", "constrained-str", "bool", "float") or part.startswith("function-")


def _env_errors(owner: str, env: list[EnvVar]) -> list[str]:
    return [f"{owner}: {error}" for error in duplicates("env", [var.name for var in env])]


def join_errors(errors: Sequence[str], limit: int = 1024) -> str:
    """Errors as one message for a condition or Event, at most ``limit`` characters: the first ones in
    full, then how many more; a problem too long alone is cut at its end."""
    if len(errors) == 1:
        only = errors[0]
        return shorten(only, limit)
    room = limit - 24  # for "; and N more problems"
    shown: list[str] = []
    used = 0
    for error in errors:
        piece = shorten(error, room)
        cost = len(piece) + (2 if shown else 0)
        if shown and used + cost > room:
            break
        shown.append(piece)
        used += cost
    more = len(errors) - len(shown)
    return "; ".join(shown) + (f"; and {more} more problem{'s' if more > 1 else ''}" if more else "")
