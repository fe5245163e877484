"""Tables drawn to a terminal's width (rich), and plain lines for pipes."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from catalog.output.cells import cell, plain_table

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
        return plain_table(list(rows), columns, out)
    from rich import box
    from rich.table import Table
    from rich.text import Text

    hits = list(rows)
    console = _console(out, width)
    with_snippet = "snippet" in columns
    cells = {
        "id": [str(h.get("id") or "") for h in hits],
        "date": [cell(h.get("published_on")) or (h.get("date_text") or "") for h in hits],
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
    texts = [[" ".join(cell(row.get(c)).split()) for c in columns] for row in rows]
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
