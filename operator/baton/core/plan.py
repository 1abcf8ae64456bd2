"""THE decision function: given a run's status and the Jobs observed now, what to do next.

``plan`` is pure and level-triggered: the same (run, jobs, now) always give the same Plan, and it never
relies on remembering an event. The shell applies a Plan in this order: create the Jobs (a 409 means the
Job exists: fine, it will be adopted), delete the Jobs to stop, then patch the status (only when
``status`` is not None), post the Events, and schedule a wake-up at ``wake_at``. If a create fails
otherwise, the shell skips the status patch and plans again later: the status never claims a Job that
was not created.

A plan reaches a fixed point in one call: planning its own result again (with the same Jobs and time)
changes nothing. The shell relies on that: it does not reconcile the echo of its own status write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from baton.api.pipeline import TriggerRule
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskPhase, TaskStatus, WorkspaceStatus
from baton.core import reasons
from baton.core.cache import CacheView
from baton.core.dag import Dag, dag_of
from baton.core.events import Event, transition_events
from baton.core.fanout import decide_instances, instance_failed_for_good, observe_instances, start_for_each
from baton.core.finally_budget import begin_finally
from baton.core.gates import (
    GATE,
    QUALITY_GATE_FAILED,
    gate_failed,
    gate_message,
    warn_instead,
)
from baton.core.launch import JobToCreate, adopted, oversized, start_ready, with_datasets
from baton.core.observed import ObservedJob
from baton.core.pass_summary import summarize_pass
from baton.core.prepared import NOTHING, Preparation, prepare_starts
from baton.core.quota import quota_event
from baton.core.references import result_readers
from baton.core.results import RESULT_UNAVAILABLE, unavailable_result
from baton.core.rules import Upstream, Verdict, count_upstream, judge, unmet_message
from baton.core.state import RunState
from baton.core.status import name_list, parse_time
from baton.core.steering import Steering
from baton.core.tasks import (
    Attempts,
    advance_task,
    attempts_table,
    details_due,
    give_up,
    job_lost_at,
    skip_task,
    task_deadline,
    waiting_for_retry,
)
from baton.core.transition_memo import TransitionMemo, outcome_fixed
from baton.core.units import aligned_tasks, newest_jobs, nodes_of, unit_changes
from baton.core.workspaces import pinned_workspaces, record_nodes


@dataclass(frozen=True, slots=True)
class Plan:
    create_jobs: tuple[JobToCreate, ...] = ()
    delete_jobs: tuple[str, ...] = ()
    """Names of Jobs to delete (propagation Background): attempts stopped by a cancel, the run's timeout
    or the task's own timeout."""
    status: PipelineRunStatus | None = None
    """The new status, or None when nothing changed (then the shell makes no request)."""
    events: tuple[Event, ...] = ()
    wake_at: datetime | None = None
    """Plan again at this time even if nothing is observed to change."""
    prepared: Preparation = field(default=NOTHING, compare=False)
    """Jobs to create the moment the running parents they wait for succeed (``baton.core.prepared``): a
    way to act sooner, not an action, so two plans that act alike are equal whatever they prepared."""

    @property
    def idle(self) -> bool:
        return not (self.create_jobs or self.delete_jobs or self.status is not None or self.wake_at)


# Fields compared to decide whether the status changed; tasks are compared by identity (unchanged
# entries are the same objects) and the frozen spec and params never change after the start.
_SCALAR_FIELDS = (
    "phase",
    "start_time",
    "completion_time",
    "duration",
    "progress",
    "observed_generation",
    "conditions",
    "workspaces",
    "results",
    "finally_start_time",
)


