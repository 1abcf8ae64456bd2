from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from baton.api.pipeline import PipelineSpec
from baton.core.params import UndeclaredParam
from baton.core.state import RunMeta
from baton.kube.names import job_name
from baton.kube.render import render_job

RUN = RunMeta(
    namespace="data", name="daily-sales-x7k2p", uid="0b6c6f4e-1111-2222-3333-444455556666", generation=1
)


def spec(**extra: Any) -> PipelineSpec:
    raw: dict[str, Any] = {
        "params": [{"name": "date"}, {"name": "region", "default": "eu"}],
        "taskDefaults": {
            "image": "python:3.12-slim",
            "serviceAccountName": "etl",
            "resources": {"requests": {"cpu": "100m", "memory": 64}, "limits": {"memory": "128Mi"}},
            "env": [
                {"name": "SHARED", "value": "from-defaults"},
                {"name": "REGION", "value": "$(params.region)"},
            ],
            "nodeSelector": {"pool": "batch"},
            "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
        },
        "tasks": [
            {
                "name": "extract",
                "command": ["python3", "-c", "print('$(params.date)')"],
                "args": ["--date=$(params.date)", "$$(params.date)"],
                "env": [
                    {"name": "SHARED", "value": "from-task"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                ],
                "workingDir": "/work",
            },
            {
                "name": "load",
                "image": "busybox:1.36",
                "dependsOn": ["extract"],
                "automountServiceAccountToken": True,
                "resources": {"limits": {"cpu": 2}},
                "nodeSelector": {"pool": "io"},
            },
        ],
    }
    raw.update(extra)
    return PipelineSpec.model_validate(raw)


def render(task: int = 0, attempt: int = 1, params: dict[str, str] | None = None) -> dict[str, Any]:
    s = spec()
    values = params if params is not None else {"date": "2025-01-31", "region": "eu"}
    return render_job(RUN, "daily-sales", s.tasks[task], s.task_defaults, values, attempt)


def container(job: dict[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def test_job_identity_labels_and_owner() -> None:
    job = render(attempt=2)
    meta = job["metadata"]
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert meta["name"] == job_name(RUN.name, "extract", 2) == "daily-sales-x7k2p-extract-2"
    assert meta["namespace"] == "data"
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "baton",
        "baton.dev/pipeline": "daily-sales",
        "baton.dev/run": "daily-sales-x7k2p",
        "baton.dev/task": "extract",
        "baton.dev/attempt": "2",
    }
    assert job["spec"]["template"]["metadata"]["labels"] == meta["labels"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "baton.dev/v1alpha1",
            "kind": "PipelineRun",
            "name": RUN.name,
            "uid": RUN.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_pod_meets_pod_security_standard_restricted() -> None:
    """Field by field, the checks of the "restricted" profile (Kubernetes docs, Pod Security Standards)."""
    for job in (render(0), render(1)):
        pod = job["spec"]["template"]["spec"]
        c = container(job)
        # baseline: no host namespaces, privileged containers, added capabilities, hostPath, hostPorts
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
        assert not c["securityContext"].get("privileged")
        assert "add" not in c["securityContext"]["capabilities"]
        assert not pod.get("volumes")
        assert all("hostPort" not in p for p in c.get("ports", []))
        assert "procMount" not in c["securityContext"] and "sysctls" not in pod["securityContext"]
        assert (
            "seLinuxOptions" not in pod["securityContext"] and "appArmorProfile" not in pod["securityContext"]
        )
        # restricted: privilege escalation, non-root, seccomp, capabilities
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True and c["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert c["securityContext"].get("runAsUser", 1) != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert c["securityContext"]["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost")
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_service_account_token_only_when_asked() -> None:
    assert render(0)["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert render(1)["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_params_are_substituted_and_escapes_are_left_to_the_kubelet() -> None:
    c = container(render(params={"date": "2025-$(x)", "region": "us"}))
    assert c["command"] == ["python3", "-c", "print('2025-$$(x)')"]
    assert c["args"] == ["--date=2025-$$(x)", "$$(params.date)"]
    env = {e["name"]: e for e in c["env"]}
    assert env["REGION"] == {"name": "REGION", "value": "us"}


def test_undeclared_param_at_render_time_raises() -> None:
    with pytest.raises(UndeclaredParam):
        render(params={"region": "eu"})


def test_env_is_merged_by_name_with_the_task_winning() -> None:
    c = container(render(0))
    names = [e["name"] for e in c["env"]]
    assert names == [
        "BATON_PIPELINE",
        "BATON_RUN",
        "BATON_TASK",
        "BATON_ATTEMPT",
        "SHARED",
        "REGION",
        "TOKEN",
    ]
    env = {e["name"]: e for e in c["env"]}
    assert env["SHARED"]["value"] == "from-task"
    assert env["TOKEN"] == {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}
    assert env["BATON_RUN"]["value"] == RUN.name and env["BATON_ATTEMPT"]["value"] == "1"


def test_defaults_apply_where_the_task_sets_nothing() -> None:
    pod = render(0)["spec"]["template"]["spec"]
    c = container(render(0))
    assert c["image"] == "python:3.12-slim"
    assert c["workingDir"] == "/work"
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": 64}, "limits": {"memory": "128Mi"}}
    assert pod["serviceAccountName"] == "etl"
    assert pod["nodeSelector"] == {"pool": "batch"}
    assert pod["tolerations"] == [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]


def test_task_settings_win_over_defaults() -> None:
    pod = render(1)["spec"]["template"]["spec"]
    c = container(render(1))
    assert c["image"] == "busybox:1.36"
    assert c["resources"] == {"limits": {"cpu": 2}}
    assert pod["nodeSelector"] == {"pool": "io"}
    assert "command" not in c and "args" not in c


def test_inline_runs_have_no_pipeline_label() -> None:
    s = spec()
    job = render_job(RUN, None, s.tasks[0], s.task_defaults, {"date": "d", "region": "r"}, 1)
    assert "baton.dev/pipeline" not in job["metadata"]["labels"]


def test_a_task_without_any_image_cannot_render() -> None:
    s = PipelineSpec.model_validate({"tasks": [{"name": "a"}]})
    with pytest.raises(ValueError, match="no image"):
        render_job(RUN, None, s.tasks[0], s.task_defaults, {}, 1)


@pytest.mark.parametrize("task", [0, 1])
def test_rendered_jobs_pass_kubernetes_validate_strict(task: int) -> None:
    kubernetes_validate.validate(render(task), "1.30", strict=True)
