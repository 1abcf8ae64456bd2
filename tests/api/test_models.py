from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from baton.api.codec import (
    COMPRESS_ABOVE,
    StatusCache,
    dump_run_status,
    encoded_size,
    load_run_status,
    stored_tasks,
)
from baton.api.common import EnvVar, ResourceRequirements, to_dict
from baton.api.pipeline import Pipeline, PipelineSpec, TaskSpec
from baton.api.run import PipelineRunSpec, PipelineRunStatus, RunPhase, TaskPhase, TaskStatus


def test_camel_case_on_the_wire_and_names_in_python() -> None:
    task = TaskSpec.model_validate(
        {"name": "a", "dependsOn": ["b"], "workingDir": "/w", "automountServiceAccountToken": True}
    )
    assert task == TaskSpec(
        name="a", depends_on=["b"], working_dir="/w", automount_service_account_token=True
    )
    assert to_dict(task) == {
        "name": "a",
        "dependsOn": ["b"],
        "workingDir": "/w",
        "automountServiceAccountToken": True,
    }


def test_absent_and_default_fields_are_left_out() -> None:
    assert to_dict(TaskSpec(name="a")) == {"name": "a"}
    assert to_dict(TaskStatus(name="a", phase=TaskPhase.PENDING)) == {"name": "a", "phase": "Pending"}
    assert to_dict(TaskSpec(name="a", automount_service_account_token=False)) == {
        "name": "a",
        "automountServiceAccountToken": False,
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"tasks": [{"name": "a", "image": "x", "unknown": 1}]},
        {"tasks": []},
        {"tasks": [{"name": "A"}]},
        {"tasks": [{"name": "-a"}]},
        {"tasks": [{"name": "a" * 64}]},
        {"tasks": [{"name": "a"}], "parallelism": 0},
        {"tasks": [{"name": "a"}], "params": [{"name": "1st"}]},
        {"tasks": [{"name": "a", "dependsOn": ["Not_A_Label"]}]},
        {"tasks": [{"name": "a", "env": [{"name": "1X", "value": "v"}]}]},
        {"tasks": [{"name": "a", "resources": {"limits": {"cpu": "lots"}}}]},
        {"tasks": [{"name": "a", "resources": {"limits": {"cpu": 0.5}}}]},
        {"tasks": [{"name": "a", "tolerations": [{"operator": "Maybe"}]}]},
        {"tasks": [{"name": "a", "serviceAccountName": "Bad_SA"}]},
    ],
)
def test_constraints_live_in_the_models(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PipelineSpec.model_validate(raw)


@pytest.mark.parametrize("quantity", [1, "1", "500m", "1.5", "1Gi", "64Mi", "2e3", "+1k"])
def test_quantities(quantity: int | str) -> None:
    assert ResourceRequirements.model_validate({"limits": {"cpu": quantity}}).limits["cpu"] == quantity


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ({"name": "A", "value": "v"}, True),
        ({"name": "A"}, True),
        ({"name": "A", "value": ""}, True),
        ({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}, True),
        ({"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}}, True),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, True),
        ({"name": "A", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, False),
        ({"name": "A", "valueFrom": {}}, False),
        (
            {
                "name": "A",
                "valueFrom": {"fieldRef": {"fieldPath": "x"}, "secretKeyRef": {"name": "s", "key": "k"}},
            },
            False,
        ),
    ],
)
def test_env_vars(raw: dict[str, Any], ok: bool) -> None:
    if ok:
        assert to_dict(EnvVar.model_validate(raw)) == raw
    else:
        with pytest.raises(ValidationError):
            EnvVar.model_validate(raw)


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ({"pipelineRef": {"name": "p"}}, True),
        ({"pipelineSpec": {"tasks": [{"name": "a", "image": "x"}]}, "params": {"a": "b"}}, True),
        ({}, False),
        ({"pipelineRef": {"name": "p"}, "pipelineSpec": {"tasks": [{"name": "a"}]}}, False),
        ({"pipelineRef": {"name": "p"}, "params": {"n": 1}}, False),
    ],
)
def test_run_spec_needs_exactly_one_pipeline(raw: dict[str, Any], ok: bool) -> None:
    if ok:
        PipelineRunSpec.model_validate(raw)
    else:
        with pytest.raises(ValidationError):
            PipelineRunSpec.model_validate(raw)


def test_status_tolerates_fields_of_newer_versions() -> None:
    status = PipelineRunStatus.model_validate(
        {
            "phase": "Running",
            "somethingNew": 1,
            "tasks": [{"name": "a", "phase": "Running", "nextAttemptAt": "2025-01-01T00:00:00Z"}],
        }
    )
    assert status.phase is RunPhase.RUNNING and status.tasks[0].name == "a"


