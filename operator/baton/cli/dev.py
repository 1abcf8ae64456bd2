"""`baton dev FILE...`: run pipeline manifests end to end on the embedded dev cluster.

One process holds the dev cluster and the real operator (the same code as in production). The CRDs
are installed, the manifests applied (server-side), a run started for every Pipeline that has none in
the files, progress shown live, and the exit code is 0 only if every run succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml
from multidict import MultiDict, MultiDictProxy

from baton import GROUP, VERSION
from baton.api.crdgen import dataset_crd, pipeline_crd, pipelinerun_crd
from baton.cli.devlogs import LogPrinter
from baton.cli.kubeapi import CliError
from baton.cli.lint import lint
from baton.cli.output import columns, data_note, failure_summary, result_lines, yaml_problem
from baton.cli.run import check_params, parse_params
from baton.core.expectations import result_mismatches
from baton.core.status import shorten
from baton.devcluster.cluster import DevCluster
from baton.devcluster.resources import ResourceType
from baton.devcluster.rest import Target
from baton.devcluster.tables import age

FINISHED = ("Succeeded", "Failed", "Cancelled")  # a Cancelled run is finished, not a success


class ManifestError(Exception):
    pass


def load_manifests(paths: Sequence[str]) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ManifestError(f"{path}: {error.strerror or error}") from None
        try:
            loaded = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as error:
            raise ManifestError(f"{path}: not valid YAML: {yaml_problem(error)}") from None
        for i, doc in enumerate(loaded):
            if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
                raise ManifestError(
                    f"{path}: document {i + 1} is not a Kubernetes object (no kind/apiVersion)"
                )
            documents.append(doc)
    return documents


def _resource_type(cluster: DevCluster, doc: dict[str, Any]) -> ResourceType:
    rt = cluster.registry.by_kind(doc["apiVersion"], doc["kind"])
    if rt is None:
        raise ManifestError(f"{doc['kind']} ({doc['apiVersion']}) is not a kind the dev cluster serves")
    return rt


def install_crds(cluster: DevCluster) -> None:
    """Serve Pipelines, PipelineRuns and Datasets on `cluster` (call on its loop); a CRD already there is
    kept."""
    rt = cluster.registry.storage("apiextensions.k8s.io", "customresourcedefinitions")
    assert rt is not None
    for crd in (pipeline_crd(), pipelinerun_crd(), dataset_crd()):
        if cluster.store.find(rt.group_resource, "", crd["metadata"]["name"]) is None:
            cluster.store.create(rt, "", crd)


class Session:
    def __init__(self, cluster: DevCluster, namespace: str, out: TextIO) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.out = out

    def apply(self, docs: Sequence[dict[str, Any]]) -> list[str]:
        """Apply every document through the API's own admission; return the names of runs created."""
        runs: list[str] = []
        for doc in docs:
            rt = _resource_type(self.cluster, doc)
            namespace = (doc.get("metadata") or {}).get("namespace") or self.namespace
            query = MultiDictProxy(MultiDict({"fieldValidation": "Strict", "fieldManager": "baton-dev"}))
            name = (doc.get("metadata") or {}).get("name")
            if rt.kind == "PipelineRun" or not name:
                created = self.cluster.rest.create(Target(rt, namespace), doc, query).body
            else:
                created = self.cluster.rest.patch(
                    Target(rt, namespace, name),
                    json.dumps(doc).encode(),
                    "application/apply-patch+yaml",
                    query,
                ).body
            if rt.kind == "PipelineRun":
                runs.append(created["metadata"]["name"])
            kind = f"{rt.singular}.{rt.group}" if rt.group else rt.singular
            verb = "created" if rt.kind == "PipelineRun" or not name else "applied"
            print(f"{kind}/{created['metadata']['name']} {verb}", file=self.out)
        return runs

    def start_missing_runs(self, docs: Sequence[dict[str, Any]], params: Mapping[str, str]) -> list[str]:
        referenced = {
            ((d.get("spec") or {}).get("pipelineRef") or {}).get("name")
            for d in docs
            if d["kind"] == "PipelineRun"
        }
        runs = []
        rt = self.cluster.registry.get(GROUP, VERSION, "pipelineruns")
        assert rt is not None
        for doc in docs:
            if doc["kind"] != "Pipeline" or doc["metadata"]["name"] in referenced:
                continue
            namespace = doc["metadata"].get("namespace") or self.namespace
            run = self.cluster.store.create(
                rt,
                namespace,
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "PipelineRun",
                    "metadata": {"generateName": f"{doc['metadata']['name']}-", "namespace": namespace},
                    "spec": {"pipelineRef": {"name": doc["metadata"]["name"]}, "params": dict(params)},
                },
            )
            print(f"pipelinerun.{GROUP}/{run['metadata']['name']} created", file=self.out)
            runs.append(run["metadata"]["name"])
        return runs

    def runs(self, names: Sequence[str]) -> list[dict[str, Any]]:
        found = []
        for name in names:
            run = self.cluster.store.find((GROUP, "pipelineruns"), self.namespace, name)
            if run is not None:
                found.append(run)
        return found


