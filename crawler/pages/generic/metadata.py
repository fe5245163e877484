"""The metadata a publication page embeds, read source by source into one shape.

Each reader turns one standard into the same fields (``title``, ``authors``, ``date``, ...),
as the page states them, cleaned but not yet judged: ``crawler.pages.generic.publication``
merges them by its precedence. A source that says nothing of a field leaves it out.

- **Highwire** ``citation_*`` meta tags (Google Scholar's; what Zotero reads first).
- **JSON-LD** (schema.org): the node describing the publication (an ``Article``, ``Report``,
  ``ScholarlyArticle``, ...), read by :mod:`crawler.pages.generic.jsonld` with the constants
  and helpers below.
- **Dublin Core**: ``DC.*`` and ``dcterms.*`` meta tags.
- **OpenGraph**: ``og:*`` and ``article:*`` properties.
- **The page itself**: ``<meta name="description|author|keywords">``, the first ``<h1>``, the
  ``<title>``, a linked PDF and the article's paragraphs: what a reader sees, for the gaps.

JSON-LD, OpenGraph and Dublin Core are read by ``extruct`` (JSON-LD one script at a time, so
one broken script costs only itself); Highwire tags, which extruct does not read, by
``crawler.pages.common.citation_meta``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from crawler.pages.common import (
    clean_text,
    fragment_text,
    person_name,
    person_names,
    text_of,
)

Fields = dict[str, Any]

# schema.org types that describe a publication, and the label each gives the catalog's type.
# Article, CreativeWork and WebPage say nothing of the kind: articleSection may (see TYPE_OF).
PUBLICATION_TYPES = {
    "report": "Report",
    "scholarlyarticle": "Scholarly Article",
    "blogposting": "Blog Post",
    "liveblogposting": "Blog Post",
    "socialmediaposting": "Post",
    "newsarticle": "News",
    "reportagenewsarticle": "News",
    "analysisnewsarticle": "Analysis",
    "opinionnewsarticle": "Commentary",
    "backgroundnewsarticle": "Backgrounder",
    "reviewnewsarticle": "Review",
    "techarticle": "Article",
    "book": "Book",
    "chapter": "Book Chapter",
    "thesis": "Dissertation",
    "podcastepisode": "Podcast",
    "videoobject": "Video",
    "dataset": "Dataset",
    "article": "",
    "creativework": "",
}
# Nodes that describe the page, not the publication: their title and description are the
# page's (Yoast's WebPage carries the description its Article lacks).
PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "medicalwebpage"})
NOT_PUBLICATION_TYPES = frozenset(
    {"collectionpage", "searchresultspage", "profilepage", "contactpage", "website",
     "organization", "person", "breadcrumblist", "imageobject", "place"}
)  # fmt: skip
# Kinds of publication think tanks name their sections after: a section (``articleSection``,
# ``article:section``) names the publication's type only when it is one of these (a Yoast
# Article's sections are its categories, mostly subjects: "Europe & Eurasia").
PUBLICATION_KINDS = frozenset(
    {"analysis", "article", "backgrounder", "blog", "blog post", "book", "book chapter", "brief",
     "chapter", "commentary", "conference proceedings", "critical questions", "data",
     "dataset", "essay", "event", "event recap", "expert insights", "explainer", "fact sheet",
     "infographic", "interview", "issue brief", "journal article", "memo", "monograph",
     "news", "news release", "newsletter", "occasional paper", "op-ed", "opinion", "paper",
     "perspective", "podcast", "policy brief", "policy memo", "policy paper", "press release",
     "q&a", "report", "research", "research brief", "research paper", "research report",
     "special report", "speech", "statement", "technical report", "testimony", "transcript",
     "video", "working paper"}
)  # fmt: skip
# Highwire tags that say what kind of document it is.
HIGHWIRE_KINDS = (
    ("citation_journal_title", "Journal Article"),
    ("citation_technical_report_number", "Report"),
    ("citation_technical_report_institution", "Report"),
    ("citation_dissertation_institution", "Dissertation"),
    ("citation_conference_title", "Conference Paper"),
    ("citation_book_title", "Book Chapter"),
)
# DCMI's type vocabulary: "Text" says nothing of a publication's kind.
DCMI_TYPES = frozenset(
    {"text", "collection", "dataset", "event", "image", "interactiveresource", "movingimage",
     "physicalobject", "service", "software", "sound", "stillimage"}
)  # fmt: skip
# Where an article's own text is, most specific first.
ARTICLE_SCOPES = (
    "[itemprop='articleBody']",
    ".entry-content",
    ".article-body",
    ".field--name-body",
    "article",
    "main",
)
ARTICLE_PARAGRAPHS = (
    ".//p[not(ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside"
    " or ancestor::figure or ancestor::form)]"
)
# A byline: what a reader sees under the title ("By Jane Doe and John Roe").
BYLINES = (
    "[class*='byline']",
    "[class*='contributors']",
    "[class*='authors']",
    "[class*='author-name']",
    "[rel='author']",
)
_BY = re.compile(r"^by\s+", re.IGNORECASE)
BYLINE_CHARS = 200
PDF_LINKS = (
    "//a[@href][contains(translate(@href, 'PDF', 'pdf'), '.pdf')]"
    "[not(ancestor::nav or ancestor::header or ancestor::footer)]"
)
BODY_CHARS = 20_000  # a page's text beyond this is not a publication's, or not needed to find it
_PDF_PATH = re.compile(r"\.pdf(?:$|[?#])", re.IGNORECASE)
_DOWNLOAD_WORDS = re.compile(r"\b(download|full (?:report|text|paper)|pdf|read the)\b", re.I)
_DOI = re.compile(r"10\.\d{4,9}/[^\s\"<>]+")
_ISBN = re.compile(r"(?:97[89][- ]?)?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?[\dX]")
MAX_KEYWORDS = 25


# --- Highwire --------------------------------------------------------------------------------


def highwire(meta: dict[str, list[str]]) -> Fields:
    """Fields from ``citation_*`` tags (``crawler.pages.common.citation_meta``)."""

    def one(name: str) -> str:
        values = meta.get(name) or []
        return _unescaped(values[0]) if values else ""

    found: Fields = {
        "title": fragment_text(one("citation_title")),
        "authors": [person_name(_unescaped(a)) for a in meta.get("citation_author", [])],
        "date": one("citation_publication_date")
        or one("citation_date")
        or one("citation_online_date"),
        "abstract": fragment_text(one("citation_abstract")),
        "keywords": _split_keywords(meta.get("citation_keywords", [])),
        "doi": doi_in(one("citation_doi")),
        "pdf": one("citation_pdf_url"),
        "publisher": one("citation_publisher") or one("citation_technical_report_institution"),
        "isbn": one("citation_isbn"),
        "journal": one("citation_journal_title"),
        "document_number": one("citation_technical_report_number"),
        # Not stated, only implied by which tags there are: any stated type wins over it.
        "implied_type": next((label for name, label in HIGHWIRE_KINDS if one(name)), ""),
        "is_publication": bool(one("citation_title")),
    }
    return _present(found)


# --- OpenGraph and Dublin Core --------------------------------------------------------------


def open_graph(tree: Any) -> list[tuple[str, str]]:
    """The page's OpenGraph properties (``og:``, ``article:``, ...) in page order."""
    from extruct.opengraph import OpenGraphExtractor

    properties: list[tuple[str, str]] = []
    for item in OpenGraphExtractor().extract_items(tree):
        properties += [(name.lower(), _unescaped(v)) for name, v in item.get("properties", [])]
    return [(name, value) for name, value in properties if value]


