"""The defaulting and validation the apiserver applies to built-in kinds on every write.

`default_object` is the Store's `admit` hook for built-in kinds. It mirrors what a real apiserver
returns from a create or update, because clients and the operator read these fields back:

- Job: `parallelism`/`completions` (1/1 when both are unset), `backoffLimit` 6, `completionMode`
  NonIndexed, `suspend` false, `podReplacementPolicy` TerminatingOrFailed, a selector on
  `batch.kubernetes.io/controller-uid` plus the four controller labels on the template (unless
  `manualSelector`), the template's Pod spec and container defaults, `status: {}` on create. The
  template's `restartPolicy` must be OnFailure or Never; `spec.selector`, `spec.template` and
  `spec.completions` are immutable.
- Pod: the same spec and container defaults, `serviceAccountName` default, binding to the single node
  `devcluster` (there is no scheduler: a Pod is bound when it is admitted), `status` Pending with the
  QoS class. The spec is immutable apart from images and `activeDeadlineSeconds`, as in Kubernetes.
- PersistentVolumeClaim: see claims.py (defaults, validation, the pvc-protection finalizer, the spec
  immutable but for a bound claim's request).
- Secret: `type` Opaque; `stringData` is folded into base64 `data` (it is write-only).
- Namespace: the `kubernetes.io/metadata.name` label and `status.phase` Active.

The function has no I/O. It defaults `obj` in place (the Store hands it a private copy) and returns it;
`old` (the stored object on update) is never modified.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

from . import errors
from .claims import admit_claim
from .poddefaults import default_pod, default_pod_spec, mapping_field, pod_spec_causes, require_type
from .resources import ResourceType

Obj = dict[str, Any]
Cause = tuple[str, str, str]

CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
_JOB_RESTART_POLICIES = ("OnFailure", "Never")


def default_object(rt: ResourceType, obj: Obj, old: Obj | None) -> Obj:
    """Default and validate a built-in object about to be stored; raise ApiError 400/422 when invalid."""
    handler = _HANDLERS.get(rt.group_resource)
    if handler is None or rt.custom:
        return obj
    handler(rt, obj, old)
    return obj


# -- Jobs ------------------------------------------------------------------------------------------


def _job(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    meta = obj.setdefault("metadata", {})
    spec = mapping_field(rt, obj, "spec", "JobSpec")
    for field_name in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        require_type(rt, spec, field_name, int, "int32", "JobSpec")
    require_type(rt, spec, "suspend", bool, "bool", "JobSpec")
    require_type(rt, spec, "manualSelector", bool, "bool", "JobSpec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )
    template = mapping_field(rt, spec, "template", "PodTemplateSpec")
    template_meta = template.setdefault("metadata", {})
    template_spec = mapping_field(rt, template, "spec", "PodSpec")
    default_pod_spec(template_spec)

    causes: list[Cause] = []
    if old is None:
        causes += _generate_selector(obj, spec, template_meta)
        obj["status"] = {}
    if not meta.get("labels") and template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])

    causes += _job_spec_causes(spec, template_meta, template_spec)
    if old is not None:
        old_spec = old.get("spec") or {}
        for field_name in ("selector", "template", "completions"):
            if spec.get(field_name) != old_spec.get(field_name) and not (
                field_name == "template" and _same_template(spec["template"], old_spec.get("template"))
            ):
                rendered = json.dumps(spec.get(field_name), separators=(",", ":"), sort_keys=True)
                causes.append(
                    (
                        f"spec.{field_name}",
                        "FieldValueInvalid",
                        f"Invalid value: {rendered}: field is immutable",
                    )
                )
    if causes:
        raise errors.invalid(rt.kind, meta.get("name", ""), causes, rt.group)


def _same_template(template: Obj, old_template: Any) -> bool:
    """Whether a template equals the stored one once that has the defaults it may have been stored without."""
    if not isinstance(old_template, dict):
        return False
    defaulted = copy.deepcopy(old_template)
    default_pod_spec(defaulted.setdefault("spec", {}))
    return bool(template == defaulted)


def _generate_selector(obj: Obj, spec: Obj, template_meta: Obj) -> list[Cause]:
    """The controller-uid selector and template labels the apiserver adds unless `manualSelector`."""
    if spec.get("manualSelector"):
        return []
    meta = obj["metadata"]
    # The uid must be the Job's final uid, so the Store assigns it before calling admission.
    uid = meta.get("uid") or str(uuid.uuid4())
    meta["uid"] = uid
    labels = template_meta.setdefault("labels", {})
    labels.update(
        {
            CONTROLLER_UID_LABEL: uid,
            JOB_NAME_LABEL: meta.get("name", ""),
            LEGACY_CONTROLLER_UID_LABEL: uid,
            LEGACY_JOB_NAME_LABEL: meta.get("name", ""),
        }
    )
    selector = spec.get("selector")
    if selector is None:
        spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}
        return []
    match_labels = selector.setdefault("matchLabels", {})
    match_labels.setdefault(CONTROLLER_UID_LABEL, uid)
    if match_labels != {CONTROLLER_UID_LABEL: uid} or selector.get("matchExpressions"):
        rendered = json.dumps(selector, separators=(",", ":"), sort_keys=True)
        return [
            (
                "spec.selector",
                "FieldValueInvalid",
                f"Invalid value: {rendered}: `selector` not auto-generated",
            )
        ]
    return []


def _job_spec_causes(spec: Obj, template_meta: Obj, template_spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for field_name in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        value = spec.get(field_name)
        if value is not None and value < 0:
            causes.append(
                (
                    f"spec.{field_name}",
                    "FieldValueInvalid",
                    f"Invalid value: {value}: must be greater than or equal to 0",
                )
            )
    if spec.get("completionMode") not in ("NonIndexed", "Indexed"):
        causes.append(
            (
                "spec.completionMode",
                "FieldValueNotSupported",
                f'Unsupported value: "{spec.get("completionMode")}": supported values: "NonIndexed", '
                '"Indexed"',
            )
        )
    if spec.get("manualSelector"):
        selector = spec.get("selector")
        if not selector:
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        elif not selector_matches(selector, template_meta.get("labels") or {}):
            rendered = json.dumps(template_meta.get("labels") or {}, separators=(",", ":"), sort_keys=True)
            causes.append(
                (
                    "spec.template.metadata.labels",
                    "FieldValueInvalid",
                    f"Invalid value: {rendered}: `selector` does not match template `labels`",
                )
            )
    policy = template_spec.get("restartPolicy")
    if policy not in _JOB_RESTART_POLICIES:
        causes.append(
            (
                "spec.template.spec.restartPolicy",
                "FieldValueNotSupported",
                f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"',
            )
        )
    causes += pod_spec_causes("spec.template.spec", template_spec)
    return causes


def selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a metav1.LabelSelector selects `labels` (an empty selector selects everything)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


# -- Secrets and Namespaces --------------------------------------------------------------------------


def _secret(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _namespace(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    meta = obj.setdefault("metadata", {})
    labels = meta.get("labels") or {}
    labels["kubernetes.io/metadata.name"] = meta.get("name", "")
    meta["labels"] = labels
    if old is None:
        obj.setdefault("status", {}).setdefault("phase", "Active")


_HANDLERS: dict[tuple[str, str], Callable[[ResourceType, Obj, Obj | None], None]] = {
    ("batch", "jobs"): _job,
    ("", "pods"): default_pod,
    ("", "secrets"): _secret,
    ("", "namespaces"): _namespace,
    ("", "persistentvolumeclaims"): admit_claim,
}
