"""Page objects for rand.org.

Selectors are the ones documented in the project's reference notes on RAND's markup, each with
fallbacks: the live site changes, and a missing piece must cost one field, not the crawl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector, SelectorList

from catalog.records import (
    SECTION_FEATURED,
    SECTION_LIST,
    DetailFailure,
    Download,
    ListingEntry,
    PublicationDetails,
    SkippedTeaser,
    TopicRef,
    merge_sighting,
)
from crawler.pages.blocks import (
    Headings,
    columns,
    data_rows,
    heading_before,
    is_sentence,
    labelled_items,
    normalised,
    own_rows,
    section_after,
    tag_of,
    text_blocks,
)
from crawler.pages.common import (
    canonical_url,
    citation_meta,
    clean_text,
    fragment_text,
    json_ld,
    listing_page_url,
    page_number,
    parse_date,
    person_name,
    text_of,
)

HEADING = "h1#RANDTitleHeadingId"
# The topic's listing lives in the main content; the site header repeats `ul.teasers.list`
# blocks ("Featured Solutions") that are navigation, so nothing is read outside this scope.
MAIN_SCOPES = ("main#page-content", "main", "#page-content")
# Featured teasers: the old layout's `ul.teasers.feature` under a "Featured" heading; the 2024
# layout drops the heading and the class, and the two teasers are simply the ones before the
# "Explore <Topic>" list (see _featured_teasers).
FEATURED_TEASERS = ("ul.teasers.feature > li", ".featured-teasers ul.teasers > li")
LIST_TEASERS = ("#results ul.teasers.list > li", ".filteredlist ul.teasers.list > li")
ANY_LIST_TEASERS = "ul.teasers.list > li"
ANY_TEASERS = "ul.teasers > li"
# Menus and footers hold teaser-shaped navigation; a teaser below one of these is never listed.
NAVIGATION = "ancestor::*[self::header or self::nav or self::footer]"
TEASER_LINK = ("h3.title a", ".title a")
TEASER_TITLE = ("h3.title", ".title")
# A teaser's type, date and summary are read by what they say (see _teaser_parts): a date-shaped
# line is the date, a known content-type label the type, the prose paragraph the summary. The
# classes below are hints for what that reading cannot tell: a date RAND printed in no form we
# know ("Winter 2020"), a type label we have never seen. 2024 puts type and date together in
# `.type-time`; older pages have a bare `p.type`.
TEASER_TYPE = (".text .type-time p.type", ".type-time .type", "p.type")
TEASER_DATE = ("p.date", ".type-time .date", ".type-time time", "time")
TEASER_SUMMARY = ("p.desc", ".desc")
# Content types RAND labels teasers and product pages with (seen on listings, product headers
# and in the search filters), compared case-insensitively.
CONTENT_TYPES = frozenset(
    {
        "announcement", "article", "blog", "blog post", "book", "commentary",
        "conference proceeding", "conference proceedings", "data", "dataset", "dissertation",
        "documented briefing", "essay", "event", "expert insights", "external publication",
        "infographic", "interview", "journal article", "multimedia", "news release",
        "newsletter", "occasional paper", "periodical", "perspective", "podcast",
        "press release", "q&a", "rand weekly recap", "report", "research", "research brief",
        "research report", "speech", "technical report", "testimony", "tool", "tools", "video",
        "working paper",
    }
)  # fmt: skip
# A line that is only a date, in any form RAND prints one (checked before parse_date, which
# also accepts what it cannot place in time, e.g. "0001-01-01").
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_SEASON = r"(?:spring|summer|fall|autumn|winter)"
DATE_LINE = re.compile(
    r"^(?:(?:published|posted|updated|released)(?:\s+on)?\s*:?\s*)?(?:"
    # Apr 6, 2022 / April 2022 / Winter 2020
    rf"(?:{_MONTH}|{_SEASON})\s+(?:\d{{1,2}},?\s+)?\d{{4}}"
    rf"|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}"  # 6 April 2022
    r"|\d{4}(?:[-/]\d{1,2}(?:[-/]\d{1,2})?)?(?:T\S*)?"  # 2022, 2022-04-06, 2021/6/4, ISO
    r"|\d{1,2}/\d{1,2}/\d{4}"  # 4/6/2022
    r")$",
    re.I,
)
# A type label RAND has not used before still reads as one: a few words, no digits, no sentence.
_LABEL_WORDS = 5
_LABEL_CHARS = 40
# A summary is prose: a sentence, or at least this many words.
_PROSE_WORDS = 8
TEASER_IMAGE = "div.img-wrap img"
PAGINATION_LINKS = (
    "#results div.pagination-wrap ul li a",
    ".pagination-wrap a",
    "nav.pagination a",
    ".pagination a",
)
TOPIC_PATH = re.compile(r"/topics/([^/]+?)\.html$")


@dataclass(slots=True)
class TopicListing:
    """What one listing page yields: records, teasers skipped, and where the listing goes next."""

    topic: TopicRef
    page: int
    entries: list[ListingEntry] = field(default_factory=list)
    skipped: list[SkippedTeaser] = field(default_factory=list)
    next_page_url: str | None = None
    last_page: int | None = None

    @property
    def teaser_count(self) -> int:
        return len(self.entries) + len(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": {"slug": self.topic.slug, "name": self.topic.name, "url": self.topic.url},
            "page": self.page,
            "entries": [e.to_dict() for e in self.entries],
            "skipped": [s.to_dict() for s in self.skipped],
            "next_page_url": self.next_page_url,
            "last_page": self.last_page,
        }


class RandTopicPage:
    """A topic listing page, e.g. https://www.rand.org/topics/security-cooperation.html?page=2."""

    def __init__(self, url: str, html: str | bytes) -> None:
        self.url = url
        self.selector = _selector(html)
        self.main = self._main_scope()

    def _main_scope(self) -> Selector:
        for css in MAIN_SCOPES:
            found = self.selector.css(css)
            if found:
                return found[0]
        return self.selector

    def parse(self) -> TopicListing:
        """Every page object answers ``parse()``; fixtures compare its ``to_dict()``."""
        return self.listing()

    def listing(self) -> TopicListing:
        """Parse the whole page into a :class:`TopicListing`: one entry per publication.

        A publication can sit in several places on one page (the featured pair is repeated on
        every page of a 2022 listing, once without image and once with); those occurrences
        become one entry, so the store sees each publication once per page.
        """
        topic = self.topic()
        result = TopicListing(topic=topic, page=page_number(self.url))
        listing_url = listing_page_url(self.url, result.page)
        by_url: dict[str, ListingEntry] = {}
        featured, listed = self._sections()
        for section, teasers in ((SECTION_FEATURED, featured), (SECTION_LIST, listed)):
            for position, teaser in enumerate(teasers, start=1):
                try:
                    record = self._teaser(teaser, topic, section, listing_url, position)
                except Exception:  # noqa: BLE001 - one unreadable teaser costs that teaser only
                    record = SkippedTeaser(section=section, position=position, reason="unreadable")
                if isinstance(record, SkippedTeaser):
                    result.skipped.append(record)
                elif record.url in by_url:
                    merge_sighting(by_url[record.url], record)
                else:
                    by_url[record.url] = record
                    result.entries.append(record)
        try:
            result.next_page_url, result.last_page = self._pagination(result.page)
        except Exception:  # noqa: BLE001 - pagination markup we cannot read: no next page
            result.next_page_url, result.last_page = None, result.page
        return result

    def _sections(self) -> tuple[list[Selector], list[Selector]]:
        """Featured teasers and main-list teasers, each in page order."""
        listed = self._list_teasers()
        featured = self._featured_teasers(listed)
        return featured, listed

    def topic(self) -> TopicRef:
        parts = urlsplit(self.url)
        match = TOPIC_PATH.search(parts.path)
        name = text_of(self.selector.css(HEADING)) or self._title_name()
        if match:
            slug = match.group(1)
        else:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown"
        topic_url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
        return TopicRef(slug=slug, name=name or slug, url=topic_url)

    def _title_name(self) -> str:
        title = clean_text(self.selector.css("title::text").get())
        return clean_text(title.split("|")[0])

    def _list_teasers(self) -> list[Selector]:
        for css in LIST_TEASERS:
            found = self.main.css(css)
            if found:
                return _not_navigation(found)
        # No #results wrapper: any main-list teasers in the main content, never the featured ones.
        return [
            li
            for li in _not_navigation(self.main.css(ANY_LIST_TEASERS))
            if "feature" not in _ul_classes(li)
        ]

    def _featured_teasers(self, listed: list[Selector]) -> list[Selector]:
        """Teasers marked as featured, or (2024 layout, no marking) those before the main list.

        Only teasers *before* the list count in the 2024 case: later unmarked teaser blocks
        ("More from RAND" and the like) are not this topic's featured items.
        """
        for css in FEATURED_TEASERS:
            found = self.main.css(css)
            if found:
                return _not_navigation(found)
        if not listed:
            return []
        in_list = {id(li.root) for li in listed}
        before: list[Selector] = []
        for li in _not_navigation(self.main.css(ANY_TEASERS)):  # document order
            if id(li.root) in in_list:
                break
            if _first(li, TEASER_LINK) is not None or _first(li, TEASER_TITLE) is not None:
                before.append(li)
        return before

    def _teaser(
        self, li: Selector, topic: TopicRef, section: str, listing_url: str, position: int
    ) -> ListingEntry | SkippedTeaser:
        link = _first(li, TEASER_LINK)
        heading = link if link is not None else _first(li, TEASER_TITLE)
        title = text_of(heading) if heading is not None else ""
        href = clean_text(link.attrib.get("href")) if link is not None else ""
        if not title:
            return SkippedTeaser(section=section, position=position, reason="no title")
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            return SkippedTeaser(section=section, position=position, reason="no link")
        url = canonical_url(self.url, href)
        if not url:
            return SkippedTeaser(section=section, position=position, reason="malformed link")
        parts = _teaser_parts(li, heading)
        content_type = text_of(parts.kind) if parts.kind is not None else ""
        date_text, published_on = self._teaser_date(parts.date)
        image_url, caption = self._image(li, content_type)
        return ListingEntry(
            url=url,
            title=title,
            content_type=content_type,
            published_on=published_on,
            date_text=date_text,
            summary=text_of(parts.summary) if parts.summary is not None else "",
            image_url=image_url,
            image_caption=caption,
            topic=topic,
            section=section,
            listing_url=listing_url,
            position=position,
        )

    @staticmethod
    def _teaser_date(node: Selector | None) -> tuple[str, date | None]:
        """The printed date, and what it means; a ``<time datetime>`` helps when the text fails."""
        if node is None:
            return "", None
        date_text = text_of(node)
        parsed = parse_date(date_text)
        if parsed is None:
            stamp = node.xpath("descendant-or-self::time/@datetime").get()
            parsed = parse_date(stamp)
        return date_text, parsed

    def _image(self, li: Selector, content_type: str) -> tuple[str | None, str | None]:
        img = li.css(TEASER_IMAGE)
        if not img:
            return None, None
        src = clean_text(img.attrib.get("src") or img.attrib.get("data-src"))
        alt = clean_text(img.attrib.get("alt"))
        # Teasers without a photo show a generic icon whose alt text is just the content type.
        if not src or (content_type and alt == content_type and "icon" in src.lower()):
            return None, None
        url = canonical_url(self.url, src)
        return (url, alt or None) if url else (None, None)

    def _pagination(self, current: int) -> tuple[str | None, int | None]:
        links = []
        for css in PAGINATION_LINKS:
            links = self.main.css(css)
            if links:
                break
        pages: dict[int, str] = {}
        next_url = None
        for a in links:
            href = a.attrib.get("href")
            if not href or href.startswith(("javascript:", "#")):
                continue
            absolute = canonical_url(self.url, href)
            if not absolute:
                continue
            number = page_number(absolute)
            pages.setdefault(number, listing_page_url(absolute, number))
            if "next" in (a.attrib.get("rel", "") + " " + text_of(a)).lower() and number > current:
                next_url = listing_page_url(absolute, number)
        if next_url is None and current + 1 in pages:
            next_url = pages[current + 1]
        return next_url, max([current, *pages])


