"""The action forms as pure functions of the run: offered only where the action can succeed, each with
its token, none on a read-only UI; and who acted, shown as text."""

from __future__ import annotations

from typing import Any

import pytest
from test_ui_pages import EVIL, NOW, Dom, assert_no_script, run

from baton.core.actors import ACTED_AT, ACTED_GENERATION, ACTION, ACTOR
from baton.ui.csrf import Tokens
from baton.ui.forms import Actions
from baton.ui.pages import pipeline_page
from baton.ui.run_page import run_page

TOKENS = Tokens(b"k" * 32)
ACTIONS = Actions(TOKENS, "alice")


def forms(dom: Dom) -> dict[str, list[str]]:
    """Each form's action path and the names of its fields, by the form's button label."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for tag, attrs in dom.tags:
        if tag == "form" and attrs.get("method") == "post":
            current = [str(attrs["action"])]
        elif tag in ("input", "select") and current and attrs.get("name"):
            current.append(str(attrs["name"]))
            if attrs.get("name") == "csrf":
                assert TOKENS.valid(str(attrs["value"]), "alice", current[0])
        elif tag == "button" and current:
            found[f"#{len(found)}"] = current
            current = []
    return found


def offered(target: dict[str, Any]) -> list[tuple[str, list[str]]]:
    dom = assert_no_script(run_page(target, None, [], None, NOW, ACTIONS))
    return [(fields[0].rsplit("/", 1)[1], sorted(fields[1:])) for fields in forms(dom).values()]


def with_status(phase: str, **spec: Any) -> dict[str, Any]:
    target = run(phase=phase)
    target["spec"].update(spec)
    return target


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (with_status("Failed"), [("retry", ["csrf"]), ("retry", ["csrf", "from"])]),
        (with_status("Cancelled"), [("retry", ["csrf"]), ("retry", ["csrf", "from"])]),
        (with_status("Succeeded"), [("retry", ["csrf", "from"])]),  # nothing failed: only "from a task"
        (with_status("Running"), [("cancel", ["csrf", "message", "no-finally"]), ("suspend", ["csrf"])]),
        (
            with_status("Suspended", suspend=True),
            [("cancel", ["csrf", "message", "no-finally"]), ("resume", ["csrf"])],
        ),
        (
            with_status("Running", cancel={"runFinally": True}),
            [("cancel", ["csrf", "no-finally"]), ("suspend", ["csrf"])],
        ),
        (with_status("Running", cancel={"runFinally": False}), [("suspend", ["csrf"])]),
    ],
)
def test_the_actions_a_run_allows(target: dict[str, Any], expected: list[tuple[str, list[str]]]) -> None:
    assert offered(target) == expected


def test_a_run_that_never_started_cannot_be_retried() -> None:
    target = with_status("Failed")
    del target["status"]["pipelineSpec"]
    assert offered(target) == []


def test_retry_from_lists_every_task_and_chooses_the_first_that_failed() -> None:
    dom = Dom(run_page(with_status("Failed"), None, [], None, NOW, ACTIONS))
    options = {a["value"]: "selected" in a for tag, a in dom.tags if tag == "option"}
    assert options == {"extract": False, "fan": False, "load": True, "notify": False}


def test_who_acted_says_when_the_spec_changed_since_and_where_a_retry_starts() -> None:
    target = with_status("Running", retryOf="nightly-old", retryFrom=["load"])
    target["metadata"].update(
        generation=3, annotations={ACTOR: "bob", ACTION: "suspend", ACTED_GENERATION: "3"}
    )
    text = "".join(Dom(run_page(target, None, [], None, NOW, ACTIONS)).text)
    assert "Retry of nightly-old from task load; suspended by bob" in text
    assert "changed since" not in text


def test_a_pipeline_that_is_not_ready_has_no_run_button() -> None:
    pipeline = {
        "metadata": {"name": "cyclic", "namespace": "etl", "generation": 2},
        "spec": {"tasks": [{"name": "a", "image": "x", "dependsOn": ["a"]}]},
        "status": {"conditions": [{"type": "Ready", "status": "False", "observedGeneration": 2,
                                   "message": "dependency cycle: a → a"}]},
    }  # fmt: skip
    dom = Dom(pipeline_page(pipeline, [], NOW, ACTIONS))
    assert not [a for tag, a in dom.tags if tag == "form" and a.get("method") == "post"]
    assert 'No Run button: pipeline "cyclic" is not ready: dependency cycle: a → a.' in dom.text
    pipeline["metadata"]["generation"] = 3  # changed since it was judged: no verdict yet, the button stays
    assert [
        a
        for tag, a in Dom(pipeline_page(pipeline, [], NOW, ACTIONS)).tags
        if tag == "form" and a.get("method") == "post"
    ]


def test_a_read_only_ui_offers_nothing() -> None:
    dom = Dom(run_page(with_status("Running"), None, [], None, NOW, None))
    assert not [a for tag, a in dom.tags if tag == "form" and a.get("method") == "post"]


def test_who_acted_is_shown_as_text() -> None:
    target = with_status("Cancelled", retryOf="nightly-old")
    target["metadata"]["annotations"] = {
        ACTOR: EVIL,
        ACTION: "cancel",
        ACTED_AT: "2026-12-06T10:42:00Z",
        ACTED_GENERATION: "2",
    }
    html = run_page(target, None, [], None, NOW, ACTIONS)
    dom = assert_no_script(html)
    text = "".join(dom.text)
    assert (
        f"Retry of nightly-old; cancelled by {EVIL} at 2026-12-06T10:42:00Z (its spec has changed since)"
        in text
    )
    assert "/runs/etl/nightly-old" in {a.get("href") for a in dom.with_attr("href")}


def test_a_running_run_page_names_its_live_updates_and_a_finished_one_does_not() -> None:
    running = with_status("Running")
    running["metadata"]["resourceVersion"] = "42"
    live = [a["data-live"] for a in Dom(run_page(running, None, [], None, NOW)).with_attr("data-live")]
    assert live == ["/runs/etl/nightly-x/live?since=42"]
    assert not Dom(run_page(with_status("Failed"), None, [], None, NOW)).with_attr("data-live")


def test_the_pipeline_page_runs_it_with_params() -> None:
    pipeline = {
        "metadata": {"name": "nightly", "namespace": "etl"},
        "spec": {
            "params": [{"name": "date"}, {"name": "region", "default": "eu"}],
            "tasks": [{"name": "a", "image": "busybox", "command": ["true"]}],
        },
    }
    dom = assert_no_script(pipeline_page(pipeline, [], NOW, ACTIONS))
    inputs = {
        a["name"]: a for tag, a in dom.tags if tag == "input" and a.get("name", "").startswith("param.")
    }
    assert inputs["param.date"]["value"] == "" and "required" in inputs["param.date"]
    assert inputs["param.region"]["value"] == "eu" and "required" not in inputs["param.region"]
    assert next(iter(forms(dom).values()))[0] == "/pipelines/etl/nightly/run"
    assert not [a for tag, a in Dom(pipeline_page(pipeline, [], NOW)).tags if tag == "form"]
