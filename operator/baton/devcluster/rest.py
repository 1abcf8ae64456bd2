"""Resource endpoints: get, list, create, update, patch (four kinds), delete, deletecollection.

Handlers receive a parsed `Target` (which kind, namespace, name, subresource) and return plain dicts;
the server turns them into responses. Watches and logs stream and live in their own modules.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import yaml
from multidict import MultiMapping

from . import errors, tables
from .admission import admit, field_validation_of
from .crds import crd_terminating
from .patching import PatchError, apply_patch, fields_v1, json_patch, merge_patch, strategic_merge_patch
from .resources import ResourceType
from .selectors import FieldSelector, LabelSelector, SelectorError, parse_field_selector, parse_label_selector
from .store import Obj, Store, rfc3339

log = logging.getLogger(__name__)

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass
class Target:
    rt: ResourceType
    namespace: str
    name: str = ""
    subresource: str = ""


@dataclass
class Outcome:
    body: Any
    status: int = 200
    warnings: list[str] = field(default_factory=list)


def decode_body(raw: bytes, content_type: str) -> Any:
    if "protobuf" in content_type or "cbor" in content_type:
        raise errors.ApiError(
            415,
            "UnsupportedMediaType",
            (
                f'the Baton dev cluster accepts JSON and YAML bodies only, not "{content_type}"; kubectl\'s '
                "imperative generators (kubectl create namespace/configmap/secret/job/serviceaccount ...) "
                "send "
                "protobuf: use "
                "`kubectl create ... --dry-run=client -o yaml | kubectl apply -f -` or a manifest instead"
            ),
        )
    if not raw.strip():
        raise errors.bad_request("the request body is empty")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise errors.bad_request(f"the body of the request could not be decoded: {error}") from None


def selectors(
    rt: ResourceType, query: MultiMapping[str]
) -> tuple[LabelSelector | None, FieldSelector | None]:
    try:
        labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
        supported = ("metadata.name", "metadata.namespace", *rt.field_selectors)
        fields = (
            parse_field_selector(query["fieldSelector"], supported) if query.get("fieldSelector") else None
        )
    except SelectorError as error:
        raise errors.bad_request(str(error)) from None
    return labels, fields


def as_version(rt: ResourceType, obj: Obj) -> Obj:
    # Every served version of a CRD shares one storage; only apiVersion differs ("None" conversion).
    if obj.get("apiVersion") == rt.api_version:
        return obj
    return {**obj, "apiVersion": rt.api_version}


def _encode_continue(rv: int, after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(after)}).encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError):
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None


class Rest:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Each field manager's last applied configuration, so a later apply can remove what it dropped.
        self._applied: dict[tuple[str, str, str, str, str], Obj] = {}

    # -- reads ------------------------------------------------------------------------------------

    def get(self, target: Target, accept: str = "") -> Obj:
        obj = self.store.get(target.rt, target.namespace, target.name)
        if tables.wants_table(accept) and not target.subresource:
            # `kubectl get KIND NAME` asks for a Table too; without one it shows only NAME and AGE.
            return tables.table(
                target.rt, [obj], resource_version=obj["metadata"]["resourceVersion"], now=self.store.clock()
            )
        return as_version(target.rt, obj)

    def list(self, target: Target, query: MultiMapping[str], accept: str) -> Obj:
        rt = target.rt
        labels, fields = selectors(rt, query)
        limit = integer_param(query, "limit")
        rv = self.store.resource_version
        at = rv  # the resourceVersion whose state is listed
        token = query.get("continue", "")
        after: tuple[str, str] | None = None
        if token:
            at, after = _decode_continue(token)
            if at < self.store.oldest_watchable:
                # Reason Expired, as the apiserver says it: client-go's pager re-lists only on that reason.
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                )
        else:
            at = _list_resource_version(query, rv)
        objects = (
            self.store.list(rt, target.namespace or None)
            if at >= rv
            else self.store.list_at(rt, target.namespace or None, at)
        )
        items = [
            o
            for o in objects
            if (labels is None or labels.matches(o["metadata"].get("labels") or {}))
            and (fields is None or fields.matches(o))
            and (after is None or (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after)
        ]
        next_token, remaining = "", 0
        if limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            next_token = _encode_continue(at, (last.get("namespace", ""), last["name"]))
        if tables.wants_table(accept):
            return tables.table(
                rt,
                items,
                resource_version=str(at),
                include=query.get("includeObject", "Metadata"),
                continue_token=next_token,
                now=self.store.clock(),
            )
        metadata: dict[str, Any] = {"resourceVersion": str(at)}
        if next_token:
            metadata["continue"] = next_token
            metadata["remainingItemCount"] = remaining
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": metadata,
            "items": [as_version(rt, o) for o in items],
        }

    # -- writes -----------------------------------------------------------------------------------

    def create(self, target: Target, body: Any, query: MultiMapping[str]) -> Outcome:
        rt = target.rt
        self._refuse_while_crd_terminates(rt)
        obj = self._check_kind(rt, body)
        warnings = admit(rt, obj, field_validation=field_validation_of(query.get("fieldValidation")))
        created = self.store.create(rt, target.namespace, obj, dry_run=_dry_run(query))
        return Outcome(as_version(rt, created), 201, warnings)

    def update(self, target: Target, body: Any, query: MultiMapping[str]) -> Outcome:
        rt = target.rt
        obj = self._check_kind(rt, body)
        old = self.store.get(rt, target.namespace, target.name)
        return self._write_over(target, old, obj, query, field_validation_of(query.get("fieldValidation")))

    def patch(self, target: Target, raw: bytes, content_type: str, query: MultiMapping[str]) -> Outcome:
        rt = target.rt
        kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if kind is None or (kind == "strategic" and rt.custom):
            # The apiserver's message: custom resources have no strategic merge patch (no patch metadata).
            raise errors.unsupported_media_type(
                [
                    t
                    for t in (
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/strategic-merge-patch+json",
                        "application/apply-patch+yaml",
                    )
                    if not (rt.custom and "strategic" in t)
                ]
            )
        body = decode_body(raw, "yaml" if kind == "apply" else "json")
        if kind == "apply":
            return self._apply(target, body, query)
        old = self.store.get(rt, target.namespace, target.name)
        try:
            if kind == "merge":
                if not isinstance(body, dict):
                    raise errors.bad_request("a merge patch must be a JSON object")
                new = merge_patch(old, body, owned=True)
            elif kind == "json":
                if not isinstance(body, list):
                    raise errors.bad_request("a JSON patch must be a list of operations")
                new = json_patch(old, body)
            else:
                if not isinstance(body, dict):
                    raise errors.bad_request("a strategic merge patch must be a JSON object")
                new = strategic_merge_patch(old, body, kind=rt.kind)
        except PatchError as error:
            if error.reason == "Invalid" and kind == "json":
                # kube-apiserver 1.37 answers every JSON patch that does not apply (a failed test, a missing
                # path) with this generic 422 and no details; clients (kopf) only look at the code.
                log.debug("JSON patch of %s/%s not applied: %s", rt.plural, target.name, error)
                raise errors.ApiError(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                    details={},
                ) from None
            if error.reason == "Invalid":
                raise errors.ApiError(422, "Invalid", str(error)) from None
            raise errors.bad_request(str(error)) from None
        if not isinstance(new, dict):
            raise errors.bad_request("the patch produced something other than an object")
        return self._write_over(target, old, new, query, field_validation_of(query.get("fieldValidation")))

    def delete(self, target: Target, body: Any, query: MultiMapping[str]) -> Outcome:
        options = body if isinstance(body, dict) else {}
        propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
        if options.get("orphanDependents") is True or query.get("orphanDependents") == "true":
            propagation = propagation or "Orphan"
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise errors.bad_request(
                f'propagationPolicy: Unsupported value: "{propagation}": supported values: '
                '"Foreground", "Background", "Orphan"'
            )
        deleted = self.store.delete(
            target.rt,
            target.namespace,
            target.name,
            propagation=propagation,
            preconditions=options.get("preconditions"),
            dry_run=_dry_run(query) or options.get("dryRun") == ["All"],
        )
        return Outcome(as_version(target.rt, deleted))

    def delete_collection(self, target: Target, body: Any, query: MultiMapping[str]) -> Outcome:
        rt = target.rt
        labels, fields = selectors(rt, query)
        deleted = []
        for obj in self.store.list(rt, target.namespace or None):
            if (labels is None or labels.matches(obj["metadata"].get("labels") or {})) and (
                fields is None or fields.matches(obj)
            ):
                one = Target(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                try:
                    deleted.append(self.delete(one, body, query).body)
                except errors.ApiError as error:
                    if error.code != 404:
                        raise
        return Outcome(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _apply(self, target: Target, body: Any, query: MultiMapping[str]) -> Outcome:
        rt = target.rt
        manager = query.get("fieldManager")
        if not manager:
            raise errors.bad_request("PATCH /apply requires fieldManager to be set")
        applied = self._check_kind(rt, body)
        if applied.get("metadata", {}).get("name", target.name) != target.name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        key = (rt.group, rt.plural, target.namespace, target.name, manager)
        live = self.store.find(rt.group_resource, target.namespace if rt.namespaced else "", target.name)
        validation = field_validation_of(query.get("fieldValidation") or "Strict")
        new = apply_patch(copy.deepcopy(live) if live is not None else None, applied, self._applied.get(key))
        entry = {
            "manager": manager,
            "operation": "Apply",
            "apiVersion": rt.api_version,
            "time": rfc3339(self.store.clock()),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(applied),
        }
        if target.subresource:
            entry["subresource"] = target.subresource
        others = [
            m
            for m in (new.get("metadata", {}).get("managedFields") or [])
            if not (m.get("manager") == manager and m.get("operation") == "Apply")
        ]
        new.setdefault("metadata", {})["managedFields"] = [*others, entry]
        new["metadata"]["name"] = target.name
        if live is None:
            if target.subresource:
                raise errors.not_found(rt.plural, target.name, rt.group)
            self._refuse_while_crd_terminates(rt)
            warnings = admit(rt, new, field_validation=validation)
            created = self.store.create(rt, target.namespace, new, dry_run=_dry_run(query))
            outcome = Outcome(as_version(rt, created), 201, warnings)
        else:
            outcome = self._write_over(target, live, new, query, validation)
        if not _dry_run(query):
            self._applied[key] = applied
        return outcome

    def _write_over(
        self, target: Target, old: Obj, new: Obj, query: MultiMapping[str], validation: str
    ) -> Outcome:
        """Admit `new` as it will be stored over `old`, then store it (update, patch and apply end here)."""
        merged = self._as_written(target, old, new)
        status_only = target.rt.has_status and target.subresource == "status"
        warnings = admit(target.rt, merged, field_validation=validation, old=old, status_only=status_only)
        written = self.store.update(
            target.rt,
            target.namespace,
            target.name,
            merged,
            subresource=target.subresource or None,
            dry_run=_dry_run(query),
            owned=True,
        )
        return Outcome(as_version(target.rt, written), 200, warnings)

    def _as_written(self, target: Target, old: Obj, new: Obj) -> Obj:
        """The object as the store will keep it, so admission validates what will really be stored."""
        rt = target.rt
        if rt.has_status and target.subresource == "status":
            # Everything but status is the stored object's, shared rather than copied: stored objects are
            # never mutated, and admission of a status write touches only status and (copied) metadata.
            merged = {k: v for k, v in old.items() if k != "status"}
            merged["metadata"] = copy.deepcopy(old["metadata"])
            wanted = (new.get("metadata") or {}).get("resourceVersion")
            if wanted:  # a precondition on status writes too: the store answers 409 when it is stale
                merged["metadata"]["resourceVersion"] = wanted
            if "status" in new:
                merged["status"] = new["status"]
            return merged
        if rt.has_status:
            merged = dict(new)
            if "status" in old:
                merged["status"] = old["status"]
            else:
                merged.pop("status", None)
            return merged
        return new

    def _refuse_while_crd_terminates(self, rt: ResourceType) -> None:
        if rt.custom and crd_terminating(self.store, rt.group, rt.plural):
            raise errors.method_not_allowed(
                "create not allowed while custom resource definition is terminating"
            )

    @staticmethod
    def _check_kind(rt: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version})"
                if api_version != rt.api_version
                else f'kind "{kind}" does not match the expected kind "{rt.kind}"'
            )
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version})"
            )
        obj = copy.deepcopy(body)
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        return obj


def integer_param(query: MultiMapping[str], key: str) -> int:
    value = query.get(key) or "0"
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f'{key}: Invalid value: "{value}": must be an integer') from None


def _list_resource_version(query: MultiMapping[str], current: int) -> int:
    """The state a list is served from: the latest, or exactly `resourceVersion` with Exact matching."""
    wanted, match = query.get("resourceVersion", ""), query.get("resourceVersionMatch", "")
    if match and match not in ("Exact", "NotOlderThan"):
        raise errors.bad_request(
            f'resourceVersionMatch: Unsupported value: "{match}": supported values: "Exact", "NotOlderThan"'
        )
    if wanted in ("", "0"):
        return current
    try:
        number = int(wanted)
    except ValueError:
        raise errors.bad_request(
            f'resourceVersion: Invalid value: "{wanted}": invalid resource version'
        ) from None
    if number > current:
        # The apiserver waits a little for its cache to catch up; here nothing ever will.
        raise errors.ApiError(
            504,
            "Timeout",
            f"Timeout: Too large resource version: {number}, current: {current}",
            details={
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1,
            },
        )
    return number if match == "Exact" else current


def _dry_run(query: MultiMapping[str]) -> bool:
    values = query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)