def test_whole_objects_parse() -> None:
    pipeline = Pipeline.model_validate(
        {
            "apiVersion": "baton.dev/v1alpha1",
            "kind": "Pipeline",
            "metadata": {"name": "p", "namespace": "n", "resourceVersion": "1"},
            "spec": {"tasks": [{"name": "a", "image": "x"}]},
        }
    )
    assert pipeline.display_name() == "p"


def started_status(n: int, *, plain_spec: bool = True) -> PipelineRunStatus:
    spec = PipelineSpec.model_validate(
        {
            "taskDefaults": {"image": "busybox:1.36"},
            "tasks": [
                {
                    "name": f"task-{i:05d}",
                    "command": ["true"],
                    "dependsOn": [f"task-{i - 1:05d}"] if i else [],
                }
                for i in range(n)
            ],
        }
    )
    tasks = [
        TaskStatus(
            name=t.name,
            phase=TaskPhase.SUCCEEDED,
            job_name=f"bench-10k-x7k2p-{t.name}-1",
            attempts=1,
            start_time="2025-01-01T00:00:00Z",
            completion_time="2025-01-01T00:00:01Z",
        )
        for t in spec.tasks
    ]
    return PipelineRunStatus(
        phase=RunPhase.SUCCEEDED,
        progress=f"{n}/{n}",
        tasks=tasks,
        params={"a": "b"},
        pipeline_spec=spec,
        pipeline="bench",
    )


def test_small_statuses_stay_readable() -> None:
    status = started_status(3)
    body = dump_run_status(status)
    assert "compressedTasks" not in body and body["tasks"][0]["jobName"] == "bench-10k-x7k2p-task-00000-1"
    assert body == to_dict(status) and load_run_status(body) == status


def test_large_statuses_are_compressed_and_round_trip() -> None:
    status = started_status(10_000)
    assert encoded_size(to_dict(status)) > 1024 * 1024  # would not fit comfortably into etcd
    body = dump_run_status(status)
    assert set(body) >= {"compressedTasks", "compressedPipelineSpec", "phase", "progress"}
    assert "tasks" not in body and "pipelineSpec" not in body
    assert encoded_size(body) < COMPRESS_ABOVE < 1024 * 1024
    assert dump_run_status(status) == body  # deterministic
    assert load_run_status(body) == status
    assert load_run_status(body, frozen_spec=status.pipeline_spec).pipeline_spec is status.pipeline_spec


def test_only_the_tasks_are_compressed_when_that_is_enough() -> None:
    status = started_status(50)
    body = dump_run_status(status, compress_above=encoded_size(to_dict(status)) - 100)
    assert "compressedTasks" in body and "pipelineSpec" in body
    assert load_run_status(body) == status


def test_a_run_without_status_loads_empty() -> None:
    assert load_run_status(None) == PipelineRunStatus()


def test_status_cache_returns_what_we_wrote_at_that_version() -> None:
    cache = StatusCache(size=2)
    status = started_status(1)
    cache.put("u1", "10", status)
    assert cache.get("u1", "10") is status and cache.get("u1", "11") is None
    cache.put("u2", "1", status)
    cache.put("u3", "1", status)
    assert cache.get("u1", "10") is None  # evicted
    cache.forget("u3")
    assert cache.get("u3", "1") is None


def test_status_cache_keeps_a_runs_last_versions() -> None:
    cache = StatusCache(versions=2)
    statuses = [started_status(i) for i in (1, 2, 3)]
    for version, status in enumerate(statuses, start=10):
        cache.put("u1", str(version), status)
    # The run observer counts a run's events after the next write may be done: both last are found.
    assert cache.get("u1", "12") is statuses[2] and cache.get("u1", "11") is statuses[1]
    assert cache.get("u1", "10") is None


@pytest.mark.parametrize("compressed", [True, False])
def test_stored_tasks_having_a_field(compressed: bool) -> None:
    status = started_status(3)
    keyed = status.model_copy(
        update={"tasks": [status.tasks[0].model_copy(update={"cache_key": "k1"}), *status.tasks[1:]]}
    )
    threshold = 0 if compressed else COMPRESS_ABOVE
    for current, entries in ((status, 0), (keyed, 3)):
        body = dump_run_status(current, compress_above=threshold)
        assert ("compressedTasks" in body) is compressed
        assert [t["name"] for t in stored_tasks(body)] == ["task-00000", "task-00001", "task-00002"]
        # Compressed, a status no entry of which has the field is not parsed at all.
        expected = entries if compressed else 3
        assert len(stored_tasks(body, having="cacheKey")) == expected
