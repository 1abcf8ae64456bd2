"""`kubectl baton logs RUN [TASK] [-f] [--attempt N]`: the logs of a task's Pod, or of every task.

RUN may also name a Pipeline: then its newest run (as `argo logs @latest`).

A task attempt is a Job labelled with the run, the task and the attempt (`baton.dev/run`, `baton.dev/task`,
`baton.dev/attempt`; long values are hash-shortened as on the Job); its Pod carries the Job's name in
`batch.kubernetes.io/job-name`. The log is read from the Pod's `main` container.

Without TASK, every task's log is printed, one after the other in dependency order, under a
`==> task (attempt N) <==` header; a forEach task shows each instance's log (`==> task[K] (attempt N) <==`),
and `TASK[K]` names one instance. With `-f`, each log is followed to its end; a task not started yet is
waited for (and skipped if it never starts), and a retried task's next attempt follows its last.
"""

from __future__ import annotations

import argparse
import codecs
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from baton.api.run import InstanceStatus
from baton.cli.graph import layers
from baton.cli.kubeapi import EXIT_OK, EXIT_USAGE, CliError, KubeApi, add_connection_arguments, command
from baton.cli.output import RunView, run_view
from baton.core.attempt_history import KeptAttempt, kept_attempt
from baton.kube import labels
from baton.kube.names import job_name as child_name
from baton.kube.render import CONTAINER

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
POLL = 0.25
"""Seconds between looks while waiting for a Pod to start: brief waits, and only with -f."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="the PipelineRun")
    parser.add_argument("task", metavar="TASK", nargs="?", help="one task (default: every task, in order)")
    parser.add_argument("-f", "--follow", action="store_true", help="stream the logs until the tasks end")
    parser.add_argument("--attempt", type=int, help="which attempt of TASK (default: the latest)")
    add_connection_arguments(parser)


class LogReader:
    def __init__(self, api: KubeApi, run: str, out: TextIO, follow: bool) -> None:
        self.api = api
        self.run = run
        self.out = out
        self.follow = follow

    def view(self) -> RunView:
        return run_view(self.api.get_run(self.run))

    def task(self, name: str) -> dict[str, Any]:
        view = self.view()
        if not view.tasks and self.follow:
            # A run the operator has not started yet (it may be creating the run's claims): its tasks
            # are known once its spec is frozen into its status.
            for run in self.api.watch_run(self.run):
                view = run_view(run)
                if view.tasks or view.finished:
                    break
        found = find_unit(view, name)
        base, instance = split_instance(name)
        parent = find_unit(view, base) if instance is not None else None
        if found is None and parent is not None:
            count = len(parent.get("instances") or ())
            shown = f"{base}[0] … {base}[{count - 1}]" if count else "none yet"
            raise CliError(f'task "{base}" of pipelinerun {self.run} has {count} instance(s): {shown}')
        if found is None:
            names = ", ".join(t["name"] for t in view.tasks) or "none"
            raise CliError(f'pipelinerun {self.run} has no task "{name}"; its tasks: {names}')
        return found

    def wait_started(self, name: str) -> dict[str, Any]:
        """The task once it has an attempt, or once it (or the run) finished without one."""
        for run in self.api.watch_run(self.run):
            view = run_view(run)
            task = find_unit(view, name) or {"name": name, "phase": "Pending"}
            if (
                int(task.get("attempts") or 0) > 0
                or task.get("phase") not in (None, "Pending")
                or view.finished
            ):
                return task
        return self.task(name)

    def child_of(self, task: str, attempt: int, job_name: str | None) -> str | None:
        """The child run of a sub-pipeline task's attempt (named as its Job would be), if there is one."""
        base, instance = split_instance(task)
        name = job_name or child_name(self.run, base, attempt)
        return name if instance is None and self.api.find_run(name) is not None else None

    def pod_of(self, task: str, attempt: int, job_name: str | None) -> str | None:
        jobs = self.api.jobs(labels.attempt_selector(self.run, *split_instance(task), attempt))
        job = jobs[-1]["metadata"]["name"] if jobs else job_name
        if job is None:
            return None
        deadline = time.monotonic() + 60
        while True:
            pods = self.api.pods(f"{JOB_NAME_LABEL}={job}")
            if pods:
                return str(pods[-1]["metadata"]["name"])
            if not self.follow or time.monotonic() > deadline or not jobs:
                return None
            time.sleep(POLL)

    def stream(self, pod: str) -> bool:
        """Copy the Pod's log to the output; with -f, wait for the container to start and follow it."""
        from kubernetes.client.exceptions import ApiException

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        wrote = False
        while True:
            try:
                for chunk in self.api.pod_log(pod, CONTAINER, follow=self.follow):
                    wrote = wrote or bool(chunk)
                    self.out.write(decoder.decode(chunk))
                    self.out.flush()
                break
            except ApiException as error:
                # 400 "waiting to start": with -f, wait for it; otherwise say so.
                if error.status != 400 or not self.follow:
                    raise
                time.sleep(POLL)
        self.out.write(decoder.decode(b"", final=True))
        self.out.flush()
        return wrote

    def task_logs(self, name: str, attempt: int | None, *, header: bool) -> None:
        task = self.task(name)
        if int(task.get("attempts") or 0) == 0 and self.follow and attempt is None:
            task = self.wait_started(name)
        source = task.get("reusedFrom")
        if task.get("reason") == "Reused" and source and source != self.run:
            self.reused_logs(name, str(source), attempt, header=header)
            return
        if isinstance(task.get("items"), int) and split_instance(name)[1] is None:
            for k in range(task["items"]):  # a forEach task: each instance's log, in item order
                self.task_logs(f"{name}[{k}]", attempt, header=True)
            return
        attempts = int(task.get("attempts") or 0)
        if attempt is not None and not 1 <= attempt <= max(attempts, 0):
            raise CliError(
                f'task "{name}" of pipelinerun {self.run} has {attempts} attempt(s): '
                f"there is no attempt {attempt}",
            )
        if attempts == 0:
            phase = str(task.get("phase") or "Pending")
            reason = f": {task['message']}" if task.get("message") else ""
            state = f"{phase.lower()}{reason}" if phase != "Pending" else "not started yet"
            if header:
                self.out.write(f"==> {name} <==\n({state})\n\n")
                return
            if phase != "Pending":
                raise CliError(f'task "{name}" of pipelinerun {self.run} never ran: no logs ({state})')
            hint = "" if self.follow else "; -f waits for them"
            raise CliError(f'task "{name}" of pipelinerun {self.run} has not started: no logs yet{hint}')
        current = attempt or attempts
        while True:
            if header or current > 1:
                item = f" {task['item']}" if task.get("item") else ""  # which item an instance ran
                self.out.write(f"==> {name}{item} (attempt {current}) <==\n")
            job_name = task.get("jobName") if current == attempts else None
            pod = self.pod_of(name, current, job_name)
            child = self.child_of(name, current, job_name) if pod is None else None
            if child is not None:  # a sub-pipeline task: its attempt is a run with logs of its own
                message = (
                    f'task "{name}" attempt {current} is pipelinerun {child}: kubectl baton logs {child}'
                )
                self.out.write(f"({message})\n" if header else f"{message}\n")
                if not header:
                    return
            elif pod is None:
                self.recorded(name, task, current, header=header)
            else:
                wrote = self.stream(pod)
                never = _never_started(task) if current == attempts else None
                if not wrote and never:  # an empty log says nothing: say why there is none
                    if not header:
                        raise CliError(f'task "{name}" never started its command: {never}')
                    self.out.write(f"(never started its command: {never})\n")
            if header:
                self.out.write("\n")
            if not self.follow or attempt is not None:
                return
            task = self.task(name)  # a retry may have started meanwhile: follow it too
            if int(task.get("attempts") or 0) <= current:
                if task.get("phase") in ("Pending", "Running"):
                    task = self.wait_next(name, current)
                    if int(task.get("attempts") or 0) <= current:
                        return
                else:
                    return
            current += 1

    def recorded(self, name: str, task: Mapping[str, Any], attempt: int, *, header: bool) -> None:
        """The Pod is gone: show what the run's status kept of the attempt, saying that it is that."""
        gone = f'the Pod of task "{name}" attempt {attempt} is gone (its Job or Pod was deleted)'
        kept = recorded_attempt(task, attempt)
        if kept is None or not kept.tail:
            outcome = f"; {_outcome(kept)}" if kept is not None else ""
            message = f"{gone}{outcome}; the run's status kept no log tail of it"
            if not header:
                raise CliError(message)
            self.out.write(f"({message})\n")
            return
        note = f"({gone}; the log tail recorded on the run when it failed follows: {_outcome(kept)})"
        if header:
            self.out.write(f"{note}\n")
        else:
            print(note, file=sys.stderr, flush=True)
        self.out.write(kept.tail.rstrip("\n") + "\n")
        self.out.flush()

    def reused_logs(self, name: str, source: str, attempt: int | None, *, header: bool) -> None:
        """A reused task ran in ``source``: its log is that run's (while that run and its Jobs exist)."""
        where = f'task "{name}" was reused from pipelinerun {source}'
        if header:
            self.out.write(f"==> {name} <==\n({where}; its log follows)\n")
        try:
            LogReader(self.api, source, self.out, follow=False).task_logs(name, attempt, header=False)
        except CliError as error:
            message = f"{where}, whose log cannot be shown: {error.message}"
            if not header:
                raise CliError(message) from None
            self.out.write(f"({message})\n")
        if header:
            self.out.write("\n")

    def wait_next(self, name: str, attempt: int) -> dict[str, Any]:
        """The task once it finished or started an attempt after `attempt`."""
        for run in self.api.watch_run(self.run):
            view = run_view(run)
            task = find_unit(view, name) or {"name": name}
            if int(task.get("attempts") or 0) > attempt or task.get("phase") not in ("Pending", "Running"):
                return task
            if view.finished:
                return task
        return self.task(name)

    def all_logs(self) -> None:
        view = self.view()
        spec_tasks = (view.spec or {}).get("tasks") or [{"name": t["name"]} for t in view.tasks]
        for layer in layers(spec_tasks):
            for name in layer:
                self.task_logs(name, None, header=True)
        for task in (view.spec or {}).get("finally") or ():  # after every other task, as they ran
            self.task_logs(task["name"], None, header=True)


