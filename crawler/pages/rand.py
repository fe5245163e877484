"""Page objects for rand.org.

Selectors are the ones documented in the project's reference notes on RAND's markup, each with
fallbacks: the live site changes, and a missing piece must cost one field, not the crawl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
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
from crawler.pages.blocks import is_sentence, normalised, text_blocks
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
ABSTRACT = ("div.abstract.product-page-abstract", "div.product-page-abstract", "div.abstract")
BODY_TEXT = "div.body-text"
RELATED_TOPICS = "ul.related-topics li a"
DOCUMENT_DETAILS = "div.document-details li"
SERIES = "div.series a"
# Download blocks: old pages have one `#download` table, 2024 pages one block per document
# ("Full Document", "Research Summary"), each with a heading and a format/size table.
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
PRINT_ROWS = "#purchase tr, div.purchase tr, .product-purchase tr"
JOURNAL = (".product-header .journal em", ".product-header .journal", ".journal-title")
FULL_DOCUMENT = "Full Document"
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
        facts = self._document_details()
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
            research_questions=self._headed_list("Research Questions"),
            key_findings=self._key_findings(),
            recommendations=self._headed_list("Recommendations"),
            body_text=self._paragraphs(self.main.css(BODY_TEXT)) or None,
            related_topics=self._related_topics(),
            document_number=facts.get("document number")
            or self._meta("citation_technical_report_number"),
            doi=_doi(facts.get("doi") or self._meta("citation_doi")),
            isbn=facts.get("isbn") or self._meta("citation_isbn"),
            series=self._text(SERIES) or self._meta("citation_series_title"),
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
        node = _first(self.main, ABSTRACT)
        text = self._paragraphs(node) if node is not None else ""
        meta = fragment_text(self._meta_raw("citation_abstract"))
        return (text if len(text) >= len(meta) else meta) or None

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
        paragraphs = [
            text_of(p) for p in node.xpath(".//p[not(ancestor::figure) and not(ancestor::aside)]")
        ]
        return "\n\n".join(p for p in paragraphs if p)

    def _heading(self, name: str) -> Selector | None:
        for heading in self.main.xpath(".//h2|.//h3"):
            if text_of(heading).lower() == name.lower():
                return heading
        return None

    def _headed_list(self, name: str) -> list[str]:
        heading = self._heading(name)
        if heading is None:
            return []
        items = heading.xpath("following-sibling::*[self::ol or self::ul][1]/li")
        return [t for t in (text_of(li) for li in items) if t]

    def _key_findings(self) -> list[str]:
        """Sub-headings and their points, in order: "Heading" then "- point" lines."""
        heading = self._heading("Key Findings")
        if heading is None:
            return []
        lines: list[str] = []
        for sibling in heading.xpath("following-sibling::*"):
            tag = sibling.xpath("name()").get()
            if tag == "h2":
                break
            if tag in ("h3", "h4", "p"):
                text = text_of(sibling)
                if text:
                    lines.append(text)
            elif tag in ("ul", "ol"):
                lines += [f"- {text_of(li)}" for li in sibling.xpath("./li") if text_of(li)]
        return lines

    def _related_topics(self) -> list[TopicRef]:
        topics: dict[str, TopicRef] = {}
        for link in self.main.css(RELATED_TOPICS) or self.selector.css(RELATED_TOPICS):
            href = canonical_url(self.url, link.attrib.get("href", ""))
            slug = topic_slug_from_url(href)
            if slug and slug not in topics:
                parts = urlsplit(href)
                url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
                topics[slug] = TopicRef(slug=slug, name=text_of(link) or slug, url=url)
        return list(topics.values())

    def _document_details(self) -> dict[str, str]:
        facts: dict[str, str] = {}
        for li in self.main.css(DOCUMENT_DETAILS):
            for cls in ("isbn", "doi"):
                value = text_of(li.css(f"span.{cls}"))
                if value:
                    facts[cls] = value
            text = text_of(li)
            if ":" in text:
                label, value = text.split(":", 1)
                facts.setdefault(clean_text(label).lower(), clean_text(value))
        return facts

    def _downloads(self) -> list[Download]:
        """Every PDF/EPUB the page offers, in page order, labelled with its block's heading."""
        scopes = [n for css in DOWNLOAD_SCOPES for n in self.main.css(css)]
        links = [a for scope in scopes for a in scope.css(DOWNLOAD_LINKS)]
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

    def _print_copy(self) -> tuple[str | None, str | None, str | None]:
        """Format, list price and price paid: "Paperback 138 pages $39.00 $31.20 20% Web
        Discount" is list $39.00, paid $31.20; a single price is both."""
        for row in self.selector.css(PRINT_ROWS):
            text = text_of(row)
            prices = _PRICE.findall(text)
            if prices:
                first = _PRICE.search(text)
                start = first.start() if first else len(text)
                fmt = text_of(row.css("td.format")) or text[:start].replace("Add to Cart", "")
                fmt = re.sub(r"(?<=[a-z])(?=\d)", ", ", clean_text(fmt))
                paid = text_of(row.css("td.price")) if row.css("td.list-price") else ""
                paid_match = _PRICE.search(paid)
                list_price = _PRICE.search(text_of(row.css("td.list-price")))
                if list_price and paid_match:
                    return fmt or None, _price(list_price.group(0)), _price(paid_match.group(0))
                return fmt or None, _price(prices[0]), _price(prices[min(1, len(prices) - 1)])
        return None, None, None


def _price(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _is_summary(url: str) -> bool:
    return ".summary." in urlsplit(url).path.lower()


def _download_label(link: Selector, url: str) -> str:
    """The heading of the link's download block; old pages have one unlabelled table."""
    block = link.xpath(DOWNLOAD_BLOCK)
    if block:
        label = _text_in(block[0], DOWNLOAD_LABEL)
        if label:
            return label
    return "Summary" if _is_summary(url) else FULL_DOCUMENT


def _download_format(link: Selector, url: str) -> str:
    path = urlsplit(url).path.lower()
    if path.endswith(".epub") or link.xpath("ancestor-or-self::*[contains(@class, 'epub')]"):
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
