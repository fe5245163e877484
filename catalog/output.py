"""Renderers shared by every command: aligned table, CSV, JSON and JSON Lines.

Data goes to stdout in the chosen format; nothing else is printed there.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "jsonl")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def render(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    out: TextIO | None = None,
    widths: dict[str, int] | None = None,
) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; returns the number of rows written.

    ``widths`` caps table columns (longer cells are cut with an ellipsis); CSV and JSON are
    never cut.
    """
    out = out or sys.stdout
    count = 0
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + to_json({c: row.get(c) for c in columns}))
            count += 1
        out.write("\n]\n" if count else "]\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(to_json({c: row.get(c) for c in columns}) + "\n")
            count += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            count += 1
    elif fmt == "table":
        cells = [[_cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
        count = len(cells)
        limits = widths or {}
        for line in cells:
            for i, column in enumerate(columns):
                cap = limits.get(column)
                if cap and len(line[i]) > cap:
                    line[i] = line[i][: cap - 1] + "…"
        sizes = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(sizes[i]) for i, c in enumerate(columns)).rstrip() + "\n")
        out.write("  ".join("-" * s for s in sizes) + "\n")
        for line in cells:
            out.write("  ".join(v.ljust(sizes[i]) for i, v in enumerate(line)).rstrip() + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count


def render_publication(record: dict[str, Any]) -> str:
    """One publication as readable text: heading, facts, then each section that has content."""
    lines = [record["title"]]
    if record.get("subtitle"):
        lines.append(record["subtitle"])
    facts = [
        record.get("content_type") or "",
        _cell(record.get("published_on")) or record.get("date_text") or "",
    ]
    lines.append(" · ".join(f for f in facts if f))
    if record.get("authors"):
        lines.append("by " + ", ".join(record["authors"]))
    lines += [record["url"], ""]
    identifiers = [
        ("Document number", record.get("document_number")),
        ("DOI", record.get("doi")),
        ("ISBN", record.get("isbn")),
        ("Series", record.get("series")),
        ("Pages", record.get("page_count")),
        ("PDF", " ".join(str(v) for v in (record.get("pdf_url"), record.get("pdf_size")) if v)),
        (
            "Print",
            " ".join(str(v) for v in (record.get("print_format"), record.get("print_price")) if v),
        ),
    ]
    lines += [f"{label}: {value}" for label, value in identifiers if value]
    for title, key in (
        ("Summary", "summary"),
        ("Abstract", "abstract"),
        ("Research questions", "research_questions"),
        ("Key findings", "key_findings"),
        ("Recommendations", "recommendations"),
        ("Text", "body_text"),
    ):
        if record.get(key):
            lines += ["", f"{title}:", record[key]]
    if record.get("topics"):
        lines += ["", "Topics:"]
        lines += [
            f"  {t['slug']} ({t['section']})" + (" — delisted" if t["delisted_at"] else "")
            for t in record["topics"]
        ]
    if record.get("details_error"):
        lines += ["", f"Publication page: last attempt failed ({record['details_error']})"]
    lines += [
        "",
        f"First seen {_cell(record['first_seen_at'])[:19]} UTC, "
        f"last seen {_cell(record['last_seen_at'])[:19]} UTC",
    ]
    return "\n".join(lines) + "\n"
