"""What the apiserver defaults and validates on built-in kinds (`default_object`, the Store's admit hook)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.devcluster import errors
from baton.devcluster.defaults import default_object
from baton.devcluster.poddefaults import image_pull_policy, qos_class
from baton.devcluster.resources import Registry, ResourceType
from baton.devcluster.store import Store

REGISTRY = Registry.with_builtins()
UID = "0b3f7c6e-1111-2222-3333-444455556666"


def rt(group: str, plural: str) -> ResourceType:
    found = REGISTRY.storage(group, plural)
    assert found is not None
    return found


JOBS, PODS = rt("batch", "jobs"), rt("", "pods")


def job(**spec: Any) -> dict[str, Any]:
    template_spec = spec.pop(
        "template_spec",
        {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "python:3.12", "command": ["true"]}],
        },
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "load", "uid": UID},
        "spec": {**spec, "template": {"spec": template_spec}},
    }


def invalid(kind_rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as raised:
        default_object(kind_rt, obj, old)
    return raised.value


def test_job_defaults() -> None:
    out = default_object(JOBS, job(), None)
    spec = out["spec"]
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["podReplacementPolicy"]) == (
        "NonIndexed",
        False,
        "TerminatingOrFailed",
    )
    assert "manualSelector" not in spec
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}
    labels = {
        "batch.kubernetes.io/controller-uid": UID,
        "batch.kubernetes.io/job-name": "load",
        "controller-uid": UID,
        "job-name": "load",
    }
    assert spec["template"]["metadata"]["labels"] == labels and out["metadata"]["labels"] == labels
    pod_spec = spec["template"]["spec"]
    assert (
        pod_spec["dnsPolicy"],
        pod_spec["schedulerName"],
        pod_spec["securityContext"],
        pod_spec["terminationGracePeriodSeconds"],
    ) == ("ClusterFirst", "default-scheduler", {}, 30)
    container = pod_spec["containers"][0]
    assert (
        container["terminationMessagePath"],
        container["terminationMessagePolicy"],
        container["imagePullPolicy"],
    ) == ("/dev/termination-log", "File", "IfNotPresent")
    assert "serviceAccountName" not in pod_spec  # only Pods get the ServiceAccount admission
    assert out["status"] == {}


def test_parallelism_alone_leaves_completions_unset() -> None:
    spec = default_object(JOBS, job(parallelism=3), None)["spec"]
    assert spec["parallelism"] == 3 and "completions" not in spec


def test_job_restart_policy_must_be_on_failure_or_never() -> None:
    error = invalid(JOBS, job(template_spec={"containers": [{"name": "main", "image": "x"}]}))
    assert error.code == 422 and error.reason == "Invalid"
    assert error.message == (
        'Job.batch "load" is invalid: spec.template.spec.restartPolicy: Unsupported value: '
        '"Always": supported values: "OnFailure", "Never"'
    )
    assert (
        error.details is not None
        and error.details["causes"][0]["field"] == "spec.template.spec.restartPolicy"
    )


def test_job_validation_of_numbers_types_and_containers() -> None:
    error = invalid(JOBS, job(backoffLimit=-1))
    assert "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0" in error.message
    assert invalid(JOBS, job(parallelism="2")).code == 400
    error = invalid(JOBS, job(template_spec={"restartPolicy": "Never", "containers": [{"name": "main"}]}))
    assert "spec.template.spec.containers[0].image: Required value" in error.message
    error = invalid(JOBS, job(template_spec={"restartPolicy": "Never", "containers": []}))
    assert "spec.template.spec.containers: Required value" in error.message


def test_manual_selector_must_match_the_template() -> None:
    body = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    body["spec"]["template"]["metadata"] = {"labels": {"app": "y"}}
    assert "`selector` does not match template `labels`" in invalid(JOBS, body).message
    body["spec"]["template"]["metadata"] = {"labels": {"app": "x"}}
    out = default_object(JOBS, body, None)
    assert out["spec"]["selector"] == {"matchLabels": {"app": "x"}}
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "x"}


def test_a_foreign_selector_is_rejected_unless_manual() -> None:
    error = invalid(JOBS, job(selector={"matchLabels": {"app": "x"}}))
    assert "spec.selector" in error.message and "`selector` not auto-generated" in error.message


def test_selector_template_and_completions_are_immutable() -> None:
    old = default_object(JOBS, job(), None)
    changed = copy.deepcopy(old)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "python:3.13"
    error = invalid(JOBS, changed, old)
    assert error.code == 422 and "spec.template: Invalid value:" in error.message
    assert error.message.endswith("field is immutable")
    changed = copy.deepcopy(old)
    changed["spec"]["selector"] = {"matchLabels": {"other": "x"}}
    assert "spec.selector: Invalid value:" in invalid(JOBS, changed, old).message
    # Other fields may change, and a status write leaves the spec alone.
    changed = copy.deepcopy(old)
    changed["spec"]["suspend"] = True
    changed["status"] = {"active": 1}
    assert default_object(JOBS, changed, old)["spec"]["suspend"] is True


def test_pod_defaults_binding_and_status() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["true"],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "ports": [{"containerPort": 80}],
                }
            ]
        },
    }
    out = default_object(PODS, body, None)
    spec = out["spec"]
    assert (spec["restartPolicy"], spec["serviceAccountName"], spec["nodeName"]) == (
        "Always",
        "default",
        "devcluster",
    )
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert out["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_pod_spec_is_immutable_except_images_and_deadline() -> None:
    old = default_object(
        PODS,
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "main", "image": "busybox:1", "command": ["true"]}]},
        },
        None,
    )
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:2"
    new["spec"]["activeDeadlineSeconds"] = 5
    default_object(PODS, new, old)
    new["spec"]["containers"][0]["command"] = ["false"]
    error = invalid(PODS, new, old)
    assert "spec: Forbidden: pod updates may not change fields other than" in error.message


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("localhost:5000/tools", "Always"),
        ("localhost:5000/tools:v1", "IfNotPresent"),
        ("busybox@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        (
            {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}},
            "Guaranteed",
        ),
        ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable"),
    ],
)
def test_qos_class(resources: dict[str, Any], qos: str) -> None:
    assert qos_class({"containers": [{"name": "c", "resources": resources}]}) == qos


def test_secret_string_data_becomes_data_and_namespaces_get_their_label() -> None:
    secret = default_object(rt("", "secrets"), {"metadata": {"name": "s"}, "stringData": {"k": "v"}}, None)
    assert secret["type"] == "Opaque" and "stringData" not in secret
    assert base64.b64decode(secret["data"]["k"]) == b"v"
    ns = default_object(rt("", "namespaces"), {"metadata": {"name": "team"}}, None)
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert ns["status"] == {"phase": "Active"}


def test_custom_and_other_kinds_are_left_alone() -> None:
    body = {"metadata": {"name": "c"}, "data": {"a": "b"}}
    assert default_object(rt("", "configmaps"), copy.deepcopy(body), None) == body


def test_the_store_admits_jobs_through_it() -> None:
    store = Store(Registry.with_builtins(), admit=default_object)
    store.create(store.registry.storage("", "namespaces"), "", {"metadata": {"name": "default"}})  # type: ignore[arg-type]
    jobs = store.registry.storage("batch", "jobs")
    assert jobs is not None
    created = store.create(
        jobs, "default", {k: v for k, v in job().items() if k != "metadata"} | {"metadata": {"name": "load"}}
    )
    assert created["spec"]["backoffLimit"] == 6 and created["status"] == {}
    changed = copy.deepcopy(created)
    changed["spec"]["template"]["spec"]["containers"][0]["command"] = ["false"]
    with pytest.raises(errors.ApiError, match="field is immutable"):
        store.update(jobs, "default", "load", changed)


@given(
    parallelism=st.none() | st.integers(0, 5),
    completions=st.none() | st.integers(0, 5),
    backoff=st.none() | st.integers(0, 9),
    policy=st.sampled_from(["Never", "OnFailure"]),
    image=st.sampled_from(["busybox", "busybox:1", "python:latest", "r.io/x@sha256:00"]),
)
def test_defaulting_is_idempotent(
    parallelism: int | None, completions: int | None, backoff: int | None, policy: str, image: str
) -> None:
    spec = {
        k: v
        for k, v in {"parallelism": parallelism, "completions": completions, "backoffLimit": backoff}.items()
        if v is not None
    }
    body = job(**spec, template_spec={"restartPolicy": policy, "containers": [{"name": "m", "image": image}]})
    once = default_object(JOBS, body, None)
    twice = default_object(JOBS, copy.deepcopy(once), once)
    assert twice == once
