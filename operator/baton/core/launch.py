"""The planner's last step: start what is ready (tasks and forEach instances), as the parallelism allows.

Ready units start in spec order (a forEach task's instances in item order, at its place in the spec);
running tasks and running instances count against the run's parallelism, a forEach task itself does not
(it has no Job). A unit that mounts a ReadWriteOnce workspace whose node is not known yet waits while
another Pod that mounts it is running (see ``baton.core.workspaces``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from baton.api.pipeline import TaskSpec
from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.cache import cache_hit, cache_key, served_from_cache, with_this_run
from baton.core.dataset_io import MAX_RESOLVED, resolved_io, with_io
from baton.core.foreach import (
    RESULTS_TOO_LARGE,
    Item,
    instance_name,
    item_text,
    resolve_items,
    summarize_instances,
)
from baton.core.params import task_fields
from baton.core.quota import hold
from baton.core.references import Kind, refs_in, task_refs
from baton.core.results import MAX_ARGUMENT_BYTES
from baton.core.status import format_time
from baton.core.tasks import start_task
from baton.core.variables import run_outcome_values, runtime_context, substitute_runtime
from baton.core.workspaces import placement
from baton.kube.childrun import render_child_run
from baton.kube.names import job_name
from baton.kube.podspec import Claim
from baton.kube.render import render_job

if TYPE_CHECKING:
    from baton.core.plan import _Pass
    from baton.core.state import RunState


@dataclass(frozen=True, slots=True)
class JobToCreate:
    task: str
    """The task, or TASK[INDEX] for an instance of a forEach task."""
    attempt: int
    name: str
    body: dict[str, Any]
    """The complete batch/v1 Job to POST (for a sub-pipeline task: its child PipelineRun)."""
    retry_of: str | None = None
    """For a sub-pipeline task: its last child run (of an earlier attempt, or of the run this run
    retries). If that child ended after it had started, the new child is a retry of it (from its point of
    failure) rather than a fresh run of the sub-pipeline: the shell sees whether it did (`retry_child`)."""


def running_units(tasks: list[TaskStatus]) -> int:
    """Jobs the run has running: its running tasks without forEach, and its running instances."""
    count = 0
    for task in tasks:
        if task.items is None:
            count += task.phase is TaskPhase.RUNNING
        elif task.phase is TaskPhase.RUNNING:
            count += sum(1 for i in task.instances if i.phase is TaskPhase.RUNNING)
    return count


def start_ready(work: _Pass) -> list[JobToCreate]:
    """Create the Jobs of the ready units, in spec order, while the parallelism allows."""
    units = sorted([(i, -1) for i in work.ready] + work.ready_instances)
    if not units:
        return []
    run, spec = work.run, work.run.spec
    limit = spec.parallelism
    running = running_units(work.tasks) if limit else 0
    creates: list[JobToCreate] = []
    items: dict[int, list[Item]] = {}
    instances: dict[int, list[InstanceStatus]] = {}
    started_in: set[int] = set()

    def place(i: int, k: int, unit: InstanceStatus) -> None:
        if k < 0:
            assert isinstance(unit, TaskStatus)
            work.set(i, unit)
        else:
            instances[i][k] = unit
            started_in.add(i)

    for i, k in units:
        spec_task = spec.task_at(i)
        full = limit is not None and running >= limit
        if full and not work.cache_lookup:
            break
        if full and not (k < 0 and spec_task.cache is not None):
            continue  # no room to run it; a task the cache may serve needs none, so it is still tried
        if k < 0:
            current: InstanceStatus = work.tasks[i]
        else:
            current = instances.setdefault(i, list(work.tasks[i].instances))[k]
        unit = spec_task.name if k < 0 else instance_name(spec_task.name, k)
        if work.refused:
            # The quota refused Jobs a moment ago: those units wait, and nothing else is tried in this
            # pass (it would be refused too); the Jobs that were created are adopted as observed.
            if unit not in work.refused:
                continue
            place(i, k, hold(current, work.refused[unit]))
            work.held.append(unit)
            continue
        node = None
        if work.pinned and spec_task.workspaces:
            siblings = k >= 0 and any(x.phase is TaskPhase.RUNNING for x in instances[i])
            wait, node = placement(work.pinned, work.workspaces, spec_task, i, work.tasks, siblings)
            if wait:
                continue  # until the first Pod that mounts the claim is bound to a node
        attempt = current.attempts + 1
        attempts = work.attempts(i)
        if k >= 0:
            attempts = replace(attempts, seed=f"{run.meta.uid}/{unit}")
        instance = None
        if k >= 0:
            if i not in items:
                resolved = resolve_items(spec_task, run.params, work.tasks, work.dag.index)
                assert isinstance(resolved, list), "an expanded forEach task's items resolve again"
                items[i] = resolved
            instance = (k, item_text(items[i][k]))
        retried = None
        if spec_task.pipeline_ref is not None:
            retried = current.job_name  # the last child: this attempt's, or the retried run's
            body = render_child_run(
                run.meta,
                run.pipeline,
                spec_task,
                run.params,
                attempt,
                context=_context(work, i),
                timeout_seconds=attempts.timeout_seconds,
            )
        else:
            body = _render(work, i, attempt, attempts.timeout_seconds, node, instance)
        name = job_name(run.meta.name, unit, attempt)
        if k < 0 and spec_task.cache is not None and work.cache is not None:
            assert isinstance(current, TaskStatus)
            known = with_datasets(work, i, current)
            key = cache_key(spec_task, body, known, with_this_run(work.cache.updated, work.tasks))
            hit = cache_hit(spec_task, key, work.cache, work.now) if work.cache_lookup else None
            if hit is not None:
                work.set(i, served_from_cache(known, key, hit, work.now))
                work.served += 1  # its dependents are decided in this same plan (see ``plan``)
                continue  # no Job, and nothing running
            if full:
                continue  # not cached: it waits for room like any task
            keyed = key
        else:
            keyed = None
        creates.append(JobToCreate(unit, attempt, name, body, retried))
        if current.pokes and current.job_name:
            # A sensor's last poke, recorded as not ready: its Job has said all it had to say.
            work.deletes.append(current.job_name)
        started = start_task(current, attempt, name, work.now)
        if k < 0:
            assert isinstance(started, TaskStatus)
            started = with_datasets(work, i, started)
            if keyed is not None:
                started = started.model_copy(update={"cache_key": keyed})
        place(i, k, started)
        work.watch_running(started, None, attempts)  # its Job is not observed yet
        running += 1
    for i in started_in:  # only where an instance started or waits: an untouched copy is no change
        work.set(i, summarize_instances(work.tasks[i], instances[i]))
    return creates


def _render(
    work: _Pass,
    i: int,
    attempt: int,
    timeout_seconds: int | None,
    node: str | None = None,
    instance: tuple[int, str] | None = None,
) -> dict[str, Any]:
    spec_task = work.run.spec.task_at(i)
    mounts = claims(work) if spec_task.workspaces else None
    return render_body(work.run, i, attempt, timeout_seconds, _context(work, i), mounts, node, instance)


def render_body(
    run: RunState,
    i: int,
    attempt: int,
    timeout_seconds: int | None,
    context: dict[str, str],
    mounts: dict[str, Claim] | None,
    node: str | None = None,
    instance: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Task ``i``'s Job for ``attempt``, from what ``start_ready`` knows of it (``core.prepared`` renders
    a prepared start's Job with it too, when the start fires)."""
    return render_job(
        run.meta,
        run.pipeline,
        run.spec.task_at(i),
        run.spec.task_defaults,
        run.params,
        attempt,
        context=context,
        timeout_seconds=timeout_seconds,
        claims=mounts,
        node=node,
        instance=instance,
    )