def files_namespace(docs: Sequence[dict[str, Any]], namespace: str) -> str:
    """The one namespace the run goes to: the one the files name (as `kubectl kustomize` output names
    it), else ``namespace`` (-n); files naming several, or one other than an explicit -n, are refused."""
    named = sorted({str(ns) for d in docs if (ns := (d.get("metadata") or {}).get("namespace"))})
    if len(named) > 1:
        raise ManifestError(
            f"the files name {len(named)} namespaces ({', '.join(named)}): baton dev runs one"
        )
    if named and namespace not in ("default", named[0]):
        raise ManifestError(f'the files go to namespace "{named[0]}", not "{namespace}" (-n)')
    return named[0] if named else namespace


def check_dev_params(docs: Sequence[dict[str, Any]], params: Mapping[str, str]) -> None:
    """`-p` sets the params of the runs `baton dev` starts (for Pipelines no run in the files names); each
    is checked against those Pipelines, as `kubectl baton run -p` does."""
    if not params:
        return
    referenced = {
        ((d.get("spec") or {}).get("pipelineRef") or {}).get("name")
        for d in docs
        if d["kind"] == "PipelineRun"
    }
    started = [d for d in docs if d["kind"] == "Pipeline" and d["metadata"]["name"] not in referenced]
    if not started:
        raise ManifestError(
            "-p sets the params of the runs baton dev starts, and every Pipeline here has a run"
        )
    for pipeline in started:
        check_params(pipeline, params)


