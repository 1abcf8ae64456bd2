"""`baton lint FILE...`: check Pipeline and PipelineRun manifests offline, for CI.

Every Baton object in the (multi-document) YAML files is checked against the same models the CRDs are
generated from and by the same semantic checks the operator runs, so a manifest that passes here is
neither rejected by the API server nor failed by the operator for a reason lint could have seen. A
PipelineRun with a pipelineRef is checked against that Pipeline when one of the files defines it.
Directories are searched for *.yaml and *.yml files. Objects of other kinds are skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from baton import GROUP, VERSION
from baton.api.common import from_wire
from baton.api.dataset import Dataset
from baton.api.pipeline import Pipeline, PipelineSpec
from baton.api.run import PipelineRun
from baton.cli.output import yaml_problem
from baton.cli.yamllines import items_lines, line_of, load_with_lines
from baton.core.datasets import dynamic_notes
from baton.core.finally_budget import finally_budget_notes
from baton.core.triggers import dataset_trigger_edges, trigger_loops
from baton.core.validation import pipeline_errors, run_errors, schema_errors

API_VERSION = f"{GROUP}/{VERSION}"
KINDS = ("Pipeline", "PipelineRun", "Dataset")


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    kind: str
    name: str
    message: str
    line: int | None = field(default=None, compare=False)
    """The line of the field or task the message is about (else of the object), when known."""

    def __str__(self) -> str:
        where = f"{self.kind}/{self.name}: " if self.kind else ""
        at = f"{self.path}:{self.line}" if self.line else self.path
        return f"{at}: {where}{self.message}"

    def as_json(self, severity: str) -> dict[str, Any]:
        return {
            "file": self.path,
            "line": self.line,
            "severity": severity,
            "kind": self.kind or None,
            "name": self.name or None,
            "message": self.message,
        }


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unresolved_refs: int = 0
    paths: list[str] = field(default_factory=list)
    """Every path looked at, in order (findings are reported in this order)."""
    notes: list[Finding] = field(default_factory=list)
    """What is worth knowing but not wrong (a dataset that implies no dependency); exit code 0."""


class _KubectlLoader(yaml.SafeLoader):
    """Reads YAML as kubectl does (YAML 1.1 as go-yaml reads it): a date-like scalar (date: 2025-01-31)
    stays a string, and y/Y/n/N are booleans like yes/no/on/off, so lint refuses what kubectl would."""


_KubectlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_KubectlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}


def _boolean(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node) in _TRUE


_KubectlLoader.add_constructor("tag:yaml.org,2002:bool", _boolean)


@dataclass(frozen=True, slots=True)
class _Doc:
    path: str
    obj: Mapping[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict)
    """Where each field is (``baton.cli.yamllines``)."""


def lint_paths(paths: Sequence[str]) -> list[Finding]:
    """All findings for the files (or directories) in ``paths``; empty when everything is valid."""
    return lint(paths).findings


def lint(paths: Sequence[str]) -> Report:
    report = Report()
    docs: list[_Doc] = []
    for path in _expand(paths, report):
        report.files += 1
        docs.extend(_load(path, report))
    pipelines: dict[tuple[str | None, str], PipelineSpec | None] = {}
    runs: list[tuple[_Doc, PipelineRun]] = []
    for doc in docs:
        kind = doc.obj.get("kind")
        if doc.obj.get("apiVersion") != API_VERSION:
            report.findings.append(_finding(doc, f'unsupported apiVersion "{doc.obj.get("apiVersion")}"'))
        elif kind == "Pipeline":
            report.checked["Pipeline"] += 1
            ns, name, spec = _check_pipeline(doc, report)
            if name is not None:
                pipelines[(ns, name)] = spec
        elif kind == "Dataset":
            report.checked["Dataset"] += 1
            _parse(Dataset, doc, report)
        elif kind == "PipelineRun":
            report.checked["PipelineRun"] += 1
            run = _parse(PipelineRun, doc, report)
            if run is not None:
                runs.append((doc, run))
        else:
            message = f'unknown kind "{kind}" (expected {", ".join(KINDS[:-1])} or {KINDS[-1]})'
            report.findings.append(_finding(doc, message))
    for doc, run in runs:
        _check_run(doc, run, pipelines, report)
    _check_trigger_loops(docs, pipelines, report)
    order = {path: i for i, path in enumerate(report.paths)}
    report.findings.sort(key=lambda finding: order.get(finding.path, len(order)))  # stable: file order
    return report


def _check_trigger_loops(
    docs: Sequence[_Doc], pipelines: Mapping[tuple[str | None, str], PipelineSpec | None], report: Report
) -> None:
    """Trigger loops and sub-pipeline recursion among the files' Pipelines, as the operator reports them
    (a missing namespace is the default one, as kubectl would apply it)."""
    edges = {
        (ns or "default", name): [
            ((t.namespace or ns or "default"), t.pipeline) for t in spec.triggers if t.pipeline is not None
        ]
        for (ns, name), spec in pipelines.items()
        if spec is not None and spec.triggers
    }
    specs: dict[tuple[str, str], Mapping[str, Any]] = {}
    for doc in docs:
        meta = doc.obj.get("metadata") or {}
        spec = doc.obj.get("spec")
        if doc.obj.get("kind") == "Pipeline" and isinstance(meta, Mapping) and isinstance(spec, Mapping):
            specs[(str(meta.get("namespace") or "default"), str(meta.get("name")))] = spec
    for downstream, upstream in dataset_trigger_edges(specs).items():
        edges[downstream] = [*edges.get(downstream, []), *upstream]
    nested = {
        (ns or "default", name): [
            (ns or "default", t.pipeline_ref.name) for t in spec.all_tasks() if t.pipeline_ref
        ]
        for (ns, name), spec in pipelines.items()
        if spec is not None and any(t.pipeline_ref for t in spec.all_tasks())
    }
    found = [
        (trigger_loops(edges), "trigger loop"),
        (trigger_loops(nested, " -> "), "sub-pipeline recursion"),
    ]
    for doc in docs:
        meta = doc.obj.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name"))
        for loops, what in found:
            if doc.obj.get("kind") == "Pipeline" and key in loops:
                message = f"{what}: {loops[key]} (each run would start the next forever)"
                report.findings.append(_finding(doc, message))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="YAML files or directories ('-': stdin)")
    parser.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="json: findings and notes as a list"
    )


def main(argv: Sequence[str]) -> int:
    """Entry point of `baton lint`; ``argv`` are the arguments after "lint". Returns the exit code."""
    parser = argparse.ArgumentParser(prog="baton lint", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


def run(args: argparse.Namespace) -> int:
    report = lint(args.files)
    if args.output == "json":
        found = [f.as_json("error") for f in report.findings] + [n.as_json("note") for n in report.notes]
        print(json.dumps(found, indent=2))
        return 1 if report.findings else 0
    for remark in report.notes:
        print(f"note: {remark}", file=sys.stderr)
    for finding in report.findings:
        print(finding, file=sys.stderr)
    counts = ", ".join(
        f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in report.checked.items() if n or kind != "Dataset"
    )
    if report.findings:
        files = len({finding.path for finding in report.findings})
        print(f"baton lint: {len(report.findings)} problem(s) in {files} file(s)", file=sys.stderr)
        return 1
    note = (
        f"; {report.unresolved_refs} run(s) reference a Pipeline not in these files (params not checked)"
        if report.unresolved_refs
        else ""
    )
    print(f"OK: {report.files} file(s), {counts}{note}")
    return 0


def _expand(paths: Sequence[str], report: Report) -> Iterator[str]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            for file in sorted(str(p) for p in found):
                report.paths.append(file)
                yield file
        elif path.exists() or raw == "-":
            report.paths.append(raw)
            yield raw
        else:
            report.paths.append(raw)
            report.findings.append(Finding(raw, "", "", "no such file or directory"))


def _load(path: str, report: Report) -> Iterator[_Doc]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        documents = load_with_lines(text, _KubectlLoader)
    except yaml.YAMLError as error:
        report.findings.append(Finding(path, "", "", f"cannot read: not valid YAML: {yaml_problem(error)}"))
        return
    except (OSError, UnicodeDecodeError) as error:
        report.findings.append(Finding(path, "", "", f"cannot read: {error}"))
        return
    for number, (document, where) in enumerate(documents, start=1):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            report.findings.append(
                Finding(path, "", "", f"document {number} is not a mapping", where.get(""))
            )
            continue
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            yield from (
                _Doc(path, item, items_lines(where, k))
                for k, item in enumerate(document["items"])
                if isinstance(item, Mapping)
            )
        elif str(document.get("apiVersion", "")).split("/")[0] == GROUP:
            yield _Doc(path, document, where)


def _check_pipeline(doc: _Doc, report: Report) -> tuple[str | None, str | None, PipelineSpec | None]:
    pipeline = _parse(Pipeline, doc, report)
    if pipeline is None:
        metadata = doc.obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        return None, name if isinstance(name, str) else None, None
    errors = pipeline_errors(pipeline.spec)
    report.findings.extend(_finding(doc, error) for error in errors)
    if not errors:
        notes = [*dynamic_notes(pipeline.spec), *finally_budget_notes(pipeline.spec)]
        report.notes.extend(_finding(doc, note) for note in notes)
    return pipeline.metadata.namespace, pipeline.metadata.name, None if errors else pipeline.spec


def _check_run(
    doc: _Doc,
    run: PipelineRun,
    pipelines: Mapping[tuple[str | None, str], PipelineSpec | None],
    report: Report,
) -> None:
    run_name = run.metadata.name or (
        f"{run.metadata.generate_name}xxxxx" if run.metadata.generate_name else None
    )
    spec: PipelineSpec | None = None
    if run.spec.pipeline_spec is not None:
        errors = pipeline_errors(run.spec.pipeline_spec)
        if not errors:
            errors = run_errors(run.spec.pipeline_spec, run.spec.params, run_name)
    elif run.spec.retry_of is not None:
        return  # a retry runs the frozen spec of the run it names, which only the cluster has
    else:
        assert run.spec.pipeline_ref is not None
        ref = run.spec.pipeline_ref.name
        key = next(
            (k for k in ((run.metadata.namespace, ref), (None, ref)) if k in pipelines),
            next((k for k in pipelines if k[1] == ref and run.metadata.namespace is None), None),
        )
        if key is None:
            report.unresolved_refs += 1
            return
        spec = pipelines[key]
        if spec is None:
            errors = [f'runs Pipeline "{ref}", which is invalid (see its findings)']
        else:
            errors = run_errors(spec, run.spec.params, run_name)
    report.findings.extend(_finding(doc, error) for error in errors)
    budget = run.spec.finally_timeout_seconds
    target = run.spec.pipeline_spec if run.spec.pipeline_spec is not None else spec
    if not errors and budget is not None and target is not None:
        notes = finally_budget_notes(target, budget, whose="the run's finallyTimeoutSeconds")
        report.notes.extend(_finding(doc, note) for note in notes)


_M = TypeVar("_M", Pipeline, PipelineRun, Dataset)


def _parse(model: type[_M], doc: _Doc, report: Report) -> _M | None:
    try:
        return from_wire(model, doc.obj)
    except ValidationError as error:
        report.findings.extend(_finding(doc, message) for message in schema_errors(error, prefix=""))
        return None


def _finding(doc: _Doc, message: str) -> Finding:
    metadata = doc.obj.get("metadata")
    name = "<unnamed>"
    if isinstance(metadata, Mapping):
        if metadata.get("name"):
            name = str(metadata["name"])
        elif metadata.get("generateName"):
            name = f"{metadata['generateName']}*"
    return Finding(
        doc.path, str(doc.obj.get("kind") or "<no kind>"), name, message, line_of(doc.lines, message)
    )