def topic_slug_from_url(url: str) -> str | None:
    """The slug of a ``/topics/<slug>.html`` URL, known before the page is fetched."""
    match = TOPIC_PATH.search(urlsplit(url).path)
    return match.group(1) if match else None


def _first(node: Selector, selectors: tuple[str, ...]) -> Selector | None:
    for css in selectors:
        found = node.css(css)
        if found:
            return found[0]
    return None


@dataclass(slots=True)
class _TeaserParts:
    """The blocks of one teaser that hold its content type, date and summary (None: absent)."""

    kind: Selector | None
    date: Selector | None
    summary: Selector | None


def _teaser_parts(li: Selector, title: Selector | None) -> _TeaserParts:
    """Type, date and summary of a teaser, by what each line says; classes only as hints.

    The title (and anything holding it) is left out; of the other lines, a date-shaped one
    (or a ``<time>``) is the date, a known content type the type, the first prose paragraph the
    summary. What the text cannot tell falls back to the class names RAND has used; a short
    label beside the date or above the title is a type label we have not seen before.
    """
    title_root = title.root if title is not None else None
    title_text = text_of(title) if title is not None else ""
    holding_title = set(title_root.iterancestors()) if title_root is not None else set()

    def is_title(node: Selector) -> bool:
        """The title, or a wrapper that holds nothing but it."""
        return node.root is title_root or (
            node.root in holding_title and text_of(node) == title_text
        )

    blocks = text_blocks(li, skip=is_title)
    date_node = next((b for b in blocks if _says_date(b)), None) or _first(li, TEASER_DATE)
    taken = {date_node.root} if date_node is not None else set()
    kind = next(
        (b for b in blocks if b.root not in taken and normalised(text_of(b)) in CONTENT_TYPES),
        None,
    )
    if kind is None:
        hinted = _first(li, TEASER_TYPE)
        kind = hinted if hinted is not None and hinted.root not in taken else None
    if kind is None:
        kind = _type_label(li, blocks, date_node, title_root, taken)
    if kind is not None:
        taken.add(kind.root)
    summary = next((b for b in blocks if b.root not in taken and _is_prose(text_of(b))), None)
    if summary is None:
        hinted = _first(li, TEASER_SUMMARY)
        summary = hinted if hinted is not None and hinted.root not in taken else None
    return _TeaserParts(kind=kind, date=date_node, summary=summary)


