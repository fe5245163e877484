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

from crawler.items import (
    SECTION_FEATURED,
    SECTION_LIST,
    DetailFailure,
    ListingEntry,
    PublicationDetails,
    SkippedTeaser,
    TopicRef,
)
from crawler.pages.common import (
    canonical_url,
    citation_meta,
    clean_text,
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
FEATURED_TEASERS = "ul.teasers.feature > li"
LIST_TEASERS = ("#results ul.teasers.list > li", ".filteredlist ul.teasers.list > li")
ANY_LIST_TEASERS = "ul.teasers.list > li"
TEASER_LINK = ("h3.title a", ".title a")
TEASER_TITLE = ("h3.title", ".title")
TEASER_TYPE = "p.type"
TEASER_DATE = "p.date"
TEASER_SUMMARY = "p.desc"
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

    def __init__(self, url: str, html: str) -> None:
        self.url = url
        self.selector = Selector(text=html)
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
        """Parse the whole page into a :class:`TopicListing`."""
        topic = self.topic()
        result = TopicListing(topic=topic, page=page_number(self.url))
        listing_url = listing_page_url(self.url, result.page)
        for section, teasers in (
            (SECTION_FEATURED, self.main.css(FEATURED_TEASERS)),
            (SECTION_LIST, self._list_teasers()),
        ):
            for position, teaser in enumerate(teasers, start=1):
                record = self._teaser(teaser, topic, section, listing_url, position)
                if isinstance(record, SkippedTeaser):
                    result.skipped.append(record)
                else:
                    result.entries.append(record)
        result.next_page_url, result.last_page = self._pagination(result.page)
        return result

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
                return list(found)
        # No #results wrapper: any main-list teasers in the main content, never the featured ones.
        return [li for li in self.main.css(ANY_LIST_TEASERS) if "feature" not in _ul_classes(li)]

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
        content_type = text_of(li.css(TEASER_TYPE))
        date_text = text_of(li.css(TEASER_DATE))
        image_url, caption = self._image(li, content_type)
        return ListingEntry(
            url=canonical_url(self.url, href),
            title=title,
            content_type=content_type,
            published_on=parse_date(date_text),
            date_text=date_text,
            summary=text_of(li.css(TEASER_SUMMARY)),
            image_url=image_url,
            image_caption=caption,
            topic=topic,
            section=section,
            listing_url=listing_url,
            position=position,
        )

    def _image(self, li: Selector, content_type: str) -> tuple[str | None, str | None]:
        img = li.css(TEASER_IMAGE)
        if not img:
            return None, None
        src = clean_text(img.attrib.get("src") or img.attrib.get("data-src"))
        alt = clean_text(img.attrib.get("alt"))
        # Teasers without a photo show a generic icon whose alt text is just the content type.
        if not src or (content_type and alt == content_type and "icon" in src.lower()):
            return None, None
        return canonical_url(self.url, src), alt or None

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


def _ul_classes(li: Selector) -> str:
    return " ".join(li.xpath("parent::ul/@class").getall())


# --- product (detail) pages ----------------------------------------------------------------

PRODUCT_HEADER = "div.product-header"
SUBTITLE = "p.subtitle"
PRODUCT_TYPE = (".type-published span.type", ".product-header p.type")
PUBLISHED = (".type-published span.published", ".product-header p.date")
AUTHORS = "p.authors"
ABSTRACT = ("div.abstract.product-page-abstract", "div.product-page-abstract", "div.abstract")
BODY_TEXT = "div.body-text"
RELATED_TOPICS = "ul.related-topics li a"
DOCUMENT_DETAILS = "div.document-details li"
SERIES = "div.series a"
PDF_LINKS = (
    "#download span.format-pdf a",
    "div.btn-download a[href$='.pdf']",
    "#download a[href$='.pdf']",
)
PRINT_ROWS = "#purchase tr, div.purchase tr"
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."}
_SIZE = re.compile(r"\d+(?:\.\d+)?\s*[KMG]B", re.I)
_PRICE = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d\d)?")
_PAGES = re.compile(r"(\d[\d,]*)\s*pages", re.I)
_DOI = re.compile(r"10\.\d{4,9}/\S+")


class RandProductPage:
    """A publication's own page: a report, brief, commentary, news release, ...

    Every field falls back to the Highwire ``citation_*`` meta tags (and JSON-LD for the
    date), so pages in older layouts still yield what they carry.
    """

    def __init__(self, url: str, html: str) -> None:
        self.url = canonical_url(url, url)
        self.selector = Selector(text=html)
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
        title = text_of(self.selector.css(HEADING)) or self._meta("citation_title") or ""
        if not title or not (self.main.css(PRODUCT_HEADER) or self.meta):
            return DetailFailure(
                self.url, "unknown layout: no product header, title or citation meta"
            )
        published_on, date_text = self._published()
        facts = self._document_details()
        pdf_url, pdf_size = self._pdf()
        print_format, print_price = self._print_copy()
        page_count = _int(facts.get("pages"))
        if page_count is None and print_format:
            match = _PAGES.search(print_format)
            page_count = _int(match.group(1)) if match else None
        return PublicationDetails(
            url=self.url,
            title=title,
            subtitle=self._text(SUBTITLE) or None,
            product_type=self._text(PRODUCT_TYPE) or None,
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
        )

    def _published(self) -> tuple[date | None, str]:
        candidates = [self._text(PUBLISHED)]
        candidates.append(
            clean_text(self.selector.css("meta[name='rand-date']::attr(content)").get())
        )
        candidates += [
            self._meta("citation_online_date") or "",
            self._meta("citation_publication_date") or "",
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
        node = _first(self.main, ABSTRACT)
        text = self._paragraphs(node) if node is not None else ""
        return text or self._meta("citation_abstract")

    @staticmethod
    def _paragraphs(node: Selector | SelectorList | None) -> str:
        """Paragraph text, one blank line apart; figures, captions and scripts left out."""
        if node is None:
            return ""
        paragraphs = [text_of(p) for p in node.xpath(".//p[not(ancestor::figure)]")]
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

    def _pdf(self) -> tuple[str | None, str | None]:
        link = _first(self.main, PDF_LINKS)
        if link is None:
            pdf = self._meta("citation_pdf_url")
            return (canonical_url(self.url, pdf) if pdf else None), None
        row = link.xpath("ancestor::tr[1]")
        size = _SIZE.search(text_of(row)) if row else None
        return canonical_url(self.url, link.attrib["href"]), size.group(0) if size else None

    def _print_copy(self) -> tuple[str | None, str | None]:
        for row in self.selector.css(PRINT_ROWS):
            text = text_of(row)
            price = _PRICE.search(text)
            if price:
                fmt = text_of(row.css("td.format")) or text[: price.start()].replace(
                    "Add to Cart", ""
                )
                fmt = re.sub(r"(?<=[a-z])(?=\d)", ", ", clean_text(fmt))
                return fmt or None, price.group(0)
        return None, None


def _int(value: str | None) -> int | None:
    if not value:
        return None
    digits = re.sub(r"[^\d]", "", value)
    return int(digits) if digits else None


def _doi(value: str | None) -> str | None:
    if not value:
        return None
    match = _DOI.search(value)
    return match.group(0) if match else None
