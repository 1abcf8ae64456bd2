"""CRD structural schemas: validation messages, defaulting, pruning and the structural rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.devcluster.fielderrors import aggregate_message, invalid, required, too_long, too_many
from baton.devcluster.goformat import go_float, go_json, go_quote, go_syntax
from baton.devcluster.schema import FieldError, apply_defaults, check_structural, prune, validate
from baton.devcluster.structural import structural_errors


def spec_schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": properties}}}


def rendered(obj: Any, schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e.field, e.type, e.message) for e in validate(obj, schema)]


def test_field_error_renders_like_a_status_cause() -> None:
    error = FieldError("spec.replicas", "FieldValueRequired", "Required value")
    assert error.render() == "spec.replicas: Required value"


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        (
            {"type": "integer"},
            "3",
            'Invalid value: "string": spec.x in body must be of type integer: "string"',
        ),
        (
            {"type": "integer"},
            True,
            'Invalid value: "boolean": spec.x in body must be of type integer: "boolean"',
        ),
        (
            {"type": "integer"},
            3.5,
            'Invalid value: "number": spec.x in body must be of type integer: "number"',
        ),
        ({"type": "string"}, 7, 'Invalid value: "integer": spec.x in body must be of type string: "integer"'),
        (
            {"type": "boolean"},
            "true",
            'Invalid value: "string": spec.x in body must be of type boolean: "string"',
        ),
        ({"type": "object"}, [], 'Invalid value: "array": spec.x in body must be of type object: "array"'),
        (
            {"type": "array", "items": {"type": "string"}},
            {},
            'Invalid value: "object": spec.x in body must be of type array: "object"',
        ),
        ({"type": "number"}, "1", 'Invalid value: "string": spec.x in body must be of type number: "string"'),
        ({"type": "string"}, None, 'Invalid value: "null": spec.x in body must be of type string: "null"'),
        (
            {"x-kubernetes-int-or-string": True},
            False,
            'Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean"',
        ),
    ],
)
def test_type_mismatch_is_type_invalid(prop: dict[str, Any], value: Any, expected: str) -> None:
    assert rendered({"spec": {"x": value}}, spec_schema(x=prop)) == [
        ("spec.x", "FieldValueTypeInvalid", expected)
    ]


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ({"type": "integer"}, 3),
        ({"type": "integer"}, 3.0),  # a JSON number without a fraction is an integer
        ({"type": "number"}, 3),
        ({"type": "number"}, 2.5),
        ({"type": "boolean"}, False),
        ({"type": "string"}, ""),
        ({"type": "string", "nullable": True}, None),
        ({"x-kubernetes-int-or-string": True}, 8080),
        ({"x-kubernetes-int-or-string": True}, "http"),
        ({"x-kubernetes-preserve-unknown-fields": True}, {"any": ["thing", 1]}),
        ({"type": "string", "format": "int-or-string"}, "anything"),
        ({"type": "string", "format": "date-time"}, "2024-05-01T10:00:00Z"),
        ({"type": "string", "format": "date-time"}, "2024-05-01T10:00:00.123+02:00"),
        ({"type": "string", "format": "email"}, "not checked"),
        ({"type": "string", "pattern": "[a-z]"}, "ABc"),  # Go's MatchString searches, it does not anchor
        ({"type": "string", "maxLength": 5}, "héllo"),  # five characters, six bytes
        ({"type": "integer", "minimum": 1, "maximum": 10}, 10),
        ({"type": "string", "enum": ["a", "b"]}, "b"),
        ({"type": "string", "nullable": True, "enum": ["a", None]}, None),
        ({"type": "integer", "multipleOf": 5}, 15),
        ({"type": "number", "multipleOf": 0.5}, 2.5),
    ],
)
def test_valid_values_pass(prop: dict[str, Any], value: Any) -> None:
    assert validate({"spec": {"x": value}}, spec_schema(x=prop)) == []


@pytest.mark.parametrize(
    ("prop", "value", "error"),
    [
        (
            {"type": "string", "enum": ["a", "b"]},
            "x",
            ("FieldValueNotSupported", 'Unsupported value: "x": supported values: "a", "b"'),
        ),
        (
            {"type": "integer", "enum": [1, 2]},
            3,
            ("FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"'),
        ),
        (
            {"type": "string", "nullable": True, "enum": ["a"]},
            None,
            ("FieldValueNotSupported", 'Unsupported value: "null": supported values: "a"'),
        ),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "ABC",
            ("FieldValueInvalid", "Invalid value: \"ABC\": spec.x in body should match '^[a-z]+$'"),
        ),
        (
            {"type": "string", "maxLength": 2},
            "日本語",
            ("FieldValueTooLong", "Too long: may not be more than 2 bytes"),
        ),
        (
            {"type": "string", "maxLength": 1},
            "ab",
            ("FieldValueTooLong", "Too long: may not be more than 1 byte"),
        ),
        (
            {"type": "string", "minLength": 3},
            "ab",
            ("FieldValueInvalid", 'Invalid value: "ab": spec.x in body should be at least 3 chars long'),
        ),
        (
            {"type": "integer", "maximum": 10},
            11,
            ("FieldValueInvalid", "Invalid value: 11: spec.x in body should be less than or equal to 10"),
        ),
        (
            {"type": "integer", "maximum": 10, "exclusiveMaximum": True},
            10,
            ("FieldValueInvalid", "Invalid value: 10: spec.x in body should be less than 10"),
        ),
        (
            {"type": "integer", "minimum": 1},
            0,
            ("FieldValueInvalid", "Invalid value: 0: spec.x in body should be greater than or equal to 1"),
        ),
        (
            {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
            1,
            ("FieldValueInvalid", "Invalid value: 1: spec.x in body should be greater than 1"),
        ),
        (
            {"type": "number", "maximum": 1},
            1.5,
            ("FieldValueInvalid", "Invalid value: 1.5: spec.x in body should be less than or equal to 1"),
        ),
        (
            {"type": "number", "maximum": 1000000},
            2e6,
            (
                "FieldValueInvalid",
                "Invalid value: 2e+06: spec.x in body should be less than or equal to 1e+06",
            ),
        ),
        (
            {"type": "integer", "multipleOf": 5},
            7,
            ("FieldValueInvalid", "Invalid value: 7: spec.x in body should be a multiple of 5"),
        ),
        (
            {"type": "string", "format": "date-time"},
            "yesterday",
            (
                "FieldValueTypeInvalid",
                'Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday"',
            ),
        ),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
            [],
            ("FieldValueInvalid", "Invalid value: 0: spec.x in body should have at least 1 items"),
        ),
        (
            {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            ["a", "b", "c"],
            ("FieldValueTooMany", "Too many: 3: must have at most 2 items"),
        ),
        (
            {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            ["a", "b"],
            ("FieldValueTooMany", "Too many: 2: must have at most 1 item"),
        ),
        (
            {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
            [1, 2, 1],
            ("FieldValueInvalid", 'Invalid value: "": spec.x in body shouldn\'t contain duplicates'),
        ),
        (
            {"type": "object", "minProperties": 2},
            {"a": 1},
            ("FieldValueInvalid", "Invalid value: 1: spec.x in body should have at least 2 properties"),
        ),
        (
            {"type": "object", "maxProperties": 1},
            {"a": 1, "b": 2},
            ("FieldValueTooMany", "Too many: 2: must have at most 1 item"),
        ),
    ],
)
def test_value_constraints(prop: dict[str, Any], value: Any, error: tuple[str, str]) -> None:
    assert rendered({"spec": {"x": value}}, spec_schema(x=prop)) == [("spec.x", *error)]


def test_uniqueness_tells_true_from_one() -> None:
    schema = spec_schema(x={"type": "array", "items": {}, "uniqueItems": True})
    assert validate({"spec": {"x": [1, True, 1.5, "1"]}}, schema) == []


def test_required_fields_and_nested_paths() -> None:
    schema = spec_schema(
        tasks={
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "retries": {"type": "integer"}},
            },
        }
    )
    schema["properties"]["spec"]["required"] = ["tasks", "schedule"]
    obj = {"spec": {"tasks": [{"name": "a"}, {"name": "b"}, {"retries": "x"}]}}
    assert rendered(obj, schema) == [
        (
            "spec.tasks[2].retries",
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.tasks[2].retries in body must be of type integer: "string"',
        ),
        ("spec.tasks[2].name", "FieldValueRequired", "Required value"),
        ("spec.schedule", "FieldValueRequired", "Required value"),
    ]


def test_root_required_and_root_type() -> None:
    schema = {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
    assert rendered({"metadata": {}}, schema) == [("spec", "FieldValueRequired", "Required value")]
    assert rendered("text", schema) == [
        (
            "<nil>",
            "FieldValueTypeInvalid",
            'Invalid value: "string":  in body must be of type object: "string"',
        )
    ]


def test_additional_properties_schema_uses_dotted_keys() -> None:
    schema = spec_schema(
        params={"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}}
    )
    assert rendered({"spec": {"params": {"ok": "abc", "foo": 1, "bar": "long"}}}, schema) == [
        (
            "spec.params.foo",
            "FieldValueTypeInvalid",
            'Invalid value: "integer": spec.params.foo in body must be of type string: "integer"',
        ),
        ("spec.params.bar", "FieldValueTooLong", "Too long: may not be more than 3 bytes"),
    ]


def test_additional_properties_false_forbids_unknown_keys() -> None:
    schema = spec_schema(
        p={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    )
    assert rendered({"spec": {"p": {"a": "x", "b": 1}}}, schema) == [
        ("spec.p", "FieldValueInvalid", 'Invalid value: "b": spec.p.b in body is a forbidden property')
    ]


def test_unknown_fields_are_not_validation_errors() -> None:
    # Unknown fields are pruning's business, not validation's.
    assert validate({"spec": {"other": 1}}, spec_schema(x={"type": "string"})) == []


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        (
            {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            True,
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "spec.x" must validate at least one schema (anyOf)',
                ),
                (
                    "spec.x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "boolean": spec.x in body must be of type integer: "boolean"',
                ),
            ],
        ),
        (
            {"oneOf": [{"minimum": 1}, {"maximum": 10}]},
            5,
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "spec.x" must validate one and only one schema (oneOf). '
                    "Found 2 valid alternatives",
                )
            ],
        ),
        (
            {"allOf": [{"minimum": 1}, {"maximum": 3}]},
            5,
            [
                (
                    "spec.x",
                    "FieldValueInvalid",
                    "Invalid value: 5: spec.x in body should be less than or equal to 3",
                ),
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "spec.x" must validate all the schemas (allOf)',
                ),
            ],
        ),
        (
            {"type": "string", "not": {"enum": ["forbidden"]}},
            "forbidden",
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "spec.x" must not validate the schema (not)',
                )
            ],
        ),
    ],
)
def test_combinators(prop: dict[str, Any], value: Any, expected: list[tuple[str, str, str]]) -> None:
    assert rendered({"spec": {"x": value}}, spec_schema(x=prop)) == expected


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "a"),
        ({"oneOf": [{"minimum": 10}, {"maximum": 1}]}, 0),
        ({"allOf": [{"minimum": 1}, {"maximum": 10}]}, 5),
        ({"type": "string", "not": {"enum": ["forbidden"]}}, "fine"),
    ],
)
def test_combinators_pass(prop: dict[str, Any], value: Any) -> None:
    assert validate({"spec": {"x": value}}, spec_schema(x=prop)) == []


def list_schema(list_type: str, items: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "array", "x-kubernetes-list-type": list_type, "items": items}
    if keys:
        prop["x-kubernetes-list-map-keys"] = keys
    return spec_schema(x=prop)


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (
            list_schema("set", {"type": "string"}),
            ["a", "b", "a", "a", "c", "b"],
            [("spec.x[2]", 'Duplicate value: "a"'), ("spec.x[5]", 'Duplicate value: "b"')],
        ),
        (list_schema("set", {"type": "integer"}), [1, 2, 1], [("spec.x[2]", "Duplicate value: 1")]),
        (
            list_schema("set", {"type": "object", "x-kubernetes-map-type": "atomic"}),
            [{"a": 1}, {"a": 1}],
            [("spec.x[1]", 'Duplicate value: map[string]interface {}{"a":1}')],
        ),
        (
            list_schema("map", {"type": "object", "properties": {"name": {"type": "string"}}}, ["name"]),
            [{"name": "a", "v": 1}, {"name": "b"}, {"name": "a", "v": 2}],
            [("spec.x[2]", 'Duplicate value: map[string]interface {}{"name":"a"}')],
        ),
        (
            list_schema(
                "map",
                {
                    "type": "object",
                    "properties": {
                        "port": {"type": "integer"},
                        "protocol": {"type": "string", "default": "TCP"},
                    },
                },
                ["port", "protocol"],
            ),
            [{"port": 80}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}],
            [("spec.x[2]", 'Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}')],
        ),
        (list_schema("atomic", {"type": "string"}), ["a", "a"], []),
        (list_schema("set", {"type": "string"}), ["a", "b"], []),
    ],
)
def test_list_types_report_duplicates(
    schema: dict[str, Any], value: Any, expected: list[tuple[str, str]]
) -> None:
    errors = validate({"spec": {"x": value}}, schema)
    assert [(e.field, e.message) for e in errors] == expected
    assert all(e.type == "FieldValueDuplicate" for e in errors)


def test_list_map_items_must_be_objects() -> None:
    schema = list_schema("map", {"type": "object", "properties": {"name": {"type": "string"}}}, ["name"])
    errors = validate({"spec": {"x": [{"name": "a"}, "b"]}}, schema)
    assert (
        "spec.x[1]",
        "FieldValueInvalid",
        'Invalid value: "b": must be an object for an array of list-type map',
    ) in [(e.field, e.type, e.message) for e in errors]


def test_list_type_errors_under_additional_properties_use_bracketed_keys() -> None:
    schema = spec_schema(
        groups={
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {"type": "string"},
            },
        }
    )
    assert rendered({"spec": {"groups": {"g1": ["a", "a"]}}}, schema) == [
        ("spec.groups[g1][1]", "FieldValueDuplicate", 'Duplicate value: "a"')
    ]


def test_embedded_resource_needs_apiversion_and_kind() -> None:
    schema = spec_schema(
        template={
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        }
    )
    assert rendered({"spec": {"template": {"metadata": {"name": "x"}}}}, schema) == [
        ("spec.template.apiVersion", "FieldValueRequired", "Required value: must not be empty"),
        ("spec.template.kind", "FieldValueRequired", "Required value: must not be empty"),
    ]
    assert rendered({"spec": {"template": {"apiVersion": "batch/v1", "kind": "Job"}}}, schema) == []
    assert rendered({"spec": {"template": {"apiVersion": "a/b/c", "kind": "Job_x"}}}, schema) == [
        (
            "spec.template.apiVersion",
            "FieldValueInvalid",
            'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
        ),
        (
            "spec.template.kind",
            "FieldValueInvalid",
            'Invalid value: "Job_x": may have mixed case, but should otherwise match: a DNS-1035 label must '
            "consist "
            "of lower case alphanumeric characters or '-', start with an alphabetic character, and end with "
            "an "
            "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
            "'[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
    ]


def test_validate_with_a_base_path() -> None:
    errors = validate("x", {"type": "integer"}, "spec.replicas")
    assert [e.render() for e in errors] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'
    ]


# -- defaulting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "obj", "expected"),
    [
        (spec_schema(replicas={"type": "integer", "default": 1}), {"spec": {}}, {"spec": {"replicas": 1}}),
        (
            spec_schema(replicas={"type": "integer", "default": 1}),
            {"spec": {"replicas": 3}},
            {"spec": {"replicas": 3}},
        ),
        (spec_schema(replicas={"type": "integer", "default": 1}), {}, {}),  # no spec, nothing to default into
        (
            spec_schema(
                policy={
                    "type": "object",
                    "default": {},
                    "properties": {"retries": {"type": "integer", "default": 3}},
                }
            ),
            {"spec": {}},
            {"spec": {"policy": {"retries": 3}}},  # a default object is itself defaulted
        ),
        (
            spec_schema(
                tasks={
                    "type": "array",
                    "items": {"type": "object", "properties": {"retries": {"type": "integer", "default": 0}}},
                }
            ),
            {"spec": {"tasks": [{}, {"retries": 2}]}},
            {"spec": {"tasks": [{"retries": 0}, {"retries": 2}]}},
        ),
        (
            spec_schema(
                params={
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"type": {"type": "string", "default": "string"}},
                    },
                }
            ),
            {"spec": {"params": {"a": {}, "b": {"type": "int"}}}},
            {"spec": {"params": {"a": {"type": "string"}, "b": {"type": "int"}}}},
        ),
        (
            spec_schema(mode={"type": "string", "default": "fast"}),
            {"spec": {"mode": None}},
            {"spec": {"mode": "fast"}},  # a null where null is not allowed counts as absent
        ),
        (spec_schema(mode={"type": "string"}), {"spec": {"mode": None}}, {"spec": {}}),
        (
            spec_schema(mode={"type": "string", "nullable": True, "default": "fast"}),
            {"spec": {"mode": None}},
            {"spec": {"mode": None}},
        ),
        (
            spec_schema(x={"type": "array", "items": {"type": "string", "default": "d"}}),
            {"spec": {"x": [None, "a"]}},
            {"spec": {"x": ["d", "a"]}},
        ),
        (
            spec_schema(x={"type": "array", "items": {"type": "string"}}),
            {"spec": {"x": [None]}},
            {"spec": {"x": [None]}},  # left for validation to reject
        ),
        (
            spec_schema(x={"x-kubernetes-preserve-unknown-fields": True}),
            {"spec": {"x": {"y": None}}},
            {"spec": {"x": {"y": None}}},
        ),
    ],
)
def test_apply_defaults(schema: dict[str, Any], obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert apply_defaults(obj, schema) == expected
    assert obj == expected  # in place


def test_defaults_are_copies() -> None:
    schema = spec_schema(tags={"type": "array", "items": {"type": "string"}, "default": ["a"]})
    first = apply_defaults({"spec": {}}, schema)
    first["spec"]["tags"].append("b")
    assert apply_defaults({"spec": {}}, schema) == {"spec": {"tags": ["a"]}}


def test_apply_defaults_on_a_non_object_returns_it() -> None:
    assert apply_defaults(None, spec_schema()) is None
    assert apply_defaults("x", {"type": "string", "default": "y"}) == "x"


# -- pruning --------------------------------------------------------------------------------------

PIPELINE_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}},
                },
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
                },
                "anything": {"type": "object", "additionalProperties": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                },
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def test_prune_removes_unknown_fields_and_reports_them_sorted() -> None:
    obj = {
        "apiVersion": "baton.dev/v1",
        "kind": "Pipeline",
        "metadata": {"name": "p", "labels": {"a": "b"}, "whatever": 1},
        "spec": {
            "foo": 1,
            "tasks": [{"name": "a", "bar": 2}, {"name": "b"}, "scalar"],
            "params": {"p1": {"v": "x", "w": "y"}},
            "extra": {"free": {"deep": 1}, "known": {"a": "x", "b": "y"}},
            "anything": {"x": {"y": 1}},
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "t"},
                "spec": {"x": 1},
                "junk": 1,
            },
        },
        "status": {"phase": "Running", "handler": {"done": True}},
        "zzz": True,
    }
    removed = prune(obj, PIPELINE_SCHEMA)
    assert removed == [
        "spec.extra.known.b",
        "spec.foo",
        "spec.params.p1.w",
        "spec.tasks[0].bar",
        "spec.template.junk",
        "status.handler",
        "zzz",
    ]
    assert obj == {
        "apiVersion": "baton.dev/v1",
        "kind": "Pipeline",
        "metadata": {"name": "p", "labels": {"a": "b"}, "whatever": 1},
        "spec": {
            "tasks": [{"name": "a"}, {"name": "b"}, "scalar"],
            "params": {"p1": {"v": "x"}},
            "extra": {"free": {"deep": 1}, "known": {"a": "x"}},
            "anything": {"x": {"y": 1}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"}, "spec": {"x": 1}},
        },
        "status": {"phase": "Running"},
    }


def test_prune_below_the_root() -> None:
    obj = {"apiVersion": "v1", "a": 1}
    assert prune(obj, {"type": "object", "properties": {"a": {"type": "integer"}}}, is_root=False) == [
        "apiVersion"
    ]
    assert obj == {"a": 1}


def test_prune_keeps_root_meta_only_with_the_right_types() -> None:
    obj = {"apiVersion": 1, "kind": "K", "metadata": "oops"}
    assert prune(obj, {"type": "object"}) == ["apiVersion", "metadata"]
    assert obj == {"kind": "K"}


def test_prune_without_a_schema_for_array_items_drops_their_fields() -> None:
    obj = {"spec": {"xs": [{"a": 1}]}}
    assert prune(obj, spec_schema(xs={"type": "array"})) == ["spec.xs[0].a"]
    assert obj == {"spec": {"xs": [{}]}}


def test_prune_nothing_to_do() -> None:
    obj = {"apiVersion": "v1", "kind": "K", "metadata": {}, "spec": {"tasks": [{"name": "a"}]}}
    before = copy.deepcopy(obj)
    assert prune(obj, PIPELINE_SCHEMA) == []
    assert obj == before


# -- structural rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (PIPELINE_SCHEMA, []),
        (
            {"type": "object", "properties": {"spec": {"properties": {}}}},
            ["properties[spec].type: Required value: must not be empty for specified object fields"],
        ),
        ({"properties": {}}, ["type: Required value: must not be empty at the root"]),
        (
            {"type": "array", "items": {"type": "string"}},
            ['type: Invalid value: "array": must be object at the root'],
        ),
        (
            {"type": "object", "properties": {"xs": {"type": "array"}}},
            ["properties[xs].items: Required value: must be specified"],
        ),
        (
            {"type": "object", "properties": {"xs": {"type": "array", "items": {}}}},
            ["properties[xs].items.type: Required value: must not be empty for specified array items"],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "p": {"x-kubernetes-int-or-string": True},
                    "q": {"x-kubernetes-preserve-unknown-fields": True},
                },
            },
            [],
        ),
        (
            {"type": "object", "properties": {"x": {"type": "text"}}},
            [
                'properties[x].type: Unsupported value: "text": supported values: "array", "boolean", '
                '"integer", '
                '"number", "object", "string"'
            ],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "metadata": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "maxLength": 20}},
                    }
                },
            },
            [],
        ),
        (
            {
                "type": "object",
                "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}},
            },
            [
                "properties[metadata]: Forbidden: must not specify anything other than name and "
                "generateName, but "
                "metadata is implicitly specified"
            ],
        ),
        (
            {"type": "object", "properties": {"kind": {"type": "integer"}}},
            ['properties[kind].type: Invalid value: "integer": must be string'],
        ),
        (
            {
                "type": "object",
                "properties": {"xs": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
            },
            [
                "properties[xs].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime "
                "complexity "
                "becomes quadratic"
            ],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "m": {
                        "type": "object",
                        "properties": {"a": {"type": "string"}},
                        "additionalProperties": {"type": "string"},
                    }
                },
            },
            [
                "properties[m].additionalProperties: Forbidden: additionalProperties and properties are "
                "mutual exclusive"
            ],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "xs": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}
                },
            },
            [
                "properties[xs].x-kubernetes-list-map-keys: Required value: must not be empty if "
                "x-kubernetes-list-type "
                "is map"
            ],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "xs": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}}
                },
            },
            [
                'properties[xs].x-kubernetes-list-type: Unsupported value: "bag": supported values: '
                '"atomic", "map", '
                '"set"'
            ],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "xs": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["id"],
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    }
                },
            },
            [
                'properties[xs].x-kubernetes-list-map-keys: Invalid value: []interface {}{"id"}: entries '
                "must all be "
                "names of item properties"
            ],
        ),
        (
            {
                "type": "object",
                "properties": {"t": {"type": "object", "x-kubernetes-embedded-resource": True}},
            },
            [
                "properties[t].properties: Required value: must not be empty if "
                "x-kubernetes-embedded-resource is true "
                "without x-kubernetes-preserve-unknown-fields"
            ],
        ),
    ],
)
def test_check_structural(schema: dict[str, Any], expected: list[str]) -> None:
    assert check_structural(schema) == expected


def test_structural_errors_with_the_apiserver_path() -> None:
    errors = structural_errors(
        {"type": "object", "properties": {"spec": {}}}, "spec.versions[0].schema.openAPIV3Schema"
    )
    assert [e.render() for e in errors] == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty "
        "for "
        "specified object fields"
    ]
    assert errors[0].type == "FieldValueRequired"


# -- field errors and Go spellings ----------------------------------------------------------------


def test_aggregate_message() -> None:
    one = required("spec.a")
    two = invalid("spec.b", 3, "too big")
    assert aggregate_message([one]) == "spec.a: Required value"
    assert aggregate_message([one, two, one]) == "[spec.a: Required value, spec.b: Invalid value: 3: too big]"
    assert aggregate_message([]) == ""


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (invalid("f", None, "d"), 'Invalid value: "null": d'),
        (invalid("f", True, "d"), "Invalid value: true: d"),
        (invalid("f", 2.0, "d"), "Invalid value: 2: d"),
        (
            invalid("f", {"b": [1, "x"], "a": None}, "d"),
            'Invalid value: map[string]interface {}{"a":interface {}(nil), "b":[]interface {}{1, "x"}}: d',
        ),
        (invalid("f", 'say "hi"\n', "d"), 'Invalid value: "say \\"hi\\"\\n": d'),
        (too_long("f", -1), "Too long: value is too long"),
        (too_many("f", -1, 3), "Too many: must have at most 3 items"),
    ],
)
def test_error_bodies(error: FieldError, message: str) -> None:
    assert error.message == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("inf"), "+Inf"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": [True, None, 1.0, 1e21, 1e-7]}, '{"a":[true,null,1,1e+21,1e-7],"b":1}'),
        ("<a&b>", '"\\u003ca\\u0026b\\u003e"'),
        ("é", '"é"'),
        (1e20, "100000000000000000000"),
    ],
)
def test_go_json(value: Any, text: str) -> None:
    assert go_json(value) == text


def test_go_quote_and_syntax() -> None:
    assert go_quote("tab\there\x07\x01é") == '"tab\\there\\a\\x01é"'
    assert go_syntax(["a", 1, {"k": False}]) == '[]interface {}{"a", 1, map[string]interface {}{"k":false}}'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips(value: float) -> None:
    assert float(go_float(value)) == value


# -- properties -----------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


def schema_of(value: Any) -> dict[str, Any]:
    """The tightest structural schema `value` satisfies."""
    if value is None:
        return {"type": "string", "nullable": True}
    if isinstance(value, bool):
        return {"type": "boolean", "enum": [value]}
    if isinstance(value, int):
        return {"type": "integer", "minimum": value, "maximum": value}
    if isinstance(value, str):
        return {"type": "string", "minLength": len(value), "maxLength": len(value)}
    if isinstance(value, list):
        return {
            "type": "array",
            "items": {"x-kubernetes-preserve-unknown-fields": True},
            "minItems": len(value),
            "maxItems": len(value),
        }
    return {
        "type": "object",
        "properties": {k: schema_of(v) for k, v in value.items()},
        "required": sorted(value),
    }


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_an_object_satisfies_its_own_schema_and_loses_nothing(obj: dict[str, Any]) -> None:
    schema = schema_of(obj)
    before = copy.deepcopy(obj)
    assert validate(obj, schema) == []
    assert prune(obj, schema, is_root=False) == []
    assert obj == before


@given(
    st.dictionaries(st.text(min_size=1, max_size=4), json_scalars, max_size=4),
    st.text(min_size=1, max_size=4),
)
def test_prune_reports_exactly_what_it_removes(obj: dict[str, Any], known: str) -> None:
    schema = {"type": "object", "properties": {known: {"x-kubernetes-preserve-unknown-fields": True}}}
    expected = sorted(k for k in obj if k != known)
    assert prune(obj, schema, is_root=False) == expected
    assert set(obj) <= {known}


RATCHETED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "attempts": {"type": "integer", "minimum": 0}},
            },
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
    },
}


@pytest.mark.parametrize(
    ("old", "new", "errors"),
    [
        # A value equal to what is stored is not validated again (it was valid, or the schema changed
        # since: the API server's ratcheting lets such a value stay).
        ({"tasks": [{"attempts": -1}]}, {"tasks": [{"attempts": -1}]}, []),
        ({"tasks": [{"attempts": -1}, {"attempts": 1}]}, {"tasks": [{"attempts": -1}, {"attempts": 2}]}, []),
        ({"labels": {"a": "long"}}, {"labels": {"a": "long", "b": "ok"}}, []),
        # What changed is validated, wherever it is.
        ({"tasks": [{"attempts": 1}]}, {"tasks": [{"attempts": -1}]}, ["tasks[0].attempts"]),
        ({"tasks": []}, {"tasks": [{"attempts": 1}, {"attempts": -2}]}, ["tasks[1].attempts"]),
        ({"labels": {"a": "ok"}}, {"labels": {"a": "long"}}, ["labels.a"]),
        # JSON's true is not 1, though Python's True == 1 (in an element that changed otherwise too).
        (
            {"tasks": [{"name": "a", "attempts": 1}]},
            {"tasks": [{"name": "b", "attempts": True}]},
            ["tasks[0].attempts"],
        ),
        # No old: a create validates everything.
        (None, {"tasks": [{"attempts": -1}]}, ["tasks[0].attempts"]),
    ],
)
def test_an_update_validates_what_changed(
    old: dict[str, Any] | None, new: dict[str, Any], errors: list[str]
) -> None:
    assert [e.field for e in validate(new, RATCHETED, old=old)] == errors
