"""Who a request is from: the dev cluster's one token is the user `devcluster-admin` (in
`system:masters`), who may impersonate anyone, as a cluster-admin may.

Impersonation follows the API server's headers (`Impersonate-User`, `Impersonate-Group`,
`Impersonate-Uid`, `Impersonate-Extra-*`); the user it yields is what a SelfSubjectReview answers and
what the audit log records. There is no RBAC to apply to that user: the dev cluster authorizes every
request (its README says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from multidict import CIMultiDictProxy

from . import errors

ADMIN = "devcluster-admin"
ADMIN_GROUPS = ("system:masters", "system:authenticated")
_EXTRA = "impersonate-extra-"


@dataclass(frozen=True)
class UserInfo:
    username: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        info: dict[str, Any] = {"username": self.username, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = self.extra
        return info


ADMIN_USER = UserInfo(ADMIN, ADMIN_GROUPS)


def user_of(headers: CIMultiDictProxy[str]) -> UserInfo:
    """The user a request authenticated with the admin token acts as."""
    user = headers.get("Impersonate-User")
    groups = tuple(headers.getall("Impersonate-Group", ()))
    uid = headers.get("Impersonate-Uid", "")
    extra: dict[str, list[str]] = {}
    for key, value in headers.items():
        if key.lower().startswith(_EXTRA):
            extra.setdefault(key[len(_EXTRA) :].lower(), []).append(value)
    if user is None:
        if groups or uid or extra:
            raise errors.bad_request(
                "impersonating groups, a uid or extra fields requires impersonating a user"
            )
        return ADMIN_USER
    if not user:
        raise errors.bad_request("Impersonate-User must not be empty")
    # As the API server: an impersonated user who is not a service account is authenticated too.
    if "system:authenticated" not in groups:
        groups += ("system:authenticated",)
    return UserInfo(user, groups, uid, extra)


def self_subject_review(user: UserInfo) -> dict[str, Any]:
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
        "metadata": {"creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "status": {"userInfo": user.as_json()},
    }
