"""Finding a page's blocks by what a reader sees: headings, column headers, labels, text shape.

A redesign renames classes first; the words on the page ("Purchase Print Copy", a "Price"
column, "DOI:", a printed date) change far less often. These helpers locate blocks by those
words, so that page objects can keep class names as hints and fallbacks instead of relying on
them. Nothing here knows a publisher; the words themselves live in each publisher's module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from parsel import Selector

from crawler.pages.common import clean_text, text_of

HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_IS_HEADING = " or ".join(f"self::{tag}" for tag in HEADING_TAGS)
# Elements that start a new block of text; anything else (span, em, a, time) runs inline.
BLOCK_TAGS = frozenset(
    {
        *HEADING_TAGS,
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "header", "li", "main", "nav", "ol", "p",
        "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_HAS_BLOCK = " or ".join(f"self::{tag}" for tag in sorted(BLOCK_TAGS))
_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "svg", "img", "picture"})
# Text between inline pieces that a reader takes for a separator, not for content.
_SEPARATOR = re.compile(r"^[\s·•|/,–—-]*$")
# A heading-like line: short, one line of words, not a sentence.
HEADING_MAX_CHARS = 80
_SENTENCE_END = re.compile(r"[.?!…]['\"’”)]*$")
_LABEL = re.compile(r"^(?P<label>[A-Za-z][A-Za-z /&()-]{0,40}?)\s*:\s*(?P<value>\S.*)$", re.S)


def normalised(text: str | None) -> str:
    """Text compared as a reader would: whitespace collapsed, case folded, no trailing colon."""
    return clean_text(text).rstrip(":").strip().casefold()


def tag_of(node: Selector) -> str:
    """The element's tag name in lower case ("" for text nodes and comments)."""
    tag = getattr(node.root, "tag", "")
    return tag.lower() if isinstance(tag, str) else ""


def is_heading(node: Selector) -> bool:
    return tag_of(node) in HEADING_TAGS


def heading_rank(node: Selector) -> int:
    """1 for h1 ... 6 for h6; 7 for a heading-like element that is not an h-tag."""
    tag = tag_of(node)
    return int(tag[1]) if tag in HEADING_TAGS else 7


class Headings:
    """The h1-h6 below a scope with their text, read once: a page object asks many questions."""

    def __init__(self, scope: Selector) -> None:
        self._found = [(normalised(text_of(h)), h) for h in scope.xpath(f".//*[{_IS_HEADING}]")]

    def named(self, names: Iterable[str]) -> list[Selector]:
        """The headings whose text is one of ``names`` (compared as a reader would), in order."""
        wanted = {normalised(name) for name in names}
        return [heading for text, heading in self._found if text in wanted]

    def starting(self, prefixes: Iterable[str]) -> list[Selector]:
        """The headings whose text starts with one of ``prefixes``, in page order."""
        wanted = tuple(normalised(prefix) for prefix in prefixes)
        return [heading for text, heading in self._found if text.startswith(wanted)]


def headings_named(scope: Selector, names: Iterable[str]) -> list[Selector]:
    """Every h1-h6 below ``scope`` whose text is one of ``names`` (compared as a reader would)."""
    return Headings(scope).named(names)


def _contains_heading_up_to(node: Selector, rank: int) -> bool:
    if is_heading(node) and heading_rank(node) <= rank:
        return True
    tags = " or ".join(f"self::{tag}" for tag in HEADING_TAGS[:rank])
    return bool(node.xpath(f".//*[{tags}]"))


def section_after(heading: Selector, *, climb: int = 3) -> list[Selector]:
    """The elements a heading introduces: what follows it up to the next heading of its rank.

    A heading alone in its wrapper (``<div><h2>Topics</h2></div><ul>…``) introduces what
    follows the wrapper, so the walk climbs (a few levels at most) until there is a sibling.
    """
    rank = heading_rank(heading)
    node = heading
    for _ in range(climb + 1):
        siblings = node.xpath("following-sibling::*")
        if siblings:
            section: list[Selector] = []
            for sibling in siblings:
                if _contains_heading_up_to(sibling, rank):
                    break
                section.append(sibling)
            return section
        parents = node.xpath("parent::*")
        if not parents or tag_of(parents[0]) in ("main", "body", "html"):
            return []
        node = parents[0]
    return []


def is_heading_like(node: Selector) -> bool:
    """An h-tag, or a short line of words with no blocks inside: what a reader takes for a title."""
    if is_heading(node):
        return True
    if node.xpath(f".//*[{_HAS_BLOCK}]") or tag_of(node) in ("table", "ul", "ol", "dl"):
        return False
    text = text_of(node)
    return 0 < len(text) <= HEADING_MAX_CHARS and not _SENTENCE_END.search(text)


def heading_before(node: Selector, *, climb: int = 3) -> Selector | None:
    """The heading-like element just before ``node`` (or before its wrapper), if there is one.

    Only the nearest element with text counts: a table whose previous sibling is a paragraph
    has no heading of its own, and the walk does not skip over that paragraph to find one.
    """
    current = node
    for _ in range(climb + 1):
        previous = current.xpath("preceding-sibling::*[normalize-space()][1]")
        if previous:
            return previous[0] if is_heading_like(previous[0]) else None
        parents = current.xpath("parent::*")
        if not parents or tag_of(parents[0]) in ("main", "body", "html"):
            return None
        current = parents[0]
    return None


