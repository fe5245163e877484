"""A topic as a feed: RSS 2.0 and Atom 1.0, read with feedparser, or an HTML page linking one.

Most think-tank sites publish their topic and tag pages as feeds (WordPress and Drupal do by
default). :class:`GenericFeedPage` reads one page of such a feed into the same listing entries
RAND's topic pages give, and says where the feed goes next; given an HTML page instead, it
names the feeds the page links (``<link rel="alternate" type="application/rss+xml">``); given
anything else, it says why that is not a feed. It never raises.

What an entry gives: its title; its link, made absolute against the feed's URL (relative
links are common); its date (``pubDate``, ``published``, ``dc:date``, else ``updated``: the
date as the publisher wrote it, not moved to UTC); its authors in order (every ``dc:creator``,
``<author>``); its categories; and its summary, HTML cleaned to text, without the "The post ...
appeared first on ..." line WordPress feeds add. Its publisher is the feed's: ``dc:publisher``,
else the site's part of the feed's title, else the host.

Where the feed goes next: an RFC 5005 ``<atom:link rel="next">`` (paged feeds) or
``rel="prev-archive"`` (archived feeds); else, for a WordPress feed (its generator, or a
``paged`` parameter), ``?paged=N+1`` after any page that had entries. WordPress never says
whether that page exists, so such a next page is ``next_page_guessed``: it answering 404 or
holding no entries ends the walk, as the end of the feed.

Whether the feed is whole: an RFC 5005 complete feed (``<fh:complete/>``) lists every entry
it has, so an entry missing from it has left the listing; any other feed may show only its
newest entries (see ``docs/feeds.md`` on delisting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_tz
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from catalog.records import (
    SECTION_LIST,
    ListingEntry,
    SkippedTeaser,
    TopicRef,
    merge_sighting,
)
from crawler.pages.common import (
    canonical_url,
    clean_text,
    fragment_text,
    html_selector,
    parse_date,
    person_names,
)
from crawler.pages.generic.site import archive_name, feed_slug, site_of, split_site_title

# The feed types a page may link, best first (RSS before Atom only as WordPress lists them).
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
FEED_LINKS = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')][@href]"
NEXT_RELS = ("next", "prev-archive")
# RFC 5005's namespace: a feed holding ``<fh:complete/>`` lists every entry it has.
FEED_HISTORY = "http://purl.org/syndication/history/1.0"
FIRST_RELS = ("first", "current")
# WordPress (and Yoast) end each summary with a line naming the post and the site.
_APPEARED_FIRST = re.compile(r"\n*The post .{0,500}? appeared first on .{0,300}?\.?\s*$", re.S)
_READ_MORE = re.compile(
    r"\s*(?:\[(?:…|\.\.\.|&hellip;)\]|(?:continue reading|read more)\b[^\n]{0,120})\s*$", re.I
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_HTML_START = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_ADDRESSED = re.compile(r"^\S+@\S+\s+\((?P<name>[^()]+)\)$")
SUMMARY_CHARS = 1500  # a summary longer than this (a whole post) is cut at a paragraph's end
UNCATEGORIZED = frozenset({"uncategorized", "uncategorised", "general"})


@dataclass(slots=True)
class FeedListing:
    """One page of a feed: its entries, what was skipped, and where the feed goes next."""

    kind: ClassVar[str] = "feed"
    topic: TopicRef
    page: int
    format: str  # feedparser's name for it: "rss20", "atom10", ...
    publisher: str  # the feed's word for its publisher (the site's name, else its host)
    entries: list[ListingEntry] = field(default_factory=list)
    skipped: list[SkippedTeaser] = field(default_factory=list)
    next_page_url: str | None = None
    # The feed did not name its next page: WordPress's ?paged=N+1, tried after a page with
    # entries; a 404 or a page without entries there is the end of the feed, not a failure.
    next_page_guessed: bool = False
    # RFC 5005 ``<fh:complete/>``: this document is the whole feed, every entry it has.
    complete: bool = False

    @property
    def teaser_count(self) -> int:
        return len(self.entries) + len(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "topic": {"slug": self.topic.slug, "name": self.topic.name, "url": self.topic.url},
            "page": self.page,
            "format": self.format,
            "publisher": self.publisher,
            "entries": [e.to_dict() for e in self.entries],
            "skipped": [s.to_dict() for s in self.skipped],
            "next_page_url": self.next_page_url,
            "next_page_guessed": self.next_page_guessed,
            "complete": self.complete,
        }


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """An HTML page that links feeds: fetch ``feed_urls[0]`` (the one most its own) instead."""

    kind: ClassVar[str] = "feed-links"
    url: str
    title: str
    feed_urls: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "title": self.title,
                "feed_urls": list(self.feed_urls)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NotAFeed:
    """A document that is neither a feed nor a page linking one; ``reason`` says what it is."""

    kind: ClassVar[str] = "not-a-feed"
    url: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "reason": self.reason}


FeedPageResult = FeedListing | FeedLinks | NotAFeed


class GenericFeedPage:
    """One page of an RSS or Atom feed, or an HTML page that links one; any site.

    ``topic`` is the topic a walk is reading (pages after the first carry the first page's);
    without it, the topic is the feed's: its first page's URL, its slug from that URL
    (``crawler.pages.generic.site.feed_slug``), its name from the feed's title.
    """

    def __init__(self, url: str, html: str | bytes, *, topic: TopicRef | None = None) -> None:
        self.url = canonical_url(url, url) or url
        self.document = html.encode("utf-8") if isinstance(html, str) else (html or b"")
        self.given_topic = topic

    def parse(self) -> FeedPageResult:
        try:
            return self._parse()
        except Exception as error:  # noqa: BLE001 - one unreadable document costs that page only
            return NotAFeed(self.url, f"unreadable feed: {type(error).__name__}: {error}")

    def _parse(self) -> FeedPageResult:
        import feedparser  # imported on use: only crawls of feeds pay for it

        if not self.document.strip():
            return NotAFeed(self.url, "an empty document, not an RSS or Atom feed")
        start = self.document[:4096].decode("utf-8", "replace").lstrip("\ufeff")
        if _HTML_START.match(start):
            return self._links()
        parsed = feedparser.parse(
            self.document,
            response_headers={"content-type": "application/xml", "content-location": self.url},
            sanitize_html=True,
            resolve_relative_uris=True,
        )
        version = parsed.get("version") or ""
        if not version:
            return self._not_a_feed(parsed)
        problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
        if problem is not None and not parsed.get("entries"):
            # Read as far as it goes, a broken feed with entries is kept; one with none is a
            # document cut short or mangled, not a feed that lists nothing.
            return NotAFeed(
                self.url, f"a broken RSS or Atom feed with no entries ({_says(problem)})"
            )
        return self._listing(parsed, version)

    # --- an HTML page ---------------------------------------------------------------------

    def _links(self) -> FeedLinks | NotAFeed:
        page = html_selector(self.document)
        found: list[tuple[int, int, str]] = []
        page_path = urlsplit(self.url).path.rstrip("/")
        for position, link in enumerate(page.xpath(FEED_LINKS)):
            kind = clean_text(link.attrib.get("type")).lower().split(";")[0]
            if kind not in FEED_TYPES:
                continue
            href = canonical_url(self.url, clean_text(link.attrib.get("href")))
            title = clean_text(link.attrib.get("title")).lower()
            if not href or "comments" in href.lower() or "comments feed" in title:
                continue  # a feed of readers' comments, not of publications
            path = urlsplit(href).path
            # The page's own feed (its path under the page's) first, then a tag's or
            # category's, then the site's: a WordPress tag page links all three.
            rank = 0 if page_path and path.startswith(page_path + "/") else 1
            if rank and re.search(r"\b(tag|category|topic|series|author)\b", title):
                rank = 0
            found.append((rank, position, href))
        urls = tuple(dict.fromkeys(href for _, _, href in sorted(found)))
        title = clean_text(page.xpath("//title/text()").get())
        if not urls:
            return NotAFeed(
                self.url,
                'an HTML page that links no RSS or Atom feed (no <link rel="alternate" '
                'type="application/rss+xml">)',
            )
        return FeedLinks(self.url, title, urls)

    def _not_a_feed(self, parsed: Any) -> FeedLinks | NotAFeed:
        problem = parsed.get("bozo_exception")
        text = self.document[:200].decode("utf-8", "replace").lstrip()
        if problem is not None and not text.startswith("<"):
            return NotAFeed(self.url, f"not an RSS or Atom feed: not XML ({_says(problem)})")
        root = re.search(r"<([A-Za-z][\w:.-]*)", re.sub(r"<[?!][^>]*>", "", text))
        if root and root.group(1).lower() in ("html", "head", "body"):
            return self._links()  # HTML without a doctype: it may still link its feed
        if problem is not None and not (root and root.group(1).lower() in ("rss", "feed")):
            return NotAFeed(self.url, f"not an RSS or Atom feed: {_says(problem)}")
        what = f"<{root.group(1)}>" if root else "no root element"
        return NotAFeed(self.url, f"an XML document that is not an RSS or Atom feed ({what})")

    # --- a feed ---------------------------------------------------------------------------

    def _listing(self, parsed: Any, version: str) -> FeedListing:
        feed = parsed.get("feed", {})
        name, site_part = split_site_title(fragment_text(feed.get("title")), self.url)
        publisher = clean_text(feed.get("publisher")) or site_part or site_of(self.url)
        topic = self.given_topic or self._topic(feed, archive_name(name) or site_part)
        result = FeedListing(
            topic=topic,
            page=_page_number(self.url),
            format=version,
            publisher=publisher,
        )
        by_url: dict[str, ListingEntry] = {}
        for position, entry in enumerate(parsed.get("entries", []), start=1):
            try:
                record = self._entry(entry, topic, position, publisher)
            except Exception:  # noqa: BLE001 - one unreadable entry costs that entry only
                record = SkippedTeaser(section=SECTION_LIST, position=position, reason="unreadable")
            if isinstance(record, SkippedTeaser):
                result.skipped.append(record)
            elif record.url in by_url:
                merge_sighting(by_url[record.url], record)
            else:
                by_url[record.url] = record
                result.entries.append(record)
        result.complete = _declares_complete(parsed)
        if result.complete:  # a complete feed has no other pages (RFC 5005, section 2)
            result.next_page_url, result.next_page_guessed = None, False
        else:
            result.next_page_url, result.next_page_guessed = self._next_page(feed, result)
        return result

    def _topic(self, feed: Any, name: str) -> TopicRef:
        first = _link(feed, FIRST_RELS) or _link(feed, ("self",)) or self.url
        url = _first_page_url(canonical_url(self.url, first) or self.url)
        slug = feed_slug(url)
        return TopicRef(slug=slug, name=name or slug, url=url)

    def _entry(
        self, entry: Any, topic: TopicRef, position: int, publisher: str
    ) -> ListingEntry | SkippedTeaser:
        title = fragment_text(entry.get("title"))
        href = clean_text(entry.get("link")) or _link(entry, ("alternate",))
        if not href and entry.get("guidislink"):
            href = clean_text(entry.get("id"))
        if not title:
            return SkippedTeaser(section=SECTION_LIST, position=position, reason="no title")
        if not href:
            return SkippedTeaser(section=SECTION_LIST, position=position, reason="no link")
        url = canonical_url(self.url, href)
        if not url or urlsplit(url).scheme not in ("http", "https"):
            # An Atom entry without a link has only its id (a tag: or urn: name) to stand in.
            return SkippedTeaser(section=SECTION_LIST, position=position, reason="malformed link")
        published_on, date_text = _entry_date(entry)
        image_url = _image(entry, self.url)
        return ListingEntry(
            url=url,
            title=title,
            content_type="",
            published_on=published_on,
            date_text=date_text,
            summary=_summary(entry),
            image_url=image_url,
            image_caption=None,
            topic=topic,
            section=SECTION_LIST,
            listing_url=self.url,
            position=position,
            publisher=publisher,
            authors=_authors(entry),
            categories=_categories(entry),
        )

    def _next_page(self, feed: Any, result: FeedListing) -> tuple[str | None, bool]:
        named = _link(feed, NEXT_RELS)
        if named:
            url = canonical_url(self.url, named)
            return (url if url and url != self.url else None), False
        generator = " ".join(
            str(v) for v in (feed.get("generator"), feed.get("generator_detail", {}).get("href"))
        )
        wordpress = "wordpress" in generator.lower() or "paged" in dict(
            parse_qsl(urlsplit(self.url).query)
        )
        if wordpress and result.entries:
            return _with_paged(self.url, result.page + 1), True
        return None, False


def _says(problem: Exception) -> str:
    text = clean_text(str(getattr(problem, "getMessage", lambda: problem)()))
    return text or type(problem).__name__


def _declares_complete(parsed: Any) -> bool:
    """Whether the feed holds RFC 5005's ``<fh:complete/>``, whatever prefix it gives the
    namespace (feedparser names an element of an unknown namespace ``<prefix>_<name>``)."""
    prefixes = [p for p, uri in (parsed.get("namespaces") or {}).items() if uri == FEED_HISTORY]
    feed = parsed.get("feed", {})
    return any(f"{prefix}_complete" in feed for prefix in prefixes or ["fh"])


def _link(node: Any, rels: tuple[str, ...]) -> str:
    """The href of the node's first link with one of ``rels`` (in that order of preference)."""
    links = node.get("links") or []
    for rel in rels:
        for link in links:
            if (link.get("rel") or "alternate") == rel and link.get("href"):
                return clean_text(link["href"])
    return ""


def _page_number(url: str) -> int:
    """Which page of its feed ``url`` is: ``?paged=N`` (WordPress), ``?page=N``,
    ``/page/N/``; 1 when it does not say."""
    query = dict(parse_qsl(urlsplit(url).query))
    for key in ("paged", "page"):
        if query.get(key, "").isdigit():
            return max(1, int(query[key]))
    match = re.search(r"/page/(\d+)/?", urlsplit(url).path)
    return max(1, int(match.group(1))) if match else 1


def _with_paged(url: str, page: int) -> str:
    """``url`` asking for WordPress's page ``page`` (no parameter for page 1)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "paged"]
    if page > 1:
        query.append(("paged", str(page)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _first_page_url(url: str) -> str:
    """The URL of a feed's first page: paging parameters and ``/page/N/`` dropped."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("paged", "page")]
    path = re.sub(r"/page/\d+/?$", "/", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def _entry_date(entry: Any) -> tuple[date | None, str]:
    """The entry's date as its publisher wrote it (the day of their time zone, not UTC's) and
    its text: ISO ``YYYY-MM-DD`` when read, else what the feed says (for the warning)."""
    for key in ("published", "created", "updated"):
        raw = clean_text(entry.get(key))
        if not raw:
            continue
        day = _written_day(raw)
        if day is None:
            moment = entry.get(f"{key}_parsed")  # feedparser's own reading, in UTC
            day = (
                parse_date(f"{moment.tm_year}-{moment.tm_mon:02d}-{moment.tm_mday:02d}")
                if moment
                else None
            )
        if day is not None:
            return day, day.isoformat()
        return None, raw
    return None, ""


def _written_day(raw: str) -> date | None:
    if _ISO_DATE.match(raw):
        return parse_date(raw[:10])
    fields = parsedate_tz(raw)  # RFC 822: "Tue, 12 Mar 2024 23:30:00 -0500"
    if fields and fields[0] > 0:
        return parse_date(f"{fields[0]:04d}-{fields[1]:02d}-{fields[2]:02d}")
    return parse_date(raw)


def _authors(entry: Any) -> list[str]:
    """Every ``dc:creator`` and ``<author>`` in order; e-mail addresses are not names."""
    names: list[str] = []
    details = entry.get("authors") or [entry.get("author_detail") or {}]
    raw = [d.get("name") or "" for d in details] or [entry.get("author") or ""]
    # RSS's <author> is "address (Name)"; feedparser cuts some addresses wrongly, and the
    # name with them: read that form here.
    addressed = _ADDRESSED.match(clean_text(entry.get("author")))
    if addressed and len(details) <= 1:
        raw = [addressed.group("name")]
    for value in raw:
        value = re.sub(r"^by\s+", "", fragment_text(value), flags=re.I)
        if not value or "@" in value and " " not in value:
            continue
        names += person_names(value)
    return list(dict.fromkeys(n for n in names if n))


def _categories(entry: Any) -> list[str]:
    # WordPress escapes a category's "&" once more inside CDATA ("Europe &amp; Eurasia").
    terms = [fragment_text(t.get("label") or t.get("term")) for t in entry.get("tags") or []]
    return list(dict.fromkeys(t for t in terms if t and t.lower() not in UNCATEGORIZED))


def _summary(entry: Any) -> str:
    """The entry's description as text, without the lines feeds add; a whole post is cut."""
    text = fragment_text(entry.get("summary"))
    if not text:
        contents = entry.get("content") or []
        text = fragment_text(contents[0].get("value")) if contents else ""
    text = _APPEARED_FIRST.sub("", text).strip()
    text = _READ_MORE.sub("", text).strip()
    if len(text) > SUMMARY_CHARS:
        paragraphs, kept = text.split("\n\n"), []
        for paragraph in paragraphs:
            if kept and len("\n\n".join([*kept, paragraph])) > SUMMARY_CHARS:
                break
            kept.append(paragraph)
        text = "\n\n".join(kept)
    return text


def _image(entry: Any, base: str) -> str | None:
    """The entry's picture: ``media:thumbnail``, ``media:content`` or an image enclosure."""
    candidates = [t.get("url") for t in entry.get("media_thumbnail") or []]
    candidates += [
        m.get("url")
        for m in entry.get("media_content") or []
        if (m.get("medium") == "image" or (m.get("type") or "").startswith("image/"))
    ]
    candidates += [
        link.get("href")
        for link in entry.get("links") or []
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")
    ]
    for candidate in candidates:
        if candidate and clean_text(candidate):
            return urljoin(base, clean_text(candidate))
    return None
