"""Run-time variables: `$(run.status)` and `$(tasks.NAME.status)`, known only when a task starts.

They are substituted in the same fields as params (command, args, env values) and with the same
escaping (`$$(run.status)` stays literal; see ``baton.core.params``). Values:

- ``$(tasks.NAME.status)``: the phase of task NAME: Succeeded, Failed, Skipped or Cancelled. A task may
  read it for the tasks it depends on (directly or not); a finally task for every task and for the
  finally tasks it depends on.
- ``$(run.status)``, in finally tasks only: how the run's tasks (not its finally tasks) ended:
  Succeeded (none failed), Failed (at least one failed) or Cancelled (the run was cancelled).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.run import TaskStatus
from baton.core.dag import Dag
from baton.core.params import task_fields

_TOKEN = re.compile(r"\$\$|\$\((run|tasks)\.([^)]*)\)")
RUN_STATUS = "run.status"


def task_status_key(task: str) -> str:
    return f"tasks.{task}.status"


def runtime_references(text: str) -> list[str]:
    """The run-time references in ``text`` ("run.status", "tasks.load.status", …), skipping escaped ones."""
    if "$(" not in text:
        return []
    return [f"{m.group(1)}.{m.group(2)}" for m in _TOKEN.finditer(text) if m.group(0) != "$$"]


def task_references(task: TaskSpec) -> set[str]:
    """Every run-time reference in the task's substituted fields."""
    return {ref for _, text in task_fields(task) for ref in runtime_references(text)}


def substitute_runtime(text: str, context: Mapping[str, str]) -> str:
    """``text`` with run-time references replaced by their (kubelet-escaped) values from ``context``;
    references without a value are left as they are (validation reports them before a run starts)."""
    if "$(" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return token
        value = context.get(f"{match.group(1)}.{match.group(2)}")
        return token if value is None else value.replace("$", "$$")

    return _TOKEN.sub(replace, text)


def runtime_context(
    references: set[str], dag: Dag, tasks: Sequence[TaskStatus], run_status: str
) -> dict[str, str]:
    """Values of ``references`` given the tasks' current states."""
    context: dict[str, str] = {}
    for ref in references:
        if ref == RUN_STATUS:
            context[ref] = run_status
        elif ref.startswith("tasks.") and ref.endswith(".status"):
            index = dag.index.get(ref[len("tasks.") : -len(".status")])
            if index is not None:
                context[ref] = tasks[index].phase.value
    return context


def variable_errors(spec: PipelineSpec, dag: Dag) -> list[str]:
    """Run-time references that name nothing, or what the task cannot know when it starts."""
    errors: list[str] = []
    names = list(dag.names)
    for index, task in enumerate(spec.all_tasks()):
        is_finally = dag.is_finally(index)
        upstream: set[str] | None = None
        for field, text in task_fields(task):
            for ref in runtime_references(text):
                owner = f'{"finally task" if is_finally else "task"} "{task.name}": {field}'
                if ref.startswith("run."):
                    if ref != RUN_STATUS:
                        errors.append(f'{owner} references unknown "$({ref})" (the run offers $(run.status))')
                    elif not is_finally:
                        errors.append(
                            f"{owner} reads $(run.status), which only finally tasks can read "
                            "(the run has not ended while its other tasks run)"
                        )
                    continue
                parts = ref.split(".")
                if len(parts) != 3 or parts[2] != "status":
                    errors.append(f'{owner} references "$({ref})"; only $(tasks.NAME.status) is supported')
                    continue
                target = parts[1]
                if target not in dag.index:
                    errors.append(
                        f'{owner} reads the status of unknown task "{target}"{_hint(target, names)}'
                    )
                    continue
                if is_finally and not dag.is_finally(dag.index[target]):
                    continue  # every task has ended when a finally task starts
                if upstream is None:
                    upstream = dag.upstream([task.name])
                if target not in upstream:
                    errors.append(
                        f'{owner} reads the status of task "{target}", which it does not depend on '
                        "(add it to dependsOn, directly or through another task)"
                    )
    return errors


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
