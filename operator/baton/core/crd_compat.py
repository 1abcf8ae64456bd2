"""Are the CRDs installed in the cluster the ones this operator was built with?

Helm installs a chart's CRDs once and never upgrades them, so a newer operator can meet older CRDs. The
API server would then prune every status field the older schema lacks, silently: tasks would run while
what they did went unrecorded. Each generated CRD carries its schema's fingerprint in an annotation; the
operator compares them with its own build's and, on any difference, acts on nothing until they match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from baton.api.crdgen import SCHEMA_ANNOTATION, VERSION_ANNOTATION
from baton.core.status import shorten

UPGRADE_HOW = (
    "upgrade them: kubectl apply --server-side --force-conflicts -f crds/ (from this release), "
    "or baton crds apply, or helm upgrade --set crds.upgrade=true"
)
_MAX_VALUE = 40  # an annotation is anyone's to write: quote at most this much of it


@dataclass(frozen=True, slots=True)
class InstalledCrd:
    """What the operator reads of one installed CRD: its two Baton annotations (absent: None)."""

    schema: str | None
    version: str | None

    @classmethod
    def of(cls, annotations: Mapping[str, str] | None) -> InstalledCrd:
        """From an installed CRD's annotations (as the operator and `baton crds` both read them)."""
        annotations = annotations or {}
        return cls(annotations.get(SCHEMA_ANNOTATION), annotations.get(VERSION_ANNOTATION))


@dataclass(frozen=True, slots=True)
class CrdVerdict:
    compatible: bool
    message: str
    """Empty when compatible; otherwise one line saying which CRDs differ and how to upgrade them."""
    mismatched: tuple[str, ...] = ()
    """The names of the CRDs that are missing or differ, in the order expected."""
    details: str = ""
    """What differs, CRD by CRD (the message's middle, for the CLI to say in its own words)."""


def crd_verdict(
    expected: Mapping[str, str], installed: Mapping[str, InstalledCrd | None], operator_version: str
) -> CrdVerdict:
    """Compare the fingerprints this build expects (CRD name → fingerprint) with what is installed (CRD
    name → its annotations, None when the CRD is not installed)."""
    problems: list[tuple[str, str]] = []
    for name, fingerprint in expected.items():
        crd = installed.get(name)
        if crd is None:
            problems.append((name, "not installed"))
        elif crd.schema is None:
            problems.append((name, "has no schema fingerprint (installed before Baton checked CRDs)"))
        elif crd.schema != fingerprint:
            origin = f"from Baton {_quote(crd.version)}" if crd.version else "of another build"
            problems.append((name, f"is {origin} (schema {_quote(crd.schema)}, expected {fingerprint})"))
    if not problems:
        return CrdVerdict(True, "")
    details = "; ".join(f"{name} {what}" for name, what in problems)
    message = (
        f"the installed Baton CRDs are not the ones this operator (Baton {operator_version}) was built "
        f"with: {details}. It acts on nothing until they are: {UPGRADE_HOW}"
    )
    return CrdVerdict(False, message, tuple(name for name, _ in problems), details)


def _quote(value: str | None) -> str:
    return shorten(" ".join(str(value).split()), _MAX_VALUE)  # one line, whatever was written


def unreadable(why: str, names: Sequence[str]) -> CrdVerdict:
    """The verdict when the CRDs cannot be read at all (a 403: the operator's RBAC lacks the rule): no
    check, so no acting, and a message that says what is missing rather than that the CRDs differ."""
    message = (
        f"cannot read Baton's CRDs to check them ({_quote(why)}): the operator needs get on "
        f"customresourcedefinitions {', '.join(names)} (the chart grants it). It acts on nothing until it can"
    )
    return CrdVerdict(False, message, (), message)
