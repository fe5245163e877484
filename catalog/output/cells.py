"""One value as a table cell shows it, for every format that writes text."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)
