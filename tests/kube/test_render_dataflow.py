"""Rendering the data-flow parts of a task's Job: workspaces, volumes, results, forEach items, Pod "
"settings."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from baton.api.pipeline import PipelineSpec
from baton.core.state import RunMeta
from baton.kube.claims import render_claim
from baton.kube.podspec import Claim, pin_to_node
from baton.kube.render import render_job

RUN = RunMeta(namespace="data", name="sales-x7k2p", uid="0b6c6f4e-1111-2222-3333-444455556666")
CLAIM = {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def spec(task: dict[str, Any], **extra: Any) -> PipelineSpec:
    raw = {
        "taskDefaults": {"image": "busybox:1.36"},
        "workspaces": [
            {"name": "data", "volumeClaimTemplate": {**CLAIM, "metadata": {"labels": {"tier": "hot"}}}},
            {"name": "ref", "persistentVolumeClaim": {"claimName": "reference"}, "readOnly": True},
        ],
        "tasks": [task],
        **extra,
    }
    return PipelineSpec.model_validate(raw)


def render(task: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    pipeline = spec({"name": "t", **task}, **kwargs.pop("spec_extra", {}))
    claims = {"data": Claim("sales-x7k2p-data"), "ref": Claim("reference", read_only=True)}
    return render_job(RUN, "sales", pipeline.tasks[0], pipeline.task_defaults, {}, 1, claims=claims, **kwargs)


def pod(job: dict[str, Any]) -> dict[str, Any]:
    return dict(job["spec"]["template"]["spec"])


def main(job: dict[str, Any]) -> dict[str, Any]:
    return dict(pod(job)["containers"][0])


def test_workspaces_and_volumes_mount_what_the_task_lists_and_their_paths_are_substituted() -> None:
    job = render(
        {
            "workspaces": [{"name": "data"}, {"name": "ref", "mountPath": "/ref", "subPath": "2025"}],
            "volumes": [
                {"name": "conf", "configMap": {"name": "etl", "items": [{"key": "a", "path": "a.ini"}]}},
                {"name": "creds", "secret": {"secretName": "s3", "optional": True}, "mountPath": "/creds"},
            ],
            "command": [
                "sh",
                "-c",
                "cp $(volumes.conf.path)/a.ini $(workspaces.data.path)/ && ls $(workspaces.ref.path)",
            ],
            "env": [{"name": "KEY", "value": "$(volumes.creds.path)/key"}],
        }
    )
    assert pod(job)["volumes"] == [
        {"name": "ws-data", "persistentVolumeClaim": {"claimName": "sales-x7k2p-data"}},
        {"name": "ws-ref", "persistentVolumeClaim": {"claimName": "reference", "readOnly": True}},
        {"name": "vol-conf", "configMap": {"name": "etl", "items": [{"key": "a", "path": "a.ini"}]}},
        {"name": "vol-creds", "secret": {"secretName": "s3", "optional": True, "defaultMode": 0o440}},
    ]
    assert main(job)["volumeMounts"] == [
        {"name": "ws-data", "mountPath": "/workspace/data"},
        {"name": "ws-ref", "mountPath": "/ref", "subPath": "2025", "readOnly": True},
        {"name": "vol-conf", "mountPath": "/volumes/conf", "readOnly": True},
        {"name": "vol-creds", "mountPath": "/creds", "readOnly": True},
    ]
    assert main(job)["command"][2] == "cp /volumes/conf/a.ini /workspace/data/ && ls /ref"
    assert {"name": "KEY", "value": "/creds/key"} in main(job)["env"]


def test_a_task_without_workspaces_mounts_nothing() -> None:
    job = render({"command": ["true"]})
    assert "volumes" not in pod(job) and "volumeMounts" not in main(job)


def test_results_use_the_termination_message_path() -> None:
    job = render({"results": [{"name": "rows"}], "command": ["sh", "-c", "echo '{}' > $(results.path)"]})
    assert main(job)["terminationMessagePath"] == "/dev/termination-log"
    assert main(job)["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert {"name": "BATON_RESULTS", "value": "/dev/termination-log"} in main(job)["env"]
    assert main(job)["command"][2] == "echo '{}' > /dev/termination-log"


def test_an_instance_has_its_item_its_name_and_its_label() -> None:
    job = render(
        {"forEach": {"items": ["eu"]}, "command": ["x", "$(item)", "$(item.index)"]}, instance=(0, "e$u")
    )
    assert main(job)["command"] == ["x", "e$$u", "0"]
    assert job["metadata"]["labels"]["baton.dev/instance"] == "0"
    assert job["spec"]["template"]["metadata"]["labels"]["baton.dev/instance"] == "0"
    assert job["metadata"]["name"].startswith("sales-x7k2p-t-") and job["metadata"]["name"].endswith("-1")
    env = {e["name"]: e["value"] for e in main(job)["env"]}
    assert (env["BATON_ITEM"], env["BATON_ITEM_INDEX"]) == ("e$$u", "0")


def test_pod_settings_are_rendered_and_the_task_wins_over_defaults() -> None:
    job = render(
        {
            "podLabels": {"team": "sales"},
            "podAnnotations": {"sidecar.istio.io/inject": "false"},
            "priorityClassName": "batch-high",
            "runAsUser": 1000,
            "imagePullSecrets": [{"name": "task-registry"}],
        },
        spec_extra={
            "taskDefaults": {
                "image": "busybox:1.36",
                "podLabels": {"team": "data", "cost": "etl"},
                "podAnnotations": {"a": "b"},
                "imagePullSecrets": [{"name": "registry"}],
                "runAsGroup": 2000,
                "affinity": {
                    "nodeAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 1,
                                "preference": {
                                    "matchExpressions": [{"key": "pool", "operator": "In", "values": ["etl"]}]
                                },
                            }
                        ]
                    }
                },
            }
        },
    )
    template = job["spec"]["template"]
    assert (
        template["metadata"]["labels"]["team"] == "sales" and template["metadata"]["labels"]["cost"] == "etl"
    )
    assert template["metadata"]["labels"]["baton.dev/task"] == "t"
    assert template["metadata"]["annotations"] == {"a": "b", "sidecar.istio.io/inject": "false"}
    assert pod(job)["priorityClassName"] == "batch-high"
    assert pod(job)["imagePullSecrets"] == [{"name": "task-registry"}]
    assert pod(job)["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 2000,
        "fsGroup": 2000,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert (
        pod(job)["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"]
        == 1
    )


def test_baton_labels_win_over_pod_labels() -> None:
    # Validation refuses such a spec; rendering keeps Baton's labels whatever it is given.
    job = render({"podLabels": {"baton.dev/run": "forged", "baton.dev/task": "other"}})
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert (labels["baton.dev/run"], labels["baton.dev/task"]) == ("sales-x7k2p", "t")


@pytest.mark.parametrize(
    ("affinity", "terms"),
    [
        ({}, [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]),
        (
            {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "a", "operator": "Exists"}]},
                            {"matchExpressions": [{"key": "b", "operator": "Exists"}]},
                        ]
                    }
                }
            },
            [
                {
                    "matchExpressions": [{"key": "a", "operator": "Exists"}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
                },
                {
                    "matchExpressions": [{"key": "b", "operator": "Exists"}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
                },
            ],
        ),
    ],
)
def test_pinning_to_a_node_joins_every_required_term(affinity: dict[str, Any], terms: list[Any]) -> None:
    pinned = pin_to_node(affinity, "n1")
    assert (
        pinned["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == terms
    )


def test_a_pinned_task_gets_the_node_affinity() -> None:
    job = render({"workspaces": [{"name": "data"}]}, node="node-7")
    required = pod(job)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["node-7"]


def test_rendered_jobs_and_claims_are_valid_kubernetes_objects() -> None:
    job = render(
        {
            "workspaces": [{"name": "data"}],
            "volumes": [{"name": "c", "configMap": {"name": "x"}}],
            "results": [{"name": "r"}],
            "podAnnotations": {"x/y": "z"},
            "imagePullSecrets": [{"name": "r"}],
        },
        node="n1",
    )
    pipeline = spec({"name": "t"})
    claim = render_claim(RUN, "sales", pipeline.workspaces[0], "sales-x7k2p-data")
    assert (
        claim["metadata"]["labels"]["tier"] == "hot"
        and claim["metadata"]["labels"]["baton.dev/run"] == "sales-x7k2p"
    )
    assert claim["metadata"]["ownerReferences"][0]["controller"] is True
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    for obj in (job, claim):
        kubernetes_validate.validate(obj, "1.30", strict=True)
