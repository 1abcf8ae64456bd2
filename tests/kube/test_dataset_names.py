"""Dataset names: derived from the URI, readable, unique per URI, always a DNS subdomain."""

from __future__ import annotations

import re

import pytest

from baton.kube.datasets import dataset_body, dataset_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(
    ("uri", "prefix"),
    [
        ("s3://lake/sales", "s3-lake-sales-"),
        ("postgres://warehouse:5432/analytics.public.daily_sales", "postgres-analytics-public-daily-sales-"),
        ("file:///data/x.csv", "file-data-x-csv-"),
        ("bigquery:project.dataset.table", "bigquery-project-dataset-table-"),
        ("S3://Lake/Sales", "s3-lake-sales-"),
        ("weird://---/___", "weird-"),
    ],
)
def test_names_are_readable_and_end_in_a_hash_of_the_uri(uri: str, prefix: str) -> None:
    name = dataset_name(uri)
    assert name.startswith(prefix) and len(name) == len(prefix) + 8
    assert DNS_LABEL.match(name) and len(name) <= 63
    assert dataset_name(uri) == name


def test_uris_that_read_alike_get_different_names() -> None:
    assert dataset_name("s3://lake/sales") != dataset_name("s3://lake.sales")
    assert dataset_name("s3://lake/sales") != dataset_name("S3://Lake/Sales")
    long = "s3://bucket/" + "a" * 500
    assert len(dataset_name(long)) <= 63 and DNS_LABEL.match(dataset_name(long))


def test_the_body_the_operator_creates() -> None:
    body = dataset_body("lake", "s3://lake/sales")
    assert body["spec"] == {"uri": "s3://lake/sales"}
    assert body["metadata"]["name"] == dataset_name("s3://lake/sales")
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "baton"}
