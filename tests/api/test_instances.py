"""Wide forEach tasks store their plain successes as index ranges; everything else keeps its record."""

from __future__ import annotations

import json

import pytest

from baton.api.codec import dump_run_status, load_run_status
from baton.api.instances import COMPACT_FROM, expand_task, index_ranges, parse_ranges, plain_success
from baton.api.run import InstanceStatus, PipelineRunStatus, TaskPhase, TaskStatus

T = "2026-12-06T07:00:00Z"


@pytest.mark.parametrize(
    ("indices", "text"),
    [([], ""), ([3], "3"), ([0, 1, 2], "0-2"), ([0, 1, 2, 5, 7, 8], "0-2,5,7-8"), ([4, 6], "4,6")],
)
def test_index_ranges_round_trip(indices: list[int], text: str) -> None:
    assert index_ranges(indices) == text
    assert parse_ranges(text) == indices


@pytest.mark.parametrize("text", ["a-b", "5-2", "-1", "0-99999999", "3-"])
def test_broken_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ranges(text, limit=1000)


def done(k: int, **extra: object) -> InstanceStatus:
    fields: dict[str, object] = {
        "name": f"fan[{k}]",
        "phase": TaskPhase.SUCCEEDED,
        "attempts": 1,
        "job_name": f"r-fan-{k}-1",
        "start_time": T,
        "completion_time": T,
        "item": str(k),
    }
    fields.update(extra)
    return InstanceStatus.model_validate(fields)


@pytest.mark.parametrize(
    ("extra", "plain"),
    [
        ({}, True),
        ({"attempts": 2}, False),  # a retried instance keeps its story
        ({"phase": TaskPhase.RUNNING}, False),
        ({"message": "warning: slow"}, False),
        ({"results": {"rows": "3"}}, False),
        ({"reason": "Reused"}, False),
    ],
)
def test_what_counts_as_a_plain_success(extra: dict[str, object], plain: bool) -> None:
    assert plain_success("fan", 4, done(4, **extra)) is plain


def wide(count: int) -> PipelineRunStatus:
    instances = [done(k) for k in range(count)]
    instances[7] = done(7, attempts=2, message="attempt 1 of 2 failed: exit code 1")
    instances[count - 1] = InstanceStatus(name=f"fan[{count - 1}]", phase=TaskPhase.RUNNING, attempts=1)
    fan = TaskStatus(name="fan", phase=TaskPhase.RUNNING, items=count, instances=instances, start_time=T)
    return PipelineRunStatus(tasks=[TaskStatus(name="split", phase=TaskPhase.SUCCEEDED), fan])


def test_a_wide_task_keeps_records_only_for_what_did_not_simply_succeed() -> None:
    status = wide(COMPACT_FROM + 50)
    body = dump_run_status(status)
    (fan,) = [t for t in body["tasks"] if t["name"] == "fan"]
    last = COMPACT_FROM + 49
    assert fan["succeededInstances"] == f"0-6,8-{last - 1}"
    assert [i["name"] for i in fan["instances"]] == ["fan[7]", f"fan[{last}]"]
    loaded = load_run_status(json.loads(json.dumps(body)))
    (back,) = [t for t in loaded.tasks if t.name == "fan"]
    assert back.succeeded_instances is None and len(back.instances) == COMPACT_FROM + 50
    assert back.instances[7] == status.tasks[1].instances[7]  # kept whole
    assert back.instances[last] == status.tasks[1].instances[last]
    plain = back.instances[3]
    assert (plain.name, plain.phase, plain.attempts) == ("fan[3]", TaskPhase.SUCCEEDED, 1)
    assert plain.job_name is None and plain.start_time is None and plain.item is None  # what it gives up


def test_a_narrow_task_is_stored_as_it_is() -> None:
    status = wide(COMPACT_FROM - 1)
    body = dump_run_status(status)
    assert all("succeededInstances" not in t for t in body["tasks"])
    assert load_run_status(body) == status


def test_the_compressed_form_expands_too() -> None:
    status = wide(COMPACT_FROM + 10)
    body = dump_run_status(status, compress_above=0)
    assert "compressedTasks" in body and "tasks" not in body
    (back,) = [t for t in load_run_status(body).tasks if t.name == "fan"]
    assert len(back.instances) == COMPACT_FROM + 10 and back.instances[0].phase is TaskPhase.SUCCEEDED


def test_ten_thousand_plain_successes_take_a_few_bytes() -> None:
    instances = [done(k) for k in range(10_000)]
    fan = TaskStatus(name="fan", phase=TaskPhase.SUCCEEDED, items=10_000, instances=instances)
    body = dump_run_status(PipelineRunStatus(tasks=[fan]))
    assert len(json.dumps(body)) < 200


@pytest.mark.parametrize(
    "task",
    [
        {"name": "fan", "phase": "Running", "succeededInstances": "0-3,2"},  # overlapping: a gap at the end
        {"name": "fan", "phase": "Running", "succeededInstances": "x"},
        {"name": "fan", "phase": "Running", "succeededInstances": "1-2"},  # nothing at index 0
        {"name": "fan", "phase": "Running", "instances": [{"name": "other", "phase": "Running"}],
         "succeededInstances": "1"},
    ],
)  # fmt: skip
def test_a_broken_compact_form_is_refused_not_guessed(task: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        expand_task(task)
