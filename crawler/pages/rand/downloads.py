"""What a RAND publication page offers to take away: its documents and its print copy.

Downloads are the tables with a "File Size" column (or under a "Download…" heading), each
labelled by the heading just above it ("Full Document", "Research Summary"); the print copy is
the table under "Purchase Print Copy", read by its "Format", "List Price" and "Price" column
headers. RAND's classes are hints and fallbacks.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsel import Selector

from catalog.records import Download
from crawler.pages.blocks import (
    Headings,
    columns,
    data_rows,
    heading_before,
    normalised,
    own_rows,
    section_after,
)
from crawler.pages.common import canonical_url, clean_text, text_in, text_of

# Downloads: every table with a "File Size" column (or under a "Download…" heading); each
# document's label is the heading just above its table ("Full Document", "Research Summary").
# The section's own heading ("Download eBook for Free") names no document.
SIZE_COLUMNS = ("file size", "size")
DOWNLOAD_HEADINGS = ("Download",)
# Old pages have one `#download` table, 2024 pages one `.download-block` per document.
DOWNLOAD_SCOPES = ("#download", ".product-download", "div.download", "section.download")
DOWNLOAD_BLOCK = (
    "ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' download-block ')][1]"
)
DOWNLOAD_LABEL = (".download-label", "h3", "h4", ".label")
DOWNLOAD_LINKS = (
    "span.format-pdf a, span.format-epub a, a[href$='.pdf'], a[href$='.epub'], "
    "a[href$='.PDF'], a[href*='.pdf?'], a[href*='.epub?']"
)
PDF_BUTTONS = ("div.btn-download a[href$='.pdf']",)
# Print copy: the table under "Purchase Print Copy", or any table with a price column, read by
# its "Format" / "List Price" / "Price" column headers; the classes below when it has none.
PURCHASE_HEADINGS = ("Purchase Print Copy", "Purchase a Print Copy", "Print Copy", "Purchase")
FORMAT_COLUMN = "format"
LIST_PRICE_COLUMNS = ("list price", "list", "retail price")
PRICE_COLUMNS = ("price", "your price", "web price", "sale price", "discounted price")
PRINT_ROWS = "#purchase tr, div.purchase tr, .product-purchase tr"
FULL_DOCUMENT = "Full Document"
_SIZE = re.compile(r"\d+(?:\.\d+)?\s*[KMG]B", re.I)
_PRICE = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d\d)?")


def download_tables(main: Selector, headings: Headings) -> list[Selector]:
    """Tables with a file-size column or under a "Download…" heading, in page order."""
    headed = {
        table.root
        for heading in headings.starting(DOWNLOAD_HEADINGS)
        for node in section_after(heading)
        for table in node.xpath("descendant-or-self::table")
    }
    return [
        table
        for table in main.xpath(".//table")
        if table.root in headed or any(c in columns(table) for c in SIZE_COLUMNS)
    ]


def read_downloads(
    page_url: str, main: Selector, tables: list[Selector], meta_pdf_url: str | None
) -> list[Download]:
    """Every PDF/EPUB the page offers, in page order, labelled with its block's heading;
    else the ``citation_pdf_url`` meta tag's PDF as the full document."""
    found = [a for table in tables for a in table.css(DOWNLOAD_LINKS)]
    found += [a for css in DOWNLOAD_SCOPES for s in main.css(css) for a in s.css(DOWNLOAD_LINKS)]
    wanted = {a.root for a in found}
    links = [a for a in main.xpath(".//a") if a.root in wanted]
    links += [a for css in PDF_BUTTONS for a in main.css(css)]
    offered: list[Download] = []
    seen: set[str] = set()
    for link in links:
        href = clean_text(link.attrib.get("href"))
        if not href:
            continue
        url = canonical_url(page_url, href)
        if not url or url in seen:
            continue
        seen.add(url)
        offered.append(
            Download(
                label=_download_label(link, url),
                format=_download_format(link, url),
                url=url,
                size=_download_size(link),
            )
        )
    if not offered and meta_pdf_url:
        url = canonical_url(page_url, meta_pdf_url)
        if url:
            offered.append(Download(label=FULL_DOCUMENT, format="PDF", url=url, size=None))
    return offered


def full_document(offered: list[Download]) -> tuple[str | None, str | None]:
    """The full document's PDF: labelled so, else the first PDF that is not a summary."""
    pdfs = [d for d in offered if d.format == "PDF"]
    for download in pdfs:
        if download.label.lower() == FULL_DOCUMENT.lower():
            return download.url, download.size
    for download in pdfs:
        if not _is_summary(download.url):
            return download.url, download.size
    return None, None


def print_tables(selector: Selector) -> list[Selector]:
    """Tables under a "Purchase Print Copy" heading or with a price column, in page order."""
    headed = {
        table.root
        for heading in Headings(selector).named(PURCHASE_HEADINGS)
        for node in section_after(heading)
        for table in node.xpath("descendant-or-self::table")
    }
    return [
        table
        for table in selector.xpath("//table")
        if table.root in headed or _price_columns(columns(table)) != (None, None)
    ]


