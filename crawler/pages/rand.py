"""Page objects for rand.org.

Selectors are the ones documented in the project's reference notes on RAND's markup, each with
fallbacks: the live site changes, and a missing piece must cost one field, not the crawl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector

from crawler.items import SECTION_FEATURED, SECTION_LIST, ListingEntry, SkippedTeaser, TopicRef
from crawler.pages.common import (
    canonical_url,
    clean_text,
    listing_page_url,
    page_number,
    parse_date,
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
