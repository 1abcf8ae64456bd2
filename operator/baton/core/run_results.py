"""The run's own results (spec.results), computed once the run has ended."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from baton.api.pipeline import PipelineSpec
from baton.api.run import RunResult, TaskPhase, TaskStatus
from baton.core.foreach import task_result
from baton.core.params import substitute
from baton.core.references import Kind, refs_in
from baton.core.results import display
from baton.core.variables import substitute_runtime


def run_results(
    spec: PipelineSpec, tasks: Sequence[TaskStatus], params: Mapping[str, str]
) -> list[RunResult]:
    """Each of the Pipeline's results with its references substituted; a result that reads a task which
    did not succeed is left out (the task's own status says why)."""
    by_name = {task.name: task for task in tasks}
    out = []
    for result in spec.results:
        values: dict[str, str] = {}
        for ref in refs_in(result.value):
            task = by_name.get(ref.target) if ref.kind is Kind.TASK_RESULT else None
            succeeded = task is not None and task.phase is TaskPhase.SUCCEEDED
            recorded = task_result(task, ref.result) if task is not None and succeeded else None
            if recorded is None:
                break
            values[ref.text] = display(recorded)
        else:
            # The kubelet's escaping does not apply here: nobody expands a status field again.
            text = substitute_runtime(substitute(result.value, params), values)
            out.append(RunResult(name=result.name, value=text.replace("$$", "$")))
    return out
