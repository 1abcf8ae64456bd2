"""Generate Baton's CustomResourceDefinitions from the pydantic models.

    python -m baton.api.crdgen [--check] [DIR]

writes ``DIR/pipelines.baton.dev.yaml`` and ``DIR/pipelineruns.baton.dev.yaml`` (DIR defaults to the
repository's ``crds/``). With ``--check`` nothing is written: the command prints a diff and exits 1 when
the files differ from what the models generate, so CI catches a model change without regenerated CRDs.

pydantic emits JSON Schema; Kubernetes wants a *structural* OpenAPI v3 schema. ``structural`` converts:
every ``$ref`` is inlined, ``Optional[X]`` becomes plain ``X`` (absent, not null: the API server prunes
nulls of non-nullable fields), ``int | str`` becomes ``x-kubernetes-int-or-string``, exclusive bounds are
written the OpenAPI v3.0 way (``minimum`` with ``exclusiveMinimum: true``), and keywords
Kubernetes rejects or that would add noise (titles, defaults, ``additionalProperties: false``) are dropped.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from baton import GROUP, VERSION, __version__
from baton.api.dataset import DatasetSpec, DatasetStatus
from baton.api.pipeline import PipelineSpec, PipelineStatus
from baton.api.run import PipelineRunSpec, PipelineRunStatus

CATEGORY = "baton"
SCHEMA_ANNOTATION = f"{GROUP}/schema"
"""On each CRD: a fingerprint of its spec. The operator compares it with its own build's at start."""
VERSION_ANNOTATION = f"{GROUP}/version"
"""On each CRD: the Baton release that generated it (for people; the check compares the fingerprint)."""
HEADER = "# Generated from the models in baton.api by `python -m baton.api.crdgen`. Do not edit.\n"

# JSON Schema keywords Kubernetes' JSONSchemaProps knows, minus those we drop on purpose.
_KEPT = {
    "description", "type", "format", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "multipleOf", "enum", "maxProperties",
    "minProperties", "required", "items", "properties", "additionalProperties", "nullable",
}  # fmt: skip


class UnsupportedSchema(ValueError):
    """The models use a shape a structural schema cannot express; change the model, not the generator."""


def structural(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """Convert one pydantic JSON Schema node (with its ``$defs``) to a structural schema node."""
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        return _merge_outer(structural(target, defs), schema)
    if "anyOf" in schema:
        return _merge_outer(_any_of(schema["anyOf"], defs), schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = structural(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, Mapping):  # a map type; `false` (extra="forbid") is pruning's job
                out[key] = structural(value, defs)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # JSON Schema 2020-12 (pydantic's gt/lt) says `exclusiveMinimum: 0`; OpenAPI v3.0, which
            # Kubernetes speaks, says `minimum: 0, exclusiveMinimum: true`.
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key.startswith("x-kubernetes-") or key in _KEPT:
            out[key] = value
    untyped = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")
    if "type" not in out and not any(key in out for key in untyped):
        raise UnsupportedSchema(f"schema node without a type: {dict(schema)}")
    return _ordered(out)


def _ordered(node: dict[str, Any]) -> dict[str, Any]:
    """type and description first, the rest in the model's order: easier to read in the YAML."""
    first = {key: node[key] for key in ("type", "description") if key in node}
    return first | {key: value for key, value in node.items() if key not in first}


def _any_of(branches: Sequence[Mapping[str, Any]], defs: Mapping[str, Any]) -> dict[str, Any]:
    real = [structural(b, defs) for b in branches if b.get("type") != "null"]
    if len(real) == 1:
        return real[0]
    types = {b.get("type") for b in real}
    if len(real) == 2 and types == {"integer", "string"}:
        out: dict[str, Any] = {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        }
        pattern = next((b["pattern"] for b in real if "pattern" in b), None)
        if pattern is not None:
            out["pattern"] = pattern
        return out
    raise UnsupportedSchema(f"a union of {sorted(map(str, types))} is not structural")


def _merge_outer(inner: dict[str, Any], outer: Mapping[str, Any]) -> dict[str, Any]:
    """Field-level keywords (description, x-kubernetes-*) written beside a $ref/anyOf win over the type's."""
    merged = dict(inner)
    for key, value in outer.items():
        if key == "description" or key.startswith("x-kubernetes-"):
            merged[key] = value
    return _ordered(merged)


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return structural(raw, raw.get("$defs", {}))


def _object_schema(description: str, spec: type[BaseModel], status: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": schema_of(spec),
            "status": schema_of(status),
        },
        "required": ["spec"],
    }


def _crd(
    kind: str,
    plural: str,
    short_names: list[str],
    columns: list[dict[str, Any]],
    schema: dict[str, Any],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "kind": kind,
            "listKind": f"{kind}List",
            "plural": plural,
            "singular": kind.lower(),
            "shortNames": short_names,
            "categories": [CATEGORY],
        },
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": schema},
            }
        ],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "baton", "app.kubernetes.io/part-of": "baton"},
            "annotations": {SCHEMA_ANNOTATION: fingerprint(spec), VERSION_ANNOTATION: __version__},
        },
        "spec": spec,
    }


