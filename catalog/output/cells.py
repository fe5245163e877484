"""Values as table cells show them, and the plain table: what pipes and files get."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TextIO


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def plain_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    """One line per row, columns padded with spaces, nothing cut whatever its length: scripts
    and `grep` read every value. Returns how many rows were written."""
    cells = [[cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
    sizes = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(sizes[i]) for i, c in enumerate(columns)).rstrip() + "\n")
    out.write("  ".join("-" * s for s in sizes) + "\n")
    for line in cells:
        out.write("  ".join(v.ljust(sizes[i]) for i, v in enumerate(line)).rstrip() + "\n")
    return len(cells)
