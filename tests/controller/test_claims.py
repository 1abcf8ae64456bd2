"""Applying a run's claims: create once, adopt a retried run's claim, and say what went wrong."""

from __future__ import annotations

from typing import Any

import pytest

from baton.controller.claims import apply_claims
from baton.controller.client import ApiFailure
from baton.core.state import RunMeta
from baton.core.workspaces import ClaimToAdopt, ClaimToCreate

RUN = RunMeta("data", "run-2", "uid-2")
BODY = {"metadata": {"name": "run-2-data"}, "spec": {}}


class FakeClient:
    """Claims by name; each call can be made to fail once with a given failure."""

    def __init__(self, claims: dict[str, dict[str, Any]], fail: dict[str, ApiFailure] | None = None) -> None:
        self.claims = claims
        self.fail = fail or {}
        self.calls: list[tuple[str, str]] = []

    def _maybe_fail(self, verb: str) -> None:
        if verb in self.fail:
            raise self.fail.pop(verb)

    async def create(self, path: str, obj: dict[str, Any], *, resource: str) -> dict[str, Any]:
        self.calls.append(("create", obj["metadata"]["name"]))
        self._maybe_fail("create")
        name = obj["metadata"]["name"]
        if name in self.claims:
            raise ApiFailure(409, "AlreadyExists", f'persistentvolumeclaims "{name}" already exists')
        self.claims[name] = obj
        return obj

    async def get(self, path: str, *, resource: str) -> dict[str, Any]:
        name = path.rsplit("/", 1)[-1]
        self.calls.append(("get", name))
        if name not in self.claims:
            raise ApiFailure(404, "NotFound", f'persistentvolumeclaims "{name}" not found')
        return self.claims[name]

    async def merge_patch(self, path: str, patch: dict[str, Any], *, resource: str) -> dict[str, Any]:
        name = path.rsplit("/", 1)[-1]
        self.calls.append(("patch", name))
        self._maybe_fail("patch")
        self.claims[name]["metadata"]["ownerReferences"] = patch["metadata"]["ownerReferences"]
        return self.claims[name]


def owned(uid: str) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": "7", "ownerReferences": [{"uid": uid, "name": "run-1"}]}}


async def test_a_claim_is_created_and_a_409_from_this_run_is_adopted() -> None:
    client = FakeClient({})
    assert await apply_claims(client, RUN, [ClaimToCreate("data", "run-2-data", BODY)], None) is None
    client.claims["run-2-data"] = {"metadata": {"ownerReferences": [{"uid": "uid-2"}]}}
    assert await apply_claims(client, RUN, [ClaimToCreate("data", "run-2-data", BODY)], None) is None


async def test_a_foreign_claim_of_the_same_name_is_reported() -> None:
    client = FakeClient({"run-2-data": owned("someone-else")})
    problem = await apply_claims(client, RUN, [ClaimToCreate("data", "run-2-data", BODY)], None)
    assert problem == (
        "run-2-data",
        "AlreadyExists",
        "a claim of that name exists and does not belong to this run",
    )


async def test_a_retry_becomes_a_second_owner_once() -> None:
    client = FakeClient({"run-1-data": owned("uid-1")})
    adopt = [ClaimToAdopt("data", "run-1-data")]
    assert await apply_claims(client, RUN, adopt, "run-1") is None
    owners = client.claims["run-1-data"]["metadata"]["ownerReferences"]
    assert [(o["uid"], o.get("controller")) for o in owners] == [("uid-1", None), ("uid-2", False)]
    client.calls.clear()
    assert await apply_claims(client, RUN, adopt, "run-1") is None
    assert client.calls == [("get", "run-1-data")]  # already an owner: nothing to write


async def test_a_retry_whose_claim_is_gone_says_the_files_are_lost() -> None:
    problem = await apply_claims(FakeClient({}), RUN, [ClaimToAdopt("data", "run-1-data")], "run-1")
    assert problem is not None and problem[:2] == ("run-1-data", "NotFound")
    assert 'the claim of run "run-1" is gone' in problem[2]


@pytest.mark.parametrize("code", [500, 429])
async def test_transient_failures_raise_so_the_run_is_tried_again(code: int) -> None:
    client = FakeClient({}, {"create": ApiFailure(code, "InternalError", "etcd timeout")})
    with pytest.raises(ApiFailure):
        await apply_claims(client, RUN, [ClaimToCreate("data", "run-2-data", BODY)], None)


async def test_a_refused_claim_is_reported_with_the_api_reason() -> None:
    client = FakeClient({}, {"create": ApiFailure(403, "Forbidden", 'exceeded quota: "storage"')})
    problem = await apply_claims(client, RUN, [ClaimToCreate("data", "run-2-data", BODY)], None)
    assert problem == ("run-2-data", "Forbidden", 'exceeded quota: "storage"')
