from __future__ import annotations

import pytest

from baton.core.crd_compat import UPGRADE_HOW, InstalledCrd, crd_verdict, unreadable

EXPECTED = {"pipelines.baton.dev": "sha256:aaaa", "pipelineruns.baton.dev": "sha256:bbbb"}
SAME = {
    "pipelines.baton.dev": InstalledCrd("sha256:aaaa", "0.1.0"),
    "pipelineruns.baton.dev": InstalledCrd("sha256:bbbb", "0.1.0"),
}


@pytest.mark.parametrize(
    ("installed", "mismatched", "says"),
    [
        (SAME, (), ""),
        # The release number is for people: another release with the same schemas is fine.
        ({**SAME, "pipelines.baton.dev": InstalledCrd("sha256:aaaa", "0.0.9")}, (), ""),
        (
            {**SAME, "pipelineruns.baton.dev": InstalledCrd("sha256:old0", "0.0.9")},
            ("pipelineruns.baton.dev",),
            "pipelineruns.baton.dev is from Baton 0.0.9 (schema sha256:old0, expected sha256:bbbb)",
        ),
        (
            {**SAME, "pipelineruns.baton.dev": InstalledCrd("sha256:new1", None)},
            ("pipelineruns.baton.dev",),
            "pipelineruns.baton.dev is of another build (schema sha256:new1, expected sha256:bbbb)",
        ),
        (
            {**SAME, "pipelines.baton.dev": InstalledCrd(None, None)},
            ("pipelines.baton.dev",),
            "pipelines.baton.dev has no schema fingerprint",
        ),
        (
            {"pipelines.baton.dev": None},
            ("pipelines.baton.dev", "pipelineruns.baton.dev"),
            "pipelines.baton.dev not installed; pipelineruns.baton.dev not installed",
        ),
    ],
    ids=["same", "other-release-same-schema", "older", "unversioned", "unannotated", "missing"],
)
def test_verdict(installed: dict[str, InstalledCrd | None], mismatched: tuple[str, ...], says: str) -> None:
    verdict = crd_verdict(EXPECTED, installed, "0.1.0")
    assert verdict.compatible is (not mismatched)
    assert verdict.mismatched == mismatched
    if mismatched:
        assert says in verdict.message
        assert "this operator (Baton 0.1.0)" in verdict.message and verdict.message.endswith(UPGRADE_HOW)
        assert "\n" not in verdict.message
    else:
        assert verdict.message == ""


def test_what_anyone_wrote_in_the_annotation_is_quoted_short_and_on_one_line() -> None:
    hostile = InstalledCrd("x" * 100_000 + "\n<script>", "9\n" * 10_000)
    verdict = crd_verdict(EXPECTED, {**SAME, "pipelines.baton.dev": hostile}, "0.1.0")
    assert not verdict.compatible and "\n" not in verdict.message
    assert len(verdict.message) < 600


def test_crds_it_may_not_read_are_no_verdict_of_difference() -> None:
    verdict = unreadable("403 Forbidden", list(EXPECTED))
    assert not verdict.compatible and verdict.mismatched == ()
    assert verdict.message.startswith("cannot read Baton's CRDs to check them (403 Forbidden)")
    assert "get on customresourcedefinitions pipelines.baton.dev, pipelineruns.baton.dev" in verdict.message
    assert "not the ones" not in verdict.message
