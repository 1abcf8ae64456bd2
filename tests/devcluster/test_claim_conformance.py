"""PersistentVolumeClaims and Pod volumes through the real clients: kubectl 1.37 and the official client.

A pipeline whose tasks share a claim must run the same manifests here as on a real cluster: claims are
served, printed and validated as the apiserver does, bound at once to a local directory, and Jobs that
mount them read what the previous Job wrote.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conformance_kit import python_job, to_yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from baton.devcluster.claims import claim_directory
from baton.devcluster.cluster import DevCluster
from support import Kubectl, wait_for

Obj = dict[str, Any]
CLAIMS = ("", "persistentvolumeclaims")


def table(output: str) -> list[list[str]]:
    """kubectl's table output as rows of cells (header first); cells are separated by 2+ spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def claim_manifest(name: str, storage: str = "1Gi", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard",
            "resources": {"requests": {"storage": storage}},
            **spec,
        },
    }


def mounting(job: Obj, claim: str, mount_path: str) -> Obj:
    spec = job["spec"]["template"]["spec"]
    spec["volumes"] = [{"name": "workspace", "persistentVolumeClaim": {"claimName": claim}}]
    spec["containers"][0]["volumeMounts"] = [{"name": "workspace", "mountPath": mount_path}]
    return job


def stored_claim(cluster: DevCluster, namespace: str, name: str) -> Obj | None:
    found: Obj | None = cluster.sync(cluster.store.find, CLAIMS, namespace, name)
    return found


@pytest.fixture
def core(k8s_client: Any) -> client.CoreV1Api:
    return client.CoreV1Api(k8s_client)


def test_claims_are_discovered_with_their_short_name(kubectl: Kubectl) -> None:
    resources = table(kubectl("api-resources").stdout)
    assert ["persistentvolumeclaims", "pvc", "v1", "true", "PersistentVolumeClaim"] in resources


def test_the_official_client_creates_reads_expands_and_deletes_a_claim(
    core: client.CoreV1Api, devcluster: DevCluster, namespace: str
) -> None:
    body = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data", labels={"app": "pipeline"}),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1024Mi"}),
        ),
    )
    created = core.create_namespaced_persistent_volume_claim(namespace, body)
    assert created.spec.resources.requests == {"storage": "1Gi"} and created.spec.volume_mode == "Filesystem"
    assert created.metadata.finalizers == ["kubernetes.io/pvc-protection"]

    def bound() -> client.V1PersistentVolumeClaim | None:
        claim = core.read_namespaced_persistent_volume_claim("data", namespace)
        return claim if claim.status.phase == "Bound" else None

    claim = wait_for(bound, message="the claim to be bound")
    assert claim.spec.volume_name == f"pvc-{created.metadata.uid}"
    assert (claim.status.access_modes, claim.status.capacity) == (["ReadWriteOnce"], {"storage": "1Gi"})
    listed = core.list_namespaced_persistent_volume_claim(namespace, label_selector="app=pipeline")
    assert [c.metadata.name for c in listed.items] == ["data"]

    core.patch_namespaced_persistent_volume_claim(
        "data", namespace, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    )
    wait_for(
        lambda: (
            core.read_namespaced_persistent_volume_claim("data", namespace).status.capacity["storage"]
            == "2Gi"
        ),
        message="the expanded capacity",
    )
    stored = stored_claim(devcluster, namespace, "data")
    assert stored is not None
    directory = claim_directory(devcluster.workdir, stored)
    assert directory.is_dir()

    core.delete_namespaced_persistent_volume_claim("data", namespace)
    wait_for(lambda: stored_claim(devcluster, namespace, "data") is None, message="the claim to be gone")
    wait_for(lambda: not directory.exists(), message="its directory to be removed")


@pytest.mark.parametrize(
    ("spec", "causes"),
    [
        (
            {"resources": {"requests": {"storage": "1Gi"}}},
            [("spec.accessModes", "Required value: at least 1 access mode is required")],
        ),
        ({"accessModes": ["ReadWriteOnce"]}, [("spec.resources[storage]", "Required value")]),
        (
            {"accessModes": ["ReadWriteAlways"], "resources": {"requests": {"storage": "-1Gi"}}},
            [
                (
                    "spec.accessModes",
                    'Unsupported value: "ReadWriteAlways": supported values: "ReadOnlyMany", '
                    '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
                ),
                ("spec.resources[storage]", 'Invalid value: "-1Gi": must be greater than zero'),
            ],
        ),
    ],
)
def test_the_official_client_gets_the_apiservers_validation_errors(
    core: client.CoreV1Api, namespace: str, spec: Obj, causes: list[tuple[str, str]]
) -> None:
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_persistent_volume_claim(
            namespace,
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "x"}, "spec": spec},
        )
    status = json.loads(raised.value.body)
    assert (raised.value.status, status["reason"]) == (422, "Invalid")
    assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == causes


