"""RAND's topic listing pages: teasers in, listing entries out.

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
    ListingEntry,
    SkippedTeaser,
    TopicRef,
    merge_sighting,
)
from crawler.pages.blocks import (
    is_sentence,
    normalised,
    text_blocks,
)
from crawler.pages.common import (
    canonical_url,
    clean_text,
    first_match,
    html_selector,
    listing_page_url,
    page_number,
    parse_date,
    text_of,
)
from crawler.pages.rand.site import HEADING, MAIN_SCOPES, PUBLISHER, TOPIC_PATH, is_prose

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
TEASER_IMAGE = "div.img-wrap img"
PAGINATION_LINKS = (
    "#results div.pagination-wrap ul li a",
    ".pagination-wrap a",
    "nav.pagination a",
    ".pagination a",
)


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
        self.selector = html_selector(html)
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
            if (
                first_match(li, TEASER_LINK) is not None
                or first_match(li, TEASER_TITLE) is not None
            ):
                before.append(li)
        return before

    def _teaser(
        self, li: Selector, topic: TopicRef, section: str, listing_url: str, position: int
    ) -> ListingEntry | SkippedTeaser:
        link = first_match(li, TEASER_LINK)
        heading = link if link is not None else first_match(li, TEASER_TITLE)
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
            publisher=PUBLISHER,
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
    date_node = next((b for b in blocks if _says_date(b)), None) or first_match(li, TEASER_DATE)
    taken = {date_node.root} if date_node is not None else set()
    kind = next(
        (b for b in blocks if b.root not in taken and normalised(text_of(b)) in CONTENT_TYPES),
        None,
    )
    if kind is None:
        hinted = first_match(li, TEASER_TYPE)
        kind = hinted if hinted is not None and hinted.root not in taken else None
    if kind is None:
        kind = _type_label(li, blocks, date_node, title_root, taken)
    if kind is not None:
        taken.add(kind.root)
    summary = next((b for b in blocks if b.root not in taken and is_prose(text_of(b))), None)
    if summary is None:
        hinted = first_match(li, TEASER_SUMMARY)
        summary = hinted if hinted is not None and hinted.root not in taken else None
    return _TeaserParts(kind=kind, date=date_node, summary=summary)


def _says_date(block: Selector) -> bool:
    """A line that is only a date, or a short one holding a ``<time>`` element."""
    text = text_of(block)
    if block.xpath("descendant-or-self::time") and not is_prose(text):
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


def _not_navigation(teasers: SelectorList | list[Selector]) -> list[Selector]:
    return [li for li in teasers if not li.xpath(NAVIGATION)]