def progress_table(runs: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for run in runs:
        status = run.get("status") or {}
        lines.append(
            f"{run['metadata']['name']}  {status.get('phase', 'Pending')}  {status.get('progress', '')}"
        )
        for task in _tasks(status):
            detail = f"  exit {task['exitCode']}" if task.get("exitCode") not in (None, 0) else ""
            if isinstance(task.get("items"), int):
                done = sum(1 for i in task.get("instances") or () if str(i.get("phase")) == "Succeeded")
                detail += f"  {done}/{task['items']} items"
            if task.get("nextAttemptAt"):  # waiting for a retry: which attempt failed, how, and when the next
                at = str(task["nextAttemptAt"])
                why = str(task.get("reason") or "Failed") + (
                    f", exit {task['exitCode']}" if task.get("exitCode") else ""
                )
                detail = f"  attempt {task.get('attempts')} failed ({why}), retrying at {at[11:19]} UTC"
            elif (note := data_note(task)) is not None:
                detail += f"  {note}"
            elif task.get("phase") == "Failed" and task.get("message"):
                detail += f"  {_first_line(failure_summary(task))}"
            elif task.get("message") and task.get("phase") not in ("Succeeded", None):
                detail += f"  {_first_line(str(task['message']))}"
            lines.append(f"  {task['name']:<28} {task.get('phase', 'Pending'):<10}{detail}")
    return lines


def _first_line(message: str, limit: int = 120) -> str:
    return shorten(message.strip().splitlines()[0] if message.strip() else "", limit)


def _tasks(status: dict[str, Any]) -> list[dict[str, Any]]:
    if status.get("compressedTasks"):
        from baton.api.codec import load_run_status

        return [t.model_dump(by_alias=True, exclude_none=True) for t in load_run_status(status).tasks]
    from baton.cli.output import expanded_task

    return [expanded_task(t) for t in status.get("tasks") or []]


def summary(runs: Sequence[dict[str, Any]], now: datetime | None = None) -> list[str]:
    """The runs as `kubectl get pipelineruns -o wide` shows them."""
    now = now or datetime.now(UTC)
    rows = [("NAME", "PIPELINE", "STATUS", "PROGRESS", "STARTED", "DURATION", "MESSAGE")]
    for run in runs:
        status = run.get("status") or {}
        message = next(
            (c.get("message", "") for c in status.get("conditions") or () if c.get("type") == "Succeeded"), ""
        )
        started = age(status["startTime"], now) if status.get("startTime") else ""
        rows.append(
            (
                run["metadata"]["name"],
                status.get("pipeline") or "",
                status.get("phase", "Pending"),
                status.get("progress", ""),
                started,
                status.get("duration", ""),
                message,
            )
        )
    return columns(rows)


async def _follow(
    session: Session, names: list[str], give_up_after: float, out: TextIO
) -> list[dict[str, Any]]:
    """Show progress until every run has finished: redrawn in place on a terminal, as changed lines
    (a log) otherwise."""
    deadline = time.monotonic() + give_up_after
    redraw = out.isatty()
    last: list[str] = []
    logs = LogPrinter(session.cluster, session.namespace, out)
    while True:
        runs = session.runs(names)
        if logs.print_new(runs, _tasks) and redraw:
            last = []  # the logs went below the table: draw it afresh below them
        table = progress_table(runs)
        if table != last:
            if redraw:
                if last:
                    out.write(f"\x1b[{len(last)}F\x1b[J")  # back to the table's first line, clear below
                out.write("\n".join(table) + "\n")
                out.flush()
            else:
                for line in (line for line in table if line not in last):
                    print(line, file=out, flush=True)
            last = table
        if (
            runs
            and len(runs) == len(names)
            and all((r.get("status") or {}).get("phase") in FINISHED for r in runs)
        ):
            return runs
        if time.monotonic() > deadline:
            print(f"baton dev: gave up after {give_up_after:.0f}s", file=sys.stderr)
            return runs
        await asyncio.sleep(0.2)


async def run_dev(
    files: Sequence[str],
    *,
    namespace: str,
    give_up_after: float,
    out: TextIO,
    keep: bool = False,
    params: Mapping[str, str] | None = None,
    expected: Mapping[str, str] | None = None,
) -> int:
    """Run the manifests on a dev cluster of its own, print the outcome and the runs' results, and
    remove the cluster's folder (workspace files, logs) unless ``keep``. With ``expected`` results,
    a run that succeeded without them fails the command too (a pipeline's test in CI)."""
    docs = load_manifests(files)
    namespace = files_namespace(docs, namespace)
    problems = [str(finding) for finding in lint(files).findings]
    if problems:  # what kubectl apply would refuse, said as lint says it (not as client retry noise)
        raise ManifestError("\n".join(["the manifests are not valid:", *problems]))
    check_dev_params(docs, params or {})
    workdir = Path(tempfile.mkdtemp(prefix="baton-dev-"))
    try:
        return await _run_dev(docs, workdir, namespace, give_up_after, out, params or {}, expected or {})
    finally:
        if keep:
            print(f"\nworkspace files, logs and the kubeconfig are kept in {workdir}", file=out)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _run_dev(
    docs: list[dict[str, Any]],
    workdir: Path,
    namespace: str,
    give_up_after: float,
    out: TextIO,
    params: Mapping[str, str],
    expected: Mapping[str, str],
) -> int:
    from baton.controller.operator import run_operator

    # The runs' story is what baton dev prints itself; the operator's own lines about it would repeat it.
    logging.getLogger("baton.runs").setLevel(logging.ERROR)

    async with DevCluster(workdir=workdir / "cluster") as cluster:
        kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig", namespace)
        os.environ["KUBECONFIG"] = str(kubeconfig)
        session = Session(cluster, namespace, out)
        if namespace != "default":
            ns_type = cluster.registry.storage("", "namespaces")
            assert ns_type is not None
            with contextlib.suppress(Exception):  # a fresh cluster: the namespace the files go to
                cluster.store.create(ns_type, "", {"metadata": {"name": namespace}})
        install_crds(cluster)
        stop, ready = asyncio.Event(), asyncio.Event()
        operator = asyncio.create_task(run_operator(namespaces=[namespace], stop_flag=stop, ready_flag=ready))
        try:
            names = session.apply(docs)
            names += session.start_missing_runs(docs, params)
            if not names:
                print("baton dev: no Pipeline or PipelineRun in the files", file=sys.stderr)
                return 1
            runs = await _follow(session, names, give_up_after, out)
            # The outcome first: stopping the operator takes a moment, and the ages would grow meanwhile.
            print("", file=out)
            for line in summary(runs):
                print(line, file=out)
            for run in runs:
                results = (run.get("status") or {}).get("results") or []
                if results:
                    print(f"\nresults of {run['metadata']['name']}:", file=out)
                    for line in result_lines(results):
                        print(line, file=out)
            out.flush()
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(operator, 10)
        ok = len(runs) == len(names) and all(
            (r.get("status") or {}).get("phase") == "Succeeded" for r in runs
        )
        for run in runs if expected else ():
            results = {
                str(r.get("name")): str(r.get("value"))
                for r in (run.get("status") or {}).get("results") or ()
            }
            for problem in result_mismatches(expected, results):
                print(f"baton dev: run {run['metadata']['name']}: {problem}", file=sys.stderr)
                ok = False
        return 0 if ok else 1


def main(args: argparse.Namespace) -> int:
    from baton.devcluster.errors import ApiError

    try:
        return asyncio.run(
            run_dev(
                args.files,
                namespace=args.namespace,
                give_up_after=args.timeout,
                out=sys.stdout,
                keep=args.keep,
                params=parse_params(args.params),
                expected=parse_params(args.expect_results, what="expected result"),
            )
        )
    except (ManifestError, CliError) as error:
        print(f"baton dev: {error}", file=sys.stderr)
        return 2
    except ApiError as error:
        print(f"baton dev: {error.message}", file=sys.stderr)
        return 2
