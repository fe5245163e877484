"""Any site's publication page, read from the metadata it embeds: no site-specific code.

:class:`GenericPublicationPage` reads the four standards think-tank pages carry (see
``crawler.pages.generic.metadata``) and merges them into the :class:`PublicationDetails`
RAND's pages give, or a :class:`DetailFailure` with the reason when the page has no usable
metadata. It never raises.

Precedence: every field is taken from the first source that gives it, in this order:

1. **Highwire** ``citation_*`` tags: written for Google Scholar and citation managers, one
   tag per author, the least decorated titles and the fullest abstracts;
2. **JSON-LD** (schema.org, Yoast's ``@graph`` included): typed and structured;
3. **Dublin Core** (``DC.*``, ``dcterms.*``);
4. **OpenGraph** (``og:*``, ``article:*``): written for social cards, so titles often carry
   the site's name (removed here) and descriptions are cut short;
5. **the page itself**: ``<meta name="description|author|keywords">``, the first ``<h1>``
   (else the ``<title>``, without the site's name), a linked ``.pdf`` (one whose link says
   "download" or "PDF" first), the article's paragraphs;
6. **the feed's entry** (when given): the feed's values stand where the page says nothing.

The fields, each from that order: title, subtitle, type (a stated one: a specific schema.org
``@type`` such as ``Report`` or ``ScholarlyArticle``, else a section naming a kind of
publication (``articleSection``, ``article:section``, ``DC.type``: "Issue Brief", "Commentary";
not a subject such as "Europe"); only then the kind Highwire's tags imply, a report number
meaning "Report", a journal title "Journal Article"), date (publication, never
modification: ``citation_publication_date``, ``datePublished``, ``dcterms.issued``,
``article:published_time``; the first that is a real date), authors in order (an author named
like the publisher or the site, an organisation standing in for people, is passed over),
abstract, keywords (as the publication's topics, slugs ``<site>/<keyword>``), DOI, PDF
(``citation_pdf_url``, a JSON-LD ``encoding``, a linked ``.pdf``), ISBN, journal, series,
report number, page count, body text (``articleBody``, else the article's paragraphs), and
publisher: Highwire's ``citation_publisher``, JSON-LD's ``publisher``, ``DC.publisher``,
``og:site_name``, the feed's publisher, else the host.

A page is usable when some standard says it is a publication (a ``citation_title``; a
JSON-LD node of a publication type; ``og:type`` article or ``article:*`` properties; a Dublin
Core title with a date or creator) and gives it a title. Otherwise it is a
:class:`DetailFailure` (counted as ``details_failed``): no metadata at all, metadata of a
mere web page (a listing, a "page not found"), or no title.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from catalog.records import DetailFailure, Download, ListingEntry, PublicationDetails, TopicRef
from crawler.pages.common import (
    canonical_url,
    citation_meta,
    clean_text,
    parse_date,
)
from crawler.pages.generic.jsonld import JsonLd, json_ld_nodes
from crawler.pages.generic.metadata import (
    Fields,
    dublin_core,
    dublin_core_fields,
    highwire,
    open_graph,
    open_graph_fields,
    page_fields,
)
from crawler.pages.generic.site import keyword_slug, site_of, split_site_title

# The sources, in the order of precedence (see the module's docstring).
HIGHWIRE, JSON_LD, DUBLIN_CORE, OPEN_GRAPH, PAGE, FEED = (
    "highwire",
    "json-ld",
    "dublin-core",
    "opengraph",
    "page",
    "feed",
)
PRECEDENCE = (HIGHWIRE, JSON_LD, DUBLIN_CORE, OPEN_GRAPH, PAGE, FEED)
EMBEDDED = (HIGHWIRE, JSON_LD, DUBLIN_CORE, OPEN_GRAPH)
NO_METADATA = (
    "no embedded metadata: the page has no JSON-LD, OpenGraph, Highwire citation_* or "
    "Dublin Core tags"
)
NO_TITLE = "the page's embedded metadata names no title"
FULL_DOCUMENT = "Full Document"
MAX_PAGES = 100_000


class GenericPublicationPage:
    """A publication's own page on any site, read from its embedded metadata.

    ``listing`` is the feed's entry for it, whose values stand where the page says nothing
    (its title, date, authors, summary, categories and publisher).
    """

    def __init__(self, url: str, html: str | bytes, *, listing: ListingEntry | None = None) -> None:
        self.url = canonical_url(url, url) or url
        self.html = _decoded(html)
        self.listing = listing

    def parse(self) -> PublicationDetails | DetailFailure:
        return self.details()

    def details(self) -> PublicationDetails | DetailFailure:
        """The publication's details, or why they cannot be had; never raises."""
        try:
            return self._details()
        except Exception as error:  # noqa: BLE001 - one unreadable page costs that page only
            return DetailFailure(self.url, f"unreadable page: {type(error).__name__}: {error}")

    def sources(self) -> dict[str, Fields]:
        """What each source says, by source name (the merge's input; tests read it too)."""
        import lxml.html

        if not self.html.strip():
            return {}
        tree = lxml.html.fromstring(self.html)
        page = Selector(root=tree, type="html")
        return {
            HIGHWIRE: highwire(citation_meta(page)),
            JSON_LD: JsonLd(json_ld_nodes(tree), self.url).fields(),
            DUBLIN_CORE: dublin_core_fields(dublin_core(tree)),
            OPEN_GRAPH: open_graph_fields(open_graph(tree)),
            PAGE: page_fields(page, self.url),
            FEED: _listing_fields(self.listing),
        }

    def _details(self) -> PublicationDetails | DetailFailure:
        sources = self.sources()
        embedded = [sources[name] for name in EMBEDDED if sources.get(name)]
        if not embedded:
            return DetailFailure(self.url, NO_METADATA)
        if not any(fields.get("is_publication") for fields in embedded):
            return DetailFailure(self.url, self._not_a_publication(sources))
        merged = _Merge(sources, self.url)
        title = merged.title()
        if not title:
            return DetailFailure(self.url, NO_TITLE)
        publisher = merged.publisher()
        published_on, date_text = merged.date()
        pdf = merged.first("pdf")
        pdf_url = canonical_url(self.url, urljoin(self.url, pdf)) if pdf else None
        subtitle = merged.first("subtitle")
        if subtitle and subtitle.lower() in title.lower():
            subtitle = ""
        return PublicationDetails(
            url=self.url,
            title=title,
            subtitle=subtitle or None,
            product_type=merged.first("type") or merged.first("implied_type") or None,
            content_category=merged.first("category") or None,
            published_on=published_on,
            date_text=date_text,
            authors=merged.authors(publisher),
            abstract=merged.first("abstract") or None,
            research_questions=[],
            key_findings=[],
            recommendations=[],
            body_text=merged.first("body") or None,
            related_topics=[
                TopicRef(slug=keyword_slug(word, self.url), name=word, url="")
                for word in merged.first("keywords", [])
            ],
            document_number=merged.first("document_number") or None,
            doi=merged.first("doi") or None,
            isbn=merged.first("isbn") or None,
            series=merged.first("series") or None,
            page_count=_page_count(merged.first("page_count")),
            pdf_url=pdf_url,
            pdf_size=None,
            print_format=None,
            print_price=None,
            downloads=[Download(FULL_DOCUMENT, "PDF", pdf_url, None)] if pdf_url else [],
            journal=merged.first("journal") or None,
            publisher=publisher,
        )

    @staticmethod
    def _not_a_publication(sources: dict[str, Fields]) -> str:
        og_type = sources.get(OPEN_GRAPH, {}).get("og_type")
        said = f"og:type {og_type}" if og_type else "no og:type"
        return (
            "not a publication page: its metadata describes a web page "
            f"({said}; no article, report or citation_* metadata)"
        )


