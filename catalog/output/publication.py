"""One publication whole, as `catalog show` prints it."""

from __future__ import annotations

from typing import Any

from catalog.output.formats import cell
from catalog.output.terminal import wrap


def _print_copy(record: dict[str, Any]) -> str:
    """ "Paperback $31.20 (list price $39.00)" when a web discount applies."""
    text = " ".join(str(v) for v in (record.get("print_format"), record.get("print_price")) if v)
    listed = record.get("list_price")
    if listed and listed != record.get("print_price"):
        text += f" (list price {listed})"
    return text


def _history_line(change: dict[str, Any]) -> str:
    """One change as a sentence: ``2026-11-23 06:17 UTC, run 7: title changed: "A" → "B"``."""
    when = cell(change.get("changed_at"))[:16].replace("T", " ")
    head = f"{when} UTC, run {change.get('crawl_run_id')}: "
    kind = change.get("kind") or ""
    if kind == "added":
        return head + "added"
    if kind == "delisted":
        return head + f"delisted from {change.get('topic') or 'a topic'}"
    old, new = change.get("old_value"), change.get("new_value")
    if kind == "merged":
        return head + f"merged {old} into this publication"
    quoted = ["(none)" if v in (None, "") else f'"{v}"' for v in (old, new)]
    return head + f"{change.get('field')} changed: {quoted[0]} → {quoted[1]}"


def render_publication(record: dict[str, Any], width: int | None = None) -> str:
    """One publication as readable text: heading, facts, then each section that has content.

    With ``width`` (a terminal's) long lines wrap to it; without, each paragraph stays on one
    line, as scripts reading piped output expect.
    """
    lines = wrap(record["title"], width) or [""]
    if record.get("subtitle"):
        lines += wrap(record["subtitle"], width)
    facts = [
        record.get("content_type") or "",
        cell(record.get("published_on")) or record.get("date_text") or "",
    ]
    lines.append(" · ".join(f for f in facts if f))
    if record.get("authors"):
        lines += wrap("by " + ", ".join(record["authors"]), width)
    lines += [record["url"], ""]
    identifiers = [
        ("Publisher", record.get("publisher")),
        ("Document number", record.get("document_number")),
        ("DOI", record.get("doi")),
        ("ISBN", record.get("isbn")),
        ("Series", record.get("series")),
        ("Journal", record.get("journal")),
        ("Pages", record.get("page_count")),
        ("PDF", " ".join(str(v) for v in (record.get("pdf_url"), record.get("pdf_size")) if v)),
        ("Print", _print_copy(record)),
    ]
    lines += [f"{label}: {value}" for label, value in identifiers if value]
    downloads = record.get("downloads") or []
    if len(downloads) > 1:  # one is the PDF line above
        lines += ["Downloads:"] + [
            f"  {d['label']} ({d['format']}{', ' + d['size'] if d.get('size') else ''}): {d['url']}"
            for d in downloads
        ]
    for title, key in (
        ("Summary", "summary"),
        ("Abstract", "abstract"),
        ("Research questions", "research_questions"),
        ("Key findings", "key_findings"),
        ("Recommendations", "recommendations"),
        ("Text", "body_text"),
    ):
        if record.get(key):
            lines += ["", f"{title}:", *wrap(record[key], width)]
    if record.get("topics"):
        lines += ["", "Topics:"]
        lines += [
            f"  {t['slug']} ({t['section']})" + (" — delisted" if t["delisted_at"] else "")
            for t in record["topics"]
        ]
    if record.get("details_error"):
        lines += [
            "",
            *wrap(f"Publication page: last attempt failed ({record['details_error']})", width),
        ]
    if record.get("history"):
        lines += ["", "History:"]
        for change in record["history"]:
            lines += wrap(_history_line(change), width, indent="  ")
    lines += [
        "",
        f"First seen {cell(record['first_seen_at'])[:19]} UTC, "
        f"last seen {cell(record['last_seen_at'])[:19]} UTC",
    ]
    return "\n".join(lines) + "\n"
