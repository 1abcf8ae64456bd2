"""Which namespace `baton dev` runs in: the one the files name (as `kubectl kustomize` output names it),
else -n; files that disagree are refused with a message."""

from __future__ import annotations

from typing import Any

import pytest

from baton.cli.dev import ManifestError, files_namespace


def doc(namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x"} | ({"namespace": namespace} if namespace else {})
    return {"kind": "Pipeline", "metadata": meta}


@pytest.mark.parametrize(
    ("namespaces", "flag", "expected"),
    [
        ([None, None], "default", "default"),
        ([None], "team", "team"),
        (["orders-dev", None], "default", "orders-dev"),  # the files say where they go
        (["orders-dev"], "orders-dev", "orders-dev"),
        (["a", "b"], "default", "the files name 2 namespaces (a, b): baton dev runs one"),
        (["a"], "team", 'the files go to namespace "a", not "team" (-n)'),
    ],
)
def test_files_namespace(namespaces: list[str | None], flag: str, expected: str) -> None:
    docs = [doc(n) for n in namespaces]
    if " " in expected:
        with pytest.raises(ManifestError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            files_namespace(docs, flag)
    else:
        assert files_namespace(docs, flag) == expected
