"""Protection of the UI's actions against cross-site requests.

Two checks, both required for every POST:
- the browser says the request comes from this UI's own pages: `Sec-Fetch-Site: same-origin` where the
  browser sends it, else an `Origin` equal to the UI's own (a request with neither, from a script or an
  old browser, is left to the token);
- the form carries a token that only this UI process can make (an HMAC with a secret drawn at its start)
  for this user and this form's path. Another site can make a browser post, but cannot read a page of
  this UI to learn a token, and a token for one run's cancel does not cancel another.

Tokens live as long as the process: a page loaded before a restart asks to be reloaded.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

FIELD = "csrf"


class Tokens:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def token(self, user: str, path: str) -> str:
        """The token of the form at ``path`` for ``user`` ("" when the UI acts as its credentials)."""
        return hmac.new(self._secret, f"{user}\n{path}".encode(), hashlib.sha256).hexdigest()

    def valid(self, token: str, user: str, path: str) -> bool:
        return hmac.compare_digest(token.encode(), self.token(user, path).encode())


def cross_site(headers: Mapping[str, str], host: str) -> str | None:
    """Why a POST with these headers is not from this UI's own pages at ``host`` (the Host it was sent
    to), or None when nothing says so.

    `Sec-Fetch-Site` is set by the browser alone (no page script can), so where it is sent it decides.
    Otherwise only the Origin's host is compared: behind a proxy that ends TLS, the browser's https
    origin reaches the UI as plain http."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return (
            None
            if site == "same-origin"
            else f"the request came from another site (Sec-Fetch-Site: {site[:40]})"
        )
    origin = headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != host:
        return f"the request came from another origin ({origin[:100]})"
    return None
