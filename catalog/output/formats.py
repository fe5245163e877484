"""Data out: tables, CSV, TSV, JSON, JSON lines and citations, one renderer for every command."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from catalog import citations
from catalog.errors import OutputError
from catalog.output.cells import cell, plain_table
from catalog.output.terminal import render_table, terminal_width

DATA_FORMATS = ("table", "csv", "tsv", "json", "jsonl")

CITATION_FORMATS = citations.FORMATS

FORMATS = (*DATA_FORMATS, *CITATION_FORMATS)

BOM = "\ufeff"

# The keys of a search hit in JSON, wherever it is printed or served (`catalog search --json`,
# the web API); a similar publication has the same keys but the snippet.
HIT_JSON_COLUMNS = (
    "url",
    "title",
    "content_type",
    "publisher",
    "published_on",
    "summary",
    "topics",
    "authors",
    "subtitle",
    "document_number",
    "pdf_url",
    "score",
    "snippet",
)
SIMILAR_JSON_COLUMNS = tuple(c for c in HIT_JSON_COLUMNS if c != "snippet")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


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
            writer.writerow([cell(row.get(c)) for c in columns])
            count += 1
    elif fmt == "tsv":
        if bom:
            out.write(BOM)
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(tsv_escape(cell(row.get(c))) for c in columns) + "\n")
            count += 1
    elif fmt == "table":
        width = width or terminal_width(out)
        if width:
            return render_table(rows, columns, out, width, widths, labels)
        count = plain_table(rows, columns, out)
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