class _Merge:
    """The sources' fields taken in the order of precedence."""

    def __init__(self, sources: dict[str, Fields], url: str) -> None:
        self.sources = [sources.get(name) or {} for name in PRECEDENCE]
        self.by_name = sources
        self.url = url
        opengraph = sources.get(OPEN_GRAPH) or {}
        self.site_names = tuple(
            n for n in (opengraph.get("site_name"), self.first("publisher")) if n
        )

    def first(self, name: str, default: Any = "", accept: Callable[[Any], bool] = bool) -> Any:
        for fields in self.sources:
            value = fields.get(name)
            if value and accept(value):
                return value
        return default

    def title(self) -> str:
        """The first title, without the site's name that social-card and page titles carry."""
        for name in PRECEDENCE:
            fields = self.by_name.get(name) or {}
            for key in ("title", "page_title") if name == PAGE else ("title",):
                title = clean_text(fields.get(key))
                if not title:
                    continue
                if name in (OPEN_GRAPH, PAGE):
                    title = split_site_title(title, self.url, self.site_names)[0] or title
                return title
        return ""

    def publisher(self) -> str:
        opengraph = self.by_name.get(OPEN_GRAPH) or {}
        candidates = [
            (self.by_name.get(HIGHWIRE) or {}).get("publisher"),
            (self.by_name.get(JSON_LD) or {}).get("publisher"),
            (self.by_name.get(DUBLIN_CORE) or {}).get("publisher"),
            opengraph.get("site_name"),
            opengraph.get("publisher"),
            (self.by_name.get(FEED) or {}).get("publisher"),
        ]
        return next((clean_text(c) for c in candidates if clean_text(c)), site_of(self.url))

    def date(self) -> tuple[Any, str]:
        """The first date that is a real date, and its text (the day alone of a timestamp)."""
        first_text = ""
        for fields in self.sources:
            raw = clean_text(fields.get("date"))
            if not raw:
                continue
            day = parse_date(raw[:10]) if _is_iso(raw) else parse_date(raw)
            if day is not None:
                return day, raw[:10] if _is_iso(raw) else raw
            first_text = first_text or raw
        return None, first_text

    def authors(self, publisher: str) -> list[str]:
        """The first source's authors, but not the publisher or site standing in as one."""
        standing_in = {n.lower() for n in (publisher, *self.site_names, site_of(self.url)) if n}
        for fields in self.sources:
            names = [clean_text(a) for a in fields.get("authors") or []]
            names = [n for n in names if n and n.lower() not in standing_in]
            if names:
                return list(dict.fromkeys(names))
        return []


def _listing_fields(listing: ListingEntry | None) -> Fields:
    if listing is None:
        return {}
    found = {
        "title": listing.title,
        "date": listing.published_on.isoformat() if listing.published_on else listing.date_text,
        "authors": list(listing.authors),
        "abstract": listing.summary,
        "keywords": list(listing.categories),
        "publisher": listing.publisher,
    }
    return {k: v for k, v in found.items() if v}


def _decoded(html: str | bytes | None) -> str:
    """The page as text: bytes are decoded by their BOM or ``<meta charset>``, else UTF-8
    (Windows-1252 when they are not UTF-8, as the crawl reads undeclared pages)."""
    if html is None:
        return ""
    if isinstance(html, str):
        return html.replace("\x00", "")
    from w3lib.encoding import html_to_unicode

    _, text = html_to_unicode(None, html, default_encoding="utf-8")
    return text.replace("\x00", "")


def _is_iso(text: str) -> bool:
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


def _page_count(value: Any) -> int | None:
    digits = "".join(c for c in str(value or "") if c.isdigit()).lstrip("0")
    if not digits or len(digits) > 6:
        return None
    count = int(digits)
    return count if count <= MAX_PAGES else None
