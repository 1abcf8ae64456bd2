"""Deterministic, valid names for the objects Baton creates.

Job names
    ``{run}-{task}-{attempt}`` when that is a DNS-1123 label of at most 63 characters (the common case:
    ``daily-sales-x7k2p-extract-1``). Otherwise ``{prefix}-{hash}-{attempt}``: ``hash`` is 8 hex digits of
    SHA-256 over run, task and attempt, and ``prefix`` is ``{run}-{task}`` made DNS-safe and cut to fit.
    The hash keeps names of different (run, task, attempt) apart even when their cut prefixes are equal;
    the attempt stays visible at the end, as in the short form.

    The same inputs always give the same name, so the operator can create a Job, crash, and recognise the
    Job again (a 409 on create means "already there", never "try another name").

Label values
    At most 63 characters of ``[A-Za-z0-9._-]``, starting and ending alphanumeric. Values that are not
    (long run or pipeline names, which may be DNS subdomains of up to 253 characters) are cut and given
    the same kind of hash suffix, so that selecting by label stays exact.
"""

from __future__ import annotations

import functools
import hashlib
import re

MAX_LABEL = 63
HASH_LENGTH = 8

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NOT_DNS = re.compile(r"[^-a-z0-9]+")
_NOT_LABEL_VALUE = re.compile(r"[^-A-Za-z0-9_.]+")


def short_hash(*parts: str) -> str:
    # NUL cannot occur in Kubernetes names, so ("a-b", "c") and ("a", "b-c") hash differently.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_LENGTH]


def is_dns_label(value: str) -> bool:
    return len(value) <= MAX_LABEL and _DNS_LABEL.match(value) is not None


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_LABEL and _LABEL_VALUE.match(value) is not None


def job_name(run: str, task: str, attempt: int) -> str:
    """The name of the Job of ``attempt`` (1, 2, …) of ``task`` in ``run``; see the module docstring."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    full = f"{run}-{task}-{attempt}"
    if is_dns_label(full):
        return full
    suffix = f"-{short_hash(run, task, str(attempt))}-{attempt}"
    prefix = _NOT_DNS.sub("-", f"{run}-{task}".lower())[: MAX_LABEL - len(suffix)].strip("-")
    return f"{prefix or 'job'}{suffix}"


@functools.lru_cache(maxsize=4096)  # called for the same run and pipeline names for every Job
def label_value(value: str) -> str:
    """``value`` itself when it is a valid label value, else a cut, hash-suffixed stand-in for it."""
    if is_label_value(value):
        return value
    suffix = f"-{short_hash(value)}"
    prefix = _NOT_LABEL_VALUE.sub("-", value)[: MAX_LABEL - len(suffix)]
    prefix = prefix.strip("-_.")
    return f"{prefix}{suffix}" if prefix else suffix[1:]


def claim_name(run: str, workspace: str) -> str:
    """The name of the PersistentVolumeClaim of ``workspace`` in ``run``: ``{run}-{workspace}``, or a
    cut, hash-suffixed form as for Jobs (claim names are DNS subdomains; a label keeps them short)."""
    full = f"{run}-{workspace}"
    if is_dns_label(full):
        return full
    suffix = f"-{short_hash(run, workspace, 'claim')}"
    prefix = _NOT_DNS.sub("-", full.lower())[: MAX_LABEL - len(suffix)].strip("-")
    return f"{prefix or 'claim'}{suffix}"
