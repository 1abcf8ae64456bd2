"""Label and field selectors: grammar, matching, normalisation and upstream's error messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.devcluster.namerules import dns1035_label_errors, label_value_errors, qualified_name_errors
from baton.devcluster.selectors import (
    FieldSelector,
    LabelSelector,
    Requirement,
    SelectorError,
    label_selector_from_dict,
    parse_field_selector,
    parse_label_selector,
)

NAME_HELP = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
LABELS = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3", "example.com/team": "data"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("   ", True),
        ("app=web", True),
        ("app==web", True),
        ("app = web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("env in (prod,dev)", True),
        ("env in (dev)", False),
        ("env notin (dev,qa)", True),
        ("env notin (prod)", False),
        ("missing notin (x)", True),
        ("missing in (x)", False),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        (" app = web , ! legacy ", True),
        ("example.com/team=data", True),
        ("replicas>2", True),
        ("replicas<2", False),
        ("app>2", False),  # not a number on the object: never matches
        ("missing>1", False),
        ("missing=", False),
        ("in in (x)", False),  # "in" is a fine key
        ("env in (prod,)", True),
        ("env in (,prod)", True),
        ("env in ()", False),
    ],
)
def test_label_matching(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is matches


def test_empty_value_matches_an_empty_label() -> None:
    assert parse_label_selector("a=").matches({"a": ""})
    assert parse_label_selector("a in ()").matches({"a": ""})
    assert not parse_label_selector("a=").matches({})


def test_none_labels_are_no_labels() -> None:
    assert parse_label_selector("!a").matches(None)
    assert not parse_label_selector("a").matches(None)
    assert parse_label_selector("").matches(None)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("tier=x,app=y", "app=y,tier=x"),
        ("env in (b, a, b)", "env in (a,b)"),
        ("x notin (c,a)", "x notin (a,c)"),
        ("a==b", "a==b"),
        ("!z,y", "y,!z"),
        ("n>5,m<3", "m<3,n>5"),
        ("", ""),
    ],
)
def test_label_selector_string_is_normalised(text: str, normal: str) -> None:
    assert str(parse_label_selector(text)) == normal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a@b=c", f'unable to parse requirement: <nil>: Invalid value: "a@b": {NAME_HELP}'),
        ("app=a b", "found 'b', expected: ',' or 'end of string'"),
        ("app=web tier=x", "found 'tier', expected: ',' or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a,,b", "found ',', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("a (b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("! =a", "unable to parse requirement: found '=', expected: identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("app=a@", f'unable to parse requirement: values[0][app]: Invalid value: "a@": {VALUE_HELP}'),
        (
            "x>a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the "
            "value "
            "must be an integer",
        ),
        (
            "a=" + "v" * 64,
            'unable to parse requirement: values[0][a]: Invalid value: "'
            + "v" * 64
            + '": must be no more than 63 characters',
        ),
        (
            "k in (a@,b@)",
            "unable to parse requirement: ["
            f'values[0][k]: Invalid value: "a@": {VALUE_HELP}, values[1][k]: Invalid value: "b@": '
            f"{VALUE_HELP}]",
        ),
    ],
)
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("key", "problems"),
    [
        ("app", []),
        ("example.com/app", []),
        ("a" * 63, []),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("/app", ["prefix part must be non-empty"]),
        (
            "Example.com/app",
            [
                "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ],
        ),
        (
            "a/b/c",
            [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start "
                "and "
                "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
                "for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix "
                "and '/' (e.g. 'example.com/MyName')"
            ],
        ),
        ("example.com/", ["name part must be non-empty", NAME_HELP]),
        ("-app", [NAME_HELP]),
    ],
)
def test_qualified_names(key: str, problems: list[str]) -> None:
    assert qualified_name_errors(key) == problems


def test_label_values_and_kinds() -> None:
    assert label_value_errors("") == []
    assert label_value_errors("a.b_c-d") == []
    assert label_value_errors("-a") == [VALUE_HELP]
    assert dns1035_label_errors("pipeline") == []
    assert dns1035_label_errors("1pipeline") != []


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        (None, {"a": "b"}, False),
        ({}, {"a": "b"}, True),
        ({"matchLabels": {"app": "web"}}, LABELS, True),
        ({"matchLabels": {"app": "db"}}, LABELS, False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]}, LABELS, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, LABELS, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, LABELS, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, LABELS, False),
        (
            {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]},
            LABELS,
            True,
        ),
    ],
)
def test_label_selector_from_dict(
    selector: dict[str, Any] | None, labels: dict[str, str], matches: bool
) -> None:
    assert label_selector_from_dict(selector).matches(labels) is matches


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            '"Gt" is not a valid label selector operator',
        ),
        ({"matchLabels": {"a@": "x"}}, f'key: Invalid value: "a@": {NAME_HELP}'),
        ({"matchLabels": {"a": "x y"}}, f'values[0][a]: Invalid value: "x y": {VALUE_HELP}'),
        ({"matchLabels": {"a": 1}}, "matchLabels[a]: Invalid value: 1: must be a string"),
    ],
)
def test_label_selector_from_dict_errors(selector: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        label_selector_from_dict(selector)
    assert str(caught.value) == message


def test_selector_values() -> None:
    everything = parse_label_selector("")
    assert everything.empty() and everything == LabelSelector()
    assert label_selector_from_dict(None).nothing
    assert parse_label_selector("b,a=x").requirements == (
        Requirement("a", "=", ("x",)),
        Requirement("b", "exists"),
    )
    assert isinstance(SelectorError("x"), ValueError)


# -- field selectors ------------------------------------------------------------------------------

SUPPORTED = (
    "metadata.name",
    "metadata.namespace",
    "status.phase",
    "spec.nodeName",
    "involvedObject.name",
    "spec.unschedulable",
    "spec.replicas",
)
POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "unschedulable": False, "replicas": 3},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("metadata.name=web-2", False),
        ("metadata.namespace=default,status.phase=Running", True),
        ("metadata.namespace=default,status.phase!=Running", False),
        ("involvedObject.name=", True),  # missing reads as ""
        ("involvedObject.name!=", False),
        ("spec.unschedulable=false", True),
        ("spec.replicas=3", True),
        ("spec.nodeName=node-a,", True),  # empty terms are skipped
    ],
)
def test_field_matching(text: str, matches: bool) -> None:
    assert parse_field_selector(text, SUPPORTED).matches(POD) is matches


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec.foo=x", "field label not supported: spec.foo"),
        ("metadata.name = x", "field label not supported: metadata.name "),
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        ("metadata.name=a,b", "invalid selector: 'metadata.name=a,b'; can't understand 'b'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: ="),
        ("metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector(text, SUPPORTED)
    assert str(caught.value) == message


def test_field_selector_escapes_and_normalisation() -> None:
    selector = parse_field_selector("status.phase!=a\\,b\\=c\\\\,metadata.name==x", SUPPORTED)
    assert selector.matches({"metadata": {"name": "x"}, "status": {"phase": "other"}})
    assert not selector.matches({"metadata": {"name": "x"}, "status": {"phase": "a,b=c\\"}})
    assert str(selector) == "metadata.name=x,status.phase!=a\\,b\\=c\\\\"
    assert selector.exact("metadata.name") == "x"
    assert selector.exact("status.phase") is None
    assert parse_field_selector("", SUPPORTED) == FieldSelector()


# -- properties -----------------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True)
keys = st.one_of(
    names, st.builds(lambda p, n: f"{p}.io/{n}", st.from_regex(r"[a-z]{1,6}", fullmatch=True), names)
)
values = st.one_of(st.just(""), names)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    operator = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]))
    key = draw(keys)
    if operator in ("exists", "!"):
        return Requirement(key, operator)
    if operator in ("gt", "lt"):
        return Requirement(key, operator, (str(draw(st.integers(0, 99))),))
    if operator in ("in", "notin"):
        return Requirement(key, operator, tuple(sorted(draw(st.sets(values, min_size=1, max_size=3)))))
    return Requirement(key, operator, (draw(values),))


@given(st.lists(requirements(), max_size=4), st.dictionaries(keys, values, max_size=4))
def test_label_selector_round_trips(reqs: list[Requirement], labels: dict[str, str]) -> None:
    text = ",".join(str(r) for r in reqs)
    parsed = parse_label_selector(text)
    assert parse_label_selector(str(parsed)) == parsed
    assert parsed.matches(labels) == all(r.matches(labels) for r in reqs)


@given(st.text(alphabet="ab,=\\x ", max_size=8))
def test_field_selector_values_round_trip(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
    selector = parse_field_selector(f"metadata.name={escaped}", SUPPORTED)
    assert selector.matches({"metadata": {"name": value}})
    assert parse_field_selector(str(selector), SUPPORTED) == selector


@given(st.text(max_size=12))
def test_label_parser_never_fails_unexpectedly(text: str) -> None:
    try:
        parse_label_selector(text)
    except SelectorError:
        pass
