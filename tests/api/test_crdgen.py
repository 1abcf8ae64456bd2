from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from baton.api import crdgen
from baton.api.codec import dump_run_status
from baton.api.run import PipelineRunStatus, RunPhase, TaskPhase, TaskStatus

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
EXAMPLES = REPO / "examples"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CRDS / name).read_text())  # type: ignore[no-any-return]


def schema_of(kind: str) -> dict[str, Any]:
    crd = crdgen.pipeline_crd() if kind == "Pipeline" else crdgen.pipelinerun_crd()
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def test_checked_in_crds_match_the_models() -> None:
    assert crdgen.check(CRDS) == [], "run: python -m baton.api.crdgen"


@pytest.mark.parametrize("name", ["pipelines.baton.dev.yaml", "pipelineruns.baton.dev.yaml"])
def test_crds_pass_kubernetes_validate(name: str) -> None:
    kubernetes_validate.validate(load(name), "1.30", strict=True)


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


# A dataset entry is a URI or {dataset, partition}: a union no structural schema can state, so these
# entries are kept as written by the API server and checked by the operator and `baton lint`.
STRING_OR_OBJECT = {
    f"{prefix}.{role}[]"
    for prefix in (
        ".spec.tasks[]",
        ".spec.finally[]",
        ".spec.pipelineSpec.tasks[]",
        ".spec.pipelineSpec.finally[]",
    )
    for role in ("inputs", "outputs")
} | {
    f".status.pipelineSpec.{group}[].{role}[]"
    for group in ("tasks", "finally")
    for role in ("inputs", "outputs")
}


@pytest.mark.parametrize("kind", ["Pipeline", "PipelineRun"])
def test_schemas_are_structural(kind: str) -> None:
    for path, node in nodes(schema_of(kind)):
        if path in STRING_OR_OBJECT:
            assert set(node) == {"description", "x-kubernetes-preserve-unknown-fields"}, path
            continue
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        assert not {"$ref", "$defs", "title", "default", "allOf", "oneOf", "const"} & set(node), path
        assert node.get("additionalProperties", {}) is not False, path
        if "anyOf" in node:
            assert node["x-kubernetes-int-or-string"] and node["anyOf"] == [
                {"type": "integer"},
                {"type": "string"},
            ]
        if "properties" in node:
            assert "additionalProperties" not in node, path
        if node.get("x-kubernetes-list-type") == "map":
            for key in node["x-kubernetes-list-map-keys"]:
                assert key in node["items"]["required"], path
        assert not node.get("x-kubernetes-preserve-unknown-fields"), path


def test_lists_of_named_objects_are_maps() -> None:
    spec = schema_of("Pipeline")["properties"]["spec"]["properties"]
    assert (
        spec["tasks"]["x-kubernetes-list-type"] == "map" and spec["params"]["x-kubernetes-list-type"] == "map"
    )
    task = spec["tasks"]["items"]["properties"]
    assert task["env"]["x-kubernetes-list-map-keys"] == ["name"]
    assert task["dependsOn"]["x-kubernetes-list-type"] == "set"
    assert (
        task["resources"]["properties"]["limits"]["additionalProperties"]["x-kubernetes-int-or-string"]
        is True
    )
    status = schema_of("PipelineRun")["properties"]["status"]["properties"]
    assert status["tasks"]["x-kubernetes-list-type"] == "atomic"  # written whole by the operator alone
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    run_spec = schema_of("PipelineRun")["properties"]["spec"]
    assert (
        run_spec["x-kubernetes-validations"][0]["rule"]
        == "[has(self.pipelineRef), has(self.pipelineSpec), has(self.retryOf)].filter(x, x).size() == 1"
    )


def test_names_categories_and_printer_columns() -> None:
    pipelines, runs = crdgen.pipeline_crd()["spec"], crdgen.pipelinerun_crd()["spec"]
    assert pipelines["names"]["shortNames"] == ["pl"] and runs["names"]["shortNames"] == ["plr"]
    assert pipelines["names"]["categories"] == runs["names"]["categories"] == ["baton"]
    assert pipelines["versions"][0]["subresources"] == runs["versions"][0]["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in runs["versions"][0]["additionalPrinterColumns"]}
    assert list(columns) == ["Pipeline", "Status", "Progress", "Started", "Duration", "Retry Of", "Message"]
    assert (columns["Retry Of"]["priority"], columns["Retry Of"]["jsonPath"]) == (1, ".spec.retryOf")
    assert columns["Started"]["type"] == "date"
    assert columns["Message"]["priority"] == 1
    assert columns["Message"]["jsonPath"] == '.status.conditions[?(@.type=="Succeeded")].message'
    columns = {c["name"]: c for c in pipelines["versions"][0]["additionalPrinterColumns"]}
    assert list(columns) == ["Tasks", "Ready", "Last Run", "Last Status", "Schedule", "Next", "Last", "Age"]
    assert columns["Age"] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
        "description": "Time since creation",
    }