def fingerprint(spec: Mapping[str, Any]) -> str:
    """A short digest of a CRD's spec: any change to a field, a column or a name changes it. The release
    number alone would not do: builds of one release differ while it is developed."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _column(name: str, type_: str, path: str, description: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path, "description": description}
    if priority:
        column["priority"] = priority
    return column


def pipeline_crd() -> dict[str, Any]:
    columns = [
        _column("Tasks", "integer", ".status.taskCount", "Number of tasks"),
        _column("Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Is the spec valid"),
        _column("Last Run", "string", ".status.lastRun", "Most recently started run"),
        _column("Last Status", "string", ".status.lastRunStatus", "Phase of the most recent run"),
        _column("Schedule", "string", ".spec.schedule.cron", "Cron schedule of the Pipeline"),
        _column("Next", "string", ".status.nextScheduleTime", "Next slot of the schedule (UTC)"),
        _column("Last", "date", ".status.lastScheduleTime", "Latest slot of the schedule handled"),
        _column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
    ]
    schema = _object_schema("A reusable DAG of tasks; each task runs as a Job.", PipelineSpec, PipelineStatus)
    return _crd("Pipeline", "pipelines", ["pl"], columns, schema)


def pipelinerun_crd() -> dict[str, Any]:
    columns = [
        _column("Pipeline", "string", ".status.pipeline", "The Pipeline the run was started from"),
        _column(
            "Status", "string", ".status.phase", "Pending, Running, Suspended, Succeeded, Failed or Cancelled"
        ),
        _column("Progress", "string", ".status.progress", "Finished tasks out of all tasks"),
        _column("Started", "date", ".status.startTime", "When the run started"),
        _column("Duration", "string", ".status.duration", "How long the finished run took"),
        _column(
            "Retry Of",
            "string",
            ".spec.retryOf",
            "The run this one retries (its succeeded tasks are reused, not run again)",
            priority=1,
        ),
        _column(
            "Message",
            "string",
            '.status.conditions[?(@.type=="Succeeded")].message',
            "Details of the Succeeded condition",
            priority=1,
        ),
    ]
    schema = _object_schema(
        "One execution of a Pipeline; its status records what ran.", PipelineRunSpec, PipelineRunStatus
    )
    return _crd("PipelineRun", "pipelineruns", ["plr"], columns, schema)


def dataset_crd() -> dict[str, Any]:
    columns = [
        _column("URI", "string", ".spec.uri", "The dataset's URI"),
        _column("Last Updated", "date", ".status.lastUpdated", "When a producer last succeeded"),
        _column("Latest Partition", "string", ".status.latestPartition", "The newest partition written"),
        _column("Producer", "string", ".status.lastProducer.run", "The run that wrote it last"),
        _column("Fresh", "string", '.status.conditions[?(@.type=="Fresh")].status', "Meets spec.freshness"),
        _column("Age", "date", ".metadata.creationTimestamp", "Time since creation", priority=1),
    ]
    schema = _object_schema(
        "A dataset tasks write and read, with its partitions, producers, consumers and checks.",
        DatasetSpec,
        DatasetStatus,
    )
    return _crd("Dataset", "datasets", ["dset"], columns, schema)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(crd: Mapping[str, Any]) -> str:
    return HEADER + yaml.dump(dict(crd), Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=True)


def all_crds() -> list[dict[str, Any]]:
    return [pipeline_crd(), pipelinerun_crd(), dataset_crd()]


def built_fingerprints() -> dict[str, str]:
    """CRD name → the schema fingerprint this build of Baton generates (what the operator expects)."""
    return dict(_fingerprints())


@functools.cache
def _fingerprints() -> tuple[tuple[str, str], ...]:
    # Generating the schemas takes a tenth of a second: once per process, not per operator started.
    return tuple(
        (crd["metadata"]["name"], crd["metadata"]["annotations"][SCHEMA_ANNOTATION]) for crd in all_crds()
    )


def generated_files() -> dict[str, str]:
    """File name → content of every CRD file Baton ships."""
    return {f"{crd['metadata']['name']}.yaml": render(crd) for crd in all_crds()}


def default_dir() -> Path:
    repo = Path(__file__).resolve().parents[3]
    return repo / "crds" if (repo / "pyproject.toml").exists() else Path.cwd() / "crds"


def check(directory: Path) -> list[str]:
    """Unified diffs (empty when in sync) between the checked-in files and the models."""
    diffs: list[str] = []
    for name, expected in generated_files().items():
        path = directory / name
        actual = path.read_text() if path.exists() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=str(path),
                tofile=f"{path} (generated)",
            )
            diffs.append("".join(diff))
    return diffs


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in generated_files().items():
        path = directory / name
        path.write_text(content)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.api.crdgen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff when DIR is out of date")
    parser.add_argument("dir", nargs="?", type=Path, default=None, help="output directory (default: crds/)")
    args = parser.parse_args(argv)
    directory: Path = args.dir or default_dir()
    if args.check:
        diffs = check(directory)
        for diff in diffs:
            sys.stdout.write(diff)
        if diffs:
            print(f"CRDs in {directory} are out of date: run python -m baton.api.crdgen", file=sys.stderr)
            return 1
        print(f"CRDs in {directory} are up to date")
        return 0
    for path in write(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