def open_graph_fields(properties: list[tuple[str, str]]) -> Fields:
    def all_of(name: str) -> list[str]:
        return [v for n, v in properties if n == name]

    def one(name: str) -> str:
        return next(iter(all_of(name)), "")

    og_type = one("og:type").lower()
    found: Fields = {
        "title": fragment_text(one("og:title")),
        "abstract": fragment_text(one("og:description")),
        "date": one("article:published_time") or one("og:published_time"),
        # article:author is a name on some sites, a profile's URL on most: names only.
        "authors": [a for v in all_of("article:author") if not _is_url(v) for a in person_names(v)],
        "keywords": _split_keywords(all_of("article:tag")),
        "type": next((v for v in all_of("article:section") if _is_kind(v)), ""),
        "category": og_type if og_type != "website" else "",
        "og_type": og_type,
        "site_name": one("og:site_name"),
        "publisher": "" if _is_url(one("article:publisher")) else one("article:publisher"),
        "is_publication": og_type == "article"
        or any(n.startswith("article:") for n, _ in properties),
    }
    return _present(found)


def dublin_core(tree: Any) -> list[tuple[str, str]]:
    """``DC.*`` and ``dcterms.*`` meta tags as (term, value), term in lower case without its
    prefix (``dcterms.issued`` -> ``issued``), in page order.

    extruct also counts a bare ``<meta name="description">`` or ``<link rel="publisher">`` as
    Dublin Core; only prefixed names are, here (the bare ones are the page's own, read last).
    """
    from extruct.dublincore import DublinCoreExtractor

    terms: list[tuple[str, str]] = []
    for item in DublinCoreExtractor().extract_items(tree):
        for attributes in [*item.get("elements", []), *item.get("terms", [])]:
            name = (attributes.get("name") or "").strip()
            prefix, _, term = name.rpartition(".")
            if prefix.lower() not in ("dc", "dcterms", "dct") or "content" not in attributes:
                continue
            value = _unescaped(attributes["content"])
            if value:
                terms.append((term.lower(), value))
    return terms


