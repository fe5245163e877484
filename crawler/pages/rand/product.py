"""RAND's publication pages ("product" pages): a report, brief, commentary, news release, ...

Blocks are found by what a reader sees (headings, column headers, labels), with RAND's class
names as hints and fallbacks (see docs/crawling.md, "Read by what a reader sees").
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector, SelectorList

from catalog.records import (
    DetailFailure,
    Download,
    PublicationDetails,
    TopicRef,
)
from crawler.pages.blocks import (
    Headings,
    columns,
    data_rows,
    heading_before,
    labelled_items,
    normalised,
    own_rows,
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
    text_in,
    text_of,
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
