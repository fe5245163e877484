"""The document details of a RAND publication page: document number, DOI, ISBN, pages, series.

Read by their labels ("Document Number", "DOI", "ISBN", "Pages", "Series"), in a list, a
definition list or a table, under a "Document Details" heading or anywhere in the page for
the labels the catalog uses; RAND's classes are hints and fallbacks.
"""

from __future__ import annotations

import re

from parsel import Selector

from crawler.pages.blocks import Headings, labelled_items, section_after
from crawler.pages.common import clean_text, text_of

# page for the labels below; any label holding "ISBN" ("Paperback ISBN/EAN") is the ISBN.
DETAILS_HEADINGS = ("Document Details", "Details")
DOCUMENT_DETAILS = (".document-details",)
DETAIL_LABELS = {
    "document number": "document number",
    "doi": "doi",
    "pages": "pages",
    "page count": "pages",
    "number of pages": "pages",
    "series": "series",
    "year": "year",
}
SERIES = "div.series a"
SERIES_SENTENCE = re.compile(r"\bpart of the RAND\s+(?P<series>.+?)\s+series\b", re.I)
MAX_PAGES = 100_000
_DOI = re.compile(r"10\.\d{4,9}/\S+")


def document_facts(main: Selector, headings: Headings) -> dict[str, str]:
    """Document details by label ("Document Number", "DOI", "Pages", ...), first one wins.

    Every label under a "Document Details" heading (or in the classed block) is kept; in the
    rest of the page only the labels of DETAIL_LABELS and ISBNs count.
    """
    facts: dict[str, str] = {}
    scopes = [n for h in headings.named(DETAILS_HEADINGS) for n in section_after(h)]
    scopes += [n for css in DOCUMENT_DETAILS for n in main.css(css)]
    for scope in scopes:
        for label, value, item in labelled_items(scope):
            facts.setdefault(_fact_name(label) or label, value)
            for cls in ("isbn", "doi"):  # the classes RAND puts on the value itself
                hinted = text_of(item.css(f"span.{cls}"))
                if hinted:
                    facts.setdefault(cls, hinted)
    for label, value, _ in labelled_items(main):
        name = _fact_name(label)
        if name:
            facts.setdefault(name, value)
    return facts


def series_sentence(main: Selector) -> str | None:
    """The series a "This report is part of the RAND … series" line names (its link's text)."""
    for paragraph in main.xpath(".//p"):
        match = SERIES_SENTENCE.search(text_of(paragraph))
        if match:
            series = clean_text(match.group("series"))
            linked = [t for t in (text_of(a) for a in paragraph.xpath(".//a")) if t]
            return next((t for t in linked if t in series), series)
    return None


def _fact_name(label: str) -> str | None:
    """The fact a document-details label gives, None for labels the catalog does not use."""
    if "isbn" in label:
        return "isbn"
    return DETAIL_LABELS.get(label)


def page_count(value: str | None) -> int | None:
    """The number in "454" or "1,024 pages"; None past MAX_PAGES, which no document has (and
    a 5,000-digit "page count" is more than Python will turn into an int, or SQL store)."""
    if not value:
        return None
    digits = re.sub(r"[^\d]", "", value).lstrip("0")
    if not digits or len(digits) > len(str(MAX_PAGES)):
        return None
    count = int(digits)
    return count if count <= MAX_PAGES else None


def doi(value: str | None) -> str | None:
    if not value:
        return None
    match = _DOI.search(value)
    return match.group(0) if match else None
