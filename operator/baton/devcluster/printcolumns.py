"""Printer-column cells: what apiextensions-apiserver's table convertor makes of JSONPath results.

The convertor uses only the first result of a column's path; `string` columns print it (objects and
lists as compact JSON), typed columns keep it only when it has that type, and `date` columns become
an age such as "5m" relative to the time of the request.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from .goformat import go_json, go_value

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def format_cell(values: list[Any], column_type: str, *, now: datetime | None = None) -> Any:
    """The Table cell apiextensions-apiserver's convertor makes of a column's JSONPath results.

    Only the first result is used, as upstream does. A `date` column is rendered as an age ("5m")
    when `now` is given, as the apiserver does; without `now` the RFC 3339 text is kept.
    """
    if not values:
        return None
    value = values[0]
    if column_type == "string":
        if value is None:
            return "<no value>"  # what Go's template printer says for a JSON null
        if isinstance(value, str):
            return value
        return go_json(value) if isinstance(value, dict | list) else go_value(value)
    if value is None:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if column_type == "integer":
        return int(value) if is_number else None
    if column_type == "number":
        return float(value) if is_number else None
    if column_type == "boolean":
        return value if isinstance(value, bool) else None
    if column_type == "date" and isinstance(value, str):
        return _date_cell(value, now)
    return None


def _date_cell(text: str, now: datetime | None) -> str:
    if text in ("", "null"):
        return "<unknown>"
    if not _RFC3339.match(text):
        return "<invalid>"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return text if now is None else human_duration(now - moment)


def human_duration(elapsed: timedelta) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "5m10s", "3h", "4d6h", "2y"."""
    seconds = int(elapsed.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"
