"""Claims and Pod volumes on the dev cluster: binding, local directories, sharing, ConfigMap/Secret files.

Each test runs the volume controller, the scheduler, the kubelet, the Job controller and the GC on its own
store and workdir (workload_kit), and waits on conditions with deadlines.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from workload_kit import PY, Workload, container_status, eventually, job_body, pod_body, running

from baton.devcluster.claims import claim_directory

Obj = dict[str, Any]
CLAIMS = ("", "persistentvolumeclaims")


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Workload]:
    async with running(tmp_path) as workload:
        yield workload


def claim_body(name: str, storage: str = "1Gi", **metadata: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, **metadata},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
    }


def with_volumes(body: Obj, volumes: list[Obj], mounts: list[Obj], **container: Any) -> Obj:
    spec = body["spec"]["template"]["spec"] if body["kind"] == "Job" else body["spec"]
    spec["volumes"] = volumes
    spec["containers"][0]["volumeMounts"] = mounts
    spec["containers"][0].update(container)
    return body


def workspace(claim: str, mount_path: str = "/workspace/data", **mount: Any) -> tuple[list[Obj], list[Obj]]:
    return (
        [{"name": "ws", "persistentVolumeClaim": {"claimName": claim}}],
        [{"name": "ws", "mountPath": mount_path, **mount}],
    )


def claim_of(cluster: Workload, name: str) -> Obj | None:
    return cluster.store.find(CLAIMS, "default", name)


async def bound(cluster: Workload, name: str) -> Obj:
    def is_bound() -> Obj | None:
        found = claim_of(cluster, name)
        return found if found and (found.get("status") or {}).get("phase") == "Bound" else None

    return await eventually(is_bound, what=f"claim {name} bound")


def host_file_exists(path: str) -> bool:
    return Path(path).exists()


def delete(cluster: Workload, plural: str, name: str) -> None:
    cluster.store.delete(cluster.rt("", plural), "default", name)


# -- claims ------------------------------------------------------------------------------------------


async def test_a_new_claim_is_bound_at_once_to_a_local_directory(cluster: Workload) -> None:
    created = cluster.create("", "persistentvolumeclaims", "default", claim_body("data", "2048Mi"))
    assert created["status"] == {"phase": "Pending"}
    claim = await bound(cluster, "data")
    uid = claim["metadata"]["uid"]
    assert claim["spec"]["volumeName"] == f"pvc-{uid}"
    assert claim["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "2Gi"},
    }
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    directory = cluster.workdir / "volumes" / "default" / f"data-{uid[:8]}"
    assert directory == claim_directory(cluster.workdir, claim) and directory.is_dir()
    reason, message = cluster.events("data")[-1]
    assert reason == "ProvisioningSucceeded" and f"pvc-{uid}" in message and str(directory) in message


async def test_raising_a_bound_claims_request_raises_its_capacity(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("grows"))
    claim = copy.deepcopy(await bound(cluster, "grows"))  # stored objects are never changed in place
    claim["spec"]["resources"]["requests"]["storage"] = "3Gi"
    cluster.store.update(cluster.rt(*CLAIMS), "default", "grows", claim)

    def capacity() -> str | None:
        found = claim_of(cluster, "grows")
        return found and found["status"]["capacity"]["storage"] == "3Gi" and "3Gi"

    await eventually(capacity, what="capacity 3Gi")


async def test_deleting_a_claim_removes_its_directory(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("gone"))
    directory = claim_directory(cluster.workdir, await bound(cluster, "gone"))
    (directory / "file.txt").write_text("data")
    delete(cluster, "persistentvolumeclaims", "gone")
    await eventually(lambda: claim_of(cluster, "gone") is None, what="claim deleted")
    await eventually(lambda: not directory.exists(), what="directory removed")


async def test_a_claim_goes_with_its_owner_and_with_the_last_of_two_owners(cluster: Workload) -> None:
    owners = [
        cluster.create("", "configmaps", "default", {"metadata": {"name": f"owner-{i}"}, "data": {}})
        for i in range(3)
    ]

    def refs(*chosen: Obj) -> list[Obj]:
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": o["metadata"]["name"],
                "uid": o["metadata"]["uid"],
            }
            for o in chosen
        ]

    cluster.create(
        "", "persistentvolumeclaims", "default", claim_body("single", ownerReferences=refs(owners[0]))
    )
    cluster.create(
        "",
        "persistentvolumeclaims",
        "default",
        claim_body("shared", ownerReferences=refs(owners[1], owners[2])),
    )
    single = claim_directory(cluster.workdir, await bound(cluster, "single"))
    shared = claim_directory(cluster.workdir, await bound(cluster, "shared"))

    delete(cluster, "configmaps", "owner-0")
    await eventually(lambda: not single.exists() and claim_of(cluster, "single") is None, what="single gone")

    delete(cluster, "configmaps", "owner-1")
    # The surviving owner keeps the claim; the GC drops the dangling reference, as Kubernetes does.
    remaining = await eventually(
        lambda: (c := claim_of(cluster, "shared")) and len(c["metadata"]["ownerReferences"]) == 1 and c,
        what="the dangling owner reference dropped",
    )
    assert remaining["metadata"]["ownerReferences"][0]["name"] == "owner-2"
    assert not remaining["metadata"].get("deletionTimestamp") and shared.is_dir()

    delete(cluster, "configmaps", "owner-2")
    await eventually(lambda: not shared.exists() and claim_of(cluster, "shared") is None, what="shared gone")


async def test_a_claim_in_use_stays_terminating_until_its_pods_are_deleted(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("busy"))
    directory = claim_directory(cluster.workdir, await bound(cluster, "busy"))
    cluster.create("", "pods", "default", with_volumes(pod_body("user", ["true"]), *workspace("busy")))
    await cluster.pod_phase("user", "Succeeded")
    delete(cluster, "persistentvolumeclaims", "busy")
    # The controller handles events in order: once a later claim is bound, it has seen the deletion.
    cluster.create("", "persistentvolumeclaims", "default", claim_body("barrier"))
    await bound(cluster, "barrier")
    # A finished Pod still holds the claim (pvc-protection counts every scheduled Pod), as upstream.
    terminating = claim_of(cluster, "busy")
    assert terminating is not None and terminating["metadata"]["deletionTimestamp"] and directory.is_dir()
    delete(cluster, "pods", "user")
    await eventually(
        lambda: claim_of(cluster, "busy") is None and not directory.exists(), what="claim released"
    )


# -- Pods sharing a claim ------------------------------------------------------------------------------


async def test_two_pods_in_sequence_share_a_claim(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("shared"))
    write = "mkdir -p /workspace/data/out && echo 'id,total' > /workspace/data/out/sales.csv && echo written"
    cluster.create(
        "", "pods", "default", with_volumes(pod_body("writer", ["sh", "-c", write]), *workspace("shared"))
    )
    await cluster.pod_phase("writer", "Succeeded")
    assert await cluster.log("writer") == b"written\n"
    # The reader mounts the same claim elsewhere, with a subPath, and reads through an env value too.
    volumes, mounts = workspace("shared", "/input", subPath="out", readOnly=True)
    reader = with_volumes(
        pod_body("reader", ["sh", "-c", 'cat /input/sales.csv "$SOURCE"']),
        volumes,
        mounts,
        env=[{"name": "SOURCE", "value": "/input/sales.csv"}],
    )
    cluster.create("", "pods", "default", reader)
    await cluster.pod_phase("reader", "Succeeded")
    assert await cluster.log("reader") == b"id,total\nid,total\n"
    directory = claim_directory(cluster.workdir, await bound(cluster, "shared"))
    assert (directory / "out" / "sales.csv").read_text() == "id,total\n"


async def test_two_jobs_in_sequence_share_a_claim(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("pipeline"))
    script = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('42')"
    first = with_volumes(
        job_body("extract", [PY, "-c", script, "/data/result.txt"]), *workspace("pipeline", "/data")
    )
    cluster.create("batch", "jobs", "default", first)
    await cluster.job_condition("extract", "Complete")
    second = with_volumes(
        job_body("load", [PY, "-c", "print(open('/data/result.txt').read())"]),
        *workspace("pipeline", "/data"),
        workingDir="/data",
    )
    cluster.create("batch", "jobs", "default", second)
    await cluster.job_condition("load", "Complete")
    pod = cluster.pods("load")[0]
    assert await cluster.log(pod["metadata"]["name"]) == b"42\n"


async def test_a_pod_waits_for_a_missing_claim_and_starts_when_it_appears(cluster: Workload) -> None:
    body = with_volumes(pod_body("patient", ["sh", "-c", "ls /workspace/data"]), *workspace("later"))
    created = cluster.create("", "pods", "default", body)
    assert "nodeName" not in created["spec"]

    def unschedulable() -> Obj | None:
        pod = cluster.pod("patient")
        conditions = ((pod or {}).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "PodScheduled" and c["status"] == "False"), None)

    condition = await eventually(unschedulable, what="PodScheduled=False")
    message = (
        '0/1 nodes are available: persistentvolumeclaim "later" not found. preemption: 0/1 nodes are '
        "available: 1 Preemption is not helpful for scheduling."
    )
    assert (condition["reason"], condition["message"]) == ("Unschedulable", message)
    assert ("FailedScheduling", message) in cluster.events("patient")
    pending = cluster.pod("patient")
    assert pending is not None and pending["status"]["phase"] == "Pending"
    assert "nodeName" not in pending["spec"] and not pending["status"].get("containerStatuses")

    cluster.create("", "persistentvolumeclaims", "default", claim_body("later"))
    done = await cluster.pod_phase("patient", "Succeeded")
    assert done["spec"]["nodeName"] == "devcluster"
    assert done["metadata"]["generation"] == 1  # binding is not a spec update
    scheduled = next(c for c in done["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["status"] == "True"
    assert [reason for reason, _ in cluster.events("patient")].count("FailedScheduling") == 1


# -- ConfigMap, Secret, emptyDir and other volumes -----------------------------------------------------


# Prints {"<volume>/<file>": [content, mode]} for the directories given (the kubelet rewrote them, so each
# argument's last part is the volume's name).
LIST_FILES = [
    PY,
    "-c",
    "import json, os, sys\n"
    "out = {}\n"
    "for root in sys.argv[1:]:\n"
    "    for folder, _, files in os.walk(root):\n"
    "        for f in files:\n"
    "            p = os.path.join(folder, f)\n"
    "            key = os.path.basename(root) + p[len(root):]\n"
    "            text = open(p, 'rb').read().decode('utf-8', 'replace')\n"
    "            out[key] = [text, oct(os.stat(p).st_mode & 0o777)]\n"
    "print(json.dumps(out, sort_keys=True))",
]


async def test_config_map_and_secret_volumes_with_items(cluster: Workload) -> None:
    cluster.create(
        "",
        "configmaps",
        "default",
        {
            "metadata": {"name": "settings"},
            "data": {"app.yaml": "mode: fast\n", "unused": "x"},
            "binaryData": {"logo": base64.b64encode(b"\x89PNG").decode()},
        },
    )
    cluster.create(
        "",
        "secrets",
        "default",
        {"metadata": {"name": "creds"}, "data": {"token": base64.b64encode(b"s3cret").decode()}},
    )
    volumes = [
        {
            "name": "cfg",
            "configMap": {"name": "settings", "items": [{"key": "app.yaml", "path": "conf/app.yaml"}]},
        },
        {"name": "all", "configMap": {"name": "settings", "defaultMode": 0o640}},
        {
            "name": "creds",
            "secret": {"secretName": "creds", "items": [{"key": "token", "path": "token", "mode": 0o400}]},
        },
        {"name": "maybe", "configMap": {"name": "absent", "optional": True}},
    ]
    mounts = [
        {"name": "cfg", "mountPath": "/etc/app"},
        {"name": "all", "mountPath": "/etc/all"},
        {"name": "creds", "mountPath": "/var/run/secrets/app", "readOnly": True},
        {"name": "maybe", "mountPath": "/etc/maybe"},
    ]
    command = [*LIST_FILES, "/etc/app", "/etc/all", "/var/run/secrets/app", "/etc/maybe"]
    cluster.create("", "pods", "default", with_volumes(pod_body("files", command), volumes, mounts))
    await cluster.pod_phase("files", "Succeeded")
    seen = json.loads(await cluster.log("files"))
    # Files are read-only (no write bits), whatever mode was asked for; `maybe` is an empty directory.
    assert seen.pop("all/logo")[1] == "0o440"
    assert seen == {
        "cfg/conf/app.yaml": ["mode: fast\n", "0o444"],
        "all/app.yaml": ["mode: fast\n", "0o440"],
        "all/unused": ["x", "0o440"],
        "creds/token": ["s3cret", "0o400"],
    }
    volumes_dir = cluster.kubelet.sandbox("default", "files") / "volumes"
    assert (volumes_dir / "all" / "logo").read_bytes() == b"\x89PNG"
    assert (volumes_dir / "maybe").is_dir() and not any((volumes_dir / "maybe").iterdir())


async def test_a_missing_config_map_volume_keeps_the_pod_creating_until_it_appears(cluster: Workload) -> None:
    volumes = [{"name": "cfg", "configMap": {"name": "late", "items": [{"key": "mode", "path": "mode"}]}}]
    body = with_volumes(
        pod_body("mounting", ["cat", "/etc/cfg/mode"]), volumes, [{"name": "cfg", "mountPath": "/etc/cfg"}]
    )
    cluster.create("", "pods", "default", body)
    failed_mount = 'MountVolume.SetUp failed for volume "cfg" : configmap "late" not found'
    await eventually(lambda: ("FailedMount", failed_mount) in cluster.events("mounting"), what="FailedMount")
    pod = cluster.pod("mounting")
    assert pod is not None and pod["status"]["phase"] == "Pending"
    assert container_status(pod)["state"] == {"waiting": {"reason": "ContainerCreating"}}

    cluster.create("", "configmaps", "default", {"metadata": {"name": "late"}, "data": {"other": "x"}})
    missing_key = (
        'MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: mode'
    )
    await eventually(lambda: ("FailedMount", missing_key) in cluster.events("mounting"), what="missing key")

    stored = cluster.store.get(cluster.rt("", "configmaps"), "default", "late")
    cluster.store.update(
        cluster.rt("", "configmaps"), "default", "late", {**stored, "data": {"mode": "ready"}}
    )
    await cluster.pod_phase("mounting", "Succeeded")
    assert await cluster.log("mounting") == b"ready"


async def test_empty_dir_is_shared_by_the_pods_containers_and_host_path_stays_in_the_sandbox(
    cluster: Workload,
) -> None:
    volumes = [{"name": "scratch", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "/var/lib/demo"}}]
    mounts = [{"name": "scratch", "mountPath": "/scratch"}, {"name": "host", "mountPath": "/var/lib/demo"}]
    body = with_volumes(
        pod_body("scratchy", ["sh", "-c", "cat /scratch/seed; touch /var/lib/demo/made; ls /var/lib/demo"]),
        volumes,
        mounts,
    )
    body["spec"]["initContainers"] = [
        {
            "name": "seed",
            "image": "busybox",
            "command": ["sh", "-c", "echo seeded > /scratch/seed"],
            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        }
    ]
    cluster.create("", "pods", "default", body)
    await cluster.pod_phase("scratchy", "Succeeded")
    assert await cluster.log("scratchy") == b"seeded\nmade\n"
    sandbox = cluster.kubelet.sandbox("default", "scratchy")
    assert (sandbox / "volumes" / "host" / "made").exists()
    assert not host_file_exists("/var/lib/demo/made")  # never the host's own path
    delete(cluster, "pods", "scratchy")
    await eventually(lambda: not sandbox.exists(), what="sandbox and its volumes removed")


async def test_the_materialized_files_are_read_only(cluster: Workload) -> None:
    cluster.create("", "configmaps", "default", {"metadata": {"name": "ro"}, "data": {"k": "v"}})
    volumes = [{"name": "cfg", "configMap": {"name": "ro"}}]
    script = "echo changed > /etc/ro/k && echo wrote || echo refused"
    cluster.create(
        "",
        "pods",
        "default",
        with_volumes(
            pod_body("ro", ["sh", "-c", script]), volumes, [{"name": "cfg", "mountPath": "/etc/ro"}]
        ),
    )
    await cluster.pod_phase("ro", "Succeeded")
    local = cluster.kubelet.sandbox("default", "ro") / "volumes" / "cfg" / "k"
    assert not stat.S_IMODE(local.stat().st_mode) & 0o222
    if os.geteuid() != 0:  # root writes through any mode
        assert b"refused" in await cluster.log("ro") and local.read_text() == "v"


async def test_a_script_from_a_config_map_runs_as_the_command(cluster: Workload) -> None:
    script = '#!/bin/sh\necho "running from $(dirname "$0" | xargs basename)"\n'
    cluster.create("", "configmaps", "default", {"metadata": {"name": "scripts"}, "data": {"run.sh": script}})
    volumes = [{"name": "scripts", "configMap": {"name": "scripts", "defaultMode": 0o755}}]
    body = with_volumes(
        pod_body("scripted", ["/opt/scripts/run.sh"]),
        volumes,
        [{"name": "scripts", "mountPath": "/opt/scripts"}],
    )
    cluster.create("", "pods", "default", body)
    await cluster.pod_phase("scripted", "Succeeded")
    assert await cluster.log("scripted") == b"running from scripts\n"


async def test_sub_path_expr_gives_each_pod_its_own_folder_of_a_claim(cluster: Workload) -> None:
    cluster.create("", "persistentvolumeclaims", "default", claim_body("outputs"))
    for name in ("task-a", "task-b"):
        volumes, mounts = workspace("outputs", "/out", subPathExpr="runs/$(POD_NAME)")
        body = with_volumes(
            pod_body(name, ["sh", "-c", "pwd > /out/where"]),
            volumes,
            mounts,
            env=[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            workingDir="/out",
        )
        cluster.create("", "pods", "default", body)
        await cluster.pod_phase(name, "Succeeded")
    directory = claim_directory(cluster.workdir, await bound(cluster, "outputs"))
    for name in ("task-a", "task-b"):
        assert (directory / "runs" / name / "where").read_text().strip() == str(directory / "runs" / name)