# Container reasons of a process that never ran (the runtime could not start it, or it never got a
# container): its log is empty, and the reason is what the user needs instead.
_NEVER_STARTED = ("StartError", "EntrypointUnavailable", "CreateContainerError", "CreateContainerConfigError",
                  "ContainerCannotRun", "ErrImagePull", "ImagePullBackOff", "InvalidImageName")  # fmt: skip


def _never_started(task: Mapping[str, Any]) -> str | None:
    message = str(task.get("message") or "")
    return message if task.get("phase") == "Failed" and message.startswith(_NEVER_STARTED) else None


def recorded_attempt(task: Mapping[str, Any], attempt: int) -> KeptAttempt | None:
    try:
        unit = InstanceStatus.model_validate(task)
    except ValueError:  # a status edited by hand: nothing to show
        return None
    return kept_attempt(unit, attempt)


def _outcome(kept: KeptAttempt) -> str:
    if kept.exit_code == 0 and kept.reason is None:
        return "it succeeded (exit code 0)"
    code = f"exit code {kept.exit_code}" if kept.exit_code is not None else "no exit code"
    return f"{code}, {kept.reason}" if kept.reason and kept.reason != "Failed" else code


def split_instance(name: str) -> tuple[str, int | None]:
    """("extract", 3) for the instance name "extract[3]" of a forEach task, (name, None) otherwise."""
    if name.endswith("]") and "[" in name:
        base, _, index = name[:-1].partition("[")
        if index.isdigit():
            return base, int(index)
    return name, None