def plan(
    run: RunState,
    jobs: Sequence[ObservedJob],
    now: datetime,
    refused: Mapping[str, str] | None = None,
    observing_since: datetime | None = None,
    cache: CacheView | None = None,
    memo: TransitionMemo | None = None,
) -> Plan:
    """Decide the next actions of a started run (see ``baton.core.start.start_run``).

    ``refused`` names the units (task, or task[k]) whose Job the API server just refused for quota,
    with its message: they stay Pending with reason ExceededQuota instead of starting (`core.quota`).
    ``observing_since`` is when the shell began to watch (its start): a Job it has not seen yet is lost
    only a while after that, however long ago its task started (its watch may still be listing).
    ``cache`` is what the shell knows of the cache of the run's Pipeline (``baton.core.cache``); without
    it, tasks with cache simply run. ``memo`` (kept by the shell between plans of one stored status)
    saves finding the same successes again; it never changes the plan (``baton.core.transition_memo``).

    Two passes over the tasks (O(V + E)): fold the observed Jobs into the running tasks, then decide
    every task that has not started (skip it, start it, or let it wait) in topological order, so that a
    failure propagates to everything downstream at once; then start what is ready in spec order up to
    the run's parallelism, and summarize the run.
    """
    status = run.status
    assert status.phase is not None
    if status.phase.finished:
        if status.observed_generation == run.meta.generation:
            return Plan()
        return Plan(status=status.model_copy(update={"observed_generation": run.meta.generation}))
    dag = dag_of(run.spec)
    before = aligned_tasks(dag, status.tasks)
    steering = Steering.of(run, now)
    work = _Pass(
        run, dag, steering, now, list(before), refused=refused or {}, observing_since=observing_since
    )
    work.memo = memo
    if cache is not None and run.status.pipeline:
        work.cache = cache
        work.cache_lookup = not run.control.no_cache
    newest, work.instance_jobs = newest_jobs(dag, jobs)
    by_instance = work.instance_jobs
    work.observe(newest, by_instance)
    work.pinned = pinned_workspaces(run.spec) if status.workspaces else {}
    work.workspaces = status.workspaces
    if work.pinned:
        work.workspaces = record_nodes(work.pinned, status.workspaces, nodes_of(newest, by_instance))
    work.decide()
    creates = start_ready(work)
    while work.served:  # tasks the cache served in this pass: the tasks after them may start in it too
        work.served, work.ready, work.ready_instances = 0, [], []
        work.decide()
        creates += start_ready(work)
    if steering.deadline is not None and not steering.timed_out:
        work.wake(steering.deadline)
    begin_finally(work)
    new_status = summarize_pass(work, status)
    prepared = prepare_starts(work, new_status.phase)
    tasks_changed = bool(work.changed) or before is not status.tasks
    if (
        not tasks_changed
        and not work.deletes
        and all(getattr(new_status, f) == getattr(status, f) for f in _SCALAR_FIELDS)
    ):
        return Plan(wake_at=work.wake_at, prepared=prepared)
    changes = [pair for i in sorted(set(work.changed)) for pair in unit_changes(before[i], work.tasks[i])]
    events = transition_events(changes, status, new_status)
    if work.held:
        events.append(quota_event(work.held, work.refused))
    return Plan(
        create_jobs=tuple(creates),
        delete_jobs=tuple(work.deletes),
        status=new_status,
        events=tuple(events),
        wake_at=work.wake_at,
        prepared=prepared,
    )


