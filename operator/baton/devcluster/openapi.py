"""OpenAPI v2 and v3 documents, published from the served kinds.

What kubectl needs from them: v3 per group-version documents whose operations carry
`x-kubernetes-group-version-kind` and a `fieldValidation` query parameter (kubectl then leaves
validation to the server with `fieldValidation=Strict`), and component schemas tagged with the GVK so
`kubectl explain` finds a CRD's schema. Built-in kinds get a permissive object schema: their real
schemas are thousands of lines and kubectl has them compiled in.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_OBJECT_META_SCHEMA: dict[str, Any] = {
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "generateName": {"type": "string", "description": "An optional prefix for a server-generated name."},
        "namespace": {"type": "string", "description": "The namespace the object lives in."},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Map of string keys and values for organizing and selecting objects.",
        },
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Unstructured key value map stored with a resource.",
        },
        "uid": {
            "type": "string",
            "description": "UID is the unique in time and space value for this object.",
        },
        "resourceVersion": {"type": "string", "description": "An opaque value for optimistic concurrency."},
        "generation": {
            "type": "integer",
            "format": "int64",
            "description": "A sequence number representing a specific generation of the spec.",
        },
        "creationTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "When this object was created.",
        },
        "deletionTimestamp": {
            "type": "string",
            "format": "date-time",
            "description": "When this object will be deleted.",
        },
        "finalizers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Must be empty before the object is deleted from the registry.",
        },
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "description": "Objects depended by this object.",
        },
    },
}


def schema_name(rt: ResourceType) -> str:
    if rt.custom:
        return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"
    if rt.group == "apiextensions.k8s.io":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{rt.version}.{rt.kind}"
    short_group = rt.group.split(".")[0] if rt.group else "core"
    return f"io.k8s.api.{short_group}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> list[dict[str, str]]:
    return [{"group": rt.group, "version": rt.version, "kind": rt.kind}]


def _kind_schema(rt: ResourceType, ref_prefix: str) -> dict[str, Any]:
    if rt.schema is not None:
        schema = copy.deepcopy(rt.schema)
    else:
        schema = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "description": f"{rt.kind} (schema not published by the Baton dev cluster).",
        }
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an object.",
    }
    props["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object represents.",
    }
    props["metadata"] = {
        "allOf": [{"$ref": f"{ref_prefix}{OBJECT_META}"}],
        "description": "Standard object's metadata.",
    }
    schema["x-kubernetes-group-version-kind"] = _gvk(rt)
    return schema


def _parameters(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for n in names]


def _operations(rt: ResourceType, item: bool) -> dict[str, Any]:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    write = ["dryRun", "fieldManager", "fieldValidation"]
    ops: dict[str, Any] = {}
    verbs = (
        (("get", "get"), ("put", "update"), ("patch", "patch"), ("delete", "delete"))
        if item
        else (("get", "list"), ("post", "create"), ("delete", "deletecollection"))
    )
    for method, action in verbs:
        params = write if method in ("put", "patch", "post") else []
        if method == "patch":
            params = [*params, "force"]
        ops[method] = {
            "operationId": f"{action}{rt.kind}",
            "parameters": _parameters(params),
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }
    return ops


def _paths(rt: ResourceType) -> dict[str, Any]:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    paths = {collection: _operations(rt, item=False), f"{collection}/{{name}}": _operations(rt, item=True)}
    if rt.has_status:
        paths[f"{collection}/{{name}}/status"] = {
            k: v for k, v in _operations(rt, item=True).items() if k != "delete"
        }
    return paths


def v3_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = list(registry.in_group_version(group, version))
    if not types:
        return None
    schemas: dict[str, Any] = {OBJECT_META: _OBJECT_META_SCHEMA}
    paths: dict[str, Any] = {}
    for rt in types:
        schemas[schema_name(rt)] = _kind_schema(rt, "#/components/schemas/")
        paths.update(_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (Baton dev cluster)", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def v3_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_index(registry: Registry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            doc = v3_document(registry, group, version)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()
            path = v3_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    definitions: dict[str, Any] = {OBJECT_META: _OBJECT_META_SCHEMA}
    paths: dict[str, Any] = {}
    for rt in registry:
        definitions[schema_name(rt)] = _kind_schema(rt, "#/definitions/")
        for path, ops in _paths(rt).items():
            paths[path] = {
                method: {
                    **op,
                    "parameters": [
                        {"name": p["name"], "in": "query", "type": "string", "uniqueItems": True}
                        for p in op["parameters"]
                    ],
                }
                for method, op in ops.items()
            }
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes (Baton dev cluster)", "version": "v1.37.0"},
        "paths": paths,
        "definitions": definitions,
    }