def _context(work: _Pass, index: int) -> dict[str, str]:
    """The values of the run-time variables task ``index`` reads, once per pass (a task reading results is
    checked for their size when it becomes ready, then rendered: the same values both times)."""
    known = work.contexts.get(index)
    if known is not None:
        return known
    references = task_refs(work.run.spec.task_at(index))
    context: dict[str, str] = {}
    if references:
        outcome = run_outcome_values(work.tasks[: work.dag.finally_from])
        context = runtime_context(references, work.dag, work.tasks, outcome)
    work.contexts[index] = context
    return context


def adopted(work: _Pass, index: int, task: TaskStatus) -> TaskStatus:
    """A Pending task whose Job exists already (created by a plan whose status was not stored: a write
    that went on behind, a crash): what starting it records, its datasets and its cache key, without
    creating anything."""
    spec_task = work.run.spec.task_at(index)
    if spec_task.cache is None and not _resolves_datasets(spec_task):
        return task  # the common case, checked first: every plan of a wide run adopts its workers again
    task = with_datasets(work, index, task)
    if spec_task.cache is None or work.cache is None or task.cache_key is not None:
        return task
    run = work.run
    body = render_job(
        run.meta,
        run.pipeline,
        spec_task,
        run.spec.task_defaults,
        run.params,
        max(task.attempts, 1),
        context=_context(work, index),
        timeout_seconds=work.attempts(index).timeout_seconds,
    )
    key = cache_key(spec_task, body, task, with_this_run(work.cache.updated, work.tasks))
    return task.model_copy(update={"cache_key": key})


