"""RAND's publication pages ("product" pages): a report, brief, commentary, news release, ...

Blocks are found by what a reader sees (headings, column headers, labels), with RAND's class
names as hints and fallbacks (see docs/crawling.md, "Read by what a reader sees"). The page
object reads the header, abstract, findings and topics itself; its document details are read by
``details`` and its downloads and print copy by ``downloads``.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector, SelectorList

import crawler.pages.rand.details as details
from catalog.records import (
    DetailFailure,
    Download,
    PublicationDetails,
    TopicRef,
)
from crawler.pages.blocks import (
    Headings,
    section_after,
    tag_of,
)
from crawler.pages.common import (
    canonical_url,
    citation_meta,
    clean_text,
    first_match,
    fragment_text,
    html_selector,
    json_ld,
    parse_date,
    person_name,
    text_of,
)
from crawler.pages.rand.details import SERIES
from crawler.pages.rand.downloads import (
    download_tables,
    full_document,
    print_copy,
    print_tables,
    read_downloads,
)
from crawler.pages.rand.site import (
    HEADING,
    MAIN_SCOPES,
    PUBLISHER,
    is_prose,
    topic_slug_from_url,
)

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
JOURNAL = (".product-header .journal em", ".product-header .journal", ".journal-title")
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
_PAGES = re.compile(r"(\d[\d,]*)\s*pages", re.I)
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."}
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
        self.selector = html_selector(html)
        self.meta = citation_meta(self.selector)
        self.main = first_match(self.selector, MAIN_SCOPES) or self.selector

    @cached_property
    def _headings(self) -> Headings:
        """The main content's headings: most blocks are found by the one above them."""
        return Headings(self.main)

    def _meta(self, name: str) -> str | None:
        values = self.meta.get(name)
        return values[0] if values else None

    def _text(self, selectors: tuple[str, ...] | str) -> str:
        node = first_match(self.main, (selectors,) if isinstance(selectors, str) else selectors)
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
        if not title or not (first_match(self.main, PRODUCT_HEADER) is not None or self.meta):
            return DetailFailure(
                self.url, "unknown layout: no product header, title or citation meta"
            )
        header_type, header_date = self._type_and_date()
        published_on, date_text = self._published(header_date)
        facts = self._facts
        downloads = self._downloads()
        pdf_url, pdf_size = full_document(downloads)
        print_format, list_price, print_price = print_copy(self.selector, self._print_tables)
        page_count = details.page_count(facts.get("pages"))
        if page_count is None and print_format:
            match = _PAGES.search(print_format)
            page_count = details.page_count(match.group(1)) if match else None
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
            doi=details.doi(facts.get("doi") or self._meta("citation_doi")),
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
            publisher=PUBLISHER,
        )

    def _type_and_date(self) -> tuple[str, str]:
        """The header's content type and printed date.

        Separate spans on older pages; on 2024 pages one block whose text runs together
        ("ResearchPublished Apr 6, 2022"), split by pattern.
        """
        content_type, printed = self._text(PRODUCT_TYPE), self._text(PUBLISHED)
        if content_type and printed:
            return content_type, printed
        header = first_match(self.main, PRODUCT_HEADER)
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
        found = first_match(self.main, ABSTRACT)
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
        header = first_match(self.main, PRODUCT_HEADER)
        inside_header = set(header.root.iter()) if header is not None else set()
        for paragraph in self.main.xpath(PROSE_PARAGRAPHS):
            text = text_of(paragraph)
            if paragraph.root in inside_header or not is_prose(text) or BOILERPLATE.match(text):
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
        node = first_match(self.main, JOURNAL)
        if node is not None:
            text = text_of(node)
            match = _PUBLISHED_IN.search(text)
            return clean_text(match.group("journal")) if match else text or None
        if "/external_publications/" in self.url:
            header = first_match(self.main, PRODUCT_HEADER)
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
        return details.document_facts(self.main, self._headings)

    def _series(self) -> str | None:
        """A "Series:" detail, the "part of the RAND … series" line, its class, the meta tag."""
        return (
            self._facts.get("series")
            or details.series_sentence(self.main)
            or self._text(SERIES)
            or self._meta("citation_series_title")
        )

    @cached_property
    def _download_tables(self) -> list[Selector]:
        return download_tables(self.main, self._headings)

    def _downloads(self) -> list[Download]:
        return read_downloads(
            self.url, self.main, self._download_tables, self._meta("citation_pdf_url")
        )

    @cached_property
    def _print_tables(self) -> list[Selector]:
        return print_tables(self.selector)


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
