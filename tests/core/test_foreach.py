"""forEach: resolving lists, expanding, and deriving a forEach task's state from its instances."""

from __future__ import annotations

from typing import Any

import pytest

from baton.api.pipeline import TaskSpec
from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
from baton.core.foreach import expand, item_text, resolve_items, summarize_instances, task_result

NOW = "2025-01-31T10:00:00Z"


def spec_task(**for_each: Any) -> TaskSpec:
    return TaskSpec.model_validate({"name": "fan", "image": "x", "forEach": for_each})


LIST = TaskStatus(name="list", phase=TaskPhase.SUCCEEDED, results={"items": '["a",2,3.5]', "bad": '{"a":1}'})


@pytest.mark.parametrize(
    ("for_each", "params", "expected"),
    [
        ({"items": ["eu", 7]}, {}, ["eu", 7]),
        ({"from": "$(params.p)"}, {"p": '["x", "y"]'}, ["x", "y"]),
        ({"from": " $(params.p) "}, {"p": "[]"}, []),
        ({"from": "$(tasks.list.results.items)"}, {}, ["a", 2, 3.5]),
        (
            {"from": "$(params.p)"},
            {"p": "x,y"},
            ("InvalidItems", "forEach.from: param \"p\" is not a JSON list: 'x,y'"),
        ),
        (
            {"from": "$(params.p)"},
            {"p": "[true]"},
            (
                "InvalidItems",
                'forEach.from: item 0 of param "p" is a JSON boolean; items must be strings or numbers',
            ),
        ),
        (
            {"from": "$(tasks.list.results.bad)"},
            {},
            (
                "InvalidItems",
                'forEach.from: result "bad" of task "list" is a JSON object, '
                "not a list of strings and numbers",
            ),
        ),
        (
            {"from": "$(tasks.list.results.none)"},
            {},
            ("InvalidItems", 'forEach.from: result "none" of task "list" has no value'),
        ),
        (
            {"items": [1, 2, 3], "maxItems": 2},
            {},
            (
                "TooManyItems",
                'forEach of task "fan" has 3 items, more than its maxItems (2); raise maxItems (at most '
                "10000)",
            ),
        ),
    ],
)
def test_resolve_items(for_each: dict[str, Any], params: dict[str, str], expected: object) -> None:
    assert resolve_items(spec_task(**for_each), params, [LIST], {"list": 0}) == expected


@pytest.mark.parametrize(("item", "text"), [("eu", "eu"), (3, "3"), (2.5, "2.5")])
def test_item_text(item: str | float, text: str) -> None:
    assert item_text(item) == text


def test_expand_names_instances_and_cuts_long_items() -> None:
    task = expand(TaskStatus(name="fan", phase=TaskPhase.PENDING), ["a", "x" * 1000], NOW)
    assert (task.phase, task.items, task.start_time) == (TaskPhase.RUNNING, 2, NOW)
    assert [i.name for i in task.instances] == ["fan[0]", "fan[1]"]
    assert len(task.instances[1].item or "") == 256


def test_expand_of_nothing_succeeds_with_no_items() -> None:
    task = expand(TaskStatus(name="fan", phase=TaskPhase.PENDING), [], NOW)
    assert (task.phase, task.reason, task.items, task.completion_time) == (
        TaskPhase.SUCCEEDED,
        "NoItems",
        0,
        NOW,
    )


def instance(k: int, phase: TaskPhase, reason: str | None = None, **extra: Any) -> InstanceStatus:
    return InstanceStatus(name=f"fan[{k}]", phase=phase, reason=reason, **extra)


P, R, S, F, K, C = (TaskPhase.PENDING, TaskPhase.RUNNING, TaskPhase.SUCCEEDED, TaskPhase.FAILED,
                    TaskPhase.SKIPPED, TaskPhase.CANCELLED)  # fmt: skip


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ([(S, None), (R, None)], (R, None)),
        ([(S, None), (S, None)], (S, None)),
        ([(F, "OOMKilled"), (S, None)], (F, "OOMKilled")),
        ([(C, "Cancelled"), (K, "Cancelled")], (C, "Cancelled")),
        ([(F, "Failed"), (C, "RunTimeout")], (F, "RunTimeout")),
        ([(S, None), (K, "FailFast")], (K, "FailFast")),
        ([(F, "Failed"), (P, None)], (R, None)),
    ],
)
def test_summarize_instances(
    phases: list[tuple[TaskPhase, str | None]], expected: tuple[TaskPhase, str | None]
) -> None:
    parent = TaskStatus(name="fan", phase=TaskPhase.RUNNING, items=len(phases), start_time=NOW)
    instances = [instance(k, phase, reason, completion_time=NOW if phase.finished else None)
                 for k, (phase, reason) in enumerate(phases)]  # fmt: skip
    summary = summarize_instances(parent, instances)
    assert (summary.phase, summary.reason) == expected


def test_task_result_of_a_fan_out_is_the_list_in_item_order_once_all_have_it() -> None:
    parent = TaskStatus(
        name="fan",
        phase=TaskPhase.SUCCEEDED,
        items=2,
        instances=[instance(0, S, results={"r": '"a"'}), instance(1, S, results={"r": "2"})],
    )
    assert task_result(parent, "r") == '["a",2]'
    assert task_result(parent, "other") is None
    assert task_result(TaskStatus(name="x", phase=S, results={"r": "1"}), "r") == "1"


def test_a_foreach_task_starts_no_later_than_its_instances() -> None:
    """Expanded again while its first expansion's write was in flight, the task's own start came after
    its instances' (and drew the timeline backwards)."""
    from baton.api.run import InstanceStatus, TaskPhase, TaskStatus
    from baton.core.foreach import summarize_instances

    task = TaskStatus(name="extract", phase=TaskPhase.RUNNING, start_time="2026-12-06T21:00:08Z", items=2)
    instances = [
        InstanceStatus(name="extract-0", phase=TaskPhase.SUCCEEDED, start_time="2026-12-06T21:00:07.250Z",
                       completion_time="2026-12-06T21:00:07.900Z"),
        InstanceStatus(name="extract-1", phase=TaskPhase.RUNNING, start_time="2026-12-06T21:00:07.500Z"),
    ]  # fmt: skip
    assert summarize_instances(task, instances).start_time == "2026-12-06T21:00:07.250Z"
    later = [i.model_copy(update={"start_time": "2026-12-06T21:00:09Z"}) for i in instances]
    assert summarize_instances(task, later).start_time == "2026-12-06T21:00:08Z"
