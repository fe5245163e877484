"""HTML from untrusted text: Jinja2 with autoescaping everywhere, and the few filters that turn
catalog text into markup (search marks, paragraphs, links) after escaping it.

Everything shown comes from crawled pages. Text is escaped by Jinja2 before anything is added
to it; the only markup made here is ``<mark>`` around a snippet's matched words and lists and
paragraphs from line breaks, each built from escaped text. A URL becomes a link only when it is
an absolute http(s) URL: ``javascript:``, ``data:`` and the like stay text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

# A search snippet marks a matched word [like this]: one word, no spaces or brackets inside.
_MARK = re.compile(r"\[([^\[\]\s]+)\]")
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f\\<>\"']")


def mark_test(text: str) -> Callable[[str], bool]:
    """Whether a bracketed word of a snippet of the search ``text`` is one of its marks.

    Snippets mark matched words ``[like this]``, but the text they are cut from may hold
    brackets of its own (``[sic]``): a bracketed word is a mark only when it is a word the
    query looks for, as the snippet's maker (``catalog.index.highlight``) decided.
    """
    from catalog.index import analysis, highlight, query

    want = highlight.wanted(query.compile_query(text))
    fields = [want[name] for name in ("summary", "title", "text") if name in want]

    def is_mark(word: str) -> bool:
        return any(w.matches(t.term) for t in analysis.tokens(word) for w in fields)

    return is_mark


def marked(snippet: str | None, is_mark: Callable[[str], bool] | None = None) -> Markup:
    """A snippet with its ``[marks]`` as ``<mark>``: escaped first, then marked (only the
    brackets ``is_mark`` accepts, when given)."""

    def mark(match: re.Match[str]) -> str:
        if is_mark is None or is_mark(html.unescape(match.group(1))):
            return f"<mark>{match.group(1)}</mark>"
        return match.group(0)

    return Markup(_MARK.sub(mark, str(escape(snippet or ""))))


def http_url(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) URL fit to be a link's target, else None."""
    if not isinstance(url, str) or _UNSAFE_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def when(value: Any) -> str:
    """A date as ISO; a time (UTC) to the minute: ``2026-11-23 06:17 UTC``."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def blocks(text: str | None) -> list[tuple[str, Any]]:
    """Catalog prose as blocks: ``("p", text)`` paragraphs and ``("ul", [items])`` lists.

    Abstracts are paragraphs one blank line apart; research questions and recommendations one
    a line; key findings sub-headings, then their points as ``- `` lines.
    """
    found: list[tuple[str, Any]] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(("- ", "• ")):
            if not found or found[-1][0] != "ul":
                found.append(("ul", []))
            found[-1][1].append(line[2:].strip())
        else:
            found.append(("p", line))
    return found


def line_items(text: str | None) -> list[str]:
    """One item a line (research questions, recommendations)."""
    return [line.strip().removeprefix("- ") for line in (text or "").splitlines() if line.strip()]


def joined(values: Iterable[Any] | None, between: str = ", ") -> str:
    return between.join(str(v) for v in values or () if v)


def environment() -> Environment:
    """The templates, autoescaped whatever their name (no template may opt out)."""
    env = Environment(
        loader=PackageLoader("catalog.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(marked=marked, http_url=http_url, when=when, blocks=blocks)
    env.filters.update(line_items=line_items, joined=joined)
    return env
