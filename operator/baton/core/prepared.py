"""Jobs made ready ahead: a task's Job, rendered while the last parents it waits for still run, created the
moment the last of them is seen to succeed, before the plan that would create it.

Between a parent's success and its child's Job the shell would otherwise spend one whole plan of the run,
and a plan costs with the size of the run (a join after 50 workers plans 52 tasks; a chain step, 20). A
prepared start takes that plan off the path: the shell checks the parent's Job against what the plan that
prepared it saw (`awaited_outcome`, the planner's own judgement of a Job) and creates the child's Job at
once; the plan that follows finds that Job and adopts it, as after any create whose status was not stored.

It is only prepared where nothing but those parents' successes can change what the next plan does with
the child: the child and the parents it waits for are plain tasks (no forEach, sub-pipeline, sensor,
cache, datasets, quality check, results or run-time variables), the child starts on the default rule
once all its parents succeed, and the run is quiet (running, no parallelism limit, nothing failed for
good under FailFast, nothing waiting for quota, no ReadWriteOnce placement). The shell keeps the other
half of the bargain: it drops what a plan prepared on any other event of the run (another Job, a Pod of
another task, a change of the run), and uses none of it at or after the plan's wake-up time. A property
test checks that a fired start is what the full plan creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from baton.api.pipeline import PipelineSpec, TaskSpec
from baton.api.run import RunPhase, TaskPhase, TaskStatus
from baton.core.launch import JobToCreate, claims, render_body
from baton.core.observed import JobState, ObservedJob
from baton.core.references import indices_where, task_refs
from baton.core.state import RunState
from baton.core.tasks import Attempts, advance_task, attempts_table
from baton.kube.names import job_name
from baton.kube.podspec import Claim

if TYPE_CHECKING:
    from baton.core.plan import _Pass

MAX_PREPARED = 8
"""Children prepared per plan at most, in spec order (each costs one rendered Job): enough for the next
steps of chains and joins; a wide layer that becomes ready at once goes through the plan as before."""
MAX_AWAITED = 64
"""Running parents a prepared start may wait for: a 10,000-wide join is prepared once 64 workers are left,
not in every plan of its fan-out (each plan would list them all, and the shell would track them all)."""


class Awaited(NamedTuple):
    """A running parent as the preparing plan saw it: its Job's name, its state, its attempts' rules (a
    tuple, not a frozen dataclass: a join's plan makes one per running worker)."""

    job_name: str
    task: TaskStatus
    attempts: Attempts


@dataclass(frozen=True, slots=True)
class PreparedStart:
    """A child's start, rendered only when it fires (a run holds a few of these while its parents run:
    at 1,000 active runs, rendered Jobs held ahead cost 16 MiB)."""

    run: RunState
    index: int
    attempt: int
    timeout_seconds: int | None
    mounts: dict[str, Claim] | None
    awaits: tuple[Awaited, ...]
    """The parents still running; every other parent has succeeded."""

    @property
    def task(self) -> str:
        return self.run.spec.task_at(self.index).name

    def job(self) -> JobToCreate:
        """The child's Job, exactly as the plan after the parents' successes creates it."""
        task, attempt = self.task, self.attempt
        body = render_body(self.run, self.index, attempt, self.timeout_seconds, {}, self.mounts)
        return JobToCreate(task, attempt, job_name(self.run.meta.name, task, attempt), body)


def awaited_outcome(
    awaited: Awaited, job: ObservedJob | None, now: datetime, observing_since: datetime | None = None
) -> bool | None:
    """What the planner makes of the parent's Job now: True if the parent succeeded, False if it ended
    otherwise or its Job is not the one awaited (then only a plan may decide), None while it runs."""
    if job is None or job.name != awaited.job_name:
        return False
    task, _ = advance_task(awaited.task, job, now, awaited.attempts, observing_since)
    if task.phase is TaskPhase.SUCCEEDED:
        return True
    return None if task.phase is TaskPhase.RUNNING and job.state is JobState.ACTIVE else False


@dataclass(frozen=True, slots=True)
class Preparation:
    starts: tuple[PreparedStart, ...] = ()
    quiet: frozenset[str] = frozenset()
    """Awaited Jobs whose success alone changes nothing the next plan does but the status it records,
    when no start is due with it: every child of their task is prepared (the shell may plan later)."""


NOTHING = Preparation()


def prepare_starts(work: _Pass, phase: RunPhase | None) -> Preparation:
    """The starts to prepare after this plan (``work`` as the plan leaves it, ``phase`` the run's phase
    it leaves): none unless the run is quiet, then each plain Pending task whose parents have all
    succeeded but for running plain ones."""
    run, steering = work.run, work.steering
    spec = run.spec
    if (
        spec.parallelism is not None
        or phase is not RunPhase.RUNNING
        or steering.timed_out
        or steering.cancel
        or steering.suspend
        or work.failed_for_good
        or work.refused
        or work.held  # (a unit the quota held in an earlier pass is ready again, so it is tried again)
        or work.pinned
    ):
        return NOTHING
    tasks, dag = work.tasks, work.dag
    plain = plain_tasks(spec)
    running, pending = TaskPhase.RUNNING, TaskPhase.PENDING
    candidates: set[int] = set()
    children = dag.children
    for p in {*work.running, *work.changed}:
        if tasks[p].phase is running:
            candidates.update(children[p])
    prepared: list[PreparedStart] = []
    children_of: dict[str, int] = {}  # awaited Job → its task
    for c in sorted(candidates & plain):
        child = tasks[c]
        if child.phase is not pending or child.next_attempt_at is not None or dag.is_finally(c):
            continue
        awaits = _awaited(work, c, plain, children_of)
        if awaits:
            prepared.append(_start(work, c, child, awaits))
            if len(prepared) >= MAX_PREPARED:
                break
    if not prepared:
        return NOTHING
    ready = {start.index for start in prepared}
    if dag.finally_from < len(dag):
        # A finally task without dependsOn is judged against every other task: one success may skip it
        # (allFailed), which is written at once, not held like progress. No success is quiet then.
        return Preparation(tuple(prepared))
    quiet = frozenset(name for name, p in children_of.items() if ready.issuperset(children[p]))
    return Preparation(tuple(prepared), quiet)


def _awaited(work: _Pass, child: int, plain: frozenset[int], seen: dict[str, int]) -> tuple[Awaited, ...]:
    """The child's running parents, if every other parent succeeded and each of those is plain (and
    each one's Job and task into `seen`)."""
    tasks, table = work.tasks, attempts_table(work.run.spec, work.run.meta.uid)
    succeeded, running = TaskPhase.SUCCEEDED, TaskPhase.RUNNING
    awaits: list[Awaited] = []
    indices: list[int] = []
    for p in work.dag.parents[child]:
        parent = tasks[p]
        if parent.phase is succeeded:
            continue
        if parent.phase is not running or p not in plain or not parent.job_name:
            return ()
        if len(awaits) == MAX_AWAITED:
            return ()
        awaits.append(Awaited(parent.job_name, parent, table[p]))
        indices.append(p)
    for awaited, p in zip(awaits, indices, strict=True):
        seen[awaited.job_name] = p
    return tuple(awaits)


def _start(work: _Pass, index: int, task: TaskStatus, awaits: tuple[Awaited, ...]) -> PreparedStart:
    """What ``start_ready`` would render for the plain task: no run-time values (a plain task reads
    none), no node (nothing is placed), the run's claims if it mounts workspaces."""
    mounts = claims(work) if work.run.spec.task_at(index).workspaces else None
    timeout = work.attempts(index).timeout_seconds
    return PreparedStart(work.run, index, task.attempts + 1, timeout, mounts, awaits)


def plain_tasks(spec: PipelineSpec) -> frozenset[int]:
    """Indices of the tasks a start may be prepared for (as a child, or as a parent it waits for)."""
    return indices_where(spec, "plain", _plain)


def _plain(task: TaskSpec) -> bool:
    return (
        task.when is None
        and task.for_each is None
        and task.pipeline_ref is None
        and task.sensor is None
        and task.cache is None
        and task.check is None
        and not task.inputs
        and not task.outputs
        and not task.results
        and not task_refs(task)
    )
