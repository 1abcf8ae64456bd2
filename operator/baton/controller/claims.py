"""Create (or, for a retry, adopt) a run's workspace claims before its first Job.

Idempotent like everything else: a claim created before a crash answers 409 and is checked to be the
run's own; a claim already adopted is left as it is. A claim that cannot be had fails the run with the
API's reason (``baton.core.workspaces.claim_failed``) instead of leaving its Pods Pending forever.
Transient failures (5xx, 429, a conflict while adding an owner) raise, so that the work queue tries the
run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baton.core.api_retry import worth_retrying
from baton.core.state import RunMeta
from baton.core.workspaces import ClaimToAdopt, ClaimToCreate
from baton.kube.owners import run_owner

from .client import ApiFailure, KubeClient

RESOURCE = "persistentvolumeclaims"


def claims_path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    return f"{path}/{name}" if name else path


def _owned_by(claim: dict[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in (claim.get("metadata") or {}).get("ownerReferences") or ())


def _transient(failure: ApiFailure) -> bool:
    # 409 here is a lost race on the claim's resourceVersion (the create path handles its own 409s); 0 is
    # an API server that did not answer: the run waits for it, it does not fail.
    return worth_retrying(failure.code)


async def apply_claims(
    client: KubeClient, run: RunMeta, claims: Sequence[ClaimToCreate | ClaimToAdopt], retried: str | None
) -> tuple[str, str, str] | None:
    """Apply ``claims``; None when every claim is there, else (claim, reason, message) of the first
    that cannot be had. ``retried`` names the run a retry reuses claims of."""
    for action in claims:
        try:
            if isinstance(action, ClaimToCreate):
                problem = await _create(client, run, action)
            else:
                problem = await _adopt(client, run, action, retried or "the retried run")
        except ApiFailure as failure:
            if _transient(failure):
                raise
            return action.name, failure.reason or str(failure.code), failure.message
        if problem is not None:
            return action.name, *problem
    return None


async def _create(client: KubeClient, run: RunMeta, action: ClaimToCreate) -> tuple[str, str] | None:
    try:
        await client.create(claims_path(run.namespace), action.body, resource=RESOURCE)
        return None
    except ApiFailure as failure:
        if failure.code != 409:
            raise
    existing = await client.get(claims_path(run.namespace, action.name), resource=RESOURCE)
    if _owned_by(existing, run.uid):
        return None  # created by this run before a restart
    return "AlreadyExists", "a claim of that name exists and does not belong to this run"


async def _adopt(
    client: KubeClient, run: RunMeta, action: ClaimToAdopt, retried: str
) -> tuple[str, str] | None:
    try:
        existing = await client.get(claims_path(run.namespace, action.name), resource=RESOURCE)
    except ApiFailure as failure:
        if failure.code != 404:
            raise
        return "NotFound", (
            f'the claim of run "{retried}" is gone, so the files of the tasks this retry reuses are lost; '
            "start a new run instead"
        )
    if _owned_by(existing, run.uid):
        return None
    meta = existing.get("metadata") or {}
    owners = [*(meta.get("ownerReferences") or ()), run_owner(run, controller=False)]
    patch = {"metadata": {"resourceVersion": meta.get("resourceVersion"), "ownerReferences": owners}}
    await client.merge_patch(claims_path(run.namespace, action.name), patch, resource=RESOURCE)
    return None
