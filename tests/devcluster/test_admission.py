"""Admission of status writes: only what changed is checked, and what changed is checked fully."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from baton.devcluster import errors
from baton.devcluster.admission import admit
from baton.devcluster.resources import ResourceType

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
        "status": {
            "type": "object",
            "properties": {
                "phase": {"type": "string", "enum": ["Pending", "Running", "Done"]},
                "count": {"type": "integer", "default": 0},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
                },
            },
        },
    },
}
WIDGET = ResourceType(
    "example.com",
    "v1",
    "widgets",
    "widget",
    "Widget",
    True,
    schema=SCHEMA,
    custom=True,
    subresources=frozenset({"status"}),
)
STORED: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "default"},
    "spec": {"size": 2},
    "status": {"phase": "Running", "count": 1, "items": [{"n": 1}]},
}


def status_write(status: dict[str, Any], validation: str = "Strict") -> tuple[dict[str, Any], list[str]]:
    obj = {**copy.deepcopy(STORED), "status": status}
    warnings = admit(WIDGET, obj, field_validation=validation, old=STORED, status_only=True)
    return obj, warnings


def test_a_valid_change_is_admitted_and_defaulted() -> None:
    obj, warnings = status_write({"phase": "Done", "items": [{"n": 1}, {"n": 2}]})
    assert warnings == [] and obj["status"]["count"] == 0  # the default of a field the write left out


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ({"phase": "Exploded", "count": 1, "items": [{"n": 1}]}, "status.phase"),
        ({"phase": "Running", "count": "many", "items": [{"n": 1}]}, "status.count"),
        ({"phase": "Running", "count": 1, "items": [{"n": "x"}]}, "status.items[0].n"),
    ],
)
def test_an_invalid_change_is_rejected_with_its_field(status: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ApiError) as raised:
        status_write(status)
    assert raised.value.code == 422 and field in raised.value.message


def test_unknown_status_fields_are_still_found() -> None:
    with pytest.raises(errors.ApiError) as raised:
        status_write({"phase": "Done", "colour": "red"})
    assert raised.value.code == 400 and 'unknown field "status.colour"' in raised.value.message
    obj, warnings = status_write({"phase": "Done", "colour": "red"}, validation="Warn")
    assert warnings == ['unknown field "status.colour"'] and "colour" not in obj["status"]


def test_the_stored_object_is_never_touched() -> None:
    before = copy.deepcopy(STORED)
    status_write({"phase": "Done"})
    assert before == STORED