def test_a_bound_claims_spec_is_immutable_but_its_request(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_persistent_volume_claim(namespace, claim_manifest("fixed"))
    wait_for(
        lambda: core.read_namespaced_persistent_volume_claim("fixed", namespace).status.phase == "Bound",
        message="bound",
    )
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_persistent_volume_claim(
            "fixed", namespace, {"spec": {"storageClassName": "fast"}}
        )
    status = json.loads(raised.value.body)
    assert raised.value.status == 422
    assert status["message"].startswith(
        'PersistentVolumeClaim "fixed" is invalid: spec: Forbidden: spec is immutable after creation except '
        "resources.requests and volumeAttributesClassName for bound claims"
    )
    with pytest.raises(ApiException) as shrunk:
        core.patch_namespaced_persistent_volume_claim(
            "fixed", namespace, {"spec": {"resources": {"requests": {"storage": "1Mi"}}}}
        )
    assert "field can not be less than status.capacity" in json.loads(shrunk.value.body)["message"]


def test_kubectl_prints_claims_with_their_columns(kubectl: Kubectl, namespace: str) -> None:
    applied = kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(claim_manifest("data", "500Mi")))
    assert applied.stdout.strip() == "persistentvolumeclaim/data created"
    kubectl("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=30s")

    rows = table(kubectl("get", "pvc", "-n", namespace).stdout)
    assert rows[0] == [
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ]
    assert rows[1][:7] == ["data", "Bound", rows[1][2], "500Mi", "RWO", "standard", "<unset>"]
    assert re.fullmatch(r"pvc-[0-9a-f-]{36}", rows[1][2])
    wide = table(kubectl("get", "persistentvolumeclaims", "-n", namespace, "-o", "wide").stdout)
    assert wide[0][-1] == "VOLUMEMODE" and wide[1][-1] == "Filesystem"

    described = kubectl("describe", "pvc", "data", "-n", namespace).stdout
    assert re.search(r"^Status:\s+Bound$", described, re.M)
    assert re.search(r"^Access Modes:\s+RWO$", described, re.M)
    assert re.search(r"^Finalizers:\s+\[kubernetes.io/pvc-protection\]$", described, re.M)
    assert "ProvisioningSucceeded" in described

    refused = kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=to_yaml(claim_manifest("bad", accessModes=[], resources={})),
        check=False,
    )
    assert refused.returncode == 1
    assert 'The PersistentVolumeClaim "bad" is invalid:' in refused.stderr
    assert "* spec.accessModes: Required value: at least 1 access mode is required" in refused.stderr
    assert "* spec.resources[storage]: Required value" in refused.stderr

    deleted = kubectl("delete", "pvc", "data", "-n", namespace, "--timeout=30s")
    assert 'persistentvolumeclaim "data" deleted' in deleted.stdout


def test_jobs_in_sequence_share_a_claim(kubectl: Kubectl, devcluster: DevCluster, namespace: str) -> None:
    writer = mounting(
        python_job(
            "extract",
            "import pathlib; pathlib.Path('/workspace/out').mkdir(); "
            "pathlib.Path('/workspace/out/rows.csv').write_text('id\\n1\\n2\\n')",
        ),
        "workspace",
        "/workspace",
    )
    reader = mounting(
        python_job("count", "print(len(open('/workspace/out/rows.csv').read().split()) - 1, 'rows')"),
        "workspace",
        "/workspace",
    )
    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(claim_manifest("workspace"), writer))
    kubectl("wait", "-n", namespace, "--for=condition=complete", "job/extract", "--timeout=60s", timeout=90)
    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(reader))
    kubectl("wait", "-n", namespace, "--for=condition=complete", "job/count", "--timeout=60s", timeout=90)
    assert kubectl("logs", "-n", namespace, "job/count").stdout == "2 rows\n"

    described = kubectl("describe", "pvc", "workspace", "-n", namespace).stdout
    used_by = re.search(r"^Used By:\s+(.*(?:\n\s{15}.*)*)", described, re.M)
    assert used_by is not None and used_by.group(1).count("extract-") == 1, described

    stored = stored_claim(devcluster, namespace, "workspace")
    assert stored is not None
    directory = claim_directory(devcluster.workdir, stored)
    assert (directory / "out" / "rows.csv").read_text() == "id\n1\n2\n"
    # The Jobs' Pods hold the claim (pvc-protection) until they are gone with their Jobs.
    kubectl("delete", "-n", namespace, "jobs", "--all", "--cascade=foreground", "--timeout=60s")
    kubectl("delete", "-n", namespace, "pvc", "workspace", "--timeout=30s")
    wait_for(lambda: not directory.exists(), message="the claim's directory to be removed")


def test_kubectl_shows_a_pod_waiting_for_its_claim(kubectl: Kubectl, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "patient"},
        "spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "later"}}],
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sh", "-c", "echo ok > /data/ok && cat /data/ok"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
        },
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(pod))
    message = (
        '0/1 nodes are available: persistentvolumeclaim "later" not found. preemption: 0/1 nodes are '
        "available: 1 Preemption is not helpful for scheduling."
    )
    condition = "jsonpath={.status.conditions[?(@.type=='PodScheduled')].reason}=Unschedulable"
    kubectl("wait", "-n", namespace, f"--for={condition}", "pod/patient", "--timeout=30s")
    described = kubectl("describe", "pod", "patient", "-n", namespace).stdout
    assert re.search(r"^Node:\s+<none>$", described, re.M) and re.search(
        r"^Status:\s+Pending$", described, re.M
    )
    assert re.search(rf"Warning\s+FailedScheduling\s+.*default-scheduler\s+{re.escape(message)}", described)

    kubectl("apply", "-n", namespace, "-f", "-", input=to_yaml(claim_manifest("later")))
    kubectl(
        "wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/patient", "--timeout=60s"
    )
    assert kubectl("logs", "-n", namespace, "patient").stdout == "ok\n"
    rows = table(kubectl("get", "pod", "patient", "-n", namespace, "-o", "wide").stdout)
    assert rows[1][-1] == "devcluster"
