from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.kube.labels import ATTEMPT, PIPELINE, RUN, TASK, job_labels, run_selector
from baton.kube.names import is_dns_label, is_label_value, job_name, label_value

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Kubernetes object names: DNS-1123 subdomains up to 253 characters.
subdomains = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,120}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s and "-." not in s and ".-" not in s
)
task_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
attempts = st.integers(min_value=1, max_value=1000)


@pytest.mark.parametrize(
    ("run", "task", "attempt", "expected"),
    [
        ("daily-sales-x7k2p", "extract", 1, "daily-sales-x7k2p-extract-1"),
        ("r", "t", 12, "r-t-12"),
        ("a" * 50, "b" * 8, 1, "a" * 50 + "-" + "b" * 8 + "-1"),  # exactly 61: unchanged
    ],
)
def test_short_names_are_readable_concatenations(run: str, task: str, attempt: int, expected: str) -> None:
    assert job_name(run, task, attempt) == expected


def test_long_names_are_cut_and_hashed_keeping_the_attempt() -> None:
    name = job_name("a-very-long-pipeline-run-name-generated-by-a-scheduler-x7k2p", "transform-europe", 3)
    assert len(name) <= 63
    assert is_dns_label(name)
    assert name.startswith("a-very-long-pipeline-run-name-generated-by-a-sch")
    assert re.search(r"-[0-9a-f]{8}-3$", name)


def test_run_names_with_dots_make_valid_job_names() -> None:
    name = job_name("nightly.etl.v2", "load", 1)
    assert is_dns_label(name) and name.startswith("nightly-etl-v2-load-")


def test_truncation_collisions_are_kept_apart_by_the_hash() -> None:
    run = "r" * 70
    assert job_name(run, "task-one", 1) != job_name(run, "task-two", 1)
    assert job_name(run, "task-one", 1) != job_name(run, "task-one", 2)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        job_name("r", "t", 0)


@settings(max_examples=200, deadline=None)
@given(subdomains, task_names, attempts)
def test_job_names_are_always_valid_and_deterministic(run: str, task: str, attempt: int) -> None:
    name = job_name(run, task, attempt)
    assert len(name) <= 63 and DNS_LABEL.match(name)
    assert name == job_name(run, task, attempt)
    assert name.endswith(f"-{attempt}")


@settings(max_examples=200, deadline=None)
@given(subdomains, task_names, task_names, attempts)
def test_different_tasks_get_different_names(run: str, task_a: str, task_b: str, attempt: int) -> None:
    if task_a != task_b:
        assert job_name(run, task_a, attempt) != job_name(run, task_b, attempt)


@pytest.mark.parametrize(
    "value", ["daily-sales", "A.b_c-9", "x" * 63, "x" * 64, "nightly.etl.v2-" * 10, "-bad-", "a b", ""]
)
def test_label_values_are_valid(value: str) -> None:
    shortened = label_value(value)
    assert LABEL_VALUE.match(shortened) and len(shortened) <= 63
    assert is_label_value(shortened)
    if is_label_value(value):
        assert shortened == value


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_any_text_becomes_a_valid_label_value(value: str) -> None:
    assert is_label_value(label_value(value))


def test_job_labels() -> None:
    labels = job_labels("daily-sales", "daily-sales-x7k2p", "extract", 2)
    assert labels == {
        "app.kubernetes.io/managed-by": "baton",
        PIPELINE: "daily-sales",
        RUN: "daily-sales-x7k2p",
        TASK: "extract",
        ATTEMPT: "2",
    }
    assert PIPELINE not in job_labels(None, "inline-run", "t", 1)
    assert (
        run_selector("daily-sales-x7k2p")
        == "app.kubernetes.io/managed-by=baton,baton.dev/run=daily-sales-x7k2p"
    )
