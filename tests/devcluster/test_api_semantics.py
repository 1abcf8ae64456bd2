"""API semantics that typed clients hide, checked over raw HTTPS against the dev cluster.

Every assertion here is about what a real kube-apiserver answers: status codes, `Status` reasons and
messages, metadata rules, subresources, validation, watches, deletion and garbage collection.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conformance_kit import Raw, name_of, unique, widget, widget_crd

from baton.devcluster.cluster import DevCluster
from support import wait_for

GROUP = "semantics.baton.dev"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture(scope="module")
def raw(devcluster: DevCluster) -> Iterator[Raw]:
    client = Raw(devcluster)
    yield client
    client.close()


@pytest.fixture(scope="module")
def crd(raw: Raw) -> str:
    """A Widget CRD in its own group, served for the whole module."""
    name = f"widgets.{GROUP}"
    if raw.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").status == 404:
        raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widget_crd(GROUP))

    def established() -> bool:
        crd = raw.ok("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        return any(
            c["type"] == "Established" and c["status"] == "True"
            for c in crd.get("status", {}).get("conditions", [])
        )

    wait_for(established, 30, message="the CRD to be Established")
    return name


def cm_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps" + (f"/{name}" if name else "")


def w_path(ns: str, name: str = "", sub: str = "") -> str:
    path = f"/apis/{GROUP}/v1/namespaces/{ns}/widgets"
    return path + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


def configmap(name: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}, **extra}


# -- security --------------------------------------------------------------------------------------


def test_requests_without_the_bearer_token_are_unauthorized(raw: Raw) -> None:
    for token in ("", "not-the-token"):
        reply = raw.get("/api/v1/namespaces", token=token)
        assert reply.status == 401
        assert reply.json == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    assert raw.get("/healthz", token="").status == 200  # probes are public, as on a real cluster


def test_it_listens_on_loopback_with_tls_and_a_private_kubeconfig(
    devcluster: DevCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    assert devcluster.url.startswith("https://127.0.0.1:")
    runner = devcluster._runner
    assert runner is not None
    assert {address[0] for address in runner.addresses} == {"127.0.0.1"}
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert devcluster.token in kubeconfig.read_text()
    existing = tmp_path / "readable"
    existing.write_text("old")
    existing.chmod(0o644)
    devcluster.write_kubeconfig(existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and devcluster.token in existing.read_text()


# -- discovery and OpenAPI -------------------------------------------------------------------------


def test_discovery_documents(raw: Raw, crd: str) -> None:
    version = raw.ok("GET", "/version")
    assert (version["major"], version["minor"]) == ("1", "37")
    assert raw.ok("GET", "/api")["versions"] == ["v1"]
    groups = {g["name"]: g for g in raw.ok("GET", "/apis")["groups"]}
    for group in ("batch", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io", GROUP):
        assert group in groups, group
    assert groups["batch"]["preferredVersion"]["groupVersion"] == "batch/v1"
    assert raw.ok("GET", "/apis/batch")["kind"] == "APIGroup"

    core = {r["name"]: r for r in raw.ok("GET", "/api/v1")["resources"]}
    for name in (
        "namespaces",
        "pods",
        "pods/log",
        "pods/status",
        "events",
        "configmaps",
        "secrets",
        "serviceaccounts",
    ):
        assert name in core, name
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"] is True
    assert "all" in core["pods"]["categories"]
    assert core["namespaces"]["namespaced"] is False
    assert set(core["configmaps"]["verbs"]) >= {
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    }
    jobs = {r["name"]: r for r in raw.ok("GET", "/apis/batch/v1")["resources"]}
    assert jobs["jobs"]["kind"] == "Job" and "jobs/status" in jobs
    leases = {r["name"] for r in raw.ok("GET", "/apis/coordination.k8s.io/v1")["resources"]}
    assert "leases" in leases
    assert "events" in {r["name"] for r in raw.ok("GET", "/apis/events.k8s.io/v1")["resources"]}

    custom = {r["name"]: r for r in raw.ok("GET", f"/apis/{GROUP}/v1")["resources"]}
    assert custom["widgets"]["kind"] == "Widget"
    assert custom["widgets"]["shortNames"] == ["wdg"]
    assert custom["widgets"]["categories"] == ["baton-conformance"]
    assert custom["widgets"]["singularName"] == "widget"
    assert "widgets/status" in custom
    assert raw.get("/apis/nothing.example.com/v1").status == 404


def test_openapi_documents_describe_custom_kinds(raw: Raw, crd: str) -> None:
    index = raw.ok("GET", "/openapi/v3")["paths"]
    assert f"apis/{GROUP}/v1" in index and "api/v1" in index
    doc = raw.ok("GET", index[f"apis/{GROUP}/v1"]["serverRelativeURL"])
    schemas = [
        s
        for s in doc["components"]["schemas"].values()
        if {"group": GROUP, "version": "v1", "kind": "Widget"} in s.get("x-kubernetes-group-version-kind", [])
    ]
    assert len(schemas) == 1
    assert schemas[0]["properties"]["spec"]["properties"]["size"]["type"] == "integer"
    params = {
        p["name"] for op in doc["paths"].values() for method in op.values() for p in method["parameters"]
    }
    assert "fieldValidation" in params
    v2 = raw.ok("GET", "/openapi/v2")
    assert any(
        d.get("x-kubernetes-group-version-kind", [{}])[0].get("kind") == "Widget"
        for d in v2["definitions"].values()
    )


# -- object semantics ------------------------------------------------------------------------------


def test_created_objects_get_server_metadata_and_monotonic_resource_versions(
    raw: Raw, namespace: str
) -> None:
    first = raw.ok("POST", cm_path(namespace), configmap("one"))
    second = raw.ok(
        "POST", "/api/v1/namespaces/" + namespace + "/serviceaccounts", {"metadata": {"name": "sa"}}
    )
    for obj in (first, second):
        meta = obj["metadata"]
        assert len(meta["uid"]) == 36 and meta["creationTimestamp"].endswith("Z")
        assert meta["namespace"] == namespace
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert first["kind"] == "ConfigMap" and first["apiVersion"] == "v1"

    generated = raw.ok("POST", cm_path(namespace), {"metadata": {"generateName": "gen-"}})
    assert generated["metadata"]["name"].startswith("gen-") and len(generated["metadata"]["name"]) == 9

    listed = raw.ok("GET", cm_path(namespace))
    assert listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert int(listed["metadata"]["resourceVersion"]) >= int(generated["metadata"]["resourceVersion"])


def test_uid_and_creation_timestamp_cannot_be_changed(raw: Raw, namespace: str) -> None:
    created = raw.ok("POST", cm_path(namespace), configmap("fixed"))
    body = json.loads(json.dumps(created))
    body["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    body["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"
    body["data"] = {"k": "changed"}
    updated = raw.ok("PUT", cm_path(namespace, "fixed"), body)
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert updated["data"] == {"k": "changed"}


def test_namespaces_must_exist(raw: Raw) -> None:
    reply = raw.post(cm_path("no-such-namespace"), configmap("x"))
    assert reply.status == 404 and reply.reason == "NotFound"
    assert reply.message == 'namespaces "no-such-namespace" not found'


def test_invalid_names_are_rejected_with_field_paths(raw: Raw, namespace: str) -> None:
    reply = raw.post(cm_path(namespace), configmap("Not_Valid"))
    assert reply.status == 422 and reply.reason == "Invalid"
    assert reply.message.startswith(
        'ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid"'
    )
    assert reply.json["details"]["causes"][0]["field"] == "metadata.name"
    missing = raw.post(cm_path(namespace), {"metadata": {}})
    assert missing.status == 422 and "name or generateName is required" in missing.message


# -- errors ----------------------------------------------------------------------------------------


def test_error_bodies_carry_the_standard_reasons(raw: Raw, namespace: str, crd: str) -> None:
    missing = raw.get(w_path(namespace, "ghost"))
    assert missing.status == 404
    assert missing.json["reason"] == "NotFound" and missing.json["kind"] == "Status"
    assert missing.message == f'widgets.{GROUP} "ghost" not found'
    assert missing.json["details"] == {"name": "ghost", "group": GROUP, "kind": "widgets"}

    raw.ok("POST", w_path(namespace), widget("dup", GROUP))
    again = raw.post(w_path(namespace), widget("dup", GROUP))
    assert again.status == 409 and again.reason == "AlreadyExists"
    assert again.message == f'widgets.{GROUP} "dup" already exists'

    assert raw.post(w_path(namespace, "dup"), widget("dup", GROUP)).status == 405
    not_allowed = raw.put(w_path(namespace), widget("dup", GROUP))
    assert not_allowed.status == 405 and not_allowed.reason == "MethodNotAllowed"
    assert raw.get("/api/v1/nothings").json == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "reason": "NotFound",
        "message": "the server could not find the requested resource",
        "details": {},
        "code": 404,
    }


def test_stale_resource_version_is_a_conflict_for_update_and_patch(
    raw: Raw, namespace: str, crd: str
) -> None:
    created = raw.ok("POST", w_path(namespace), widget("cas", GROUP))
    stale = created["metadata"]["resourceVersion"]
    fresh = raw.ok(
        "PATCH", w_path(namespace, "cas"), {"spec": {"size": 4}}, content_type="application/merge-patch+json"
    )
    assert fresh["metadata"]["resourceVersion"] != stale

    body = json.loads(json.dumps(created))
    body["spec"]["size"] = 5
    conflict = raw.put(w_path(namespace, "cas"), body)
    assert conflict.status == 409 and conflict.reason == "Conflict"
    assert conflict.message == (
        f'Operation cannot be fulfilled on widgets.{GROUP} "cas": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )

    patched = raw.patch(
        w_path(namespace, "cas"), {"metadata": {"resourceVersion": stale}, "spec": {"size": 6}}
    )
    assert patched.status == 409 and patched.reason == "Conflict"
    # The status subresource honours the precondition too (an operator's read-modify-write relies on it).
    status_path = w_path(namespace, "cas") + "/status"
    stale_status = raw.patch(status_path, {"metadata": {"resourceVersion": stale}, "status": {"phase": "x"}})
    assert stale_status.status == 409 and stale_status.reason == "Conflict"
    current = raw.ok("GET", w_path(namespace, "cas"))["metadata"]["resourceVersion"]
    fresh_status = raw.patch(
        status_path, {"metadata": {"resourceVersion": current}, "status": {"phase": "y"}}
    )
    assert fresh_status.status == 200 and fresh_status.json["status"] == {"phase": "y"}
    test_op = raw.patch(
        w_path(namespace, "cas"),
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": stale},
            {"op": "replace", "path": "/spec/size", "value": 7},
        ],
        "json",
    )
    assert test_op.status == 422 and test_op.reason == "Invalid"
    assert raw.ok("GET", w_path(namespace, "cas"))["spec"]["size"] == 4

    current = raw.ok("GET", w_path(namespace, "cas"))["metadata"]["resourceVersion"]
    ok = raw.patch(
        w_path(namespace, "cas"),
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": current},
            {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/hold"]},
        ],
        "json",
    )
    assert ok.status == 200 and ok.json["metadata"]["finalizers"] == ["example.com/hold"]
    raw.ok(
        "PATCH",
        w_path(namespace, "cas"),
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )


def test_json_patch_failures(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("jp"))
    failed_test = raw.patch(
        cm_path(namespace, "jp"), [{"op": "test", "path": "/data/k", "value": "other"}], "json"
    )
    # What kube-apiserver 1.37 answers to any JSON patch that does not apply, word for word.
    assert failed_test.json == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid",
        "details": {},
        "code": 422,
    }
    missing_path = raw.patch(
        cm_path(namespace, "jp"), [{"op": "replace", "path": "/data/nope", "value": "x"}], "json"
    )
    assert missing_path.status == 422
    assert raw.patch(cm_path(namespace, "jp"), {"not": "a list"}, "json").status == 400
    assert raw.ok("GET", cm_path(namespace, "jp"))["data"] == {"k": "v"}


def test_merge_and_strategic_patches(raw: Raw, namespace: str, crd: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("mp", data={"a": "1", "b": "2"}))
    merged = raw.ok(
        "PATCH",
        cm_path(namespace, "mp"),
        {"data": {"a": None, "c": "3"}},
        content_type="application/merge-patch+json",
    )
    assert merged["data"] == {"b": "2", "c": "3"}
    strategic = raw.ok(
        "PATCH",
        cm_path(namespace, "mp"),
        {"data": {"d": "4"}},
        content_type="application/strategic-merge-patch+json",
    )
    assert strategic["data"] == {"b": "2", "c": "3", "d": "4"}

    raw.ok("POST", w_path(namespace), widget("sp", GROUP))
    unsupported = raw.patch(w_path(namespace, "sp"), {"spec": {"size": 2}}, "strategic")
    assert unsupported.status == 415 and unsupported.reason == "UnsupportedMediaType"
    wrong_type = raw.request("PATCH", cm_path(namespace, "mp"), {"data": {}}, content_type="text/plain")
    assert wrong_type.status == 415


def test_protobuf_bodies_get_a_clear_415(raw: Raw, namespace: str) -> None:
    reply = raw.request(
        "POST",
        cm_path(namespace),
        b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap",
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert reply.status == 415 and reply.reason == "UnsupportedMediaType"
    assert "accepts JSON and YAML bodies only" in reply.message
    assert "kubectl apply" in reply.message


def test_yaml_bodies_are_accepted(raw: Raw, namespace: str) -> None:
    reply = raw.request(
        "POST",
        cm_path(namespace),
        "metadata:\n  name: from-yaml\ndata:\n  a: b\n",
        content_type="application/yaml",
    )
    assert reply.status == 201 and reply.json["data"] == {"a": "b"}


# -- generation and the status subresource ---------------------------------------------------------


def test_generation_counts_spec_changes_only(raw: Raw, namespace: str, crd: str) -> None:
    created = raw.ok("POST", w_path(namespace), widget("gen", GROUP))
    assert created["metadata"]["generation"] == 1
    labelled = raw.ok(
        "PATCH",
        w_path(namespace, "gen"),
        {"metadata": {"labels": {"a": "b"}}},
        content_type="application/merge-patch+json",
    )
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    status = raw.ok(
        "PATCH",
        w_path(namespace, "gen", "status"),
        {"status": {"phase": "Ready"}},
        content_type="application/merge-patch+json",
    )
    assert status["metadata"]["generation"] == 1 and status["status"] == {"phase": "Ready"}
    spec = raw.ok(
        "PATCH", w_path(namespace, "gen"), {"spec": {"size": 9}}, content_type="application/merge-patch+json"
    )
    assert spec["metadata"]["generation"] == 2
    same = raw.ok(
        "PATCH", w_path(namespace, "gen"), {"spec": {"size": 9}}, content_type="application/merge-patch+json"
    )
    assert same["metadata"]["resourceVersion"] == spec["metadata"]["resourceVersion"]  # a no-op write
    assert same["metadata"]["generation"] == 2


def test_status_subresource_rules(raw: Raw, namespace: str, crd: str) -> None:
    body = widget("st", GROUP)
    body["status"] = {"phase": "Forged"}
    created = raw.ok("POST", w_path(namespace), body)
    assert "status" not in created  # status is set through /status only

    ignored = json.loads(json.dumps(created))
    ignored["status"] = {"phase": "Ignored"}
    ignored["spec"]["size"] = 8
    updated = raw.ok("PUT", w_path(namespace, "st"), ignored)
    assert updated["spec"]["size"] == 8 and "status" not in updated

    via_status = json.loads(json.dumps(updated))
    via_status["status"] = {"phase": "Running", "count": 2}
    via_status["spec"]["size"] = 99
    written = raw.ok("PUT", w_path(namespace, "st", "status"), via_status)
    assert written["status"] == {"phase": "Running", "count": 2}
    assert written["spec"]["size"] == 8  # spec changes through /status are ignored
    assert written["metadata"]["generation"] == updated["metadata"]["generation"]

    invalid = raw.patch(w_path(namespace, "st", "status"), {"status": {"count": "many"}})
    assert invalid.status == 422 and invalid.reason == "Invalid"
    assert "status.count" in invalid.message
    got = raw.ok("GET", w_path(namespace, "st", "status"))
    assert got["status"]["count"] == 2 and got["kind"] == "Widget"


def test_status_of_built_in_kinds_goes_through_status(raw: Raw, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "suspended"},
        "spec": {
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "busybox", "command": [sys.executable, "-c", "pass"]}
                    ],
                }
            },
        },
    }
    created = raw.ok("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    assert created["spec"]["backoffLimit"] == 6 and created["spec"]["completions"] == 1
    labelled = raw.ok(
        "PATCH",
        f"/apis/batch/v1/namespaces/{namespace}/jobs/suspended",
        {"metadata": {"labels": {"x": "y"}}, "status": {"active": 5}},
        content_type="application/merge-patch+json",
    )
    assert labelled["status"].get("active") != 5


# -- validation of custom resources ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        ({"size": 0}, "spec.size", "should be greater than or equal to 1"),
        ({"size": 101}, "spec.size", "should be less than or equal to 100"),
        ({"size": "big"}, "spec.size", 'must be of type integer: "string"'),
        ({"size": 1, "color": "purple"}, "spec.color", 'Unsupported value: "purple"'),
        ({"size": 1, "code": "abc"}, "spec.code", "should match '^[A-Z]{3}$'"),
        ({"size": 1, "code": "AB"}, "spec.code", "should be at least 3 chars long"),
        ({"size": 1, "note": "x" * 21}, "spec.note", "may not be more than 20 bytes"),
        ({"size": 1, "tags": ["a", "b", "c", "d"]}, "spec.tags", "must have at most 3 items"),
        ({"size": 1, "tags": []}, "spec.tags", "should have at least 1 items"),
        ({"size": 1, "tags": [""]}, "spec.tags[0]", "should be at least 1 chars long"),
        ({"size": 1, "ratio": 0}, "spec.ratio", "should be greater than 0"),
        ({"color": "red"}, "spec.size", "Required value"),
    ],
)
def test_custom_resources_are_validated_against_their_schema(
    raw: Raw, namespace: str, crd: str, spec: dict[str, Any], field: str, text: str
) -> None:
    body = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": spec}
    reply = raw.post(w_path(namespace), body)
    assert reply.status == 422, reply.text
    assert reply.reason == "Invalid"
    prefix = f'Widget.{GROUP} "bad" is invalid: '
    assert reply.message.startswith((prefix + field, f"{prefix}[{field}")), reply.message
    assert text in reply.message
    assert field in [cause["field"] for cause in reply.json["details"]["causes"]]
    assert raw.get(w_path(namespace, "bad")).status == 404


def test_nullable_defaults_and_pruning(raw: Raw, namespace: str, crd: str) -> None:
    body = widget("pruned", GROUP, note=None, bogus=True, extra={"anything": {"goes": [1, 2]}})
    body["topLevel"] = "dropped"
    reply = raw.post(w_path(namespace), body)
    assert reply.status == 201, reply.text
    obj = reply.json
    assert obj["spec"]["color"] == "red"  # defaulted
    assert "bogus" not in obj["spec"] and "topLevel" not in obj  # pruned
    assert obj["spec"]["extra"] == {"anything": {"goes": [1, 2]}}  # x-kubernetes-preserve-unknown-fields
    assert obj["spec"]["note"] is None  # nullable
    warnings = reply.headers.get("warning", "")
    assert 'unknown field \\"spec.bogus\\"' in warnings and "topLevel" in warnings
    assert raw.ok("GET", w_path(namespace, "pruned")) == obj


def test_strict_field_validation_rejects_unknown_fields(raw: Raw, namespace: str, crd: str) -> None:
    body = widget("strict", GROUP, bogus=1)
    reply = raw.post(w_path(namespace) + "?fieldValidation=Strict", body)
    assert reply.status == 400 and reply.reason == "BadRequest"
    assert reply.message == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'unknown field "spec.bogus"'
    )
    ignored = raw.post(w_path(namespace) + "?fieldValidation=Ignore", body)
    assert ignored.status == 201 and "warning" not in ignored.headers
    assert raw.post(w_path(namespace) + "?fieldValidation=Sometimes", widget("x", GROUP)).status == 400


# -- dry run, deletecollection, finalizers ---------------------------------------------------------


def test_dry_run_changes_nothing(raw: Raw, namespace: str) -> None:
    dry = raw.post(cm_path(namespace) + "?dryRun=All", configmap("dry"))
    assert dry.status == 201 and dry.json["metadata"]["uid"]
    assert raw.get(cm_path(namespace, "dry")).status == 404
    raw.ok("POST", cm_path(namespace), configmap("dry"))
    patched = raw.ok(
        "PATCH",
        cm_path(namespace, "dry") + "?dryRun=All",
        {"data": {"k": "dry"}},
        content_type="application/merge-patch+json",
    )
    assert patched["data"] == {"k": "dry"}
    assert raw.ok("GET", cm_path(namespace, "dry"))["data"] == {"k": "v"}
    raw.ok("DELETE", cm_path(namespace, "dry") + "?dryRun=All")
    assert raw.get(cm_path(namespace, "dry")).status == 200
    assert raw.post(cm_path(namespace) + "?dryRun=Some", configmap("x")).status == 400


def test_deletecollection_honours_selectors(raw: Raw, namespace: str) -> None:
    for i in range(4):
        raw.ok("POST", cm_path(namespace), configmap(f"c{i}", {"batch": "a" if i < 3 else "b"}))
    reply = raw.delete(cm_path(namespace) + "?labelSelector=batch%3Da")
    assert reply.status == 200 and reply.json["kind"] == "ConfigMapList"
    assert sorted(name_of(o) for o in reply.json["items"]) == ["c0", "c1", "c2"]
    left = [name_of(o) for o in raw.ok("GET", cm_path(namespace))["items"] if name_of(o).startswith("c")]
    assert left == ["c3"]


def test_finalizers_hold_deletion_until_removed(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("held", metadata={"finalizers": ["example.com/hold"]}))
    with raw.watch(cm_path(namespace) + "?watch=true&fieldSelector=metadata.name%3Dheld") as stream:
        stream.expect(lambda e: e["type"] == "ADDED", what="ADDED")
        deleting = raw.ok("DELETE", cm_path(namespace, "held"))
        assert deleting["metadata"]["deletionTimestamp"]
        got = raw.ok("GET", cm_path(namespace, "held"))
        assert got["metadata"]["deletionTimestamp"] and got["metadata"]["finalizers"] == ["example.com/hold"]
        stream.expect(
            lambda e: e["type"] == "MODIFIED" and bool(e["object"]["metadata"].get("deletionTimestamp")),
            what="MODIFIED with deletionTimestamp",
        )
        added = raw.patch(
            cm_path(namespace, "held"), {"metadata": {"finalizers": ["example.com/hold", "new"]}}
        )
        assert added.status == 422 and "no new finalizers can be added" in added.message
        raw.ok(
            "PATCH",
            cm_path(namespace, "held"),
            {"metadata": {"finalizers": []}},
            content_type="application/merge-patch+json",
        )
        stream.expect(lambda e: e["type"] == "DELETED", what="DELETED")
    assert raw.get(cm_path(namespace, "held")).status == 404


def test_delete_preconditions(raw: Raw, namespace: str) -> None:
    created = raw.ok("POST", cm_path(namespace), configmap("pre"))
    wrong = raw.delete(
        cm_path(namespace, "pre"),
        {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "not-the-uid"}},
    )
    assert wrong.status == 409 and wrong.reason == "Conflict"
    assert "Precondition failed: UID in precondition: not-the-uid" in wrong.message
    raw.ok("DELETE", cm_path(namespace, "pre"), {"preconditions": {"uid": created["metadata"]["uid"]}})
    assert raw.get(cm_path(namespace, "pre")).status == 404


# -- garbage collection ----------------------------------------------------------------------------


def _owned(raw: Raw, namespace: str, owner: dict[str, Any], count: int, block: bool = False) -> list[str]:
    names = []
    for i in range(count):
        ref = {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": name_of(owner),
            "uid": owner["metadata"]["uid"],
            **({"blockOwnerDeletion": True} if block else {}),
        }
        dep = raw.ok(
            "POST",
            cm_path(namespace),
            configmap(f"{name_of(owner)}-dep{i}", metadata={"ownerReferences": [ref]}),
        )
        names.append(name_of(dep))
    return names


def test_background_deletion_collects_dependents(raw: Raw, namespace: str, crd: str) -> None:
    owner = raw.ok("POST", w_path(namespace), widget("bg", GROUP))
    deps = _owned(raw, namespace, owner, 3)
    raw.ok("DELETE", w_path(namespace, "bg") + "?propagationPolicy=Background")
    assert raw.get(w_path(namespace, "bg")).status == 404
    wait_for(
        lambda: all(raw.get(cm_path(namespace, d)).status == 404 for d in deps),
        30,
        message="dependents to be collected",
    )


def test_foreground_deletion_waits_for_dependents(raw: Raw, namespace: str, crd: str) -> None:
    owner = raw.ok("POST", w_path(namespace), widget("fg", GROUP))
    deps = _owned(raw, namespace, owner, 2, block=True)
    # One dependent is held by a finalizer, so the owner must wait in foreground deletion.
    raw.ok(
        "PATCH",
        cm_path(namespace, deps[0]),
        {"metadata": {"finalizers": ["example.com/hold"]}},
        content_type="application/merge-patch+json",
    )
    deleting = raw.ok("DELETE", w_path(namespace, "fg"), {"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in deleting["metadata"]["finalizers"]
    assert deleting["metadata"]["deletionTimestamp"]
    wait_for(
        lambda: raw.get(cm_path(namespace, deps[1])).status == 404, 30, message="the free dependent to go"
    )
    wait_for(
        lambda: raw.ok("GET", cm_path(namespace, deps[0]))["metadata"].get("deletionTimestamp"),
        30,
        message="the held dependent to be terminating",
    )
    assert raw.get(w_path(namespace, "fg")).status == 200  # still waiting for the held dependent
    raw.ok(
        "PATCH",
        cm_path(namespace, deps[0]),
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    wait_for(lambda: raw.get(w_path(namespace, "fg")).status == 404, 30, message="the owner to go")


def test_orphan_deletion_keeps_dependents_without_the_reference(raw: Raw, namespace: str, crd: str) -> None:
    owner = raw.ok("POST", w_path(namespace), widget("or", GROUP))
    deps = _owned(raw, namespace, owner, 2)
    raw.ok("DELETE", w_path(namespace, "or") + "?propagationPolicy=Orphan")
    wait_for(lambda: raw.get(w_path(namespace, "or")).status == 404, 30, message="the owner to go")
    for dep in deps:
        assert raw.ok("GET", cm_path(namespace, dep))["metadata"].get("ownerReferences") is None
    assert raw.delete(cm_path(namespace, deps[0]) + "?propagationPolicy=Sideways").status == 400


def test_objects_with_only_missing_owners_are_collected(raw: Raw, namespace: str) -> None:
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "never",
        "uid": "6a0b7d7c-0000-4000-8000-000000000000",
    }
    raw.ok("POST", cm_path(namespace), configmap("stray", metadata={"ownerReferences": [ref]}))
    wait_for(
        lambda: raw.get(cm_path(namespace, "stray")).status == 404, 30, message="the orphan to be collected"
    )


def test_deleting_a_namespace_deletes_its_contents(raw: Raw, crd: str) -> None:
    ns = unique("doomed")
    raw.ok("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    raw.ok("POST", cm_path(ns), configmap("held", metadata={"finalizers": ["example.com/hold"]}))
    raw.ok("POST", cm_path(ns), configmap("free"))
    raw.ok("POST", w_path(ns), widget("w", GROUP))
    deleting = raw.ok("DELETE", f"/api/v1/namespaces/{ns}")
    assert deleting["status"]["phase"] == "Terminating"
    wait_for(
        lambda: raw.get(cm_path(ns, "free")).status == 404 and raw.get(w_path(ns, "w")).status == 404,
        30,
        message="the namespace's contents to go",
    )
    refused = raw.post(cm_path(ns), configmap("late"))
    assert refused.status == 403 and refused.reason == "Forbidden"
    assert "because it is being terminated" in refused.message
    assert raw.ok("GET", f"/api/v1/namespaces/{ns}")["status"]["phase"] == "Terminating"
    raw.ok(
        "PATCH",
        cm_path(ns, "held"),
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    wait_for(lambda: raw.get(f"/api/v1/namespaces/{ns}").status == 404, 30, message="the namespace to go")


# -- reads: selectors, paging, tables --------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", ["a", "b"]),
        ("tier==web", ["a", "b"]),
        ("tier!=web", ["c", "d"]),
        ("tier in (db,cache)", ["c"]),
        ("tier notin (web)", ["c", "d"]),
        ("tier", ["a", "b", "c"]),
        ("!tier", ["d"]),
        ("tier=web,env=prod", ["a"]),
        ("tier,env notin (prod)", ["b", "c"]),
    ],
)
def test_label_selectors(raw: Raw, namespace: str, selector: str, expected: list[str]) -> None:
    for name, labels in (
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "web", "env": "dev"}),
        ("c", {"tier": "db"}),
        ("d", {"other": "x"}),
    ):
        raw.ok("POST", cm_path(namespace), configmap(name, labels))
    listed = raw.ok("GET", cm_path(namespace) + "?labelSelector=" + quote(selector))
    assert [name_of(o) for o in listed["items"]] == expected


def test_bad_selectors_are_bad_requests(raw: Raw, namespace: str) -> None:
    assert raw.get(cm_path(namespace) + "?labelSelector=" + quote("a in (")).status == 400
    unsupported = raw.get(cm_path(namespace) + "?fieldSelector=" + quote("spec.foo=bar"))
    assert unsupported.status == 400 and unsupported.reason == "BadRequest"
    assert "spec.foo" in unsupported.message


def test_field_selectors_on_names_namespaces_and_pod_phase(raw: Raw, namespace: str) -> None:
    other = unique("other")
    raw.ok("POST", "/api/v1/namespaces", {"metadata": {"name": other}})
    for ns in (namespace, other):
        raw.ok("POST", cm_path(ns), configmap("same"))
        raw.ok("POST", cm_path(ns), configmap("different"))
    by_name = raw.ok("GET", "/api/v1/configmaps?fieldSelector=" + quote("metadata.name=same"))
    assert sorted(o["metadata"]["namespace"] for o in by_name["items"]) == sorted([namespace, other])
    by_both = raw.ok(
        "GET", "/api/v1/configmaps?fieldSelector=" + quote(f"metadata.name=same,metadata.namespace={other}")
    )
    assert [(o["metadata"]["namespace"], name_of(o)) for o in by_both["items"]] == [(other, "same")]
    negated = raw.ok("GET", cm_path(namespace) + "?fieldSelector=" + quote("metadata.name!=same"))
    assert [name_of(o) for o in negated["items"]] == ["different"]

    for name, code in (("ok", 0), ("fails", 3)):
        raw.ok(
            "POST",
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "metadata": {"name": name},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "python",
                            "command": [sys.executable, "-c", f"raise SystemExit({code})"],
                        }
                    ],
                },
            },
        )

    def phases() -> dict[str, str]:
        pods = raw.ok("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]
        return {name_of(p): p.get("status", {}).get("phase", "") for p in pods}

    wait_for(lambda: phases() == {"ok": "Succeeded", "fails": "Failed"}, 60, message="pods to finish")
    succeeded = raw.ok("GET", f"/api/v1/namespaces/{namespace}/pods?fieldSelector=status.phase%3DSucceeded")
    assert [name_of(p) for p in succeeded["items"]] == ["ok"]
    not_succeeded = raw.ok(
        "GET", f"/api/v1/namespaces/{namespace}/pods?fieldSelector=status.phase!%3DSucceeded"
    )
    assert [name_of(p) for p in not_succeeded["items"]] == ["fails"]


def test_limit_and_continue(raw: Raw, namespace: str) -> None:
    names = [f"page-{i:02d}" for i in range(7)]
    for name in names:
        raw.ok("POST", cm_path(namespace), configmap(name))
    first = raw.ok("GET", cm_path(namespace) + "?limit=3")
    assert [name_of(o) for o in first["items"]] == names[:3]
    assert first["metadata"]["remainingItemCount"] == 4
    token = first["metadata"]["continue"]
    second = raw.ok("GET", cm_path(namespace) + f"?limit=3&continue={quote(token)}")
    assert [name_of(o) for o in second["items"]] == names[3:6]
    third = raw.ok("GET", cm_path(namespace) + f"?limit=3&continue={quote(second['metadata']['continue'])}")
    assert [name_of(o) for o in third["items"]] == names[6:]
    assert "continue" not in third["metadata"]
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    bad = raw.get(cm_path(namespace) + "?limit=3&continue=garbage")
    assert bad.status == 400 and bad.reason == "BadRequest"


def test_table_responses(raw: Raw, namespace: str, crd: str) -> None:
    raw.ok("POST", w_path(namespace), widget("tab", GROUP, size=7, color="blue", note="hi"))
    raw.ok(
        "PATCH",
        w_path(namespace, "tab", "status"),
        {"status": {"phase": "Ready"}},
        content_type="application/merge-patch+json",
    )
    table = raw.ok("GET", w_path(namespace), headers={"Accept": TABLE})
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "Size", "Color", "Phase", "Age", "Note"]
    assert [c["priority"] for c in table["columnDefinitions"]][-1] == 1
    row = table["rows"][0]
    assert row["cells"][:4] == ["tab", 7, "blue", "Ready"] and row["cells"][5] == "hi"
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "tab"

    raw.ok("POST", cm_path(namespace), configmap("tab"))
    cms = raw.ok("GET", cm_path(namespace), headers={"Accept": TABLE})
    assert [c["name"] for c in cms["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert cms["rows"][0]["cells"][:2] == ["tab", 1]


# -- watches ---------------------------------------------------------------------------------------


def test_watch_resumes_from_a_resource_version(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("before"))
    rv = raw.ok("GET", cm_path(namespace))["metadata"]["resourceVersion"]
    raw.ok("POST", cm_path(namespace), configmap("w1"))
    raw.ok(
        "PATCH", cm_path(namespace, "w1"), {"data": {"k": "2"}}, content_type="application/merge-patch+json"
    )
    raw.ok("DELETE", cm_path(namespace, "w1"))
    with raw.watch(cm_path(namespace) + f"?watch=1&resourceVersion={rv}") as stream:
        assert stream.status == 200 and stream.content_type.startswith("application/json")
        events = [stream.next() for _ in range(3)]
        assert [(e["type"], name_of(e["object"])) for e in events] == [
            ("ADDED", "w1"),
            ("MODIFIED", "w1"),
            ("DELETED", "w1"),
        ]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(rvs) and rvs[0] > int(rv)
        raw.ok("POST", cm_path(namespace), configmap("w2"))
        live = stream.next()
        assert live is not None and (live["type"], name_of(live["object"])) == ("ADDED", "w2")


def test_watch_without_a_resource_version_starts_with_the_current_state(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("existing"))
    with raw.watch(cm_path(namespace) + "?watch=true&timeoutSeconds=2") as stream:
        events = stream.until_end(30)
    assert [(e["type"], name_of(e["object"])) for e in events] == [("ADDED", "existing")]


def test_watch_timeout_ends_the_stream(raw: Raw, namespace: str) -> None:
    rv = raw.ok("GET", cm_path(namespace))["metadata"]["resourceVersion"]
    with raw.watch(cm_path(namespace) + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1") as stream:
        assert stream.until_end(30) == []


def test_watch_selectors_turn_leaving_into_deleted(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("mover", {"app": "x"}))
    raw.ok("POST", cm_path(namespace), configmap("bystander", {"app": "y"}))
    with raw.watch(cm_path(namespace) + "?watch=true&labelSelector=app%3Dx") as stream:
        first = stream.next()
        assert first is not None and (first["type"], name_of(first["object"])) == ("ADDED", "mover")
        raw.ok(
            "PATCH",
            cm_path(namespace, "bystander"),
            {"data": {"k": "changed"}},
            content_type="application/merge-patch+json",
        )
        raw.ok(
            "PATCH",
            cm_path(namespace, "mover"),
            {"metadata": {"labels": {"app": "z"}}},
            content_type="application/merge-patch+json",
        )
        left = stream.next()
        assert left is not None and (left["type"], name_of(left["object"])) == ("DELETED", "mover")
        raw.ok(
            "PATCH",
            cm_path(namespace, "bystander"),
            {"metadata": {"labels": {"app": "x"}}},
            content_type="application/merge-patch+json",
        )
        joined = stream.next()
        assert joined is not None and (joined["type"], name_of(joined["object"])) == ("ADDED", "bystander")


def test_watch_bookmarks_and_initial_events_end(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("present"))
    with raw.watch(
        cm_path(namespace) + "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan"
    ) as stream:
        added = stream.next()
        assert added is not None and added["type"] == "ADDED" and name_of(added["object"]) == "present"
        end = stream.next()
        assert end is not None and end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert end["object"]["kind"] == "ConfigMap" and end["object"]["apiVersion"] == "v1"
        assert int(end["object"]["metadata"]["resourceVersion"]) >= int(
            added["object"]["metadata"]["resourceVersion"]
        )
        # With nothing happening, periodic bookmarks keep the client's resourceVersion fresh.
        bookmark = stream.expect(lambda e: e["type"] == "BOOKMARK", 30, "a periodic bookmark")
        assert "annotations" not in bookmark["object"]["metadata"]
        assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= int(
            end["object"]["metadata"]["resourceVersion"]
        )


def test_watch_of_a_table(raw: Raw, namespace: str, crd: str) -> None:
    rv = raw.ok("GET", w_path(namespace))["metadata"]["resourceVersion"]
    with raw.watch(
        w_path(namespace) + f"?watch=true&resourceVersion={rv}", headers={"Accept": TABLE}
    ) as stream:
        raw.ok("POST", w_path(namespace), widget("tw", GROUP, size=5))
        event = stream.next()
        assert event is not None and event["type"] == "ADDED"
        assert event["object"]["kind"] == "Table" and event["object"]["rows"][0]["cells"][:2] == ["tw", 5]
        assert [c["name"] for c in event["object"]["columnDefinitions"]][:2] == ["Name", "Size"]


@pytest.fixture(scope="module")
def small_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevCluster, Raw]]:
    """A second dev cluster that keeps only 10 events, to reach the 410s quickly."""
    cluster = DevCluster(workdir=tmp_path_factory.mktemp("small"), history_limit=10, bookmark_interval=1.0)
    with cluster.running():
        client = Raw(cluster)
        yield cluster, client
        client.close()


def test_watch_from_an_expired_resource_version_is_410(small_history: tuple[DevCluster, Raw]) -> None:
    _, raw = small_history
    created = raw.ok("POST", cm_path("default"), configmap("old"))
    old_rv = created["metadata"]["resourceVersion"]
    for i in range(15):
        raw.ok(
            "PATCH",
            cm_path("default", "old"),
            {"data": {"k": str(i)}},
            content_type="application/merge-patch+json",
        )
    with raw.watch(cm_path("default") + f"?watch=true&resourceVersion={old_rv}") as stream:
        assert stream.status == 200
        events = stream.until_end(30)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old_rv} (")
    latest = raw.ok("GET", cm_path("default"))["metadata"]["resourceVersion"]
    with raw.watch(cm_path("default") + f"?watch=true&resourceVersion={latest}&timeoutSeconds=1") as fresh:
        assert fresh.until_end(30) == []


def test_continue_token_older_than_history_is_410(small_history: tuple[DevCluster, Raw]) -> None:
    _, raw = small_history
    ns = unique("pages")
    raw.ok("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    for i in range(3):
        raw.ok("POST", cm_path(ns), configmap(f"p{i}"))
    token = raw.ok("GET", cm_path(ns) + "?limit=1")["metadata"]["continue"]
    for i in range(15):
        raw.ok(
            "PATCH", cm_path(ns, "p0"), {"data": {"k": str(i)}}, content_type="application/merge-patch+json"
        )
    expired = raw.get(cm_path(ns) + f"?limit=1&continue={quote(token)}")
    assert expired.status == 410 and expired.reason == "Expired"
    assert expired.message.startswith(
        "The provided continue parameter is too old to display a consistent list"
    )


# -- subresources and other kinds ------------------------------------------------------------------


def test_core_and_events_api_events_and_leases(raw: Raw, namespace: str) -> None:
    core = raw.ok(
        "POST",
        f"/api/v1/namespaces/{namespace}/events",
        {
            "metadata": {"name": "ev1"},
            "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
            "reason": "Tested",
            "message": "hello",
            "type": "Normal",
        },
    )
    assert core["reason"] == "Tested"
    modern = raw.ok(
        "POST",
        f"/apis/events.k8s.io/v1/namespaces/{namespace}/events",
        {
            "metadata": {"name": "ev2"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "me",
            "reportingInstance": "me-1",
            "action": "Testing",
            "reason": "Tested",
            "type": "Normal",
            "regarding": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
        },
    )
    assert modern["apiVersion"] == "events.k8s.io/v1"
    by_reason = raw.ok("GET", f"/api/v1/namespaces/{namespace}/events?fieldSelector=reason%3DTested")
    assert "ev1" in [name_of(e) for e in by_reason["items"]]

    lease = raw.ok(
        "POST",
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}},
    )
    lease["spec"]["holderIdentity"] = "b"
    renewed = raw.ok("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/leader", lease)
    assert renewed["spec"]["holderIdentity"] == "b"
    stale = raw.put(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/leader", lease)
    assert stale.status == 409 and stale.reason == "Conflict"


def test_secrets_are_defaulted(raw: Raw, namespace: str) -> None:
    secret = raw.ok(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
    )
    assert secret["type"] == "Opaque" and secret["data"] == {"password": "aHVudGVyMg=="}
    assert "stringData" not in secret


def test_pod_log_subresource(raw: Raw, namespace: str) -> None:
    raw.ok(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "metadata": {"name": "talker"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "python",
                        "command": [sys.executable, "-c", "print('one'); print('two')"],
                    }
                ],
            },
        },
    )
    wait_for(
        lambda: (
            raw.ok("GET", f"/api/v1/namespaces/{namespace}/pods/talker").get("status", {}).get("phase")
            == "Succeeded"
        ),
        60,
        message="the pod to succeed",
    )
    log = raw.get(f"/api/v1/namespaces/{namespace}/pods/talker/log")
    assert log.status == 200 and log.text == "one\ntwo\n"
    assert raw.get(f"/api/v1/namespaces/{namespace}/pods/talker/log?tailLines=1").text == "two\n"
    missing = raw.get(f"/api/v1/namespaces/{namespace}/pods/nobody/log")
    assert missing.status == 404 and missing.message == 'pods "nobody" not found'


# -- server-side apply -----------------------------------------------------------------------------


def test_server_side_apply_creates_and_updates(raw: Raw, namespace: str, crd: str) -> None:
    path = w_path(namespace, "applied")
    manifest = (
        f"apiVersion: {GROUP}/v1\nkind: Widget\nmetadata:\n  name: applied\nspec:\n  size: 2\n  note: first\n"
    )
    assert raw.patch(path, manifest, "apply").status == 400  # fieldManager is required
    created = raw.patch(path + "?fieldManager=tester", manifest, "apply")
    assert created.status == 201, created.text
    managers = [(m["manager"], m["operation"]) for m in created.json["metadata"]["managedFields"]]
    assert ("tester", "Apply") in managers
    updated = raw.patch(
        path + "?fieldManager=tester", manifest.replace("  note: first\n", "  color: green\n"), "apply"
    )
    assert updated.status == 200
    assert updated.json["spec"] == {"size": 2, "color": "green"}  # the dropped field is removed
    assert updated.json["metadata"]["generation"] == 2
    strict = raw.patch(path + "?fieldManager=tester", manifest + "  bogus: 1\n", "apply")
    assert strict.status == 400 and 'unknown field "spec.bogus"' in strict.message


# -- CRD lifecycle ---------------------------------------------------------------------------------


def test_crd_lifecycle_registers_and_removes_resources(raw: Raw, namespace: str) -> None:
    group = "lifecycle.baton.dev"
    body = widget_crd(group, plural="gizmos", kind="Gizmo", short="gz", category="gizmo-things")
    created = raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
    assert created["metadata"]["name"] == f"gizmos.{group}"
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.{group}"

    def conditions() -> dict[str, str]:
        return {
            c["type"]: c["status"] for c in raw.ok("GET", crd_path).get("status", {}).get("conditions", [])
        }

    wait_for(
        lambda: conditions().get("Established") == "True" and conditions().get("NamesAccepted") == "True",
        30,
        message="Established",
    )
    path = f"/apis/{group}/v1/namespaces/{namespace}/gizmos"
    gizmo = {"apiVersion": f"{group}/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "spec": {"size": 1}}
    raw.ok("POST", path, gizmo)
    assert [name_of(o) for o in raw.ok("GET", f"/apis/{group}/v1/gizmos")["items"]] == ["g"]

    bad = json.loads(json.dumps(body))
    bad["metadata"]["name"] = "wrong.name"
    invalid = raw.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", bad)
    assert invalid.status == 422 and "metadata.name" in invalid.message

    raw.ok("DELETE", crd_path)
    wait_for(lambda: raw.get(crd_path).status == 404, 30, message="the CRD to go")
    assert raw.get(path).status == 404
    assert group not in [g["name"] for g in raw.ok("GET", "/apis")["groups"]]
    # Recreating it serves an empty collection: the old objects went with the CRD.
    raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
    wait_for(lambda: raw.get(path).status == 200, 30, message="the CRD to serve again")
    assert raw.ok("GET", path)["items"] == []
    raw.ok("DELETE", crd_path)
    wait_for(lambda: raw.get(crd_path).status == 404, 30, message="the CRD to go again")


# -- the audit log ---------------------------------------------------------------------------------


def test_audit_log_over_http_and_from_python(raw: Raw, devcluster: DevCluster, namespace: str) -> None:
    since = raw.ok("GET", "/devcluster/audit?since=0")["lastSeq"]
    raw.ok("POST", cm_path(namespace), configmap("audited"))
    raw.get(cm_path(namespace, "nope"))
    doc = raw.ok("GET", f"/devcluster/audit?since={since}")
    mine = [r for r in doc["records"] if r["type"] == "request" and r["namespace"] == namespace]
    assert [(r["client"], r["verb"], r["resource"], r["name"], r["code"]) for r in mine] == [
        ("conformance-raw", "create", "configmaps", "audited", 201),  # the name of what was created
        ("conformance-raw", "get", "configmaps", "nope", 404),
    ]
    assert all(r["seq"] > since for r in doc["records"])
    assert doc["lastSeq"] >= max(r["seq"] for r in doc["records"])
    assert not any(r.get("resource") == "" and "audit" in r.get("name", "") for r in doc["records"])
    from_python = [
        r for r in devcluster.sync(devcluster.audit.requests, "conformance-raw") if r.namespace == namespace
    ]
    assert [r.verb for r in from_python] == ["create", "get"]
    assert raw.get("/devcluster/audit", token="").status == 401


# -- list consistency and resourceVersion semantics ------------------------------------------------


def test_continue_pages_are_a_consistent_snapshot(raw: Raw, namespace: str) -> None:
    for i in range(6):
        raw.ok("POST", cm_path(namespace), configmap(f"snap-{i}"))
    first = raw.ok("GET", cm_path(namespace) + "?limit=2")
    # Changes after the first page must not show up in the following ones.
    raw.ok("DELETE", cm_path(namespace, "snap-3"))
    raw.ok("POST", cm_path(namespace), configmap("snap-4a"))
    raw.ok(
        "PATCH",
        cm_path(namespace, "snap-5"),
        {"data": {"k": "changed"}},
        content_type="application/merge-patch+json",
    )
    names, data = [name_of(o) for o in first["items"]], {}
    token = first["metadata"]["continue"]
    while token:
        page = raw.ok("GET", cm_path(namespace) + f"?limit=2&continue={quote(token)}")
        names += [name_of(o) for o in page["items"]]
        data.update({name_of(o): o["data"]["k"] for o in page["items"]})
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        token = page["metadata"].get("continue", "")
    assert names == [f"snap-{i}" for i in range(6)]
    assert data["snap-5"] == "v"
    fresh = [name_of(o) for o in raw.ok("GET", cm_path(namespace))["items"]]
    assert fresh == ["snap-0", "snap-1", "snap-2", "snap-4", "snap-4a", "snap-5"]


def test_list_resource_version_semantics(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("then"))
    then = raw.ok("GET", cm_path(namespace))["metadata"]["resourceVersion"]
    raw.ok("POST", cm_path(namespace), configmap("later"))
    exact = raw.ok("GET", cm_path(namespace) + f"?resourceVersion={then}&resourceVersionMatch=Exact")
    assert [name_of(o) for o in exact["items"]] == ["then"] and exact["metadata"]["resourceVersion"] == then
    newer = raw.ok("GET", cm_path(namespace) + f"?resourceVersion={then}&resourceVersionMatch=NotOlderThan")
    assert [name_of(o) for o in newer["items"]] == ["later", "then"]
    assert [name_of(o) for o in raw.ok("GET", cm_path(namespace) + "?resourceVersion=0")["items"]] == [
        "later",
        "then",
    ]
    future = raw.get(cm_path(namespace) + "?resourceVersion=999999999")
    assert future.status == 504 and future.reason == "Timeout"
    assert future.message.startswith("Timeout: Too large resource version: 999999999, current: ")
    assert future.json["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    assert raw.get(cm_path(namespace) + "?resourceVersion=abc").status == 400
    assert raw.get(cm_path(namespace) + "?limit=many").status == 400


def test_exact_list_older_than_history_is_410(small_history: tuple[DevCluster, Raw]) -> None:
    _, raw = small_history
    old = raw.ok("GET", cm_path("default"))["metadata"]["resourceVersion"]
    for i in range(12):
        raw.ok("POST", cm_path("default"), configmap(f"filler-{i}"))
    expired = raw.get(cm_path("default") + f"?resourceVersion={old}&resourceVersionMatch=Exact")
    assert expired.status == 410 and expired.reason == "Expired"
    assert expired.message == "The resourceVersion for the provided list is too old."


def test_cluster_wide_paths_of_namespaced_kinds_only_list(raw: Raw, namespace: str) -> None:
    raw.ok("POST", cm_path(namespace), configmap("scoped"))
    assert raw.post("/api/v1/configmaps", configmap("nowhere")).status == 405
    assert raw.delete("/api/v1/configmaps").status == 405
    assert raw.get(cm_path(namespace, "scoped")).status == 200


def test_unknown_metadata_fields_are_pruned_or_rejected(raw: Raw, namespace: str, crd: str) -> None:
    body = configmap("meta", metadata={"labelz": {"a": "b"}})
    strict = raw.post(cm_path(namespace) + "?fieldValidation=Strict", body)
    assert strict.status == 400
    assert strict.message == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "metadata.labelz"'
    )
    warned = raw.post(cm_path(namespace), body)
    assert warned.status == 201 and "labelz" not in warned.json["metadata"]
    assert 'unknown field \\"metadata.labelz\\"' in warned.headers["warning"]
    custom = raw.post(
        w_path(namespace) + "?fieldValidation=Strict",
        {**widget("meta", GROUP), "metadata": {"name": "meta", "foo": 1}},
    )
    assert custom.status == 400 and 'unknown field "metadata.foo"' in custom.message


def test_foreground_deletion_does_not_wait_for_non_blocking_dependents(
    raw: Raw, namespace: str, crd: str
) -> None:
    owner = raw.ok("POST", w_path(namespace), widget("nb", GROUP))
    (dep,) = _owned(raw, namespace, owner, 1, block=False)
    raw.ok(
        "PATCH",
        cm_path(namespace, dep),
        {"metadata": {"finalizers": ["example.com/hold"]}},
        content_type="application/merge-patch+json",
    )
    raw.ok("DELETE", w_path(namespace, "nb") + "?propagationPolicy=Foreground")
    wait_for(lambda: raw.get(w_path(namespace, "nb")).status == 404, 30, message="the owner to go")
    assert raw.ok("GET", cm_path(namespace, dep))["metadata"]["deletionTimestamp"]
    raw.ok(
        "PATCH",
        cm_path(namespace, dep),
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    wait_for(lambda: raw.get(cm_path(namespace, dep)).status == 404, 30, message="the dependent to go")


def test_crd_deletion_waits_for_instances_held_by_finalizers(raw: Raw, namespace: str) -> None:
    group = "held.baton.dev"
    raw.ok(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        widget_crd(group, plural="things", kind="Thing", short="th", category="held"),
    )
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.{group}"
    path = f"/apis/{group}/v1/namespaces/{namespace}/things"
    wait_for(lambda: raw.get(path).status == 200, 30, message="the CRD to serve")
    raw.ok(
        "POST",
        path,
        {
            "apiVersion": f"{group}/v1",
            "kind": "Thing",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
            "spec": {"size": 1},
        },
    )
    terminating = raw.ok("DELETE", crd_path)
    assert terminating["metadata"]["deletionTimestamp"]
    wait_for(
        lambda: raw.ok("GET", f"{path}/held")["metadata"].get("deletionTimestamp"),
        30,
        message="the instance to be terminating",
    )
    refused = raw.post(
        path,
        {"apiVersion": f"{group}/v1", "kind": "Thing", "metadata": {"name": "late"}, "spec": {"size": 1}},
    )
    assert refused.status == 405
    assert refused.message == "create not allowed while custom resource definition is terminating"
    assert raw.get(crd_path).status == 200
    raw.ok(
        "PATCH",
        f"{path}/held",
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    wait_for(lambda: raw.get(crd_path).status == 404, 30, message="the CRD to go once its last instance went")
    assert raw.get(path).status == 404


def test_more_built_in_tables(raw: Raw, namespace: str) -> None:
    raw.ok(
        "POST",
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}},
    )
    leases = raw.ok(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases", headers={"Accept": TABLE}
    )
    assert [c["name"] for c in leases["columnDefinitions"]] == ["Name", "Holder", "Age"]
    assert leases["rows"][0]["cells"][:2] == ["l", "me"]
    raw.ok("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "sa"}})
    accounts = raw.ok("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/sa", headers={"Accept": TABLE})
    assert [c["name"] for c in accounts["columnDefinitions"]] == ["Name", "Secrets", "Age"]
    assert accounts["rows"][0]["cells"][:2] == ["sa", 0]


def test_audit_log_records_pod_and_job_transitions(raw: Raw, devcluster: DevCluster, namespace: str) -> None:
    since = raw.ok("GET", "/devcluster/audit?since=0")["lastSeq"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "audited"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "python", "command": [sys.executable, "-c", "pass"]}
                    ],
                }
            },
        },
    }
    raw.ok("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)

    def job_transitions() -> list[str]:
        return [
            r.transition
            for r in devcluster.sync(devcluster.audit.transitions, "Job")
            if r.namespace == namespace
        ]

    wait_for(lambda: "Complete" in job_transitions(), 60, message="the Job to complete")
    assert job_transitions()[0] == "Created"
    pods = [r for r in devcluster.sync(devcluster.audit.transitions, "Pod") if r.namespace == namespace]
    assert [r.transition for r in pods][-1] == "Succeeded" and "Running" in [r.transition for r in pods]
    doc = raw.ok("GET", f"/devcluster/audit?since={since}")
    over_http = [
        (r["kind"], r["transition"])
        for r in doc["records"]
        if r["type"] == "transition" and r["namespace"] == namespace
    ]
    assert (
        ("Job", "Created") in over_http
        and ("Job", "Complete") in over_http
        and ("Pod", "Succeeded") in over_http
    )
    timestamps = [r["ts_ms"] for r in doc["records"]]
    assert timestamps == sorted(timestamps)


def test_object_and_request_size_limits(raw: Raw, namespace: str) -> None:
    # etcd refuses objects over 1.5 MiB: the apiserver passes that on as a 500.
    big = raw.post(cm_path(namespace), configmap("big", data={"blob": "x" * 1_600_000}))
    assert big.status == 500 and big.reason == "InternalError"
    assert big.message == "etcdserver: request is too large"
    assert raw.get(cm_path(namespace, "big")).status == 404
    raw.ok("POST", cm_path(namespace), configmap("grows", data={"blob": "x" * 1_000_000}))
    grown = raw.patch(cm_path(namespace, "grows"), {"data": {"more": "y" * 600_000}})
    assert grown.status == 500 and raw.ok("GET", cm_path(namespace, "grows"))["data"].keys() == {"blob"}
    # Request bodies over 3 MiB are refused before they are read.
    huge = raw.post(cm_path(namespace), configmap("huge", data={"blob": "x" * (3 * 1024 * 1024)}))
    assert huge.status == 413 and huge.reason == "RequestEntityTooLarge"
    assert huge.message == "Request entity too large: limit is 3145728"


def test_deleting_a_crd_ends_the_watches_of_its_kind(raw: Raw, namespace: str) -> None:
    group = "watched.baton.dev"
    crd = widget_crd(group, plural="beacons", kind="Beacon", short="bc", category="beacons")
    raw.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    path = f"/apis/{group}/v1/namespaces/{namespace}/beacons"
    wait_for(lambda: raw.get(path).status == 200, 30, message="the CRD to serve")
    raw.ok(
        "POST",
        path,
        {"apiVersion": f"{group}/v1", "kind": "Beacon", "metadata": {"name": "b"}, "spec": {"size": 1}},
    )
    with raw.watch(path + "?watch=true") as stream:
        stream.expect(lambda e: e["type"] == "ADDED", what="ADDED")
        raw.ok("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/beacons.{group}")
        events = stream.until_end(30)
    assert [(e["type"], name_of(e["object"])) for e in events][-1] == ("DELETED", "b")


def test_namespaces_have_no_generation(raw: Raw, namespace: str) -> None:
    """Namespace has no spec worth a generation; the apiserver leaves metadata.generation unset."""
    reply = raw.get(f"/api/v1/namespaces/{namespace}")
    assert reply.status == 200
    assert "generation" not in reply.json["metadata"]