def test_check_reports_drift_and_write_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    assert crdgen.main([str(tmp_path)]) == 0
    assert crdgen.main(["--check", str(tmp_path)]) == 0
    path = tmp_path / "pipelines.baton.dev.yaml"
    path.write_text(path.read_text().replace("shortNames:\n    - pl", "shortNames:\n    - pipe"))
    capsys.readouterr()
    assert crdgen.main(["--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "-    - pipe" in out and "+    - pl" in out


def json_schema(node: Any) -> Any:
    """A CRD schema as plain JSON Schema, strict about unknown fields as `kubectl --validate=strict` is."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"
    }
    if "properties" in node and node.get("type") == "object" and node["properties"].keys() != {"apiVersion"}:
        out["additionalProperties"] = False
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True:  # OpenAPI v3.0's boolean form, as JSON Schema 2020-12 says it
            out[exclusive] = out.pop(bound)
    return out


def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = copy.deepcopy(schema_of(kind))
    converted = json_schema(schema)
    converted["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft202012Validator(converted)


def example_objects() -> list[dict[str, Any]]:
    objects = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        objects += [
            doc
            for doc in yaml.safe_load_all(path.read_text())
            if doc and doc["apiVersion"].startswith("baton")
        ]
    return objects


def test_there_are_examples() -> None:
    kinds = sorted(obj["kind"] for obj in example_objects())
    assert kinds == ["Pipeline"] * 6 + ["PipelineRun"]


@pytest.mark.parametrize("obj", example_objects(), ids=lambda o: f"{o['kind']}/{o['metadata'].get('name')}")
def test_examples_validate_against_the_generated_schema(obj: dict[str, Any]) -> None:
    validator(obj["kind"]).validate(obj)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("Pipeline", {"tasks": [{"name": "Bad"}]}),
        ("Pipeline", {"tasks": [{"name": "a", "comand": ["x"]}]}),
        ("Pipeline", {"tasks": [{"name": "a"}], "parallelism": 0}),
        ("Pipeline", {"tasks": []}),
        ("Pipeline", {"tasks": [{"name": "a", "resources": {"limits": {"cpu": "lots"}}}]}),
        ("PipelineRun", {"pipelineRef": {"name": "p"}, "params": {"n": 1}}),
    ],
)
def test_the_schema_rejects_what_the_models_reject(kind: str, spec: dict[str, Any]) -> None:
    obj = {"apiVersion": "baton.dev/v1alpha1", "kind": kind, "metadata": {"name": "x"}, "spec": spec}
    with pytest.raises(jsonschema.ValidationError):
        validator(kind).validate(obj)


@pytest.mark.parametrize("n", [3, 6000])
def test_statuses_the_operator_writes_validate(n: int) -> None:
    example = next(o for o in example_objects() if o["metadata"].get("name") == "daily-sales")
    from baton.api.pipeline import PipelineSpec

    tasks = [
        TaskStatus(
            name=f"t{i}",
            phase=TaskPhase.FAILED,
            attempts=1,
            job_name=f"r-t{i}-1",
            exit_code=3,
            message="boom",
            start_time="2025-01-01T00:00:00Z",
        )
        for i in range(n)
    ]
    status = PipelineRunStatus(
        phase=RunPhase.RUNNING,
        tasks=tasks,
        params={"date": "d"},
        pipeline_spec=PipelineSpec.model_validate(example["spec"]),
    )
    obj = {
        "apiVersion": "baton.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"name": "x"},
        "spec": {"pipelineRef": {"name": "daily-sales"}},
        "status": dump_run_status(status),
    }
    validator("PipelineRun").validate(obj)


@pytest.mark.parametrize("kind", ["Pipeline", "PipelineRun"])
def test_a_crd_fits_a_client_side_apply(kind: str) -> None:
    # `kubectl apply -f crds/` (client-side) keeps the whole object in the last-applied annotation, which
    # the API server caps at 256 KiB. The PipelineRun CRD holds the Pipeline spec's schema twice (inline spec
    # and frozen status), so it grows twice as fast as the Pipeline's: this says when it gets close.
    crd = crdgen.pipeline_crd() if kind == "Pipeline" else crdgen.pipelinerun_crd()
    assert len(json.dumps(crd, separators=(",", ":"))) < 256 * 1024 * 0.8
