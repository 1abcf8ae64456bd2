"""The recorder: one Event per object per interval, outcomes at once, the most significant reason."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from baton.controller.recorder import EventRecorder, combine
from baton.core.events import Event, EventType

RUN = {
    "apiVersion": "baton.dev/v1alpha1",
    "kind": "PipelineRun",
    "metadata": {"name": "etl-x1", "namespace": "data", "uid": "u-1", "resourceVersion": "7"},
}


class FakeClient:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def create(self, path: str, obj: dict[str, Any], *, resource: str) -> dict[str, Any]:
        assert path == "/api/v1/namespaces/data/events" and resource == "events"
        self.posted.append(obj)
        self.arrived.set()
        return obj


def normal(reason: str, message: str) -> Event:
    return Event(EventType.NORMAL, reason, message)


@pytest.mark.parametrize(
    ("events", "reason", "type_"),
    [
        ([normal("TaskStarted", "a"), normal("TaskSucceeded", "b")], "TaskSucceeded", "Normal"),
        ([normal("TaskStarted", "a"), Event(EventType.WARNING, "TaskFailed", "b")], "TaskFailed", "Warning"),
        (
            [Event(EventType.WARNING, "TaskFailed", "b"), Event(EventType.WARNING, "RunFailed", "c")],
            "RunFailed",
            "Warning",
        ),
        ([normal("TaskRetrying", "r"), normal("TaskStarted", "s")], "TaskRetrying", "Normal"),
        ([normal("SomethingNew", "x"), normal("TaskStarted", "s")], "SomethingNew", "Normal"),
        (
            [normal("TaskStarted", "s"), Event(EventType.WARNING, "StatusUnreadable", "x")],
            "StatusUnreadable",
            "Warning",
        ),
    ],
)
def test_combine_files_under_the_most_significant_reason(
    events: list[Event], reason: str, type_: str
) -> None:
    combined = combine(events)
    assert combined is not None
    assert (combined.reason, combined.type.value) == (reason, type_)
    assert all(e.message in combined.message for e in events)


def test_combine_of_nothing_is_nothing() -> None:
    assert combine([]) is None


def test_combined_messages_are_bounded() -> None:
    combined = combine([normal("TaskStarted", "x" * 800), normal("TaskSucceeded", "y" * 800)])
    assert combined is not None and len(combined.message) <= 1024


async def test_progress_waits_for_the_outcome_and_rides_with_it() -> None:
    client = FakeClient()
    recorder = EventRecorder(client, interval=0.2)  # type: ignore[arg-type]
    await recorder.record(RUN, [normal("TaskStarted", "task a started")])
    await recorder.record(RUN, [normal("TaskSucceeded", "task a succeeded")])
    await recorder.record(RUN, [normal("TaskStarted", "task b started")])
    assert client.posted == []  # progress: the status shows it; the Event waits for news
    await recorder.record(RUN, [normal("RunSucceeded", "run succeeded")])
    assert len(client.posted) == 1  # an outcome flushes what waited, together with it
    last = client.posted[-1]
    assert last["reason"] == "RunSucceeded"
    assert last["message"] == "task a started; task a succeeded; task b started; run succeeded"
    assert last["involvedObject"]["uid"] == "u-1" and last["metadata"]["generateName"] == "etl-x1."
    await recorder.close()


async def test_a_failure_goes_at_once_and_other_news_once_per_interval() -> None:
    client = FakeClient()
    recorder = EventRecorder(client, interval=30)  # type: ignore[arg-type]
    await recorder.record(RUN, [normal("TaskStarted", "task a started")])
    await recorder.record(RUN, [Event(EventType.WARNING, "TaskFailed", "task a failed: exit 1")])
    assert [(e["reason"], e["type"]) for e in client.posted] == [("TaskFailed", "Warning")]
    assert client.posted[0]["message"] == "task a started; task a failed: exit 1"
    await recorder.record(RUN, [normal("Scheduled", "created run x")])
    assert len(client.posted) == 1  # other news: within the interval of the last Event, it waits
    await recorder.close()
    assert [e["reason"] for e in client.posted] == ["TaskFailed", "Scheduled"]  # posted on shutdown


async def test_held_progress_is_posted_when_the_progress_interval_ends() -> None:
    client = FakeClient()
    recorder = EventRecorder(client, progress_interval=0.05)  # type: ignore[arg-type]
    await recorder.record(RUN, [normal("TaskStarted", "a")])
    await recorder.record(RUN, [normal("TaskStarted", "b")])
    client.arrived.clear()
    await asyncio.wait_for(client.arrived.wait(), 5)
    assert [e["message"] for e in client.posted] == ["a; b"]
    await recorder.close()


def test_a_combined_message_tells_the_story_in_order_and_once() -> None:
    combined = combine(
        [
            normal("TaskStarted", "task b started"),
            normal("TaskSucceeded", "task b succeeded"),
            normal("TaskSucceeded", "task b succeeded"),
            normal("RunSucceeded", "run succeeded in 3s"),
        ]
    )
    assert combined is not None
    assert (combined.reason, combined.message) == (
        "RunSucceeded",
        "task b started; task b succeeded; run succeeded in 3s",
    )


def test_when_too_long_progress_gives_way_to_what_failed_and_the_outcome() -> None:
    progress = [normal("TaskSucceeded", f'task "step-{i:03}" succeeded') for i in range(60)]
    failed = Event(EventType.WARNING, "TaskFailed", 'task "last" failed: exit code 3')
    outcome = Event(EventType.WARNING, "RunFailed", 'run failed: task "last" failed (exit code 3)')
    combined = combine([*progress, failed, outcome])
    assert combined is not None and len(combined.message) <= 1024
    assert combined.message == (
        "60 task start(s) and success(es), in the run's status; "
        'task "last" failed: exit code 3; run failed: task "last" failed (exit code 3)'
    )