def dublin_core_fields(terms: list[tuple[str, str]]) -> Fields:
    def all_of(*names: str) -> list[str]:
        return [v for n, v in terms if n in names]

    def one(*names: str) -> str:
        return next(iter(all_of(*names)), "")

    identifiers = all_of("identifier")
    kind = one("type")
    found: Fields = {
        "title": fragment_text(one("title")),
        "subtitle": one("alternative"),
        "authors": [a for value in all_of("creator") for a in person_names(value)],
        "date": one("issued", "date", "created", "available"),
        "abstract": fragment_text(one("abstract", "description")),
        "keywords": _split_keywords(all_of("subject")),
        "publisher": one("publisher"),
        "doi": next((d for d in (doi_in(i) for i in identifiers) if d), ""),
        "isbn": next((i.split(":")[-1].strip() for i in identifiers if "isbn" in i.lower()), ""),
        "type": kind if kind and kind.lower() not in DCMI_TYPES else "",
        "is_publication": bool(
            one("title") and (one("issued", "date", "created") or all_of("creator"))
        ),
    }
    return _present(found)


# --- the page itself -------------------------------------------------------------------------


def page_fields(page: Selector, url: str) -> Fields:
    """What the page says outside the metadata standards: plain meta tags, headings, links."""

    def meta(name: str) -> str:
        return clean_text(
            page.xpath(
                f"//meta[translate(@name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
                f"'abcdefghijklmnopqrstuvwxyz')='{name}']/@content"
            ).get()
        )

    heading = page.xpath("//main//h1|//article//h1").get() is not None
    h1 = page.xpath("(//main//h1|//article//h1)[1]" if heading else "(//h1)[1]")
    found: Fields = {
        "title": text_of(h1) if h1 else "",
        "page_title": clean_text(page.xpath("//title/text()").get()),
        "abstract": fragment_text(meta("description")),
        "authors": ([] if _is_url(meta("author")) else person_names(meta("author")))
        or _byline(page),
        "keywords": _split_keywords([meta("keywords")]),
        "pdf": _linked_pdf(page, url),
        "body": _article_text(page),
    }
    return _present(found)


