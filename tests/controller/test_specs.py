"""Each Pipeline's spec is parsed once per change of the spec, and shared while in use."""

from __future__ import annotations

import copy
import gc
from typing import Any

from baton.controller.specs import ParsedSpecs

KEY = ("data", "etl")


def spec(*tasks: str) -> dict[str, Any]:
    return {
        "taskDefaults": {"image": "busybox:1.36"},
        "tasks": [{"name": t, "command": ["true"]} for t in tasks],
    }


def test_an_unchanged_spec_is_parsed_once_and_the_model_shared() -> None:
    specs = ParsedSpecs()
    raw = spec("a", "b")
    first, errors = specs.check(KEY, raw)
    assert first is not None and errors == []
    # The same object, then an equal copy (the next event of the Pipeline, after a status write).
    assert specs.check(KEY, raw)[0] is first
    assert specs.check(KEY, copy.deepcopy(raw))[0] is first
    assert specs.parses == 1


def test_a_changed_spec_is_parsed_again() -> None:
    specs = ParsedSpecs()
    first, _ = specs.check(KEY, spec("a"))
    second, _ = specs.check(KEY, spec("a", "b"))
    assert first is not None and second is not None and second is not first
    assert [t.name for t in second.tasks] == ["a", "b"] and specs.parses == 2
    other, _ = specs.check(("data", "other"), spec("a", "b"))  # another Pipeline: its own entry
    assert other is not second and specs.parses == 3


def test_the_model_is_not_kept_alive_for_an_idle_pipeline() -> None:
    specs = ParsedSpecs()
    raw = spec("a")
    parsed, _ = specs.check(KEY, raw)
    assert parsed is not None
    del parsed
    gc.collect()
    again, _ = specs.check(KEY, raw)  # nobody held it: parsed again, not resurrected
    assert again is not None and specs.parses == 2


def test_errors_are_remembered_with_the_spec_and_forgotten_with_the_pipeline() -> None:
    specs = ParsedSpecs()
    broken = spec("a", "a")
    for _ in range(2):
        parsed, errors = specs.check(KEY, broken)
        assert parsed is None and errors == ['task name "a" is used more than once']
    assert specs.parses == 1
    specs.forget(KEY)
    specs.check(KEY, broken)
    assert specs.parses == 2
    errors.append("a caller's change")  # each caller gets its own list
    assert specs.check(KEY, broken)[1] == ['task name "a" is used more than once']
