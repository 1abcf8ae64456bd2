"""The pure side of volumes: path rewriting, quantities, and what the apiserver checks on claims and Pods."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from baton.devcluster import errors
from baton.devcluster.defaults import default_object
from baton.devcluster.pathmap import PathMap, normalize
from baton.devcluster.quantities import QuantityError, canonical
from baton.devcluster.resources import Registry, ResourceType

REGISTRY = Registry.with_builtins()
CLAIMS = REGISTRY.storage("", "persistentvolumeclaims")
PODS = REGISTRY.storage("", "pods")
assert CLAIMS is not None and PODS is not None
Obj = dict[str, Any]

DATA = PathMap.of(
    [("/workspace/data", "/local/claim"), ("/dev/termination-log", "/local/main.termination-log")]
)


# -- the path rewrite --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/workspace/data", "/local/claim"),
        ("/workspace/data/x.csv", "/local/claim/x.csv"),
        ("/workspace/data/", "/local/claim/"),
        ('echo hi > "/workspace/data/out.txt"', 'echo hi > "/local/claim/out.txt"'),
        ("cp '/workspace/data' /tmp", "cp '/local/claim' /tmp"),
        ("--out=/workspace/data:ro", "--out=/local/claim:ro"),
        ("a=/workspace/data;b=/workspace/data/y", "a=/local/claim;b=/local/claim/y"),
        ("$(ls /workspace/data)", "$(ls /local/claim)"),
        ("file:///workspace/data/z", "file:///local/claim/z"),
        ("/workspace/data /workspace/data", "/local/claim /local/claim"),
        # Not at a path boundary: other paths that merely start or end the same way.
        ("/workspace/database", "/workspace/database"),
        ("/workspace/data.bak", "/workspace/data.bak"),
        ("/workspace/data-2/x", "/workspace/data-2/x"),
        ("/workspace/data_old", "/workspace/data_old"),
        ("/mnt/workspace/data", "/mnt/workspace/data"),
        ("x/workspace/data", "x/workspace/data"),
        ("/workspace/dat", "/workspace/dat"),
        ("echo done > /dev/termination-log", "echo done > /local/main.termination-log"),
        ("/dev/termination-log.old", "/dev/termination-log.old"),
        ("", ""),
    ],
)
def test_a_mount_path_is_rewritten_only_at_a_path_boundary(text: str, expected: str) -> None:
    assert DATA.rewrite(text) == expected


def test_longer_mount_paths_win_and_the_text_is_rewritten_once() -> None:
    paths = PathMap.of(
        [
            ("/workspace", "/tmp/claim"),
            ("/workspace/config", "/tmp/sandbox/volumes/cfg"),
            # A local path that itself contains a mapped container path must not be rewritten again.
            ("/tmp", "/tmp/sandbox/volumes/scratch"),
        ]
    )
    assert paths.entries[0][0] == "/workspace/config"
    assert paths.rewrite("/workspace/config/a.yaml /workspace/b /workspace/configs") == (
        "/tmp/sandbox/volumes/cfg/a.yaml /tmp/claim/b /tmp/claim/configs"
    )
    assert paths.rewrite("/tmp/x") == "/tmp/sandbox/volumes/scratch/x"


def test_mount_paths_are_normalized_and_root_is_never_rewritten() -> None:
    assert [normalize(p) for p in ("/a/b/", "//a//b", "a/b", "/a/./b/../c", "", "/")] == [
        "/a/b",
        "/a/b",
        "/a/b",
        "/a/c",
        "/",
        "/",
    ]
    paths = PathMap.of([("/data/", "/local/d"), ("/", "/local/root")])
    assert paths.entries == (("/data", "/local/d"),)
    assert paths.rewrite("/data/x /etc/passwd") == "/local/d/x /etc/passwd"
    assert PathMap().rewrite("/data") == "/data"


def test_resolve_finds_the_local_path_of_a_path_inside_a_mount() -> None:
    assert str(DATA.resolve("/workspace/data")) == "/local/claim"
    assert str(DATA.resolve("/workspace/data/in/deep/")) == "/local/claim/in/deep"
    assert DATA.resolve("/workspace/database") is None
    assert DATA.resolve("/elsewhere") is None


# -- quantities --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("512", "512"),
        ("1000", "1k"),
        ("1500", "1500"),
        ("1.5", "1500m"),
        ("100M", "100M"),
        ("1000M", "1G"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        (1073741824, "1073741824"),
        ("1e-10", "1e-9"),
        ("0", "0"),
    ],
)
def test_quantities_are_stored_in_canonical_form(written: object, stored: str) -> None:
    assert canonical(written) == stored


@pytest.mark.parametrize("bad", ["", "Gi", "1 Gi", "1GB", "ten", True, None])
def test_what_is_not_a_quantity(bad: object) -> None:
    with pytest.raises(QuantityError):
        canonical(bad)


# -- PersistentVolumeClaims ----------------------------------------------------------------------------


def claim(**spec: Any) -> Obj:
    body: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    body.update(spec)
    return {"metadata": {"name": "data", "uid": "5d1c0a3e-aaaa-bbbb-cccc-ddddeeeeffff"}, "spec": body}


def invalid(rt: ResourceType, obj: Obj, old: Obj | None = None) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as raised:
        default_object(rt, obj, old)
    return raised.value


def test_claim_defaults() -> None:
    out = default_object(CLAIMS, claim(resources={"requests": {"storage": "2048Mi"}}), None)
    assert out["spec"]["volumeMode"] == "Filesystem"
    assert out["spec"]["resources"] == {"requests": {"storage": "2Gi"}}
    assert out["status"] == {"phase": "Pending"}
    assert out["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"accessModes": []}, "spec.accessModes: Required value: at least 1 access mode is required"),
        ({"resources": {}}, "spec.resources[storage]: Required value"),
        (
            {"resources": {"requests": {"storage": "0"}}},
            'spec.resources[storage]: Invalid value: "0": must be ',
        ),
        (
            {"accessModes": ["ReadWriteSometimes"]},
            'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
            '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        ),
        (
            {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"]},
            "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
        ),
        ({"volumeMode": "Tape"}, 'spec.volumeMode: Unsupported value: "Tape": supported values: "Block", '),
        (
            {"storageClassName": "Fast_SSD"},
            'spec.storageClassName: Invalid value: "Fast_SSD": a lowercase RFC',
        ),
    ],
)
def test_claim_validation_messages(spec: Obj, message: str) -> None:
    error = invalid(CLAIMS, claim(**spec))
    assert (error.code, error.reason) == (422, "Invalid")
    assert error.message.startswith('PersistentVolumeClaim "data" is invalid: ' + message), error.message


def test_a_claim_without_anything_reports_both_required_fields() -> None:
    error = invalid(CLAIMS, {"metadata": {"name": "data"}, "spec": {}})
    assert error.message == (
        'PersistentVolumeClaim "data" is invalid: [spec.accessModes: Required value: at least 1 access mode '
        "is required, spec.resources[storage]: Required value]"
    )
    fields = [cause["field"] for cause in error.details["causes"]]
    assert fields == ["spec.accessModes", "spec.resources[storage]"]


def test_a_storage_request_that_is_not_a_quantity_is_a_bad_request() -> None:
    error = invalid(CLAIMS, claim(resources={"requests": {"storage": "lots"}}))
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == (
        'PersistentVolumeClaim in version "v1" cannot be handled as a PersistentVolumeClaim: quantities must '
        "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def bound(old: Obj) -> Obj:
    """The claim as the volume controller leaves it."""
    stored = copy.deepcopy(old)
    stored["spec"]["volumeName"] = "pvc-" + stored["metadata"]["uid"]
    stored["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    return stored


def test_the_claim_spec_is_immutable_except_a_bound_claims_request() -> None:
    created = default_object(CLAIMS, claim(), None)
    binding = copy.deepcopy(created)
    binding["spec"]["volumeName"] = "pvc-x"
    default_object(CLAIMS, binding, created)  # the binder sets volumeName once

    stored = bound(created)
    expanded = copy.deepcopy(stored)
    expanded["spec"]["resources"]["requests"]["storage"] = "2Gi"
    default_object(CLAIMS, expanded, stored)

    modes = copy.deepcopy(stored)
    modes["spec"]["accessModes"] = ["ReadWriteMany"]
    error = invalid(CLAIMS, modes, stored)
    assert error.message.startswith(
        'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except '
        "resources.requests and volumeAttributesClassName for bound claims\n"
    )
    assert '- \tAccessModes: ["ReadWriteOnce"]' in error.message
    assert '+ \tAccessModes: ["ReadWriteMany"]' in error.message

    moved = copy.deepcopy(stored)
    moved["spec"]["volumeName"] = "pvc-elsewhere"
    assert "spec is immutable" in invalid(CLAIMS, moved, stored).message

    shrunk = copy.deepcopy(stored)
    shrunk["spec"]["resources"]["requests"]["storage"] = "512Mi"
    assert invalid(CLAIMS, shrunk, stored).message == (
        'PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: field can not '
        "be less than status.capacity"
    )

    pending_resize = copy.deepcopy(created)
    pending_resize["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert "spec is immutable" in invalid(CLAIMS, pending_resize, created).message  # not bound yet

    classed = copy.deepcopy(created)
    classed["spec"]["storageClassName"] = "standard"
    default_object(CLAIMS, classed, created)  # an unset class may be set


# -- Pod volumes ---------------------------------------------------------------------------------------


def pod(volumes: list[Any], mounts: list[Any], **spec: Any) -> Obj:
    return {
        "metadata": {"name": "p"},
        "spec": {
            "volumes": volumes,
            "containers": [{"name": "main", "image": "busybox", "command": ["true"], "volumeMounts": mounts}],
            **spec,
        },
    }


def test_pod_volume_defaults_and_binding() -> None:
    volumes = [
        {"name": "cfg", "configMap": {"name": "settings"}},
        {"name": "creds", "secret": {"secretName": "token", "defaultMode": 0o400}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": "/var/log"}},
    ]
    out = default_object(PODS, pod(volumes, [{"name": "cfg", "mountPath": "/etc/app"}]), None)
    assert out["spec"]["volumes"][0]["configMap"]["defaultMode"] == 420
    assert out["spec"]["volumes"][1]["secret"]["defaultMode"] == 0o400
    assert out["spec"]["volumes"][3]["hostPath"]["type"] == ""
    assert out["spec"]["nodeName"] == "devcluster"

    claimed = [{"name": "ws", "persistentVolumeClaim": {"claimName": "data"}}]
    waiting = default_object(PODS, pod(claimed, [{"name": "ws", "mountPath": "/ws"}]), None)
    assert "nodeName" not in waiting["spec"]  # the scheduler binds it once its claim is bound
    named = default_object(PODS, pod(claimed, [], nodeName="devcluster"), None)
    assert named["spec"]["nodeName"] == "devcluster"


@pytest.mark.parametrize(
    ("volumes", "mounts", "causes"),
    [
        (
            [{"name": "v"}],
            [],
            [("spec.volumes[0]", "FieldValueRequired", "Required value: must specify a volume type")],
        ),
        (
            [{"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}],
            [],
            [
                (
                    "spec.volumes[0].configMap",
                    "FieldValueForbidden",
                    "Forbidden: may not specify more than 1 volume type",
                )
            ],
        ),
        (
            [{"name": "v", "persistentVolumeClaim": {}}],
            [],
            [("spec.volumes[0].persistentVolumeClaim.claimName", "FieldValueRequired", "Required value")],
        ),
        (
            [{"name": "Bad_Name", "emptyDir": {}}],
            [],
            [
                (
                    "spec.volumes[0].name",
                    "FieldValueInvalid",
                    'Invalid value: "Bad_Name": a lowercase RFC 1123 label',
                )
            ],
        ),
        (
            [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}],
            [],
            [("spec.volumes[1].name", "FieldValueDuplicate", 'Duplicate value: "v"')],
        ),
        (
            [
                {
                    "name": "v",
                    "secret": {
                        "secretName": "s",
                        "defaultMode": 0o1000,
                        "items": [{"key": "k", "path": "../x"}],
                    },
                }
            ],
            [],
            [
                (
                    "spec.volumes[0].secret.defaultMode",
                    "FieldValueInvalid",
                    "Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
                ),
                (
                    "spec.volumes[0].secret.items[0].path",
                    "FieldValueInvalid",
                    "Invalid value: \"../x\": must not contain '..'",
                ),
            ],
        ),
        (
            [{"name": "v", "configMap": {"name": "c", "items": [{"key": "k", "path": "/abs"}]}}],
            [],
            [
                (
                    "spec.volumes[0].configMap.items[0].path",
                    "FieldValueInvalid",
                    'Invalid value: "/abs": must be a relative path',
                )
            ],
        ),
        (
            [{"name": "v", "emptyDir": {}}],
            [{"name": "w", "mountPath": "/w"}],
            [("spec.containers[0].volumeMounts[0].name", "FieldValueNotFound", 'Not found: "w"')],
        ),
        (
            [{"name": "v", "emptyDir": {}}],
            [{"name": "v", "mountPath": "/w"}, {"name": "v", "mountPath": "/w"}],
            [
                (
                    "spec.containers[0].volumeMounts[1].mountPath",
                    "FieldValueInvalid",
                    'Invalid value: "/w": must be unique',
                )
            ],
        ),
        (
            [{"name": "v", "emptyDir": {}}],
            [{"name": "v"}],
            [("spec.containers[0].volumeMounts[0].mountPath", "FieldValueRequired", "Required value")],
        ),
        (
            [{"name": "v", "emptyDir": {}}],
            [{"name": "v", "mountPath": "/w", "subPath": "../up"}],
            # Upstream's quirk: the field names the list, not the mount.
            [
                (
                    "spec.containers[0].volumeMounts.subPath",
                    "FieldValueInvalid",
                    "Invalid value: \"../up\": must not contain '..'",
                )
            ],
        ),
    ],
)
def test_pod_volume_validation(
    volumes: list[Any], mounts: list[Any], causes: list[tuple[str, str, str]]
) -> None:
    error = invalid(PODS, pod(volumes, mounts))
    found = [(c["field"], c["reason"], c["message"]) for c in error.details["causes"]]
    assert len(found) == len(causes), found
    for (field, reason, message), (want_field, want_reason, want_message) in zip(found, causes, strict=True):
        assert (field, reason) == (want_field, want_reason)
        assert message.startswith(want_message), message


def test_job_templates_get_the_same_volume_validation() -> None:
    jobs = REGISTRY.storage("batch", "jobs")
    assert jobs is not None
    body = {
        "metadata": {"name": "j", "uid": "0b3f7c6e-1111-2222-3333-444455556666"},
        "spec": {
            "template": {
                "spec": {**pod([], [{"name": "ws", "mountPath": "/ws"}])["spec"], "restartPolicy": "Never"}
            }
        },
    }
    error = invalid(jobs, body)
    assert 'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "ws"' in error.message