def _says_date(block: Selector) -> bool:
    """A line that is only a date, or a short one holding a ``<time>`` element."""
    text = text_of(block)
    if block.xpath("descendant-or-self::time") and not _is_prose(text):
        return True
    return bool(DATE_LINE.match(text))


def _is_label(text: str) -> bool:
    return (
        0 < len(text) <= _LABEL_CHARS
        and len(text.split()) <= _LABEL_WORDS
        and not re.search(r"\d", text)
        and not is_sentence(text)
        and not text.lower().startswith("by ")
    )


def _is_prose(text: str) -> bool:
    return is_sentence(text) or len(text.split()) >= _PROSE_WORDS


def _type_label(
    li: Selector,
    blocks: list[Selector],
    date_node: Selector | None,
    title_root: Any,
    taken: set[Any],
) -> Selector | None:
    """A short label sharing its wrapper with the date, or printed above the title."""
    date_parent = date_node.root.getparent() if date_node is not None else None
    above_title: set[Any] = set()
    if title_root is not None:
        for element in li.root.iter():
            if element is title_root:
                break
            above_title.add(element)
    for block in blocks:
        if block.root in taken or not _is_label(text_of(block)):
            continue
        if date_parent is not None and block.root.getparent() is date_parent:
            return block
        if block.root in above_title:
            return block
    return None


