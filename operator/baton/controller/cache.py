"""What the operator has observed, as informers keep it: runs, Pipelines, Jobs by run, Pods by Job.

Everything here is rebuilt from watches after a restart; nothing in it is the only copy of anything.
Writes the operator makes are folded in from their responses so the next plan does not act on a view
older than its own last write (the watch event that confirms the write may come later).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from baton.api.run import FINISHED_PHASES
from baton.core.observed import ObservedJob
from baton.core.start import not_started
from baton.kube.childrun import observe_child_run, parent_of
from baton.kube.datasets import dataset_name
from baton.kube.labels import MANAGED_BY, MANAGER
from baton.kube.observe import observe_job

from .specs import ParsedSpecs

Obj = Mapping[str, Any]
Key = tuple[str, str]  # (namespace, name)


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _rv(obj: Obj) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _same_version(candidate: Obj, current: Obj | None) -> bool:
    if current is None:
        return False
    version = (candidate.get("metadata") or {}).get("resourceVersion")
    return bool(version) and version == (current.get("metadata") or {}).get("resourceVersion")


def newer(candidate: Obj, current: Obj | None) -> bool:
    """Whether `candidate` is at least as new as `current` (resourceVersions compared as numbers where they
    are numbers, as with etcd; otherwise the candidate wins)."""
    if current is None:
        return True
    a, b = _rv(candidate), _rv(current)
    return a == 0 or b == 0 or a >= b


def owner_name(obj: Obj, kind: str) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("kind") == kind and ref.get("controller", True):
            return str(ref.get("name"))
    return None


@dataclass
class ClusterCache:
    runs: dict[Key, Obj] = field(default_factory=dict)
    pipelines: dict[Key, Obj] = field(default_factory=dict)
    jobs: dict[Key, dict[str, Obj]] = field(default_factory=dict)  # run key → job name → Job
    pods: dict[Key, dict[str, Obj]] = field(default_factory=dict)  # job key → pod name → Pod
    job_runs: dict[Key, Key] = field(default_factory=dict)  # job key → run key
    # run key → job name → what the planner sees of that Job, kept up to date as its Job and Pods change:
    # a reconcile of a run of 10,000 tasks then reads no Job at all.
    observations: dict[Key, dict[str, ObservedJob]] = field(default_factory=dict)
    # Pipeline key → names of its runs, so that the scheduler and the queue of one Pipeline do not scan
    # every run of the cluster.
    pipeline_runs: dict[Key, set[str]] = field(default_factory=dict)
    # Pipeline key → the upstream Pipelines whose runs trigger it (spec.triggers), for loops and wake-ups.
    trigger_edges: dict[Key, list[Key]] = field(default_factory=dict)
    # Pipeline key → the Pipelines its tasks run (pipelineRef), for recursion.
    child_edges: dict[Key, list[Key]] = field(default_factory=dict)
    datasets: dict[Key, Obj] = field(default_factory=dict)
    # (namespace, URI) → the name of the Dataset that holds it (the first seen, when several do).
    dataset_names: dict[tuple[str, str], str] = field(default_factory=dict)
    # Namespace → a counter of changes to its Pipelines' specs (added, changed, deleted): what was derived
    # from all of them (the trigger edges through datasets) is kept until it moves.
    spec_versions: dict[str, int] = field(default_factory=dict)
    # Pipelines with a trigger on datasets: told when a Dataset of their namespace changes.
    dataset_triggered: dict[Key, list[str]] = field(default_factory=dict)
    """Pipeline → the URI patterns of its dataset triggers."""
    specs: ParsedSpecs = field(default_factory=ParsedSpecs)
    """Pipeline → its spec, parsed once per change of the spec."""
    on_child: Callable[[Key], None] | None = None
    """Told (the parent run) when the child run of one of its sub-pipeline tasks changed."""
    moved: bool = False
    """Whether the last Job or Pod observed changed what the planner sees of its Job."""
    on_run_moved: Callable[[Key, str], None] | None = None
    """Told (namespace and Pipeline, run) when a run of a Pipeline starts, changes phase, ends or goes,
    however the cache learnt it (a watch event, or the response to the operator's own write, which comes
    first)."""

    def observe_run(self, event_type: str | None, obj: Obj) -> Key:
        key = key_of(obj)
        old = self.runs.get(key)
        if event_type == "DELETED":
            self.runs.pop(key, None)
            for job in self.jobs.pop(key, {}):
                self.job_runs.pop((key[0], job), None)
                self.pods.pop((key[0], job), None)
            self.observations.pop(key, None)
            self._index(key, old, None)
            if old is not None:
                self._moved(key, old, None)
        elif newer(obj, old):
            self.runs[key] = obj
            self._index(key, old, obj)
            if old is not None:
                self._moved(key, old, obj)
        else:
            return key
        parent = parent_of(obj)
        if parent is not None:  # the child run of a sub-pipeline task: its parent's attempt
            self._observe_child((key[0], parent), key[1], None if event_type == "DELETED" else obj)
        return key

    def _observe_child(self, parent: Key, name: str, child: Obj | None) -> None:
        if parent not in self.runs:
            return  # its parent went first (its observations with it); nothing waits for this one
        observed = self.observations.setdefault(parent, {})
        seen = observe_child_run(child) if child is not None else None
        if seen is None:
            observed.pop(name, None)
        else:
            observed[name] = seen
        if self.on_child is not None:
            self.on_child(parent)

    def _index(self, key: Key, old: Obj | None, new: Obj | None) -> None:
        before = pipeline_of_run(old) if old is not None else None
        after = pipeline_of_run(new) if new is not None else None
        if before == after:
            return
        if before is not None:
            names = self.pipeline_runs.get((key[0], before))
            if names is not None:
                names.discard(key[1])
                if not names:
                    del self.pipeline_runs[(key[0], before)]
        if after is not None:
            self.pipeline_runs.setdefault((key[0], after), set()).add(key[1])

    def _moved(self, key: Key, old: Obj, new: Obj | None) -> None:
        if self.on_run_moved is None:
            return
        if new is not None and _stage(old) == _stage(new) and _phase(old) == _phase(new):
            return  # (a phase change within a stage, e.g. Suspended, is the Pipeline's lastRunStatus)
        pipeline = pipeline_of_run(new or old)
        if pipeline is not None:
            self.on_run_moved((key[0], pipeline), key[1])

    def observe_pipeline(self, event_type: str | None, obj: Obj) -> Key:
        key = key_of(obj)
        old = self.pipelines.get(key)
        if event_type == "DELETED" or old is None or old.get("spec") != obj.get("spec"):
            self.spec_versions[key[0]] = self.spec_versions.get(key[0], 0) + 1
        if event_type == "DELETED":
            self.pipelines.pop(key, None)
            self.specs.forget(key)
            self.trigger_edges.pop(key, None)
            self.child_edges.pop(key, None)
            self.dataset_triggered.pop(key, None)
        elif newer(obj, self.pipelines.get(key)):
            self.pipelines[key] = obj
            triggers = (obj.get("spec") or {}).get("triggers")
            listed = triggers if isinstance(triggers, list) else []
            patterns = [str(t["dataset"]) for t in listed if isinstance(t, Mapping) and t.get("dataset")]
            if patterns:
                self.dataset_triggered[key] = patterns
            else:
                self.dataset_triggered.pop(key, None)
            for edges, found in (
                (self.trigger_edges, _upstream_pipelines(obj, key[0])),
                (self.child_edges, _child_pipelines(obj, key[0])),
            ):
                if found:
                    edges[key] = found
                else:
                    edges.pop(key, None)
        return key

    def observe_dataset(self, event_type: str | None, obj: Obj) -> Key:
        key = key_of(obj)
        old = self.datasets.get(key)
        if event_type == "DELETED":
            self.datasets.pop(key, None)
        elif newer(obj, old):
            self.datasets[key] = obj
        else:
            return key
        new_uri = None if event_type == "DELETED" else (obj.get("spec") or {}).get("uri")
        for gone in (old, obj if event_type == "DELETED" else None):
            uri = ((gone or {}).get("spec") or {}).get("uri")
            if uri == new_uri:
                continue  # the same URI, still held by this Dataset: nothing moved
            if isinstance(uri, str) and self.dataset_names.get((key[0], uri)) == key[1]:
                del self.dataset_names[(key[0], uri)]
                self._name_dataset(key[0], uri)  # another Dataset of the URI, if there is one
        uri = (obj.get("spec") or {}).get("uri")
        if event_type != "DELETED" and isinstance(uri, str):
            current = self.dataset_names.get((key[0], uri))
            held = self.datasets.get((key[0], current)) if current else None
            if held is None or (current != key[1] and _ours(held) and not _ours(obj)):
                self.dataset_names[(key[0], uri)] = key[1]
        return key

    def _name_dataset(self, namespace: str, uri: str) -> None:
        """Which Dataset holds ``uri`` once the one that did went: one a user created (to declare its
        freshness, under any name) over the one the operator created; among equals, the first by name.
        (A scan of the namespace's Datasets, on a deletion only.)"""
        found = sorted(
            (_ours(obj), key[1])
            for key, obj in self.datasets.items()
            if key[0] == namespace and (obj.get("spec") or {}).get("uri") == uri
        )
        if found:
            self.dataset_names[(namespace, uri)] = found[0][1]

    def dataset_for(self, namespace: str, uri: str) -> Key:
        """The Dataset of ``uri``: one that names it (a user may create it under any name, to declare its
        freshness), else the one the operator names after it."""
        return (namespace, self.dataset_names.get((namespace, uri)) or dataset_name(uri))

    def triggered_by(self, upstream: Key) -> list[Key]:
        """The Pipelines that a run of `upstream` may trigger."""
        return [key for key, edges in self.trigger_edges.items() if upstream in edges]

    def observe_job(self, event_type: str | None, obj: Obj) -> Key | None:
        self.moved = False
        run = owner_name(obj, "PipelineRun")
        if run is None:
            return None
        namespace, name = key_of(obj)
        run_key = (namespace, run)
        jobs = self.jobs.setdefault(run_key, {})
        if event_type == "DELETED":
            jobs.pop(name, None)
            self.pods.pop((namespace, name), None)
            self.job_runs.pop((namespace, name), None)
            self.moved = self.observations.get(run_key, {}).pop(name, None) is not None
        elif _same_version(obj, jobs.get(name)):
            pass  # the create's response and then its watch event: nothing new to observe
        elif newer(obj, jobs.get(name)):
            jobs[name] = obj
            self.job_runs[(namespace, name)] = run_key
            self._observe(run_key, name)
        return run_key

    def observe_pod(self, event_type: str | None, obj: Obj) -> Key | None:
        self.moved = False
        job = owner_name(obj, "Job")
        if job is None:
            return None
        namespace, name = key_of(obj)
        job_key = (namespace, job)
        pods = self.pods.setdefault(job_key, {})
        if event_type == "DELETED":
            pods.pop(name, None)
        elif newer(obj, pods.get(name)) and not _same_version(obj, pods.get(name)):
            pods[name] = obj
        else:
            return job_key
        run_key = self.job_runs.get(job_key)
        if run_key is not None:
            self._observe(run_key, job)
        return job_key

    def _observe(self, run_key: Key, job_name: str) -> None:
        job = self.jobs.get(run_key, {}).get(job_name)
        observed = self.observations.setdefault(run_key, {})
        seen = observe_job(job, list(self.pods.get((run_key[0], job_name), {}).values())) if job else None
        self.moved = seen != observed.get(job_name)
        if seen is None:
            observed.pop(job_name, None)
        else:
            observed[job_name] = seen

    def run_of_job(self, job_key: Key) -> Key | None:
        return self.job_runs.get(job_key)

    def run_of_ended_job(self, job_key: Key) -> Key | None:
        """The run of the Job, once the Job has ended: only then may its plan wait for what a Pod brings
        (the exit code, the termination message). While the Job runs, its own events bring the run back."""
        run_key = self.run_of_job(job_key)
        seen = self.observations.get(run_key, {}).get(job_key[1]) if run_key is not None else None
        return run_key if seen is not None and seen.finished else None

    def observed_jobs(self, run_key: Key) -> list[ObservedJob]:
        """What the planner needs of the run's Jobs (and their Pods)."""
        return list(self.observations.get(run_key, {}).values())

    def jobs_of(self, run_key: Key) -> list[Obj]:
        return list(self.jobs.get(run_key, {}).values())

    def runs_of_pipeline(self, key: Key) -> list[Key]:
        """The runs of the Pipeline: those naming it, and retries of its runs once they started."""
        return [(key[0], name) for name in sorted(self.pipeline_runs.get(key, ()))]


def _upstream_pipelines(pipeline: Obj, namespace: str) -> list[Key]:
    triggers = (pipeline.get("spec") or {}).get("triggers")
    if not isinstance(triggers, list):
        return []
    return [
        (str(t.get("namespace") or namespace), str(t["pipeline"]))
        for t in triggers
        if isinstance(t, Mapping) and t.get("pipeline")
    ]


def _child_pipelines(pipeline: Obj, namespace: str) -> list[Key]:
    spec = pipeline.get("spec") or {}
    tasks = [*(spec.get("tasks") or ()), *(spec.get("finally") or ())]
    refs = [task.get("pipelineRef") for task in tasks if isinstance(task, Mapping)]
    return [(namespace, str(ref["name"])) for ref in refs if isinstance(ref, Mapping) and ref.get("name")]


def _stage(run: Obj) -> str:
    """Where a run is in its life, as its Pipeline's queue and schedule see it."""
    status = run.get("status") or {}
    if status.get("phase") in FINISHED_PHASES:
        return "finished"
    return "waiting" if not_started(status) else "started"


def _phase(run: Obj) -> str | None:
    return (run.get("status") or {}).get("phase")


def _ours(dataset: Obj) -> bool:
    return ((dataset.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY) == MANAGER


def pipeline_of_run(run: Obj) -> str | None:
    """The Pipeline a run belongs to: the one it names, else (a retry) the one its status records."""
    ref = ((run.get("spec") or {}).get("pipelineRef") or {}).get("name")
    if ref:
        return str(ref)
    recorded = (run.get("status") or {}).get("pipeline")
    return str(recorded) if recorded else None
