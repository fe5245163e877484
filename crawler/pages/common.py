"""Extractors shared by every publisher's page objects: text, dates and URLs."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector, SelectorList

# The URL rule lives in the catalog core (the store, catalog.toml's topics and the command
# line key on it); re-exported here for the page objects.
from catalog.urls import TRACKING_PARAMS, canonical_url  # noqa: F401

_WHITESPACE = re.compile(r"\s+")

_DATE_FORMATS = (
    "%b %d, %Y",  # Apr 28, 2022  (what listings show)
    "%B %d, %Y",  # April 28, 2022
    "%b. %d, %Y",  # Apr. 28, 2022
    "%b %d %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y-%m-%d",
    "%Y/%m/%d",  # citation_online_date 2019/08/29, citation_date 2021/6/4 (strptime takes both)
    "%m/%d/%Y",
    "%b %Y",  # Apr 2022: first of the month
    "%b. %Y",
    "%B %Y",
    "%Y/%m",
    "%Y-%m",
    "%Y",  # citation_publication_date often holds the year alone: January 1st
)
# The oldest RAND publication is from 1946; anything earlier (0001-01-01 placeholders) or far
# in the future (9999-12-31 "no date" markers, typos) is a broken date, not a date.
EARLIEST_DATE = date(1946, 1, 1)
LATEST_AHEAD = timedelta(days=365)
NOT_A_DATE = "not a date we know"
TOO_EARLY = "before 1946"
TOO_LATE = "more than a year ahead"
NO_DATE = "no date"
_ISO_TIMESTAMP = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ]")
_DATE_PREFIXES = re.compile(r"^(published|posted|updated|released)(\s+on)?\s*:?\s*", re.IGNORECASE)


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


def fragment_text(value: str | None) -> str:
    """Clean text of a value that may hold HTML, e.g. a ``citation_abstract`` meta tag.

    Publishers put ``<p>...</p>`` in such tags, sometimes entity-escaped once more
    (``&lt;p&gt;``); the catalog stores text: tags dropped, entities decoded, paragraphs one
    blank line apart.
    """
    if not value:
        return ""
    text = value
    for _ in range(3):  # escaped at most a few times over; stop once stable
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    if "<" not in text:
        return clean_text(text)
    breaks = re.split(r"(?i)<br\s*/?>", text)
    if len(breaks) > 1:  # line breaks separate paragraphs as <p> would
        return "\n\n".join(t for t in (fragment_text(b) for b in breaks) if t)
    fragment = Selector(text=f"<div>{text}</div>")
    blocks = fragment.xpath("//p|//li|//h1|//h2|//h3|//h4|//blockquote")
    if not blocks:
        return clean_text("".join(fragment.xpath("//text()").getall()))
    paragraphs: list[str] = []
    # Text outside any paragraph (before the first <p>, say) is kept as its own paragraph.
    for node in fragment.xpath("//body/div/node()"):
        if isinstance(node.root, str):
            loose = clean_text(node.root)
            if loose:
                paragraphs.append(loose)
            continue
        inner = node.xpath("self::p|self::li|self::blockquote|.//p|.//li")
        if inner:
            paragraphs += [t for t in (text_of(p) for p in inner if not p.xpath(".//p")) if t]
        else:
            loose = text_of(node)
            if loose:
                paragraphs.append(loose)
    return "\n\n".join(paragraphs)


def parse_date(text: str | None, *, today: date | None = None) -> date | None:
    """Parse the date formats publishers print; None when the text is not a usable date.

    A date before 1946 or more than a year after ``today`` (default: the clock's) is a
    placeholder or a typo, and storing it would sort a publication wrongly for good.
    """
    parsed = _parse_any(text)
    if parsed is None or _range_problem(parsed, today) is not None:
        return None
    return parsed


def date_problem(text: str | None, *, today: date | None = None) -> str | None:
    """Why ``text`` gives no date (a short reason for the crawl's warnings), None if it does."""
    if not _clean_date_text(text):
        return NO_DATE
    parsed = _parse_any(text)
    if parsed is None:
        return NOT_A_DATE
    return _range_problem(parsed, today)


def _range_problem(value: date, today: date | None) -> str | None:
    if value < EARLIEST_DATE:
        return TOO_EARLY
    if value > (today or date.today()) + LATEST_AHEAD:
        return TOO_LATE
    return None


def _clean_date_text(text: object) -> str:
    if not isinstance(text, str):
        return ""
    value = _DATE_PREFIXES.sub("", clean_text(text))
    return value.strip(" .,;:")


def _parse_any(text: str | None) -> date | None:
    """Any date we can read, in range or not; never raises, whatever the string holds."""
    value = _clean_date_text(text)
    if not value or len(value) > 64:
        return None
    value = re.sub(r"\bSept\b", "Sep", value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    # ISO timestamps from meta tags and JSON-LD: 2019-08-29T00:00:00Z
    match = _ISO_TIMESTAMP.match(value)
    if match:
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            return None
    return None


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
        # A script may hold one object, a list, an "@graph" of objects, or any JSON at all
        # (null, a number): only objects count, and nothing else may cost the page.
        if isinstance(data, dict):
            data = data.get("@graph", [data])
        items = data if isinstance(data, list) else [data]
        objects.extend(item for item in items if isinstance(item, dict))
    return objects


def person_name(citation_author: str) -> str:
    """``Harold, Scott W.`` (citation form) -> ``Scott W. Harold`` (page form)."""
    if "," not in citation_author:
        return clean_text(citation_author)
    last, first = citation_author.split(",", 1)
    return clean_text(f"{first} {last}")


def first_match(node: Selector, selectors: tuple[str, ...]) -> Selector | None:
    """The first element the first matching selector finds: selectors are tried in order,
    the page's own markup first, fallbacks after."""
    for css in selectors:
        found = node.css(css)
        if found:
            return found[0]
    return None


def text_in(node: Selector, selectors: tuple[str, ...]) -> str:
    """The clean text of ``first_match``, "" when nothing matches."""
    found = first_match(node, selectors)
    return text_of(found) if found is not None else ""


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def html_selector(html: str | bytes | None) -> Selector:
    """A parsel Selector for whatever a server sent: bytes, control characters, nothing at all."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    text = _CONTROL_CHARS.sub("", html or "")
    try:
        return Selector(text=text or "<html></html>")
    except Exception:  # noqa: BLE001 - lxml refuses some input outright; treat it as empty
        return Selector(text="<html></html>")


_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."})
_NAME_BREAKS = re.compile(r"\s*[;,]\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*", re.IGNORECASE)


def person_names(text: str | None) -> list[str]:
    """The names one string holds, in order: ``Jane Doe and John Roe, Jr.`` -> two names.

    It is split at commas, semicolons, "and" and "&" only when every piece is a whole name
    (two words or more; "Jr." and "III" stay with the name before them): ``Doe, Jane`` is one
    name, written family name first, and comes back as ``Jane Doe``.
    """
    text = clean_text(text)
    if not text:
        return []
    names: list[str] = []
    for piece in _NAME_BREAKS.split(text):
        piece = clean_text(piece)
        if not piece:
            continue
        if piece.lower() in _NAME_SUFFIXES and names:
            names[-1] = f"{names[-1]}, {piece}"
        else:
            names.append(piece)
    if len(names) > 1 and all(len(name.split()) >= 2 for name in names):
        return names
    if text.count(",") == 1 and text.split(",")[1].strip().lower() not in _NAME_SUFFIXES:
        return [person_name(text)]
    return [text]