def _ul_classes(li: Selector) -> str:
    return " ".join(li.xpath("parent::ul/@class").getall())


def _text_in(node: Selector, selectors: tuple[str, ...]) -> str:
    found = _first(node, selectors)
    return text_of(found) if found is not None else ""


def _not_navigation(teasers: SelectorList | list[Selector]) -> list[Selector]:
    return [li for li in teasers if not li.xpath(NAVIGATION)]


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _selector(html: str | bytes | None) -> Selector:
    """A parsel Selector for whatever a server sent: bytes, control characters, nothing at all."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    text = _CONTROL_CHARS.sub("", html or "")
    try:
        return Selector(text=text or "<html></html>")
    except Exception:  # noqa: BLE001 - lxml refuses some input outright; treat it as empty
        return Selector(text="<html></html>")


# --- product (detail) pages ----------------------------------------------------------------

PRODUCT_HEADER = ("div.product-header", "section.product-header", ".product-header")
SUBTITLE = "p.subtitle"
PRODUCT_TYPE = (".type-published span.type", ".product-header p.type")
PUBLISHED = (".type-published span.published", ".product-header p.date")
# 2024 header: type and date in one block whose text runs together ("ResearchPublished Apr 6,
# 2022"); read with _TYPE_DATE when the spans above are missing.
TYPE_DATE_BLOCKS = (".product-header .content-type-date", ".product-header .type-published")
AUTHORS = "p.authors"
# Each block below is found first by what a reader sees (its heading, its column headers, its
# labels), then by the classes RAND has used: a copy of the page whose blocks carry other
# classes must lose nothing (issue 16).
# The abstract has no heading on RAND pages: an "Abstract" heading if a copy has one, the
# classes, then the first prose of a report page that sits under no heading (_abstract_block).
ABSTRACT_HEADINGS = ("Abstract",)
ABSTRACT = ("div.abstract.product-page-abstract", "div.product-page-abstract", "div.abstract")
# Paragraphs every report page carries that are not its abstract.
BOILERPLATE = re.compile(
    r"^(?:This (?:research|report|publication|document|work|project|study|brief)\b.{0,200}?"
    r"\b(?:sponsored|funded|conducted|part of)\b|This document and trademark|RAND is a "
    r"nonprofit|Use Adobe|Permission is (?:given|required))",
    re.I | re.S,
)
BODY_TEXT = "div.body-text"
TOPICS_HEADINGS = ("Topics", "Related Topics")
RELATED_TOPICS = "ul.related-topics li a"
# Document details: "Label: value" lines, under a "Document Details" heading or anywhere in the
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
JOURNAL = (".product-header .journal em", ".product-header .journal", ".journal-title")
FULL_DOCUMENT = "Full Document"
RESEARCH_QUESTIONS = "Research Questions"
KEY_FINDINGS = "Key Findings"
RECOMMENDATIONS = "Recommendations"
LINKS = "descendant-or-self::a[@href]"
# Paragraphs that can be an abstract: not in a table, figure, sidebar or the site's chrome.
PROSE_PARAGRAPHS = (
    ".//p[not(ancestor::table or ancestor::figure or ancestor::aside or ancestor::nav"
    " or ancestor::header or ancestor::footer)]"
)
# A paragraph is under a heading when it, or a wrapper of it, follows an h1-h6 as a sibling
# (after the h1: the title's subtitle or authors, when the header's class is not one we know).
UNDER_A_HEADING = (
    "ancestor-or-self::*[preceding-sibling::*[self::h1 or self::h2 or self::h3 or self::h4"
    " or self::h5 or self::h6]]"
)
# A block's paragraphs (the block may be a list of paragraphs): figures and promos left out.
PARAGRAPHS = "descendant-or-self::p[not(ancestor::figure) and not(ancestor::aside)]"
NOT_PROSE_ONLY = ".//h1|.//h2|.//h3|.//h4|.//h5|.//h6|.//table|.//ul|.//ol|.//form"
MAX_PAGES = 100_000
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."}
_SIZE = re.compile(r"\d+(?:\.\d+)?\s*[KMG]B", re.I)
_PRICE = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d\d)?")
_PAGES = re.compile(r"(\d[\d,]*)\s*pages", re.I)
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_MONTH_DATE = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
_TYPE_DATE = re.compile(
    rf"^(?P<type>[A-Za-z][A-Za-z &/-]{{0,40}}?)?\s*"
    rf"(?P<printed>(?:Published:?\s*|Posted:?\s*)?(?P<date>{_MONTH_DATE}))$"
)
_PUBLISHED_IN = re.compile(r"Published in:?\s*(?P<journal>[^,;]+)", re.I)


class RandProductPage:
    """A publication's own page: a report, brief, commentary, news release, ...

    Every field falls back to the Highwire ``citation_*`` meta tags (and JSON-LD for the
    date), so pages in older layouts still yield what they carry.
    """

    def __init__(self, url: str, html: str | bytes) -> None:
        self.url = canonical_url(url, url)
        self.selector = _selector(html)
        self.meta = citation_meta(self.selector)
        self.main = _first(self.selector, MAIN_SCOPES) or self.selector

    @cached_property
    def _headings(self) -> Headings:
        """The main content's headings: most blocks are found by the one above them."""
        return Headings(self.main)

    def _meta(self, name: str) -> str | None:
        values = self.meta.get(name)
        return values[0] if values else None

    def _text(self, selectors: tuple[str, ...] | str) -> str:
        node = _first(self.main, (selectors,) if isinstance(selectors, str) else selectors)
        return text_of(node) if node is not None else ""

    def parse(self) -> PublicationDetails | DetailFailure:
        return self.details()

    def details(self) -> PublicationDetails | DetailFailure:
        """The publication's details, or a failure the crawl records and retries; never raises.

        A page this parser cannot read (a markup change, a truncated download) must cost that
        one publication, not the crawl.
        """
        try:
            return self._details()
        except Exception as error:  # noqa: BLE001 - see above
            return DetailFailure(self.url, f"unreadable page: {type(error).__name__}: {error}")

    def _details(self) -> PublicationDetails | DetailFailure:
        title = text_of(self.selector.css(HEADING)) or self._meta("citation_title") or ""
        if not title or not (_first(self.main, PRODUCT_HEADER) is not None or self.meta):
            return DetailFailure(
                self.url, "unknown layout: no product header, title or citation meta"
            )
        header_type, header_date = self._type_and_date()
        published_on, date_text = self._published(header_date)
        facts = self._facts
        downloads = self._downloads()
        pdf_url, pdf_size = self._full_document(downloads)
        print_format, list_price, print_price = self._print_copy()
        page_count = _page_count(facts.get("pages"))
        if page_count is None and print_format:
            match = _PAGES.search(print_format)
            page_count = _page_count(match.group(1)) if match else None
        return PublicationDetails(
            url=self.url,
            title=title,
            subtitle=self._text(SUBTITLE) or None,
            product_type=header_type or None,
            content_category=clean_text(
                self.selector.css("meta[name='rand-content-category']::attr(content)").get()
            )
            or None,
            published_on=published_on,
            date_text=date_text,
            authors=self._authors(),
            abstract=self._abstract(),
            research_questions=self._headed_list(RESEARCH_QUESTIONS),
            key_findings=self._key_findings(),
            recommendations=self._headed_list(RECOMMENDATIONS),
            body_text=self._paragraphs(self.main.css(BODY_TEXT)) or None,
            related_topics=self._related_topics(),
            document_number=facts.get("document number")
            or self._meta("citation_technical_report_number"),
            doi=_doi(facts.get("doi") or self._meta("citation_doi")),
            isbn=facts.get("isbn") or self._meta("citation_isbn"),
            series=self._series(),
            page_count=page_count,
            pdf_url=pdf_url,
            pdf_size=pdf_size,
            print_format=_PAGES.sub("", print_format).strip(" ,") if print_format else None,
            print_price=print_price,
            downloads=downloads,
            list_price=list_price,
            journal=self._journal(),
        )

    def _type_and_date(self) -> tuple[str, str]:
        """The header's content type and printed date.

        Separate spans on older pages; on 2024 pages one block whose text runs together
        ("ResearchPublished Apr 6, 2022"), split by pattern.
        """
        content_type, printed = self._text(PRODUCT_TYPE), self._text(PUBLISHED)
        if content_type and printed:
            return content_type, printed
        header = _first(self.main, PRODUCT_HEADER)
        blocks = [n for css in TYPE_DATE_BLOCKS for n in self.main.css(css)]
        if header is not None:
            # Document order: the first block whose whole text is "<type><date>" is the one
            # holding just those two; later lines ("originally appeared on ...") come after.
            blocks += header.xpath(".//p|.//div|.//span")
        for block in blocks:
            match = _TYPE_DATE.match(text_of(block))
            if match:
                found_type = clean_text(match.group("type"))
                return content_type or found_type, printed or clean_text(match.group("printed"))
        return content_type, printed

    def _published(self, printed: str) -> tuple[date | None, str]:
        candidates = [printed]
        candidates.append(
            clean_text(self.selector.css("meta[name='rand-date']::attr(content)").get())
        )
        candidates += [
            self._meta("citation_online_date") or "",
            self._meta("citation_publication_date") or "",
            self._meta("citation_date") or "",
        ]
        candidates += [str(o.get("datePublished", "")) for o in json_ld(self.selector)]
        for text in candidates:
            parsed = parse_date(text)
            if parsed:
                return parsed, clean_text(text)
        return None, next((clean_text(t) for t in candidates if t), "")

    def _authors(self) -> list[str]:
        node = self.main.css(AUTHORS)
        if node:
            text = re.sub(r"^by\s+", "", text_of(node), flags=re.I)
            names: list[str] = []
            for piece in re.split(r",\s*|\s+and\s+|\s*&\s*", text):
                piece = clean_text(piece)
                if not piece:
                    continue
                if piece.lower() in _NAME_SUFFIXES and names:
                    names[-1] = f"{names[-1]}, {piece}"
                else:
                    names.append(piece)
            if names:
                return names
        return [person_name(a) for a in self.meta.get("citation_author", [])]

    def _abstract(self) -> str | None:
        """The page's abstract, or the ``citation_abstract`` meta when that is longer.

        The meta tag may hold HTML (escaped or not) and is often cut short, so it is cleaned to
        text and only wins when the page has less to say.
        """
        block = self._abstract_block()
        text = self._paragraphs(block) if block is not None else ""
        meta = fragment_text(self._meta_raw("citation_abstract"))
        return (text if len(text) >= len(meta) else meta) or None

    def _abstract_block(self) -> Selector | SelectorList | None:
        """Under an "Abstract" heading, else by class, else by where a reader finds it."""
        for heading in self._headings.named(ABSTRACT_HEADINGS):
            section = section_after(heading)
            if section:
                return SelectorList(section)
        found = _first(self.main, ABSTRACT)
        return found if found is not None else self._abstract_by_position()

    def _abstract_by_position(self) -> Selector | None:
        """The first prose of a report page that is under no heading, with its paragraphs.

        RAND prints the abstract without a heading, right after the header (and the research
        questions); what is under a heading, in a table, a figure or a sidebar, or is the
        sponsor and series boilerplate, is not it. Only report pages (downloads, a print copy,
        document details or headed findings) have one: a commentary's prose is its body text.
        """
        if not self._is_report_page():
            return None
        header = _first(self.main, PRODUCT_HEADER)
        inside_header = set(header.root.iter()) if header is not None else set()
        for paragraph in self.main.xpath(PROSE_PARAGRAPHS):
            text = text_of(paragraph)
            if paragraph.root in inside_header or not _is_prose(text) or BOILERPLATE.match(text):
                continue
            if paragraph.xpath(UNDER_A_HEADING):
                continue
            return _widest_prose_block(paragraph)
        return None

    def _is_report_page(self) -> bool:
        return bool(
            self._download_tables
            or self._print_tables
            or self._facts
            or self._headings.named((RESEARCH_QUESTIONS, KEY_FINDINGS, RECOMMENDATIONS))
        )

    def _meta_raw(self, name: str) -> str | None:
        """A meta tag's content as written (``self.meta`` collapses whitespace)."""
        value = self.selector.xpath(f"//head/meta[@name='{name}']/@content").get()
        return value or self._meta(name)

    def _journal(self) -> str | None:
        """The journal an external publication appeared in: citation meta, then the header."""
        journal = self._meta("citation_journal_title")
        if journal:
            return journal
        node = _first(self.main, JOURNAL)
        if node is not None:
            text = text_of(node)
            match = _PUBLISHED_IN.search(text)
            return clean_text(match.group("journal")) if match else text or None
        if "/external_publications/" in self.url:
            header = _first(self.main, PRODUCT_HEADER)
            match = _PUBLISHED_IN.search(text_of(header)) if header is not None else None
            if match:
                return clean_text(match.group("journal"))
        return None

    @staticmethod
    def _paragraphs(node: Selector | SelectorList | None) -> str:
        """Paragraph text, one blank line apart; figures, captions, promos and scripts left out."""
        if node is None:
            return ""
        paragraphs = [text_of(p) for p in node.xpath(PARAGRAPHS)]
        return "\n\n".join(p for p in paragraphs if p)

    def _heading(self, name: str) -> Selector | None:
        found = self._headings.named((name,))
        return found[0] if found else None

    def _headed_list(self, name: str) -> list[str]:
        """The items of the first list under the heading ``name``."""
        heading = self._heading(name)
        if heading is None:
            return []
        for node in section_after(heading):
            lists = node.xpath("descendant-or-self::*[self::ol or self::ul]")
            if lists:
                return [t for t in (text_of(li) for li in lists[0].xpath("./li")) if t]
        return []

    def _key_findings(self) -> list[str]:
        """Sub-headings and their points, in order: "Heading" then "- point" lines."""
        heading = self._heading(KEY_FINDINGS)
        if heading is None:
            return []
        lines: list[str] = []
        for sibling in section_after(heading):
            tag = tag_of(sibling)
            if tag in ("h3", "h4", "h5", "h6", "p"):
                text = text_of(sibling)
                if text:
                    lines.append(text)
            elif tag in ("ul", "ol"):
                lines += [f"- {text_of(li)}" for li in sibling.xpath("./li") if text_of(li)]
        return lines

    def _related_topics(self) -> list[TopicRef]:
        topics: dict[str, TopicRef] = {}
        for link in self._topic_links():
            href = canonical_url(self.url, link.attrib.get("href", ""))
            slug = topic_slug_from_url(href)
            if slug and slug not in topics:
                parts = urlsplit(href)
                url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
                topics[slug] = TopicRef(slug=slug, name=text_of(link) or slug, url=url)
        return list(topics.values())

    def _topic_links(self) -> list[Selector]:
        """Links under a "Topics" heading, else the classed list, else a list of topic links."""
        for heading in self._headings.named(TOPICS_HEADINGS):
            links = [a for node in section_after(heading) for a in node.xpath(LINKS)]
            if any(self._is_topic_link(a) for a in links):
                return links
        classed = self.main.css(RELATED_TOPICS) or self.selector.css(RELATED_TOPICS)
        if classed:
            return list(classed)
        for listed in self.main.xpath(".//ul|.//ol"):
            links = listed.xpath(LINKS)
            if links and all(self._is_topic_link(a) for a in links):
                return links
        return []

    def _is_topic_link(self, link: Selector) -> bool:
        return topic_slug_from_url(canonical_url(self.url, link.attrib.get("href", ""))) is not None

    @cached_property
    def _facts(self) -> dict[str, str]:
        """Document details by label ("Document Number", "DOI", "Pages", ...), first one wins.

        Every label under a "Document Details" heading (or in the classed block) is kept; in the
        rest of the page only the labels of DETAIL_LABELS and ISBNs count.
        """
        facts: dict[str, str] = {}
        scopes = [n for h in self._headings.named(DETAILS_HEADINGS) for n in section_after(h)]
        scopes += [n for css in DOCUMENT_DETAILS for n in self.main.css(css)]
        for scope in scopes:
            for label, value, item in labelled_items(scope):
                facts.setdefault(_fact_name(label) or label, value)
                for cls in ("isbn", "doi"):  # the classes RAND puts on the value itself
                    hinted = text_of(item.css(f"span.{cls}"))
                    if hinted:
                        facts.setdefault(cls, hinted)
        for label, value, _ in labelled_items(self.main):
            name = _fact_name(label)
            if name:
                facts.setdefault(name, value)
        return facts

    def _series(self) -> str | None:
        """A "Series:" detail, the "part of the RAND … series" line, its class, the meta tag."""
        return (
            self._facts.get("series")
            or self._series_sentence()
            or self._text(SERIES)
            or self._meta("citation_series_title")
        )

    def _series_sentence(self) -> str | None:
        for paragraph in self.main.xpath(".//p"):
            match = SERIES_SENTENCE.search(text_of(paragraph))
            if match:
                series = clean_text(match.group("series"))
                linked = [t for t in (text_of(a) for a in paragraph.xpath(".//a")) if t]
                return next((t for t in linked if t in series), series)
        return None

    @cached_property
    def _download_tables(self) -> list[Selector]:
        """Tables with a file-size column or under a "Download…" heading, in page order."""
        headed = {
            table.root
            for heading in self._headings.starting(DOWNLOAD_HEADINGS)
            for node in section_after(heading)
            for table in node.xpath("descendant-or-self::table")
        }
        return [
            table
            for table in self.main.xpath(".//table")
            if table.root in headed or any(c in columns(table) for c in SIZE_COLUMNS)
        ]

    def _downloads(self) -> list[Download]:
        """Every PDF/EPUB the page offers, in page order, labelled with its block's heading."""
        found = [a for table in self._download_tables for a in table.css(DOWNLOAD_LINKS)]
        found += [
            a for css in DOWNLOAD_SCOPES for s in self.main.css(css) for a in s.css(DOWNLOAD_LINKS)
        ]
        wanted = {a.root for a in found}
        links = [a for a in self.main.xpath(".//a") if a.root in wanted]
        links += [a for css in PDF_BUTTONS for a in self.main.css(css)]
        downloads: list[Download] = []
        seen: set[str] = set()
        for link in links:
            href = clean_text(link.attrib.get("href"))
            if not href:
                continue
            url = canonical_url(self.url, href)
            if not url or url in seen:
                continue
            seen.add(url)
            downloads.append(
                Download(
                    label=_download_label(link, url),
                    format=_download_format(link, url),
                    url=url,
                    size=_download_size(link),
                )
            )
        if not downloads and self._meta("citation_pdf_url"):
            url = canonical_url(self.url, self._meta("citation_pdf_url") or "")
            if url:
                downloads.append(Download(label=FULL_DOCUMENT, format="PDF", url=url, size=None))
        return downloads

    @staticmethod
    def _full_document(downloads: list[Download]) -> tuple[str | None, str | None]:
        """The full document's PDF: labelled so, else the first PDF that is not a summary."""
        pdfs = [d for d in downloads if d.format == "PDF"]
        for download in pdfs:
            if download.label.lower() == FULL_DOCUMENT.lower():
                return download.url, download.size
        for download in pdfs:
            if not _is_summary(download.url):
                return download.url, download.size
        return None, None

    @cached_property
    def _print_tables(self) -> list[Selector]:
        """Tables under a "Purchase Print Copy" heading or with a price column, in page order."""
        headed = {
            table.root
            for heading in Headings(self.selector).named(PURCHASE_HEADINGS)
            for node in section_after(heading)
            for table in node.xpath("descendant-or-self::table")
        }
        return [
            table
            for table in self.selector.xpath("//table")
            if table.root in headed or _price_columns(columns(table)) != (None, None)
        ]

    def _print_copy(self) -> tuple[str | None, str | None, str | None]:
        """Format, list price and price paid of the first priced row of the print-copy table.

        Read by column headers; a table without them (or only the classes) is read by its text.
        """
        for table in self._print_tables:
            named = columns(table)
            if _price_columns(named) == (None, None):
                rows = [_print_row(row) for row in own_rows(table)]
            else:
                rows = [_print_cells(cells, named) for cells in data_rows(table)]
            found = next((row for row in rows if row is not None), None)
            if found is not None:
                return found
        for row in self.selector.css(PRINT_ROWS):
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
        label = _text_in(block[0], DOWNLOAD_LABEL) if block else ""
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


