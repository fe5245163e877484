"""Extractors shared by every publisher's page objects: text, dates and URLs."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector, SelectorList
from w3lib.url import canonicalize_url, url_query_cleaner

_WHITESPACE = re.compile(r"\s+")

# Query parameters that only track where a click came from; they never change the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "cid", "ref"}
)

_DATE_FORMATS = (
    "%b %d, %Y",  # Apr 28, 2022  (what listings show)
    "%B %d, %Y",  # April 28, 2022
    "%b. %d, %Y",  # Apr. 28, 2022
    "%d %b %Y",
    "%d %B %Y",
    "%Y-%m-%d",
    "%Y/%m/%d",  # citation_online_date: 2019/08/29
    "%b %Y",  # Apr 2022: first of the month
    "%B %Y",
)
_DATE_PREFIXES = re.compile(r"^(published|posted|updated|released)\s*:?\s*", re.IGNORECASE)


def clean_text(value: str | None) -> str:
    """Collapse every run of whitespace (non-breaking spaces included) to one space.

    lxml has already decoded entities; curly quotes and dashes are kept as the page has them.
    """
    if not value:
        return ""
    return _WHITESPACE.sub(" ", value).strip()


def text_of(selection: Selector | SelectorList) -> str:
    """All text below the selection, cleaned: markup inside a title (em, span) does not split it.

    Text nodes are joined with nothing, so ``<em>What</em>’s`` stays one word; the whitespace
    the page has between elements is kept, then collapsed.
    """
    return clean_text("".join(selection.xpath(".//text()").getall()))


def parse_date(text: str | None) -> date | None:
    """Parse the date formats publishers print; None when the text is not a date we know."""
    value = _DATE_PREFIXES.sub("", clean_text(text))
    if not value:
        return None
    value = value.replace("Sept ", "Sep ").replace("Sept.", "Sep.")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    # ISO timestamps from meta tags and JSON-LD: 2019-08-29T00:00:00Z
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ]", value)
    if match:
        return date.fromisoformat(match.group(1))
    return None


def canonical_url(base: str, href: str) -> str:
    """Absolute URL without fragment or tracking parameters; the key a publication is stored by.

    w3lib's ``canonicalize_url`` (the one Scrapy uses) does the normalising that must agree
    everywhere a URL is compared: lower-case scheme and host, one percent-encoding
    (``caf%c3%a9`` and ``caf%C3%A9`` are one URL), sorted query arguments, no fragment.
    ``url_query_cleaner`` drops the tracking parameters first (``utm_*``, ``fbclid``, ...).
    """
    absolute = urljoin(base, href.strip())
    names = [name for name, _ in parse_qsl(urlsplit(absolute).query, keep_blank_values=True)]
    tracking = sorted(
        {n for n in names if n.lower() in TRACKING_PARAMS or n.lower().startswith("utm_")}
    )
    if tracking:
        absolute = url_query_cleaner(absolute, tracking, remove=True, unique=False)
    return canonicalize_url(absolute, keep_fragments=False)


def page_number(url: str) -> int:
    """The ``page`` query parameter of a listing URL (1 when absent or not a number)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "page":
            try:
                return max(1, int(value))
            except ValueError:
                return 1
    return 1


def listing_page_url(url: str, page: int) -> str:
    """Canonical URL of page ``page`` of a listing: only ``?page=N`` survives (none for page 1).

    Listings link the same page with extra parameters (``?page=2&query=...``); keeping one form
    lets the crawl see each page once.
    """
    parts = urlsplit(url)
    query = urlencode({"page": page}) if page > 1 else ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))


def citation_meta(selector: Selector) -> dict[str, list[str]]:
    """Highwire ``citation_*`` meta tags (the ones citation managers read), name -> values."""
    found: dict[str, list[str]] = {}
    for meta in selector.xpath("//head/meta[starts-with(@name, 'citation_')]"):
        value = clean_text(meta.attrib.get("content"))
        if value:
            found.setdefault(meta.attrib["name"], []).append(value)
    return found


def json_ld(selector: Selector) -> list[dict]:
    """Every JSON-LD object on the page; a script that is not valid JSON is passed over."""
    import json

    objects: list[dict] = []
    for script in selector.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(script)
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data])
        objects.extend(item for item in items if isinstance(item, dict))
    return objects


def person_name(citation_author: str) -> str:
    """``Harold, Scott W.`` (citation form) -> ``Scott W. Harold`` (page form)."""
    if "," not in citation_author:
        return clean_text(citation_author)
    last, first = citation_author.split(",", 1)
    return clean_text(f"{first} {last}")