def _byline(page: Selector) -> list[str]:
    """The names of the byline under the title, in the main content (never a menu's)."""
    scope = page.xpath("//main|//article") or [page]
    for css in BYLINES:
        for node in scope[0].css(css):
            text = text_of(node)
            if (
                text
                and len(text) <= BYLINE_CHARS
                and not node.xpath("ancestor::nav|ancestor::footer")
            ):
                return person_names(_BY.sub("", text))
    return []


def _linked_pdf(page: Selector, url: str) -> str:
    """The PDF the page links, one whose link says "download" (or "PDF") first."""
    links = [
        (clean_text(a.attrib.get("href")), text_of(a) + " " + clean_text(a.attrib.get("title")))
        for a in page.xpath(PDF_LINKS)
    ]
    links = [(href, words) for href, words in links if _PDF_PATH.search(href)]
    ranked = sorted(links, key=lambda link: not _DOWNLOAD_WORDS.search(link[1]))
    return urljoin(url, ranked[0][0]) if ranked else ""


def _article_text(page: Selector) -> str:
    for css in ARTICLE_SCOPES:
        scope = page.css(css)
        if not scope:
            continue
        paragraphs = [text_of(p) for p in scope[0].xpath(ARTICLE_PARAGRAPHS)]
        # Prose only: no byline, date or label line.
        text = "\n\n".join(
            p for p in paragraphs if len(p.split()) >= 5 and not (_BY.match(p) and len(p) < 200)
        )
        if text:
            return text[:BODY_CHARS].rsplit("\n\n", 1)[0] if len(text) > BODY_CHARS else text
    return ""


# --- shared ----------------------------------------------------------------------------------


def doi_in(value: str | None) -> str:
    """The DOI in a value (``10.7249/RR3125``, ``https://doi.org/10...``, ``doi:10...``)."""
    match = _DOI.search(value or "")
    return match.group(0).rstrip(".,;") if match else ""


def _split_keywords(values: Iterable[str]) -> list[str]:
    """Keywords, whether a page gives one a tag or all in one ("NATO; Baltic, Defense").

    Semicolons always separate keywords; commas only in a single value holding them all (a
    keyword of its own may have one: "Security, Defense and Deterrence").
    """
    values = [_unescaped(v) for v in values if v]
    separators = r"\s*[;,]\s*" if len(values) == 1 else r"\s*;\s*"
    words: list[str] = []
    for value in values:
        for word in re.split(separators, value):
            word = clean_text(word)
            if word and len(word) <= 100 and word.lower() not in ("uncategorized", "uncategorised"):
                words.append(word)
    unique = list({w.lower(): w for w in reversed(words)}.values())[::-1]
    return unique[:MAX_KEYWORDS]


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [_unescaped(v) for v in values if isinstance(v, str) and clean_text(v)]


def _unescaped(value: str) -> str:
    """Text with its entities decoded: WordPress writes ``&#8217;`` and ``&amp;`` into JSON-LD
    and CDATA, where nothing decodes them (twice over, at times)."""
    text = clean_text(value)
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return clean_text(text)


def _text(value: Any) -> str:
    """A JSON-LD value as text: a string, a number, or the first of a list of them."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, int, float))), "")
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name") or ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return _unescaped(str(value))


def _is_url(value: str) -> bool:
    return bool(re.match(r"^(https?:)?//", value or ""))


def _is_kind(value: str) -> bool:
    """Whether a section's name is a kind of publication (see ``PUBLICATION_KINDS``)."""
    return clean_text(value).lower() in PUBLICATION_KINDS


def _present(found: Fields) -> Fields:
    """Only the fields the source gave."""
    return {k: v for k, v in found.items() if v not in ("", None, [], False)}
