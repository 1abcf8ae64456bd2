"""Who a dev cluster request is from: the token's user, or the one it impersonates."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from baton.devcluster import identity
from baton.devcluster.errors import ApiError


def _headers(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


@pytest.mark.parametrize(
    ("pairs", "username", "groups", "extra"),
    [
        ((), "devcluster-admin", ("system:masters", "system:authenticated"), {}),
        ((("Impersonate-User", "alice"),), "alice", ("system:authenticated",), {}),
        (
            (("Impersonate-User", "bob"), ("Impersonate-Group", "data"), ("impersonate-group", "ops")),
            "bob",
            ("data", "ops", "system:authenticated"),
            {},
        ),
        (
            (
                ("Impersonate-User", "carol"),
                ("Impersonate-Extra-Scopes", "view"),
                ("Impersonate-Extra-Scopes", "x"),
            ),
            "carol",
            ("system:authenticated",),
            {"scopes": ["view", "x"]},
        ),
    ],
)
def test_the_user_a_request_acts_as(
    pairs: tuple[tuple[str, str], ...], username: str, groups: tuple[str, ...], extra: dict[str, list[str]]
) -> None:
    user = identity.user_of(_headers(*pairs))
    assert (user.username, user.groups, user.extra) == (username, groups, extra)
    review = identity.self_subject_review(user)
    assert review["status"]["userInfo"]["username"] == username


@pytest.mark.parametrize(
    "pairs",
    [
        (("Impersonate-Group", "data"),),
        (("Impersonate-Uid", "1234"),),
        (("Impersonate-User", ""),),
    ],
)
def test_impersonating_without_a_user_is_a_bad_request(pairs: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(ApiError) as raised:
        identity.user_of(_headers(*pairs))
    assert raised.value.code == 400