def with_datasets(work: _Pass, index: int, task: TaskStatus) -> TaskStatus:
    """``task`` recording the datasets it reads and writes, resolved now: when it starts (or its Job,
    created by a plan whose status was not stored, is adopted), or, for a forEach task, when it expands
    (for every item at once: its instances start one by one, but their items are known)."""
    spec_task = work.run.spec.task_at(index)
    if not _resolves_datasets(spec_task):
        return task
    context = _context(work, index)
    params = work.run.params
    if spec_task.for_each is None:
        return with_io(task, *resolved_io(spec_task, params, context, None))
    items = resolve_items(spec_task, params, work.tasks, work.dag.index)
    if isinstance(items, tuple):
        return task  # the task fails for its items; it read and wrote nothing
    for k, item in enumerate(items):
        task = with_io(task, *resolved_io(spec_task, params, context, (k, item_text(item))))
        if len(task.inputs) >= MAX_RESOLVED and len(task.outputs) >= MAX_RESOLVED:
            break
    return task


def claims(work: _Pass) -> dict[str, Claim]:
    read_only = {w.name for w in work.run.spec.workspaces if w.read_only}
    return {w.name: Claim(w.claim_name, w.name in read_only) for w in work.workspaces}


def oversized(work: _Pass, index: int, task: TaskStatus) -> TaskStatus | None:
    """A task that reads results, failed (ResultsTooLarge) when a field would pass the kernel's limit
    for one argument or environment string once its results are substituted; None when all fit."""
    spec_task = work.run.spec.task_at(index)
    context = _context(work, index)
    for field, text in task_fields(spec_task):
        size = len(substitute_runtime(text, context).encode())
        if size <= MAX_ARGUMENT_BYTES:
            continue
        reads = [r for r in refs_in(text) if r.kind is Kind.TASK_RESULT]
        biggest = max(reads, key=lambda r: len(context.get(r.text, "")), default=None)
        if biggest is None:
            return None  # no result makes it so; the API server will say what is wrong
        source = work.tasks[work.dag.index[biggest.target]]
        kind = "aggregated results" if source.items is not None else "result"
        message = (
            f"{field}: the {kind} of {biggest.target} are {len(context[biggest.text].encode())} bytes, which "
            f"makes it {size} bytes, more than Linux allows in one argument ({MAX_ARGUMENT_BYTES}); pass "
            "them through a workspace"
        )
        now = format_time(work.now)
        return task.model_copy(
            update={
                "phase": TaskPhase.FAILED,
                "reason": RESULTS_TOO_LARGE,
                "message": message,
                "start_time": now,
                "completion_time": now,
            }
        )
    return None


def _resolves_datasets(spec_task: TaskSpec) -> bool:
    return bool(spec_task.inputs or spec_task.outputs or spec_task.check is not None)