def find_unit(view: RunView, name: str) -> dict[str, Any] | None:
    """The status of a task, or of one instance of a forEach task ("extract[3]")."""
    base, instance = split_instance(name)
    task = next((t for t in view.tasks if t["name"] == base), None)
    if task is None or instance is None:
        return task
    instances = task.get("instances") or []
    return dict(instances[instance]) if instance < len(instances) else None


def run_name(api: KubeApi, name: str) -> str:
    """``name`` itself, or, when it names a Pipeline and no run, the Pipeline's newest run."""
    if api.find_run(name) is not None or api.find_pipeline(name) is None:
        return name
    newest = api.newest_run_of(name)
    if newest is None:
        raise CliError(f'pipeline "{name}" has no runs yet: start one with kubectl baton run {name}')
    run = str(newest["metadata"]["name"])
    print(f"(the newest run of pipeline {name}: {run})", file=sys.stderr, flush=True)
    return run


@command
def main(args: argparse.Namespace) -> int:
    if args.attempt is not None and not args.task:
        raise CliError("--attempt needs a TASK", EXIT_USAGE)
    api = KubeApi.from_args(args)
    try:
        reader = LogReader(api, run_name(api, args.run), sys.stdout, args.follow)
        reader.view()  # an unknown run fails here, listing the runs there are
        if args.task:
            reader.task_logs(args.task, args.attempt, header=False)
        else:
            reader.all_logs()
        return EXIT_OK
    finally:
        api.close()
