"""Substituting the variables of ``baton.core.references``, and checking every reference before a run.

Values known only when a task starts (`$(run.status)`, `$(tasks.T.status)`, `$(tasks.T.results.R)`) come
from the planner's context; the paths and the forEach item come from the Job's renderer. Both are
substituted with the same escaping as params (`$$(run.status)` stays literal; a value's own `$` is doubled
so that the kubelet's expansion cannot reinterpret it; see ``baton.core.params``).

- ``$(tasks.NAME.status)``: the phase of task NAME: Succeeded, Failed, Skipped or Cancelled. A task may
  read it for the tasks it depends on (directly or not); a finally task for every task and for the
  finally tasks it depends on.
- ``$(run.status)``, in finally tasks only: how the run's tasks (not its finally tasks) ended:
  Succeeded (none failed), Failed (at least one failed) or Cancelled (the run was cancelled).
- ``$(tasks.NAME.results.R)``: see ``baton.core.results``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.run import RunPhase, TaskPhase, TaskStatus
from baton.core.dag import Dag
from baton.core.foreach import task_result
from baton.core.params import declared_hint
from baton.core.params import references as param_references
from baton.core.references import TOKEN, Kind, Ref, near_misses, parse, reference_fields, refs_in
from baton.core.results import display
from baton.core.status import run_outcome

# What each namespace of references offers, for the message about a reference that fits none.
OFFERED = {
    "run": "$(run.status), $(run.reason) and $(run.failedTasks)",
    "tasks": "$(tasks.NAME.status) and $(tasks.NAME.results.RESULT)",
    "workspaces": "$(workspaces.NAME.path)",
    "volumes": "$(volumes.NAME.path)",
    "results": "$(results.path)",
    "item": "$(item) and $(item.index)",
}
_FROM = re.compile(r"^\$\((params\.[^)]*|tasks\.[^)]*)\)$")


def substitute_runtime(text: str, context: Mapping[str, str]) -> str:
    """``text`` with Baton's references replaced by their (kubelet-escaped) values from ``context``;
    references without a value are left as they are (validation reports them before a run starts)."""
    if "$(" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return token
        value = context.get(match.group(1))
        return token if value is None else value.replace("$", "$$")

    return TOKEN.sub(replace, text)


RUN_KINDS = (Kind.RUN_STATUS, Kind.RUN_REASON, Kind.RUN_FAILED_TASKS)


def run_outcome_values(tasks: Sequence[TaskStatus]) -> dict[Kind, str]:
    """What a finally task reads of how the run's (other) tasks ended: status, reason, failed tasks.

    The reason is Timeout or Cancelled when the run was stopped, else the first failed task's own reason
    (Failed, OOMKilled, DeadlineExceeded, QualityGateFailed…), else Succeeded."""
    phase, reason = run_outcome(tasks)
    failed = [t for t in tasks if t.phase is TaskPhase.FAILED]
    if phase is RunPhase.FAILED and reason == RunPhase.FAILED.value and failed:
        reason = failed[0].reason or reason
    return {
        Kind.RUN_STATUS: phase.value,
        Kind.RUN_REASON: reason,
        Kind.RUN_FAILED_TASKS: ",".join(t.name for t in failed),
    }


def runtime_context(
    references: set[str], dag: Dag, tasks: Sequence[TaskStatus], run_values: Mapping[Kind, str]
) -> dict[str, str]:
    """Values of the run-time ``references`` given the tasks' current states (``run_values``: see
    ``run_outcome_values``)."""
    context: dict[str, str] = {}
    for text in references:
        ref = parse(text)
        if ref.kind in RUN_KINDS:
            context[text] = run_values.get(ref.kind, "")
            continue
        index = dag.index.get(ref.target)
        if index is None:
            continue
        if ref.kind is Kind.TASK_STATUS:
            context[text] = tasks[index].phase.value
        elif ref.kind is Kind.TASK_RESULT:
            value = task_result(tasks[index], ref.result)
            if value is not None:
                context[text] = display(value)
    return context


def variable_errors(spec: PipelineSpec, dag: Dag) -> list[str]:
    """References that name nothing, or what the task cannot know when it starts."""
    errors: list[str] = []
    for index, task in enumerate(spec.all_tasks()):
        checker = _TaskChecker(spec, dag, task, dag.is_finally(index))
        for field, text in reference_fields(task):
            owner = f'{"finally task" if checker.is_finally else "task"} "{task.name}": {field}'
            if field == "forEach.from" and not _FROM.match(text.strip()):
                errors.append(
                    f"{owner} must be exactly one reference, $(params.NAME) or $(tasks.NAME.results.RESULT)"
                )
                continue
            for ref in refs_in(text):
                problem = checker.problem(ref, field)
                if problem:
                    errors.append(f"{owner} {problem}")
            for name, suggestion in near_misses(text):
                if name not in checker.env_names:
                    errors.append(
                        f'{owner} references "$({name})", which Baton does not know: did you mean '
                        f'"$({suggestion})"? (an unknown $(...) reaches the container as it is)'
                    )
    if spec.task_defaults is not None:
        for var in spec.task_defaults.env:
            for ref in refs_in(var.value or ""):
                errors.append(
                    f'taskDefaults: env "{var.name}" reads $({ref.text}), which depends on the task: set it '
                    "on the tasks that use it"
                )
    errors += _pipeline_result_errors(spec, dag)
    return errors


class _TaskChecker:
    def __init__(self, spec: PipelineSpec, dag: Dag, task: TaskSpec, is_finally: bool) -> None:
        self.spec, self.dag, self.task, self.is_finally = spec, dag, task, is_finally
        self._upstream: set[str] | None = None
        defaults = spec.task_defaults.env if spec.task_defaults else []
        self.env_names = {var.name for var in [*defaults, *task.env]}
        """Env vars the task defines: `$(NAME)` of one of them is Kubernetes' expansion, not a typo."""

    def upstream(self) -> set[str]:
        if self._upstream is None:
            self._upstream = self.dag.upstream([self.task.name])
        return self._upstream

    def problem(self, ref: Ref, field: str) -> str | None:
        kind, task = ref.kind, self.task
        if kind is Kind.MALFORMED:
            space = ref.text.split(".")[0]
            owner = "the run" if space == "run" else "a task" if space == "tasks" else "Baton"
            return f'references unknown "$({ref.text})" ({owner} offers {OFFERED[space]})'
        if kind in RUN_KINDS:
            if not self.is_finally:
                return (
                    f"reads $({ref.text}), which only finally tasks can read (the run has not ended while "
                    "its other tasks run)"
                )
            return None
        if kind is Kind.TASK_STATUS:
            return self._status_problem(ref.target)
        if kind is Kind.TASK_RESULT:
            return result_problem(self.spec, self.dag, task.name, self.is_finally, ref)
        if kind is Kind.RESULTS_PATH and not task.results:
            return "uses $(results.path) but the task declares no results"
        if kind is Kind.WORKSPACE_PATH:
            return _mount_problem(
                "workspace", ref.target, [w.name for w in task.workspaces], self._declared()
            )
        if kind is Kind.VOLUME_PATH:
            return _mount_problem("volume", ref.target, [v.name for v in task.volumes], None)
        if kind in (Kind.ITEM, Kind.ITEM_INDEX):
            if task.for_each is None:
                return f"uses $({ref.text}), which only forEach tasks have"
            if field == "forEach.from":
                return f"uses $({ref.text}) in forEach.from, where the items are not known yet"
        return None

    def _declared(self) -> list[str]:
        return [w.name for w in self.spec.workspaces]

    def _status_problem(self, target: str) -> str | None:
        dag = self.dag
        if target not in dag.index:
            return f'reads the status of unknown task "{target}"{_hint(target, dag.names)}'
        if self.is_finally and not dag.is_finally(dag.index[target]):
            return None  # every task has ended when a finally task starts
        if target not in self.upstream():
            return (
                f'reads the status of task "{target}", which it does not depend on (add it to dependsOn, '
                "directly or through another task)"
            )
        return None


