"""Why a task has no log, said from its status rather than guessed."""

from __future__ import annotations

from typing import Any

import pytest

from baton.ui.logs import why_no_log


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ({"phase": "Pending"}, "it has not started: no log yet"),
        (
            {"phase": "Pending", "message": "waiting for quota"},
            "it has not started: no log yet (waiting for quota)",
        ),
        (
            {"phase": "Skipped", "reason": "UpstreamFailed", "message": 'upstream task "validate" failed'},
            'it never ran: skipped (upstream task "validate" failed)',
        ),
        ({"phase": "Cancelled", "reason": "Cancelled"}, "it never ran: cancelled (Cancelled)"),
        (
            {"phase": "Succeeded", "reason": "Reused", "reusedFrom": "etl-1"},
            "reused from run etl-1, where it ran: its log is that run's",
        ),
    ],
)
def test_why_a_task_has_no_log(state: dict[str, Any], said: str) -> None:
    assert why_no_log(state) == said
