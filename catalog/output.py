"""Renderers shared by every command: table, CSV, TSV, JSON, JSON Lines and citations.

Data goes to stdout in the chosen format; nothing else is printed there. Tables are drawn to
fit the terminal (with ``rich``) only when stdout is one; piped or redirected output keeps the
plain, unwrapped layout scripts have always read. Files are written through
``atomic_output`` so that a failed export never leaves a broken or half-written file.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from catalog import citations
from catalog.errors import OutputError

DATA_FORMATS = ("table", "csv", "tsv", "json", "jsonl")
CITATION_FORMATS = citations.FORMATS
FORMATS = (*DATA_FORMATS, *CITATION_FORMATS)
BOM = "\ufeff"
# Columns a terminal table lets wrap (long prose); the others are kept to one line or folded.
_WRAPPING = {"title", "snippet", "summary", "error", "old_value", "new_value", "topic"}
_RATIOS = {"title": 3, "url": 2, "snippet": 2}  # how the long columns share a terminal
_MAX_FIXED = 24  # a short column (date, type, count) wider than this is cut with an ellipsis
_MIN_FLEXIBLE = 10
_GAP = 2  # spaces between columns, as in the plain table
_TYPE_WIDTH = 16  # a search hit's content type, at most (Conference Proceedings: cut)
_MIN_TITLE = 30  # a search hit's title column, at least (else the type, then the date go)
_MIN_TITLE_BESIDE_URL = 50  # ... and when the URL is shown too (only on wide terminals)
_HIT = re.compile(r"\[[^\[\]\n]+\]")  # search snippets mark matches [like this]


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


def _console(out: TextIO, width: int | None = None):
    from rich.console import Console  # imported on use: plain output never needs it

    class PipedConsole(Console):
        def on_broken_pipe(self) -> None:
            """A reader that left (`| less -R`, quit early) is the command line's to handle:
            rich would exit with status 1 itself."""
            raise BrokenPipeError

    return PipedConsole(file=out, width=width, highlight=False, soft_wrap=False)


def terminal_width(out: TextIO | None = None) -> int | None:
    """The width of the terminal ``out`` writes to; None when it is a pipe or a file.

    Follows rich's detection, so ``COLUMNS`` sets the width and ``TTY_COMPATIBLE=1`` (or
    ``FORCE_COLOR``) makes any output count as a terminal.
    """
    out = out or sys.stdout
    forced = os.environ.get("TTY_COMPATIBLE", "") == "1" or bool(os.environ.get("FORCE_COLOR"))
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        tty = False
    if not (tty or forced):
        return None  # a pipe or a file: answered without importing rich
    console = _console(out)
    return console.width if console.is_terminal else None


def render(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    out: TextIO | None = None,
    widths: dict[str, int] | None = None,
    *,
    keys: dict[int, str] | None = None,
    bom: bool = False,
    width: int | None = None,
    labels: dict[str, str] | None = None,
) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; returns the number of rows written.

    A table goes to a terminal fitted to ``width`` (default: the terminal's), where
    ``widths`` caps its short columns and ``labels`` gives columns shorter headers. Piped or
    redirected, a table is plain: one line per row, every value whole, headers the column
    names. CSV, TSV and JSON are never cut either. Citation formats ignore ``columns`` and
    take their BibTeX keys from ``keys`` (see ``citations.citation_keys``). ``bom`` starts
    CSV and TSV with a UTF-8 byte order mark, which Excel on Windows needs to read UTF-8.
    """
    out = out or sys.stdout
    if fmt in CITATION_FORMATS:
        return citations.write(fmt, rows, out, keys)
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
        if bom:
            out.write(BOM)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            count += 1
    elif fmt == "tsv":
        if bom:
            out.write(BOM)
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(tsv_escape(_cell(row.get(c))) for c in columns) + "\n")
            count += 1
    elif fmt == "table":
        width = width or terminal_width(out)
        if width:
            return render_table(rows, columns, out, width, widths, labels)
        # Plain: nothing is cut, whatever its length (scripts and `grep` read every value).
        cells = [[_cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
        count = len(cells)
        sizes = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(sizes[i]) for i, c in enumerate(columns)).rstrip() + "\n")
        out.write("  ".join("-" * s for s in sizes) + "\n")
        for line in cells:
            out.write("  ".join(v.ljust(sizes[i]) for i, v in enumerate(line)).rstrip() + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count


_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TSV_SPECIALS = re.compile(r"[\\\t\n\r]")


def tsv_escape(text: str) -> str:
    """A TSV field: tab, line breaks and backslash written as ``\\t``, ``\\n``, ``\\r``, ``\\\\``.

    IANA text/tab-separated-values allows no tab or line break inside a field. Escaping them
    (as PostgreSQL's COPY text format and "linear TSV" do) keeps each record on one line for
    ``cut`` and ``awk`` and loses nothing: an abstract's paragraph breaks come back when the
    escapes are undone.
    """
    return _TSV_SPECIALS.sub(lambda m: _TSV_ESCAPES[m.group()], text)


def render_search_json(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    facets: dict[str, list[dict[str, Any]]],
    total: int,
    suggestion: str | None = None,
    out: TextIO | None = None,
) -> None:
    """`search --facets --json`: one object, so a script reads hits and counts in one parse.

    ``{"hits": [...], "total": N, "facets": {...}, "suggestion": null}``: the hits as
    ``render`` writes them, ``total`` every match, ``facets`` the top values by count.
    """
    out = out or sys.stdout
    hits = [{c: row.get(c) for c in columns} for row in rows]
    document = {"hits": hits, "total": total, "facets": facets, "suggestion": suggestion}
    out.write(json.dumps(document, ensure_ascii=False, default=_json_default, indent=2) + "\n")


def render_facets(
    facets: dict[str, list[dict[str, Any]]], total: int, width: int | None = None
) -> str:
    """Facet counts as text, one line per facet: ``type: Report (10) · Commentary (7)``.

    With ``width`` (a terminal's) a facet's line wraps between its values, never inside a
    word or a name, and its continuation lines are indented under the first value.
    """
    lines = ["", f"{total:,} match{'' if total == 1 else 'es'}"]
    for name, counts in facets.items():
        values = [f"{c['value']} ({c['count']:,})" for c in counts] or ["-"]
        if not width:
            lines.append(f"{name}: " + " · ".join(values))
            continue
        indent = " " * (len(name) + 2)
        line = f"{name}: {values[0]}"
        for value in values[1:]:
            if len(line) + 3 + len(value) <= width:
                line += " · " + value
            else:
                lines.append(line + " ·")
                line = indent + value
        lines.append(line)
        if any(len(line) > width for line in lines):  # a value longer than the terminal
            lines = [part for line in lines for part in _wrap_at_spaces(line, width, indent)]
    return "\n".join(lines) + "\n"


def _wrap_at_spaces(line: str, width: int, indent: str) -> list[str]:
    if len(line) <= width:
        return [line]
    return textwrap.wrap(
        line,
        width=width,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_hits(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO | None = None,
    width: int | None = None,
) -> int:
    """Search (or similar) hits as a table: compact on a terminal, plain in a pipe.

    Piped, this is ``render(rows, columns, "table")``: every column whole, one line a hit.
    On a terminal each hit takes at most three lines, whatever the width: its id (what
    `catalog show` and `catalog similar` take), date, type and title, the title wrapped to
    two lines under which the snippet gets one (with ``snippet`` in ``columns``; else the
    title gets three), cut with an ellipsis past that. The URL is shown only when the
    terminal is wide enough for it whole on one line beside a readable title.
    """
    out = out or sys.stdout
    width = width or terminal_width(out)
    if not width:
        return render(rows, columns, "table", out)
    from rich import box
    from rich.table import Table
    from rich.text import Text

    hits = list(rows)
    console = _console(out, width)
    with_snippet = "snippet" in columns
    cells = {
        "id": [str(h.get("id") or "") for h in hits],
        "date": [_cell(h.get("published_on")) or (h.get("date_text") or "") for h in hits],
        "type": [h.get("content_type") or "" for h in hits],
        "url": [h.get("url") or "" for h in hits],
    }
    fixed = {
        "id": max([2] + [len(v) for v in cells["id"]]),
        "date": max([4] + [len(v) for v in cells["date"]]),
        "type": min(_TYPE_WIDTH, max([4] + [len(v) for v in cells["type"]])),
    }
    # On a narrow terminal the type goes first, then the date: the title stays readable.
    for dropped in ("type", "date"):
        if width - sum(fixed.values()) - _GAP * len(fixed) >= _MIN_TITLE:
            break
        del fixed[dropped]
    title_width = max(_MIN_TITLE // 2, width - sum(fixed.values()) - _GAP * len(fixed))
    url_width = max([0] + [len(v) for v in cells["url"]])
    if url_width and title_width - url_width - _GAP >= _MIN_TITLE_BESIDE_URL:
        fixed["url"] = url_width
        title_width -= url_width + _GAP
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, _GAP - 1, 0, 0))
    for column in ("id", "date", "type", "title", "url"):
        if column == "title":
            table.add_column("title", width=title_width, no_wrap=True)
        elif column in fixed:
            table.add_column(
                column,
                width=fixed[column],
                no_wrap=True,
                overflow="ellipsis",
                justify="right" if column == "id" else "left",
            )
    for number, hit in enumerate(hits):
        lines = _clamp(
            Text(" ".join((hit.get("title") or "").split())),
            console,
            title_width,
            2 if with_snippet else 3,
        )
        if with_snippet and hit.get("snippet"):
            snippet = Text(" ".join(str(hit["snippet"]).split()), style="dim")
            snippet.highlight_regex(_HIT, "bold")
            lines += _clamp(snippet, console, title_width, 1)
        row = [Text(cells[c][number]) for c in ("id", "date", "type") if c in fixed]
        row.append(Text("\n").join(lines))
        if "url" in fixed:
            row.append(Text(cells["url"][number]))
        table.add_row(*row)
    console.print(table)
    return len(hits)


def _clamp(text: Any, console: Any, width: int, most: int) -> list[Any]:
    """``text`` wrapped to ``width``, at most ``most`` lines, the last ending in … when cut."""
    lines = list(text.wrap(console, width, overflow="fold"))
    if len(lines) <= most:
        return lines
    last = lines[most - 1]
    last.rstrip()
    last.append(" " + lines[most].plain)
    if last.cell_len > width:
        last.truncate(width, overflow="ellipsis")
    else:  # the next line began with a word too long for this one
        last.truncate(width - 1)
        last.append("…")
    return lines[: most - 1] + [last]


def _fit(
    natural: dict[str, int],
    floors: dict[str, int],
    flexible: list[str],
    fixed: dict[str, int],
    room: int,
) -> dict[str, int]:
    """Column widths within ``room``: fixed columns as given, the rest share what is left.

    When the fixed columns leave too little, the widest of them give way one character at a
    time: first down to their values' width (a long header gets an ellipsis), then further.
    Flexible columns are filled like water: one that needs less than its share (by ratio)
    gets what it needs and the others split the remainder.
    """
    widths = dict(fixed)
    excess = sum(widths.values()) + _MIN_FLEXIBLE * len(flexible) - room
    for floor in (floors, dict.fromkeys(fixed, 4)):
        while excess > 0:
            shrinkable = [c for c in fixed if widths[c] > floor[c]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda c: widths[c])
            widths[widest] -= 1
            excess -= 1
    spare = room - sum(widths.values())
    pending = list(flexible)
    while pending:
        total = sum(_RATIOS.get(c, 1) for c in pending)
        share = {c: max(1, spare * _RATIOS.get(c, 1) // total) for c in pending}
        settled = [c for c in pending if natural[c] <= share[c]]
        if not settled:
            widths.update(share)
            break
        for column in settled:
            widths[column] = natural[column]
            spare -= natural[column]
            pending.remove(column)
    return widths


def render_table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    width: int,
    widths: dict[str, int] | None = None,
    labels: dict[str, str] | None = None,
) -> int:
    """A table no wider than ``width``: titles wrap, URLs fold, snippets get one line.

    Short columns (dates, types, counts) keep their width, up to ``widths``; the long ones
    share the rest. ``labels`` are shorter headers than the column names (``items_new``:
    ``new``), so that narrow columns do not all shrink to the same ``items…``. Cells are plain
    text (never rich markup); a snippet's ``[match]`` is bold.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    headers = {c: (labels or {}).get(c, c) for c in columns}
    texts = [[" ".join(_cell(row.get(c)).split()) for c in columns] for row in rows]
    values = {c: max([4] + [len(line[i]) for line in texts]) for i, c in enumerate(columns)}
    natural = {c: max(len(headers[c]), values[c]) for c in columns}
    # Known prose and URLs share the spare width, and so does any column too long to cut
    # (e.g. an abstract from `catalog sql`): those wrap rather than lose their text.
    flexible = [
        c
        for c in columns
        if c in _WRAPPING or c == "url" or c.endswith("_url") or values[c] > _MAX_FIXED
    ]
    limits = widths or {}
    fixed = {
        c: min(natural[c], limits.get(c, natural[c]), _MAX_FIXED)
        for c in columns
        if c not in flexible
    }
    room = width - _GAP * (len(columns) - 1)
    floors = {c: min(values[c], fixed[c]) for c in fixed}
    sizes = _fit(natural, floors, flexible, fixed, room)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, _GAP - 1, 0, 0))
    for column in columns:
        url = column == "url" or column.endswith("_url")
        table.add_column(
            headers[column],
            width=sizes[column],
            overflow="fold" if url else "ellipsis",
            no_wrap=column not in flexible or column == "snippet",
        )
    for line in texts:
        cells = []
        for column, value in zip(columns, line, strict=True):
            text = Text(value)
            if column == "snippet":
                text.highlight_regex(_HIT, "bold")
            cells.append(text)
        table.add_row(*cells)
    _console(out, width).print(table)
    return len(texts)


@contextmanager
def atomic_output(target: Path, *, encoding: str = "utf-8") -> Iterator[TextIO]:
    """Write ``target`` all at once: into a temporary file beside it, renamed over it at the end.

    If writing fails or is interrupted, the temporary file is removed and ``target`` is as it
    was. A symlink, FIFO, device or folder at ``target`` is refused rather than replaced: the
    user most likely did not mean to swap it for a regular file. The new file gets the mode of
    the one it replaces (or the umask's default), not the temporary file's 0600.
    """
    try:
        current = os.lstat(target)
    except FileNotFoundError:
        current = None
    if current is not None and not stat.S_ISREG(current.st_mode):
        what = (
            "a symlink"
            if stat.S_ISLNK(current.st_mode)
            else "a folder"
            if stat.S_ISDIR(current.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(current.st_mode)
            else "a device or special file"
        )
        raise OutputError(f"refusing to replace {target}: it is {what}")
    if current is not None:
        mode = stat.S_IMODE(current.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    try:
        with open(descriptor, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """Each line of ``text`` wrapped to ``width`` (none: as it is); "- " points hang."""
    if not width:
        return [indent + line if line else line for line in text.splitlines()]
    lines = []
    for line in text.splitlines():
        if not line.strip():
            lines.append("")
            continue
        lead = re.match(r"\s*(?:[-*•]\s+)?", line).group()
        lines += textwrap.wrap(
            line,
            width=max(20, width),
            initial_indent=indent,
            subsequent_indent=indent + " " * len(lead),
            break_long_words=False,
            break_on_hyphens=False,
        ) or [indent]
    return lines


def _print_copy(record: dict[str, Any]) -> str:
    """ "Paperback $31.20 (list price $39.00)" when a web discount applies."""
    text = " ".join(str(v) for v in (record.get("print_format"), record.get("print_price")) if v)
    listed = record.get("list_price")
    if listed and listed != record.get("print_price"):
        text += f" (list price {listed})"
    return text


def _history_line(change: dict[str, Any]) -> str:
    """One change as a sentence: ``2026-11-23 06:17 UTC, run 7: title changed: "A" → "B"``."""
    when = _cell(change.get("changed_at"))[:16].replace("T", " ")
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
        _cell(record.get("published_on")) or record.get("date_text") or "",
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
        f"First seen {_cell(record['first_seen_at'])[:19]} UTC, "
        f"last seen {_cell(record['last_seen_at'])[:19]} UTC",
    ]
    return "\n".join(lines) + "\n"