# --- tables ------------------------------------------------------------------------------


def _cells(row: Selector) -> list[tuple[int, Selector]]:
    """A row's cells with the column each starts in (``colspan`` taken into account)."""
    cells: list[tuple[int, Selector]] = []
    column = 0
    for cell in row.xpath("./th|./td"):
        cells.append((column, cell))
        span = cell.attrib.get("colspan", "1").strip()
        column += int(span) if span.isdigit() and 0 < int(span) < 100 else 1
    return cells


def own_rows(table: Selector) -> list[Selector]:
    """The table's rows in page order, without the rows of tables nested in its cells."""
    return [r for r in table.xpath(".//tr") if r.xpath("ancestor::table[1]")[0].root is table.root]


def header_row(table: Selector) -> Selector | None:
    """The row of column headers: the first row, when it is in ``thead`` or made of ``th``s."""
    rows = own_rows(table)
    if not rows:
        return None
    first = rows[0]
    if first.xpath("parent::thead") or (
        first.xpath("./th") and not first.xpath("./td[normalize-space()]")
    ):
        return first
    return None


def columns(table: Selector) -> dict[str, int]:
    """Column header text (normalised) -> column number; empty when the table has no headers."""
    row = header_row(table)
    if row is None:
        return {}
    found: dict[str, int] = {}
    for column, cell in _cells(row):
        name = normalised(text_of(cell))
        if name:
            found.setdefault(name, column)
    return found


def data_rows(table: Selector) -> list[dict[int, Selector]]:
    """The table's body rows, each as column number -> cell; the header row left out."""
    header = header_row(table)
    rows = []
    for row in own_rows(table):
        if header is not None and row.root is header.root:
            continue
        cells = dict(_cells(row))
        if cells:
            rows.append(cells)
    return rows


# --- labelled values ---------------------------------------------------------------------


def label_and_value(text: str) -> tuple[str, str] | None:
    """``"Document Number: RR-3125-MCF"`` -> ("document number", "RR-3125-MCF")."""
    match = _LABEL.match(clean_text(text))
    if not match:
        return None
    return normalised(match.group("label")), clean_text(match.group("value"))


def labelled_items(scope: Selector) -> list[tuple[str, str, Selector]]:
    """Every "Label: value" a reader sees below ``scope``, in page order.

    Three shapes: one element holding both (``<li>DOI: 10.7249/RR3125</li>``), a definition
    list (``<dt>DOI</dt><dd>…</dd>``) and a two-cell row (``<th>DOI</th><td>…</td>``).
    """
    items: list[tuple[str, str, Selector]] = []
    for node in scope.xpath(".//li|.//p|.//dt|.//tr"):
        tag = tag_of(node)
        if tag == "dt":
            value = node.xpath("following-sibling::dd[1]")
            if value:
                items.append((normalised(text_of(node)), text_of(value[0]), node))
            continue
        if tag == "tr":
            cells = node.xpath("./th|./td")
            if len(cells) == 2 and tag_of(cells[0]) == "th":
                items.append((normalised(text_of(cells[0])), text_of(cells[1]), node))
            continue
        if node.xpath(".//li|.//p"):
            continue  # a wrapper: its own items are read one by one
        pair = label_and_value(text_of(node))
        if pair:
            items.append((*pair, node))
    return items


# --- text blocks -------------------------------------------------------------------------


def _has_text(node: Selector) -> bool:
    return bool(text_of(node))


def _inline_pieces(node: Selector) -> list[Selector] | None:
    """The inline children of a block that holds only them and separators, else None.

    ``<div><span>Report</span><span>Mar 12, 2024</span></div>`` is two lines to a reader
    (the type and the date); ``<p>A <em>new</em> deal</p>`` is one.
    """
    children = [c for c in node.xpath("./*") if tag_of(c) not in _NOT_TEXT and _has_text(c)]
    if len(children) < 2:
        return None
    loose = "".join(node.xpath("./text()").getall())
    return children if _SEPARATOR.match(loose) else None


def text_blocks(node: Selector, skip: Callable[[Selector], bool] | None = None) -> list[Selector]:
    """The smallest blocks of text below ``node``, in page order, as a reader would list them.

    A block is an element with text and no block inside it; a wrapper of blocks is walked
    into. ``skip`` leaves a subtree out (a teaser's title, its image).
    """
    found: list[Selector] = []

    def walk(parent: Selector) -> None:
        for child in parent.xpath("./*"):
            if tag_of(child) in _NOT_TEXT or (skip is not None and skip(child)):
                continue
            if child.xpath(f".//*[{_HAS_BLOCK}]"):
                walk(child)
            elif _has_text(child):
                found.extend(_inline_pieces(child) or [child])

    walk(node)
    return found


def is_sentence(text: str) -> bool:
    """Ends as a sentence does (full stop, question mark, ellipsis; closing quotes allowed)."""
    return bool(_SENTENCE_END.search(text))