def result_problem(spec: PipelineSpec, dag: Dag, reader: str, is_finally: bool, ref: Ref) -> str | None:
    """What is wrong with ``reader`` reading result ``ref`` (None: nothing)."""
    target = ref.target
    if target == reader:
        return f"reads its own result $({ref.text}); use the value where it is computed"
    index = dag.index.get(target)
    if index is None:
        return f'reads a result of unknown task "{target}"{_hint(target, dag.names)}'
    if dag.is_finally(index) and not is_finally:
        return f'reads a result of finally task "{target}", which runs after every other task has ended'
    declared = [result.name for result in spec.task_at(index).results]
    if ref.result not in declared:
        if not declared:
            return f'reads result "{ref.result}" of task "{target}", which declares no results'
        return (
            f'reads result "{ref.result}" of task "{target}", which declares {", ".join(declared)}'
            f"{_hint(ref.result, declared)}"
        )
    return None


def _pipeline_result_errors(spec: PipelineSpec, dag: Dag) -> list[str]:
    errors = []
    declared = [param.name for param in spec.params]
    for result in spec.results:
        owner = f'result "{result.name}": value'
        for param in param_references(result.value):
            if param.name not in declared:
                errors.append(f'{owner} references undeclared param "{param.name}"')
        for ref in refs_in(result.value):
            if ref.kind is not Kind.TASK_RESULT:
                errors.append(
                    f'{owner} may only read $(tasks.NAME.results.RESULT) and params, not "$({ref.text})"'
                )
                continue
            problem = result_problem(spec, dag, "", True, ref)
            if problem:
                errors.append(f"{owner} {problem}")
    return errors


def _mount_problem(what: str, name: str, mounted: list[str], declared: list[str] | None) -> str | None:
    if name in mounted:
        return None
    if declared is not None and name in declared:
        return f'reads the path of {what} "{name}", which the task does not mount (add it to its workspaces)'
    if declared is None:
        hint = declared_hint(name, mounted, "the task has no volumes")
    else:
        hint = declared_hint(name, declared, "the pipeline declares no workspaces")
    return f'reads the path of unknown {what} "{name}"{hint}'


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
