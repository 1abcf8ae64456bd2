"""Dataset objects: the name derived from a URI, and the object the operator creates for one."""

from __future__ import annotations

import re
from typing import Any

from baton import GROUP, VERSION
from baton.kube.labels import MANAGED_BY, MANAGER
from baton.kube.names import short_hash

NAME_PREFIX_MAX = 40
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/*")
_NOT_DNS = re.compile(r"[^a-z0-9]+")


def dataset_name(uri: str) -> str:
    """The Dataset of ``uri``: its scheme and the end of the rest as words, then a hash of all of it (so two
    URIs never share a name, and the same URI always gives the same name): ``s3://lake/sales`` →
    ``s3-lake-sales-1a2b3c4d``; ``postgres://warehouse:5432/analytics.public.daily_sales`` →
    ``postgres-5432-analytics-public-daily-sales-…``."""
    scheme = _NOT_DNS.sub("-", uri.split(":", 1)[0].lower()).strip("-")[:10].strip("-")
    rest = _NOT_DNS.sub("-", _SCHEME.sub("", uri).lower()).strip("-")
    room = NAME_PREFIX_MAX - len(scheme) - 1
    if len(rest) > room:  # the end of a URI tells datasets apart (the table, the last folder): keep it
        rest = rest[-room:]
        rest = rest.split("-", 1)[1] if "-" in rest and not rest.startswith("-") else rest.strip("-")
    words = "-".join(part for part in (scheme, rest) if part)
    return f"{words or 'dataset'}-{short_hash(uri)}"


def dataset_body(namespace: str, uri: str) -> dict[str, Any]:
    """The Dataset the operator creates when a task first writes, reads or checks ``uri``."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Dataset",
        "metadata": {"name": dataset_name(uri), "namespace": namespace, "labels": {MANAGED_BY: MANAGER}},
        "spec": {"uri": uri},
    }
