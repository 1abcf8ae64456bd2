"""Instances that set the same fields share one set of their names, and stay correct."""

from __future__ import annotations

from baton.api.common import to_dict
from baton.api.run import TaskPhase, TaskStatus


def test_equal_field_sets_are_one_object_and_copies_get_their_own() -> None:
    a, b = TaskStatus(name="a", phase=TaskPhase.PENDING), TaskStatus(name="b", phase=TaskPhase.PENDING)
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__ == {"name", "phase"}
    done = a.model_copy(update={"phase": TaskPhase.SUCCEEDED, "attempts": 1})
    # The copy names the field it added; the shared set of the originals is untouched.
    assert done.model_fields_set == {"name", "phase", "attempts"}
    assert a.model_fields_set == b.model_fields_set == {"name", "phase"}
    other = b.model_copy(update={"phase": TaskPhase.RUNNING, "attempts": 1})
    assert other.__pydantic_fields_set__ is done.__pydantic_fields_set__
    assert to_dict(done) == {"name": "a", "phase": "Succeeded", "attempts": 1}
    assert done.model_dump(exclude_unset=True, by_alias=True, mode="json") == to_dict(done)