@dataclass(slots=True)
class _Pass:
    run: RunState
    dag: Dag
    steering: Steering
    now: datetime
    tasks: list[TaskStatus]
    """The task states being decided, in spec order (tasks, then finally tasks)."""
    changed: list[int] = field(default_factory=list)
    """Indices of tasks whose state changed (or that were started)."""
    ready: list[int] = field(default_factory=list)
    """Indices of tasks to start now (a first attempt or a retry), in any order."""
    ready_instances: list[tuple[int, int]] = field(default_factory=list)
    """(task index, instance index) of forEach instances to start now."""
    contexts: dict[int, dict[str, str]] = field(default_factory=dict)
    """Values of the run-time variables of the tasks started in this pass, by task index."""
    instance_jobs: dict[int, dict[int, ObservedJob]] = field(default_factory=dict)
    """The newest observed Job of each instance, by task index and instance index."""
    deletes: list[str] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    """Indices of the tasks that ran (or had a Job) before this pass: with those it started (``changed``),
    every task that may run after it (what ``core.prepared`` looks at, not all tasks)."""
    wake_at: datetime | None = None
    any_waiting: bool = False
    failed_for_good: str | None = None
    """The first task (not a finally task) that failed with no attempt left, for FailFast."""
    pinned: dict[str, list[int]] = field(default_factory=dict)
    """ReadWriteOnce workspaces of the run and the tasks that mount them."""
    workspaces: list[WorkspaceStatus] = field(default_factory=list)
    """The run's workspaces, with the nodes learnt in this pass."""
    refused: Mapping[str, str] = field(default_factory=dict)
    """Units whose Job the API server refused for quota, with its message."""
    held: list[str] = field(default_factory=list)
    """The units this pass kept waiting for quota."""
    observing_since: datetime | None = None
    cache: CacheView | None = None
    """The cache of the run's Pipeline: tasks with cache record their key in it (None: no key, they run)."""
    served: int = 0
    """Tasks the cache served since the last decision pass."""
    cache_lookup: bool = False
    """Whether a task with cache may be served from it (not with spec.cache Disabled: it runs)."""
    memo: TransitionMemo | None = None
    finally_start_time: str | None = None
    """When the finally tasks' budget began (set in the pass that sees every other task ended)."""

    def wake(self, at: datetime) -> None:
        self.wake_at = at if self.wake_at is None else min(self.wake_at, at)

    def attempts(self, index: int) -> Attempts:
        return attempts_table(self.run.spec, self.run.meta.uid)[index]

    def set(self, index: int, task: TaskStatus) -> None:
        if task is not self.tasks[index]:
            self.tasks[index] = task
            self.changed.append(index)

    # -- pass 1: running tasks ----------------------------------------------------------------------

    def observe(self, jobs: dict[int, ObservedJob], instance_jobs: dict[int, dict[int, ObservedJob]]) -> None:
        running, pending = TaskPhase.RUNNING, TaskPhase.PENDING
        memo = self.memo
        table = attempts_table(self.run.spec, self.run.meta.uid)  # once per pass, not per task
        for i, task in enumerate(self.tasks):
            phase = task.phase
            if phase is not running and not (phase is pending and i in jobs):
                continue
            self.running.append(i)
            if task.items is not None:  # an expanded forEach task: its instances have the Jobs
                if phase is running:
                    self.set(i, observe_instances(self, i, task, instance_jobs.get(i, {})))
                continue
            job = jobs.get(i)
            # A wide run's stored status lags its Jobs: every plan meets the same finished workers again.
            step = memo.recall(task, job) if memo is not None else None
            if step is None:
                step = self.observe_task(i, task, job, table[i])
            new, deletes = step
            if deletes:
                self.deletes.extend(deletes)
            self.set(i, new)

    def observe_task(
        self, i: int, stored: TaskStatus, job: ObservedJob | None, attempts: Attempts
    ) -> tuple[TaskStatus, tuple[str, ...]]:
        """Task ``i``'s new state from its Job, and the Jobs to delete for it."""
        # A Pending task with a Job: its Job was created by a plan whose status was not stored. Adopt it.
        task = adopted(self, i, stored) if stored.phase is TaskPhase.PENDING else stored
        new, delete = advance_task(task, job, self.now, attempts, self.observing_since)
        if new.phase is TaskPhase.FAILED:
            new = warn_instead(self.run.spec.task_at(i), new)
        deletes: list[str] = []
        if new.pokes and new.attempts > task.attempts and task.job_name and task.pokes:
            deletes.append(task.job_name)  # a sensor's next poke is on: its last one said all
        if delete and new.job_name:
            deletes.append(new.job_name)
        if new.phase is TaskPhase.RUNNING:
            stop = self.steering.stop(self.dag.is_finally(i))
            if stop is not None:
                new = stop.end(new, self.now)
                if new.job_name:
                    deletes.append(new.job_name)
            else:
                self.watch_running(new, job, attempts)
        elif self.memo is not None and job is not None and task is stored:
            if outcome_fixed(task, job, attempts):  # the same at every `now`
                self.memo.remember(stored, job, new, tuple(deletes))
        return new, tuple(deletes)

    def watch_running(self, task: InstanceStatus, job: ObservedJob | None, attempts: Attempts) -> None:
        if job is None or job.attempt != task.attempts:
            self.wake(job_lost_at(task, self.observing_since))
        elif (due := details_due(job, self.now, bool(attempts.results))) is not None:
            self.wake(due)  # the Pod's event normally comes first and brings the run back sooner
        deadline = task_deadline(task, attempts.timeout_seconds, job)
        if deadline is not None:
            self.wake(deadline)

    # -- pass 2: tasks not running ------------------------------------------------------------------

    def decide(self) -> None:
        """Skip, start or hold every Pending task, in topological order. ``cause[i]`` is (task, verb):
        what made task i end without success, so that a skipped task names the task that really
        failed, however far upstream."""
        tasks, dag, steering = self.tasks, self.dag, self.steering
        if steering.fail_fast:
            self.failed_for_good = next(
                (
                    t.name
                    for t in tasks[: dag.finally_from]
                    if t.phase is TaskPhase.FAILED or instance_failed_for_good(t)
                ),
                None,
            )
        cause: dict[int, tuple[str, str]] = {}
        main_upstream: Upstream | None = None
        succeeded, pending = TaskPhase.SUCCEEDED, TaskPhase.PENDING
        # The common case, kept fast for 10,000-task runs: nothing has gone wrong so far, and a task
        # with the default rule starts once all its dependencies succeeded.
        quiet = not (steering.timed_out or steering.cancel or self.failed_for_good)
        parents, finally_from, spec_tasks = dag.parents, dag.finally_from, self.run.spec.tasks
        running = TaskPhase.RUNNING
        for i in dag.order:
            task = tasks[i]
            phase = task.phase
            if phase is running:
                if task.items is None:
                    continue
                task = decide_instances(self, i, task)  # an expanded forEach task
                self.set(i, task)
                phase = task.phase
                if phase is running:
                    continue
            if phase is succeeded:
                continue
            if phase is pending:
                if (
                    quiet
                    and not cause
                    and i < finally_from
                    and task.next_attempt_at is None
                    and spec_tasks[i].when is None
                ):
                    for p in parents[i]:
                        if tasks[p].phase is not succeeded:
                            break
                    else:
                        if not steering.suspend:
                            task = self.make_ready(i, task)
                            if task.phase.finished:  # a forEach task that failed or had no items
                                self._mark(i, task, cause)
                    continue
                is_finally = dag.is_finally(i)
                if is_finally and main_upstream is None:
                    main_upstream = count_upstream(tasks[: dag.finally_from])
                task = self._decide_pending(i, task, is_finally, cause, main_upstream)
                self.set(i, task)
            self._mark(i, task, cause)

    def _mark(self, i: int, task: TaskStatus, cause: dict[int, tuple[str, str]]) -> None:
        """Remember what made task i end without success, for the tasks downstream of it."""
        phase = task.phase
        if phase is TaskPhase.FAILED:
            cause[i] = (task.name, GATE if gate_failed(self.run.spec.task_at(i), task) else "failed")
        elif phase is TaskPhase.SKIPPED:
            cause[i] = self._first_cause(i, cause) or (task.name, "was skipped")
        elif phase is TaskPhase.CANCELLED:
            cause[i] = (task.name, "was cancelled")

    def make_ready(self, i: int, task: TaskStatus) -> TaskStatus:
        """A task whose rule says run: a forEach task expands; a task whose results references would not
        fit into an argument fails; any other is queued for ``start_ready``."""
        if self.run.spec.task_at(i).for_each is not None and task.items is None:
            task = start_for_each(self, i, with_datasets(self, i, task))
            self.set(i, task)
            return task
        if i in result_readers(self.run.spec):
            failed = oversized(self, i, task)
            if failed is not None:
                self.set(i, failed)
                return failed
        self.ready.append(i)
        return task

    def _decide_pending(
        self,
        i: int,
        task: TaskStatus,
        is_finally: bool,
        cause: dict[int, tuple[str, str]],
        main_upstream: Upstream | None,
    ) -> TaskStatus:
        steering, now = self.steering, self.now
        stop = steering.stop(is_finally)
        rule = self.rule(i, is_finally)
        if waiting_for_retry(task):
            if stop is not None:
                return stop.end(task, now)
            held = steering.holds_back(rule, is_finally, self.failed_for_good)
            if held is not None:
                return give_up(task, held, now)
            self.any_waiting = True
            assert task.next_attempt_at is not None
            at = parse_time(task.next_attempt_at)
            if steering.suspend:
                return task
            if at <= now:
                self.ready.append(i)
            else:
                self.wake(at)
            return task
        if stop is not None:
            return stop.end(task, now)
        parents = self.dag.parents[i]
        if is_finally and not parents:
            assert main_upstream is not None
            upstream = main_upstream
        else:
            upstream = count_upstream(self.tasks[p] for p in parents)
            if is_finally and main_upstream is not None and main_upstream.unfinished:
                return task  # finally tasks start once every other task has ended
        verdict = judge(rule, upstream)
        if verdict is Verdict.SKIP:
            if rule is TriggerRule.ALL_SUCCEEDED:
                root, verb = self._first_cause(i, cause) or ("?", "did not succeed")
                if verb == GATE:
                    return skip_task(
                        task, QUALITY_GATE_FAILED, gate_message(self.tasks[self.dag.index[root]])
                    )
                reason = reasons.UPSTREAM_FAILED if verb == "failed" else reasons.UPSTREAM_SKIPPED
                return skip_task(task, reason, f'upstream task "{root}" {verb}')
            names = name_list([self.tasks[p].name for p in parents]) if parents else "the run's tasks"
            return skip_task(task, reasons.WHEN_NOT_MET, unmet_message(rule, upstream, names))
        held = steering.holds_back(rule, is_finally, self.failed_for_good)
        if held is not None:
            return skip_task(task, reasons.FAIL_FAST, f"not started: {held}")
        if verdict is Verdict.RUN:
            unavailable = unavailable_result(self.run.spec, self.dag.index, self.tasks, i)
            if unavailable is not None:
                return skip_task(task, RESULT_UNAVAILABLE, unavailable)
            if not steering.suspend:
                return self.make_ready(i, task)
        return task

    def rule(self, index: int, is_finally: bool) -> TriggerRule:
        rule = self.run.spec.task_at(index).when
        if rule is not None:
            return rule
        return TriggerRule.ALL_DONE if is_finally else TriggerRule.ALL_SUCCEEDED

    def _first_cause(self, index: int, cause: dict[int, tuple[str, str]]) -> tuple[str, str] | None:
        return next((cause[p] for p in self.dag.parents[index] if p in cause), None)
