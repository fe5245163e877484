"""RAND topic listings: start at a topic page, follow its pagination to the last page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.items import ListingEntry
from crawler.pages.rand import RandTopicPage

RAND_BASE = "https://www.rand.org"
DEFAULT_TOPIC = "security-cooperation"


def topic_url(slug: str, base: str = RAND_BASE) -> str:
    return f"{base.rstrip('/')}/topics/{slug.strip()}.html"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


class RandTopicSpider(scrapy.Spider):
    """``-a topic=a,b`` (slugs), ``-a start_url=URL[,URL]``, ``-a max_pages=N`` per topic."""

    name = "rand_topic"

    def __init__(
        self,
        topic: str | list[str] | None = None,
        start_url: str | list[str] | None = None,
        max_pages: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        urls = [topic_url(slug) for slug in _as_list(topic)] + _as_list(start_url)
        self.start_urls = urls or [topic_url(DEFAULT_TOPIC)]
        # Allow whatever hosts the user pointed us at (tests and mirrors use other hosts).
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in self.start_urls})
        self.max_pages = int(max_pages) if max_pages not in (None, "") else None
        self.failures: list[str] = []

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield self._listing_request(url, page_count=1)

    def _listing_request(self, url: str, page_count: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.listing_failed,
            cb_kwargs={"page_count": page_count},
        )

    def parse(self, response: Response, page_count: int = 1) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.fail(f"{response.url} is not an HTML page")
            return
        listing = RandTopicPage(response.url, response.text).listing()
        self.crawler.stats.inc_value("catalog/pages_fetched")
        if listing.teaser_count == 0:
            self.fail(f"no teasers on {response.url}: the listing layout may have changed")
            return
        yield from self._checked(listing.entries, listing.skipped, response.url)
        if listing.next_page_url and (self.max_pages is None or page_count < self.max_pages):
            yield self._listing_request(listing.next_page_url, page_count + 1)

    def _checked(self, entries: list[ListingEntry], skipped: list, url: str) -> Iterator[Any]:
        for teaser in skipped:
            self.crawler.stats.inc_value("catalog/items_skipped")
            self.logger.warning(
                "skipped %s teaser %d on %s: %s",
                teaser.section,
                teaser.position,
                url,
                teaser.reason,
            )
        for entry in entries:
            if entry.date_text and entry.published_on is None:
                self.crawler.stats.inc_value("catalog/dates_unparsed")
                self.logger.warning("unparseable date %r for %s", entry.date_text, entry.url)
            yield entry

    def listing_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        cause = f"HTTP {response.status}" if response is not None else failure.getErrorMessage()
        self.fail(f"listing page {request.url} failed: {cause or failure.type.__name__}")

    def fail(self, message: str) -> None:
        """Record why the run failed; the crawl of other topics goes on, the run ends failed."""
        self.failures.append(message)
        self.logger.error(message)