def print_copy(
    selector: Selector, tables: list[Selector]
) -> tuple[str | None, str | None, str | None]:
    """Format, list price and price paid of the first priced row of the print-copy table.

    Read by column headers; a table without them (or only the classes) is read by its text.
    """
    for table in tables:
        named = columns(table)
        if _price_columns(named) == (None, None):
            rows = [_print_row(row) for row in own_rows(table)]
        else:
            rows = [_print_cells(cells, named) for cells in data_rows(table)]
        found = next((row for row in rows if row is not None), None)
        if found is not None:
            return found
    for row in selector.css(PRINT_ROWS):
        found = _print_row(row)
        if found is not None:
            return found
    return None, None, None


def _price(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _is_summary(url: str) -> bool:
    return ".summary." in urlsplit(url).path.lower()


def _download_label(link: Selector, url: str) -> str:
    """The heading just above the link's table, else its classed block's label, else a default.

    A table under the download section's own heading ("Download eBook for Free") has no label
    of its own: one unlabelled table on old pages, the full document unless it is a summary.
    """
    tables = link.xpath("ancestor::table[1]")
    heading = heading_before(tables[0]) if tables else None
    if heading is not None:
        label = text_of(heading)
        if not normalised(label).startswith(tuple(normalised(h) for h in DOWNLOAD_HEADINGS)):
            return label
    else:
        block = link.xpath(DOWNLOAD_BLOCK)
        label = text_in(block[0], DOWNLOAD_LABEL) if block else ""
        if label:
            return label
    return "Summary" if _is_summary(url) else FULL_DOCUMENT


def _download_format(link: Selector, url: str) -> str:
    path = urlsplit(url).path.lower()
    if (
        path.endswith(".epub")
        or "epub" in text_of(link).lower()
        or link.xpath("ancestor-or-self::*[contains(@class, 'epub')]")
    ):
        return "EPUB"
    return "PDF"


def _download_size(link: Selector) -> str | None:
    for scope in ("ancestor::tr[1]", "ancestor::li[1]", "parent::*"):
        row = link.xpath(scope)
        if row:
            size = _SIZE.search(text_of(row))
            if size:
                return re.sub(r"\s+", " ", size.group(0))
    return None


def _price_columns(named: dict[str, int]) -> tuple[int | None, int | None]:
    """The list-price and price columns of a table's headers (None where there is none)."""
    listed = next((named[c] for c in LIST_PRICE_COLUMNS if c in named), None)
    paid = next((named[c] for c in PRICE_COLUMNS if c in named), None)
    return listed, paid


def _print_cells(
    cells: dict[int, Selector], named: dict[str, int]
) -> tuple[str | None, str | None, str | None] | None:
    """A print row read by its column headers: "Paperback 138 pages | $39.00 | $31.20 …".

    A lone price is both list price and price paid; a price cell holding two prices (no list
    column) is list then paid. None when the row has no price.
    """
    list_column, price_column = _price_columns(named)

    def cell(column: int | None) -> str:
        return text_of(cells[column]) if column in cells else ""

    paid = _PRICE.findall(cell(price_column))
    listed = _PRICE.findall(cell(list_column))
    if not paid and not listed:
        return None
    if listed:
        list_price, price = listed[0], (paid or listed)[0]
    else:
        list_price, price = paid[0], paid[min(1, len(paid) - 1)]
    fmt = cell(named.get(FORMAT_COLUMN))
    if not fmt:
        text = " ".join(text_of(c) for _, c in sorted(cells.items()))
        first = _PRICE.search(text)
        fmt = text[: first.start() if first else len(text)].replace("Add to Cart", "")
    return _print_format(fmt), _price(list_price), _price(price)


def _print_row(row: Selector) -> tuple[str | None, str | None, str | None] | None:
    """A print row without column headers, by its classes and text: "Paperback 138 pages
    $39.00 $31.20 20% Web Discount" is list $39.00, paid $31.20; a single price is both."""
    text = text_of(row)
    prices = _PRICE.findall(text)
    if not prices:
        return None
    first = _PRICE.search(text)
    start = first.start() if first else len(text)
    fmt = text_of(row.css("td.format")) or text[:start].replace("Add to Cart", "")
    paid = text_of(row.css("td.price")) if row.css("td.list-price") else ""
    paid_match = _PRICE.search(paid)
    list_price = _PRICE.search(text_of(row.css("td.list-price")))
    if list_price and paid_match:
        return _print_format(fmt), _price(list_price.group(0)), _price(paid_match.group(0))
    return _print_format(fmt), _price(prices[0]), _price(prices[min(1, len(prices) - 1)])


def _print_format(fmt: str) -> str | None:
    """ "Paperback454 pages" -> "Paperback, 454 pages" (the page count is split off later)."""
    return re.sub(r"(?<=[a-z])(?=\d)", ", ", clean_text(fmt)) or None