def _fact_name(label: str) -> str | None:
    """The fact a document-details label gives, None for labels the catalog does not use."""
    if "isbn" in label:
        return "isbn"
    return DETAIL_LABELS.get(label)


def _widest_prose_block(paragraph: Selector) -> Selector:
    """The paragraph's widest wrapper that holds only prose: no heading, table, list or
    boilerplate (the abstract's first paragraph may sit in a wrapper of its own)."""
    node = paragraph
    while True:
        parents = node.xpath("parent::*")
        if not parents or tag_of(parents[0]) in ("main", "body", "html"):
            return node
        parent = parents[0]
        if parent.xpath(NOT_PROSE_ONLY) or any(
            BOILERPLATE.match(text_of(p)) for p in parent.xpath(".//p")
        ):
            return node
        node = parent


def _page_count(value: str | None) -> int | None:
    """The number in "454" or "1,024 pages"; None past MAX_PAGES, which no document has (and
    a 5,000-digit "page count" is more than Python will turn into an int, or SQL store)."""
    if not value:
        return None
    digits = re.sub(r"[^\d]", "", value).lstrip("0")
    if not digits or len(digits) > len(str(MAX_PAGES)):
        return None
    count = int(digits)
    return count if count <= MAX_PAGES else None


def _doi(value: str | None) -> str | None:
    if not value:
        return None
    match = _DOI.search(value)
    return match.group(0) if match else None
