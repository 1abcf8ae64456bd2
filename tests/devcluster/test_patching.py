"""Merge patch, JSON patch, strategic merge patch, server-side apply and managedFields sets."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.devcluster.patching import (
    PatchError,
    apply_patch,
    fields_v1,
    json_equal,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from baton.devcluster.patchmeta import ListStrategy, list_strategy

# -- RFC 7386 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # the examples of RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_touch_its_inputs() -> None:
    target = {"metadata": {"labels": {"a": "1"}}, "spec": {"xs": [1]}}
    patch = {"metadata": {"labels": {"a": None, "b": "2"}}, "spec": {"xs": [2]}}
    before = copy.deepcopy((target, patch))
    result = merge_patch(target, patch)
    result["spec"]["xs"].append(3)
    assert (target, patch) == before


json_leaves = st.booleans() | st.integers(-100, 100) | st.text(max_size=3)
json_trees = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(max_size=2), json_trees, max_size=4)


def merge_diff(source: Any, target: Any) -> Any:
    """The merge patch that turns `source` into `target`."""
    if not (isinstance(source, dict) and isinstance(target, dict)):
        return copy.deepcopy(target)
    patch: dict[str, Any] = {k: None for k in source if k not in target}
    for key, value in target.items():
        if key not in source or source[key] != value or type(source[key]) is not type(value):
            patch[key] = merge_diff(source.get(key), value)
    return patch


@given(json_objects, json_objects)
def test_merge_patch_of_the_diff_reproduces_the_target(
    source: dict[str, Any], target: dict[str, Any]
) -> None:
    assert merge_patch(source, merge_diff(source, target)) == target


@given(json_objects)
def test_merge_patch_is_idempotent(patch: dict[str, Any]) -> None:
    once = merge_patch({}, patch)
    assert merge_patch(once, patch) == once


# -- RFC 6902 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "ops", "result"),
    [  # the examples of RFC 6902, appendix A, and a few more
        ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        ({"/": 9, "~1": 10}, [{"op": "replace", "path": "/~1", "value": 1}], {"/": 1, "~1": 10}),
        ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
        ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
        ({"a": 1}, [{"op": "add", "path": "", "value": {"b": 2}}], {"b": 2}),
        ({"a": [1, 2]}, [{"op": "add", "path": "/a/2", "value": 3}], {"a": [1, 2, 3]}),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
        ({"a": 1}, [{"op": "test", "path": "/missing", "value": None}], {"a": 1}),
        ({"a": 1}, [{"op": "add", "path": "/a", "value": 2}], {"a": 2}),
        ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": {"b": 1}}),
        ({"a": 1}, [], {"a": 1}),
    ],
)
def test_json_patch(doc: Any, ops: list[dict[str, Any]], result: Any) -> None:
    assert json_patch(doc, ops) == result


def test_kopf_finalizer_patch() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "run", "resourceVersion": "11"}}
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "11"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["kopf.zalando.org/KopfFinalizerMarker"]},
    ]
    assert json_patch(obj, ops)["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
    obj["metadata"]["resourceVersion"] = "12"
    with pytest.raises(PatchError) as caught:
        json_patch(obj, ops)
    assert caught.value.reason == "Invalid"
    assert str(caught.value) == 'testing value /metadata/resourceVersion failed: "12" != "11"'
    assert "finalizers" not in obj["metadata"]


@pytest.mark.parametrize(
    ("doc", "ops", "reason", "message"),
    [
        ({"a": 1}, {"op": "add"}, "BadRequest", "a JSON patch must be a list of operations"),
        ({"a": 1}, ["add"], "BadRequest", 'a JSON patch operation must be an object, not "add"'),
        ({"a": 1}, [{"op": "frobnicate", "path": "/a"}], "Invalid", "Unexpected kind: frobnicate"),
        ({"a": 1}, [{"path": "/a"}], "Invalid", "Unexpected kind: null"),
        (
            {"a": 1},
            [{"op": "add", "value": 1}],
            "Invalid",
            "add operation failed to decode path: missing value",
        ),
        (
            {"a": 1},
            [{"op": "add", "path": "a", "value": 1}],
            "Invalid",
            'add operation does not apply: invalid JSON pointer "a"',
        ),
        (
            {"a": 1},
            [{"op": "test", "path": "/a", "value": True}],
            "Invalid",
            "testing value /a failed: 1 != true",
        ),
        (
            {"a": 1},
            [{"op": "test", "path": "/b", "value": 1}],
            "Invalid",
            "testing value /b failed: path not found",
        ),
        (
            {"a": {}},
            [{"op": "remove", "path": "/a/b"}],
            "Invalid",
            "Unable to remove nonexistent key: b: missing value",
        ),
        (
            {"a": {}},
            [{"op": "remove", "path": "/x/b"}],
            "Invalid",
            'remove operation does not apply: doc is missing path: "/x/b": missing value',
        ),
        (
            {"a": [1]},
            [{"op": "remove", "path": "/a/1"}],
            "Invalid",
            "Unable to access invalid index: 1: invalid index referenced",
        ),
        (
            {"a": {}},
            [{"op": "replace", "path": "/a/b", "value": 1}],
            "Invalid",
            "replace operation does not apply: doc is missing key: /a/b: missing value",
        ),
        (
            {"a": {}},
            [{"op": "add", "path": "/x/y", "value": 1}],
            "Invalid",
            'add operation does not apply: doc is missing path: "/x/y": missing value',
        ),
        (
            {"a": [1]},
            [{"op": "add", "path": "/a/5", "value": 1}],
            "Invalid",
            "Unable to access invalid index: 5: invalid index referenced",
        ),
        (
            {"a": [1]},
            [{"op": "add", "path": "/a/01", "value": 1}],
            "Invalid",
            "Unable to access invalid index: 01: invalid index referenced",
        ),
        (
            {"a": "s"},
            [{"op": "add", "path": "/a/b", "value": 1}],
            "Invalid",
            'add operation does not apply: doc is missing path: "/a/b": missing value',
        ),
        (
            {"a": 1},
            [{"op": "move", "from": "/b", "path": "/c"}],
            "Invalid",
            "move operation does not apply: doc is missing from path: /b: missing value",
        ),
        (
            {"a": 1},
            [{"op": "copy", "from": "/b", "path": "/c"}],
            "Invalid",
            "copy operation does not apply: doc is missing from path: /b: missing value",
        ),
        (
            {"a": {"b": 1}},
            [{"op": "move", "from": "/a", "path": "/a/c"}],
            "Invalid",
            "move operation does not apply: cannot move /a into its own child /a/c",
        ),
        (
            {"a": 1},
            [{"op": "remove", "path": ""}],
            "Invalid",
            "remove operation does not apply: cannot remove the whole document",
        ),
    ],
)
def test_json_patch_errors(doc: Any, ops: Any, reason: str, message: str) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError) as caught:
        json_patch(doc, ops)
    assert (caught.value.reason, str(caught.value)) == (reason, message)
    assert doc == before


@given(json_objects, st.text(alphabet="ab/~", min_size=1, max_size=4), json_trees)
def test_json_patch_add_then_remove_restores(doc: dict[str, Any], key: str, value: Any) -> None:
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    add: list[dict[str, Any]] = [{"op": "add", "path": pointer, "value": value}]
    added = json_patch(doc, add)
    assert added[key] == value
    test: list[dict[str, Any]] = [{"op": "test", "path": pointer, "value": value}]
    assert json_patch(added, test) == added
    if key not in doc:
        assert json_patch(added, [{"op": "remove", "path": pointer}]) == doc


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        ({"a": [1]}, {"a": [1.0]}, True),
        ("1", 1, False),
        (None, None, True),
        ([1, 2], [2, 1], False),
        ({"a": 1}, {"b": 1}, False),
    ],
)
def test_json_equal(left: Any, right: Any, equal: bool) -> None:
    assert json_equal(left, right) is equal


# -- strategic merge patch ------------------------------------------------------------------------

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "labels": {"app": "web", "tier": "fe"},
        "finalizers": ["a.example.com/x"],
        "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs"}],
    },
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "args": ["--a", "--b"],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80, "name": "http"}],
                "volumeMounts": [{"mountPath": "/data", "name": "data"}],
            },
            {"name": "sidecar", "image": "proxy:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "k1", "operator": "Exists"}],
        "imagePullSecrets": [{"name": "reg"}],
    },
    "status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]
    },
}


def smp(patch: dict[str, Any], target: dict[str, Any] | None = None, kind: str = "Pod") -> dict[str, Any]:
    return strategic_merge_patch(POD if target is None else target, patch, kind=kind)


def test_containers_merge_by_name_and_env_by_name() -> None:
    result = smp(
        {"spec": {"containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "3"}]}]}}
    )
    app, sidecar = result["spec"]["containers"]
    assert app["image"] == "app:2"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert app["args"] == ["--a", "--b"]
    assert sidecar == {"name": "sidecar", "image": "proxy:1"}


def test_new_list_items_go_before_the_live_ones_as_upstream_orders_them() -> None:
    result = smp({"spec": {"containers": [{"name": "debug", "image": "busybox"}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["debug", "app", "sidecar"]
    result = smp({"spec": {"containers": [{"name": "sidecar", "image": "proxy:2"}, {"name": "debug"}]}})
    assert [c["name"] for c in result["spec"]["containers"]] == ["app", "sidecar", "debug"]


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        (
            {"spec": {"volumes": [{"name": "data", "emptyDir": None, "hostPath": {"path": "/x"}}]}},
            ("spec", "volumes"),
            [{"name": "data", "hostPath": {"path": "/x"}}],
        ),
        (
            {
                "spec": {
                    "containers": [
                        {"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}
                    ]
                }
            },
            ("spec", "containers", 0, "volumeMounts"),
            [{"mountPath": "/data", "name": "data", "readOnly": True}],
        ),
        (
            {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}},
            ("spec", "containers", 0, "ports"),
            [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
        ),
        (
            {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
            ("metadata", "ownerReferences"),
            [{"uid": "u1", "kind": "ReplicaSet", "name": "rs", "controller": True}],
        ),
        (
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            ("status", "conditions"),
            [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}],
        ),
        (
            {"spec": {"imagePullSecrets": [{"name": "other"}]}},
            ("spec", "imagePullSecrets"),
            [{"name": "other"}, {"name": "reg"}],
        ),
        (
            {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}},
            ("spec", "tolerations"),
            [{"key": "k2", "operator": "Exists"}],
        ),  # no merge key: replaced
        (
            {"spec": {"containers": [{"name": "app", "args": ["--c"]}]}},
            ("spec", "containers", 0, "args"),
            ["--c"],
        ),
        (
            {"metadata": {"finalizers": ["b.example.com/y", "a.example.com/x"]}},
            ("metadata", "finalizers"),
            ["b.example.com/y", "a.example.com/x"],
        ),
        ({"metadata": {"finalizers": ["a.example.com/x"]}}, ("metadata", "finalizers"), ["a.example.com/x"]),
        (
            {"metadata": {"finalizers": ["b.example.com/y"]}},
            ("metadata", "finalizers"),
            ["b.example.com/y", "a.example.com/x"],
        ),
        (
            {"metadata": {"labels": {"tier": None, "new": "x"}}},
            ("metadata", "labels"),
            {"app": "web", "new": "x"},
        ),
        ({"spec": {"tolerations": None}}, ("spec",), None),
    ],
)
def test_list_strategies(patch: dict[str, Any], path: tuple[Any, ...], expected: Any) -> None:
    node: Any = smp(patch)
    for step in path:
        node = node[step]
    if expected is None:
        assert "tolerations" not in node
    else:
        assert node == expected


def test_service_ports_merge_by_port() -> None:
    service = {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = smp({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, service, kind="Service")
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]
    assert list_strategy("Service", ("spec", "ports")) == ListStrategy("map", "port", ("port", "protocol"))
    assert list_strategy("Pod", ("spec", "containers", "ports")).key == "containerPort"
    assert list_strategy("Pod", ("spec", "tolerations")).type == "atomic"
    assert list_strategy("Pod", ()).type == "atomic"
    assert list_strategy("Pipeline", ("spec", "tasks"), {"spec.tasks": "name"}).key == "name"
    assert list_strategy("Pod", ("spec", "containers"), {"spec.containers": None}).type == "atomic"


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        (
            {"metadata": {"labels": {"$patch": "replace", "only": "this"}}},
            ("metadata", "labels"),
            {"only": "this"},
        ),
        ({"metadata": {"labels": {"$patch": "delete"}}}, ("metadata", "labels"), {}),
        (
            {"metadata": {"labels": {"$patch": "merge", "x": "y"}}},
            ("metadata", "labels"),
            {"app": "web", "tier": "fe", "x": "y"},
        ),
        (
            {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}},
            ("spec", "containers"),
            [POD["spec"]["containers"][0]],
        ),
        (
            {"spec": {"containers": [{"name": "solo", "image": "s"}, {"$patch": "replace"}]}},
            ("spec", "containers"),
            [{"name": "solo", "image": "s"}],
        ),
        (
            {"spec": {"containers": [{"name": "app", "$patch": "merge", "image": "app:3"}]}},
            ("spec", "containers", 0, "image"),
            "app:3",
        ),
        (
            {
                "spec": {
                    "volumes": [
                        {"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/h"}}
                    ]
                }
            },
            ("spec", "volumes"),
            [{"name": "data", "hostPath": {"path": "/h"}}],
        ),
        (
            {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                    "containers": [{"name": "app", "image": "app:9"}],
                }
            },
            ("spec", "containers"),
            [{"name": "sidecar", "image": "proxy:1"}, {**POD["spec"]["containers"][0], "image": "app:9"}],
        ),
        (
            {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}, {"name": "app"}],
                    "containers": [{"name": "new", "image": "n"}],
                }
            },
            ("spec", "containers"),
            [
                {"name": "sidecar", "image": "proxy:1"},
                {"name": "new", "image": "n"},
                POD["spec"]["containers"][0],
            ],
        ),
        (
            {"metadata": {"$setElementOrder/finalizers": ["b", "a.example.com/x"], "finalizers": ["b"]}},
            ("metadata", "finalizers"),
            ["b", "a.example.com/x"],
        ),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x", "absent"]}},
            ("metadata", "finalizers"),
            [],
        ),
        (
            {"spec": {"containers": [{"name": "app", "$deleteFromPrimitiveList/args": ["--a"]}]}},
            ("spec", "containers", 0, "args"),
            ["--b"],
        ),
        (
            {"spec": {"newMap": {"$patch": "replace", "a": {"b": None, "c": 1}}}},
            ("spec", "newMap"),
            {"a": {"c": 1}},
        ),
        (
            {
                "spec": {
                    "initContainers": [
                        {"name": "init", "env": [{"name": "X", "$patch": "merge", "value": None}]}
                    ]
                }
            },
            ("spec", "initContainers"),
            [{"name": "init", "env": [{"name": "X"}]}],
        ),
    ],
)
def test_directives(patch: dict[str, Any], path: tuple[Any, ...], expected: Any) -> None:
    node: Any = smp(patch)
    for step in path:
        node = node[step]
    assert node == expected


def no_directives(value: Any) -> bool:
    if isinstance(value, dict):
        return not any(k.startswith("$") for k in value) and all(no_directives(v) for v in value.values())
    if isinstance(value, list):
        return all(no_directives(v) for v in value)
    return True


def test_every_directive_is_stripped() -> None:
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["a.example.com/x"],
            "$retainKeys": ["name", "labels", "finalizers"],
        },
        "spec": {
            "tolerations": [{"key": "k", "$patch": "merge"}],
            "fresh": [{"$patch": "replace"}],
            "containers": [{"name": "app", "resources": {"$patch": "replace", "limits": {"cpu": "1"}}}],
        },
    }
    result = smp(patch)
    assert no_directives(result)
    assert result["spec"]["tolerations"] == [{"key": "k"}]
    assert result["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}
    assert set(result["metadata"]) == {"name", "labels", "finalizers"}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (["not", "a", "map"], "a strategic merge patch must be a JSON object"),
        ({"metadata": {"labels": {"$patch": "explode"}}}, "unknown patch type: explode in map: map[]"),
        (
            {"spec": {"containers": [{"name": "x", "$patch": "explode"}]}},
            "unknown patch type: explode in map: map[$patch:explode name:x]",
        ),
        (
            {"spec": {"containers": [{"image": "nameless"}]}},
            "map: map[image:nameless] does not contain declared merge key: name",
        ),
        ({"spec": {"containers": [{"$patch": "delete"}]}}, "delete patch type with no merge key defined"),
        ({"metadata": {"$retainKeys": "name"}}, "invalid patch format of retainKeys"),
        ({"metadata": {"$retainKeys": ["name"], "labels": {}}}, "invalid patch format of retainKeys"),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": "x"}},
            "invalid patch format of primitive list",
        ),
        ({"spec": {"$setElementOrder/containers": "app"}}, "invalid patch format of setElementOrder list"),
        (
            {"spec": {"$setElementOrder/containers": [{"image": "x"}]}},
            "map: map[image:x] does not contain declared merge key: name",
        ),
    ],
)
def test_strategic_errors(patch: Any, message: str) -> None:
    before = copy.deepcopy(POD)
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(POD, patch, kind="Pod")
    assert str(caught.value) == message
    assert caught.value.reason == "BadRequest"
    assert before == POD


def test_strategic_merge_patch_returns_a_new_object() -> None:
    before = copy.deepcopy(POD)
    patch = {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}}
    patch_before = copy.deepcopy(patch)
    result = smp(patch)
    result["spec"]["containers"][1]["image"] = "changed"
    assert POD == before and patch == patch_before
    assert result["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]


plain_keys = st.text(alphabet="abcxyz", min_size=1, max_size=3)
plain_trees = st.recursive(
    json_leaves,
    lambda children: st.lists(json_leaves, max_size=2) | st.dictionaries(plain_keys, children, max_size=3),
    max_leaves=8,
)
plain_patches = st.recursive(
    json_leaves | st.none(),
    lambda children: st.lists(json_leaves, max_size=2) | st.dictionaries(plain_keys, children, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(plain_keys, plain_trees, max_size=4),
    st.dictionaries(plain_keys, plain_patches, max_size=4),
)
def test_strategic_is_a_merge_patch_without_merge_keys(target: dict[str, Any], patch: dict[str, Any]) -> None:
    assert strategic_merge_patch(target, patch, kind="ConfigMap") == merge_patch(target, patch)


# -- server-side apply ----------------------------------------------------------------------------

APPLIED_V1: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "old": "x"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "image": "app:1", "args": ["--a"], "env": [{"name": "A", "value": "1"}]},
                    {"name": "gone", "image": "g:1"},
                ]
            }
        },
    },
}


def live_after_v1() -> dict[str, Any]:
    live = apply_patch(None, APPLIED_V1, None)
    # Other managers (a controller, kubectl edit) set fields of their own.
    live["metadata"].update({"uid": "u-1", "resourceVersion": "5", "annotations": {"note": "kept"}})
    live["metadata"]["labels"]["team"] = "data"
    live["metadata"]["finalizers"] = ["other/finalizer"]
    live["spec"]["template"]["spec"]["containers"].append({"name": "injected", "image": "sidecar:1"})
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    live["status"] = {"readyReplicas": 1}
    return live


def test_apply_creates_from_the_applied_config() -> None:
    created = apply_patch(None, {**APPLIED_V1, "spec": {**APPLIED_V1["spec"], "paused": None}}, None)
    assert created == APPLIED_V1
    assert created is not APPLIED_V1


def test_apply_updates_and_takes_back_what_it_no_longer_applies() -> None:
    live = live_after_v1()
    applied_v2 = copy.deepcopy(APPLIED_V1)
    del applied_v2["metadata"]["labels"]["old"]
    applied_v2["metadata"]["finalizers"] = ["mine/finalizer"]
    applied_v2["spec"]["replicas"] = 3
    app = applied_v2["spec"]["template"]["spec"]["containers"][0]
    app["image"] = "app:2"
    app["args"] = ["--b"]
    del app["env"]
    applied_v2["spec"]["template"]["spec"]["containers"] = [app, {"name": "new", "image": "n:1"}]
    before = copy.deepcopy((live, applied_v2))

    result = apply_patch(live, applied_v2, APPLIED_V1)

    assert (live, applied_v2) == before
    assert result["metadata"]["labels"] == {"app": "web", "team": "data"}
    assert result["metadata"]["annotations"] == {"note": "kept"}
    assert result["metadata"]["uid"] == "u-1"
    assert result["metadata"]["finalizers"] == ["other/finalizer", "mine/finalizer"]
    assert result["spec"]["replicas"] == 3
    assert result["status"] == {"readyReplicas": 1}
    containers = result["spec"]["template"]["spec"]["containers"]
    # As structured-merge-diff walks the lists: a live-only item stays where it is reached.
    assert [c["name"] for c in containers] == ["app", "injected", "new"]
    assert containers[0] == {
        "name": "app",
        "image": "app:2",
        "args": ["--b"],
        "resources": {"limits": {"cpu": "1"}},
    }


def test_apply_with_nulls_and_type_changes() -> None:
    live = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "extra": [1]}
    result = apply_patch(
        live,
        {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": None}, "extra": {"now": "a map"}},
        None,
    )
    assert result == {
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"b": "2"},
        "extra": {"now": "a map"},
    }


def test_apply_takes_back_a_whole_map_it_owned() -> None:
    previous = {
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1"},
        "binaryData": {"x": "eA=="},
    }
    live = apply_patch(None, previous, None)
    live["data"]["mine-not"] = "2"
    result = apply_patch(live, {"kind": "ConfigMap", "metadata": {"name": "c"}}, previous)
    assert result == {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"mine-not": "2"}}


def test_apply_with_crd_list_keys() -> None:
    live = {"kind": "Pipeline", "spec": {"tasks": [{"name": "a", "image": "x"}, {"name": "b"}]}}
    applied = {"kind": "Pipeline", "spec": {"tasks": [{"name": "a", "retries": 2}]}}
    result = apply_patch(live, applied, None, merge_keys={"spec.tasks": "name"})
    assert result["spec"]["tasks"] == [{"name": "a", "image": "x", "retries": 2}, {"name": "b"}]
    assert apply_patch(live, applied, None)["spec"]["tasks"] == [{"name": "a", "retries": 2}]


def test_apply_rejects_a_non_object() -> None:
    with pytest.raises(PatchError):
        apply_patch(None, ["x"], None)  # type: ignore[arg-type]


@given(json_objects)
def test_applying_the_same_config_twice_changes_nothing(config: dict[str, Any]) -> None:
    once = apply_patch(None, config, None)
    assert apply_patch(once, config, config) == once


# -- managedFields --------------------------------------------------------------------------------


def test_fields_v1_of_a_deployment() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "u",
            "resourceVersion": "9",
            "generation": 2,
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "managedFields": [],
            "labels": {"app": "web"},
            "finalizers": ["x/y"],
        },
        "spec": {
            "replicas": 2,
            "selector": {},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "args": ["--a"],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [],
                        }
                    ]
                }
            },
        },
    }
    assert fields_v1(obj) == {
        "f:metadata": {"f:finalizers": {'v:"x/y"': {}}, "f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"app"}': {
                            ".": {},
                            "f:args": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {
                                    ".": {},
                                    "f:containerPort": {},
                                    "f:protocol": {},
                                }
                            },
                        }
                    }
                }
            },
        },
    }


def test_fields_v1_leaves_out_server_fields_and_sorts_dot_first() -> None:
    assert fields_v1({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == {}
    entry = fields_v1({"kind": "Pod", "spec": {"containers": [{"name": "a"}]}})["f:spec"]["f:containers"]
    assert list(entry['k:{"name":"a"}']) == [".", "f:name"]
    crd = fields_v1(
        {"kind": "Pipeline", "spec": {"tasks": [{"name": "t", "image": "i"}]}},
        merge_keys={"spec.tasks": "name"},
    )
    assert crd == {"f:spec": {"f:tasks": {'k:{"name":"t"}': {".": {}, "f:image": {}, "f:name": {}}}}}
