"""The cross-site checks of the UI's actions."""

from __future__ import annotations

import pytest

from baton.cli.ui import answered_hosts
from baton.ui.csrf import Tokens, cross_site
from baton.ui.server import hostname


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"}, None),
        # The browser's own word decides: behind a TLS proxy the origin's scheme differs, not the site.
        ({"Sec-Fetch-Site": "same-origin", "Origin": "https://elsewhere"}, None),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:8080"}, "another site"),
        ({"Sec-Fetch-Site": "same-site"}, "another site"),
        ({"Sec-Fetch-Site": "none"}, "another site"),
        ({"Origin": "https://127.0.0.1:8080"}, None),
        ({"Origin": "http://evil.example"}, "another origin (http://evil.example)"),
        ({"Origin": "null"}, "another origin"),
        ({}, None),  # a script or an old browser: the token decides
    ],
)
def test_cross_site(headers: dict[str, str], refused: str | None) -> None:
    why = cross_site(headers, "127.0.0.1:8080")
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why


def test_a_token_is_for_one_user_one_form_and_one_process() -> None:
    tokens = Tokens()
    token = tokens.token("alice", "/runs/etl/r1/cancel")
    assert tokens.valid(token, "alice", "/runs/etl/r1/cancel")
    assert not tokens.valid(token, "bob", "/runs/etl/r1/cancel")
    assert not tokens.valid(token, "alice", "/runs/etl/r2/cancel")
    assert not tokens.valid(token, "alice", "/runs/etl/r1/retry")
    assert not Tokens().valid(token, "alice", "/runs/etl/r1/cancel")  # another process (a restart)
    assert not tokens.valid("", "alice", "/runs/etl/r1/cancel")


@pytest.mark.parametrize(
    ("address", "allowed", "answered"),
    [
        ("127.0.0.1", [], {"127.0.0.1", "localhost", "[::1]"}),
        ("::1", [], {"127.0.0.1", "localhost", "[::1]"}),
        ("0.0.0.0", [], set()),  # any (it warns)
        (
            "0.0.0.0",
            ["baton-ui.baton-system", "UI.corp"],
            {"127.0.0.1", "localhost", "[::1]", "baton-ui.baton-system", "ui.corp"},
        ),
        ("10.0.0.5", ["ui.corp"], {"127.0.0.1", "localhost", "[::1]", "10.0.0.5", "ui.corp"}),
    ],
)
def test_the_host_names_a_ui_answers(address: str, allowed: list[str], answered: set[str]) -> None:
    assert answered_hosts(address, allowed) == answered


@pytest.mark.parametrize(
    ("header", "name"), [("localhost:8080", "localhost"), ("[::1]:80", "[::1]"), ("UI.corp", "ui.corp")]
)
def test_a_host_headers_name(header: str, name: str) -> None:
    assert hostname(header) == name
