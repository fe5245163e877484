"""RAND topic listings: start at a topic page, follow its pagination newest to oldest.

Incremental by default: once a whole listing page holds nothing new or changed (or the server
answers 304 Not Modified), the rest of the listing is already in the catalog and the walk of
that topic stops. ``full=1`` walks every page, which also lets the catalog mark publications
that left the listing.

Each new or changed publication's own page is fetched too (``details=0`` turns that off), and
pages that failed before are tried again at the start of the next crawl.

A walk ends in exactly one of three ways: it reached its end (or pages it already had), it was
cut short on purpose (``pages``: a short walk), or it failed and the run fails with it (a
listing that reaches ``CATALOG_MAX_LISTING_PAGES`` pages, the failure cap, is one that never
ends). A listing request
that Scrapy drops on its own (a redirect loop, a redirect to another host, a repeat) fails the
walk too, and a walk that ended none of these ways (a request lost anywhere else) fails the
run when the crawl goes idle: a run never "succeeds" with a topic left unwalked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from catalog.config import deprecation
from catalog.queries import CatalogView
from catalog.records import (
    WALK_COMPLETED,
    WALK_STARTED,
    DetailFailure,
    ListingPageSeen,
    TopicRef,
    TopicWalk,
)
from catalog.urls import listing_key
from catalog.urls import rand_topic_url as topic_url
from crawler import stats as keys
from crawler.catalog_run import catalog_view
from crawler.logs import RESTATED
from crawler.middlewares import META_ROLE, CrawlStopping, request_left_site
from crawler.pages.common import date_problem, listing_page_url, page_number
from crawler.pages.rand import RandProductPage, RandTopicPage, TopicListing, topic_slug_from_url

DEFAULT_TOPIC = "security-cooperation"
DEFAULT_PAGE_CAP = 500  # CATALOG_MAX_LISTING_PAGES: no real topic listing is this long
ROLE_LISTING = "listing"
ROLE_DETAILS = "details"
META_WALK = "catalog_walk"  # the start URL of the walk a listing request belongs to
VALIDATORS = ("If-None-Match", "If-Modified-Since")


def short_walk(value: Any, name: str = "pages") -> int | None:
    """The ``pages`` argument (listing pages per topic, a deliberate short walk) as a number;
    None when not given. ValueError names the argument when it is not a whole number >= 1."""
    if value in (None, ""):
        return None
    try:
        pages = int(str(value).strip())
    except ValueError:
        pages = 0
    if pages < 1:
        raise ValueError(f"{name} must be a whole number of listing pages, not {value!r}")
    return pages


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class RandTopicSpider(scrapy.Spider):
    """``-a topic=a,b`` (slugs), ``-a start_url=URL[,URL]``, ``-a pages=N``, ``-a full=1``,
    ``-a details=0``.

    When its crawl starts, the spider asks the run (:func:`crawler.catalog_run.catalog_view`)
    for a read-only view of the catalog; without one (``scrapy shell``, a feed-only crawl)
    every walk is full and no request is conditional.

    ``pages`` is a deliberate short walk (the run succeeds, the topic stays partial); without
    it a walk stops at the ``CATALOG_MAX_LISTING_PAGES`` setting and fails the run, because a
    listing that long means its pagination never ends. ``max_pages`` is the old name of
    ``pages`` and still works, with a warning.
    """

    name = "rand_topic"

    def __init__(
        self,
        topic: str | list[str] | None = None,
        start_url: str | list[str] | None = None,
        pages: int | str | None = None,
        full: bool | str = False,
        details: bool | str = True,
        **kwargs: Any,
    ) -> None:
        old = kwargs.pop("max_pages", None)  # the old name of `pages`
        super().__init__(**kwargs)
        urls = [topic_url(slug) for slug in _as_list(topic)] + _as_list(start_url)
        # Each listing once, however it is spelt (tracking parameters, a fragment, ?page=1):
        # a second walk of one listing would be dropped as a duplicate request, a "loop".
        self.start_urls = list(dict.fromkeys(map(listing_key, urls))) or [topic_url(DEFAULT_TOPIC)]
        # Allow whatever hosts the user pointed us at (tests and mirrors use other hosts).
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in self.start_urls})
        if old not in (None, ""):
            self.logger.warning(deprecation("spider argument max_pages", "pages"))
            if pages in (None, ""):
                pages = old
        self.pages = short_walk(pages)
        self.full = _as_bool(full)
        self.details = _as_bool(details)
        self.page_cap = DEFAULT_PAGE_CAP
        self.failures: list[str] = []
        self.open_walks: set[str] = set()  # start URLs of walks that have not ended yet
        self.catalog: CatalogView | None = None  # asked of the run when the crawl starts

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> RandTopicSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider.request_left_site, signal=request_left_site)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # The crawl's settings are final now (catalog.toml, environment, command line), and
        # the run has started: its view answers what is known, what changed, what is unread.
        self.page_cap = self.settings.getint("CATALOG_MAX_LISTING_PAGES", DEFAULT_PAGE_CAP)
        self.catalog = catalog_view(self.crawler)
        for url in self.start_urls:
            slug = topic_slug_from_url(url)
            known = self._walk_state(slug) == "complete" if slug else False
            self.open_walks.add(url)
            yield self._listing_request(url, page_count=1, topic=None, incremental=known, walk=url)
        if self.details and self.catalog is not None:
            limit = self.settings.getint("CATALOG_DETAILS_PER_RUN", 500)
            for url in self.catalog.pending_details(limit):
                if self._allowed(url):
                    yield self._details_request(url)

    def _allowed(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _details_request(self, url: str) -> scrapy.Request:
        # After the listing pages: details never hold up the walk that finds them.
        return scrapy.Request(
            url,
            callback=self.parse_details,
            errback=self.details_failed,
            priority=-10,
            meta={META_ROLE: ROLE_DETAILS},
            cb_kwargs={"publication_url": url},
        )

    def _walk_state(self, slug: str) -> str | None:
        if self.full or self.catalog is None:
            return None
        return self.catalog.walk_state(slug)

    def _listing_request(
        self, url: str, page_count: int, topic: TopicRef | None, incremental: bool, walk: str
    ) -> scrapy.Request:
        headers = {}
        if incremental and self.catalog is not None:
            etag, last_modified = self.catalog.validators(listing_page_url(url, page_number(url)))
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
        return scrapy.Request(
            url,
            headers=headers,
            callback=self.parse,
            errback=self.listing_failed,
            meta={"handle_httpstatus_list": [304], META_ROLE: ROLE_LISTING, META_WALK: walk},
            cb_kwargs={"page_count": page_count, "topic": topic, "incremental": incremental},
            dont_filter=False,
        )

    def parse(
        self,
        response: Response,
        page_count: int = 1,
        topic: TopicRef | None = None,
        incremental: bool = False,
    ) -> Iterator[Any]:
        walk = response.meta.get(META_WALK, response.url)
        self.crawler.stats.inc_value(keys.PAGES_FETCHED)
        if response.status == 304:
            if not any(response.request.headers.get(name) for name in VALIDATORS):
                # "Not modified" since when? Without validators a 304 is a broken server or
                # proxy, and treating it as "the rest is known" would silently skip a topic.
                self.fail(f"HTTP 304 to a request without validators: {response.url}", walk)
                return
            self.crawler.stats.inc_value(keys.PAGES_NOT_MODIFIED)
            self.logger.info("%s not modified: the rest of its topic is known", response.url)
            self.open_walks.discard(walk)
            if topic is not None:  # page 1 changed earlier in this walk: close the walk
                yield TopicWalk(topic, WALK_COMPLETED, full=False)
            return
        if not isinstance(response, TextResponse):
            self.fail(f"{response.url} is not an HTML page", walk)
            return
        listing = RandTopicPage(response.url, response.text).listing()
        if listing.teaser_count == 0:
            self.fail(f"no teasers on {response.url}: the listing layout may have changed", walk)
            return
        # Ask the catalog before yielding: the pipeline may store these entries while they
        # are handed over, and then every one of them would look known and unchanged.
        known = self.catalog.page_state(listing.entries) if self.catalog is not None else None
        unchanged = incremental and known is not None and known.unchanged
        wanted = known.needs_details if self.details and known is not None else frozenset()
        if page_count == 1:
            yield TopicWalk(listing.topic, WALK_STARTED, full=self.full)
        yield from self._records(listing, response)
        for url in sorted(wanted):
            if self._allowed(url):
                yield self._details_request(url)
            else:
                self._details_skipped(url, response.url)
        if unchanged:
            self.logger.info(
                "%s holds nothing new: stopping the walk of %s", response.url, listing.topic.slug
            )
            self.open_walks.discard(walk)
            yield TopicWalk(listing.topic, WALK_COMPLETED, full=False)
        elif listing.next_page_url is None:
            self.open_walks.discard(walk)
            yield TopicWalk(listing.topic, WALK_COMPLETED, full=self.full)
        elif self.pages is not None and page_count >= self.pages:
            # asked for a short walk: the topic stays "partial" and the next run goes on
            self.logger.info("stopping the walk of %s after %d pages", walk, page_count)
            self.open_walks.discard(walk)
        elif self.pages is None and page_count >= self.page_cap:
            self.fail(
                f"stopped after {page_count} listing pages of {listing.topic.slug}: "
                "pagination never ended",
                walk,
            )
        else:
            yield self._listing_request(
                listing.next_page_url, page_count + 1, listing.topic, incremental, walk
            )

    def _records(self, listing: TopicListing, response: Response) -> Iterator[Any]:
        for teaser in listing.skipped:
            self.crawler.stats.inc_value(keys.ITEMS_SKIPPED)
            self.logger.warning(
                "skipped %s teaser %d on %s: %s",
                teaser.section,
                teaser.position,
                response.url,
                teaser.reason,
            )
        for entry in listing.entries:
            if entry.date_text and entry.published_on is None:
                self._date_warning(entry.date_text, entry.url)
            yield entry
        yield ListingPageSeen(
            url=listing_page_url(response.url, listing.page),
            topic=listing.topic,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
        )

    def parse_details(self, response: Response, publication_url: str) -> Iterator[Any]:
        """The publication's own page; stored under the listing's URL even after redirects."""
        self.crawler.stats.inc_value(keys.DETAIL_PAGES)
        if not isinstance(response, TextResponse):
            yield DetailFailure(publication_url, f"not an HTML page ({response.url})")
            return
        record = RandProductPage(response.url, response.text).details()
        if isinstance(record, DetailFailure):
            self.logger.warning("publication page %s: %s", publication_url, record.reason)
            yield DetailFailure(publication_url, record.reason)
            return
        record.url = publication_url
        if record.date_text and record.published_on is None:
            self._date_warning(record.date_text, publication_url)
        yield record

    def _details_skipped(self, url: str, listing_url: str) -> None:
        """A teaser linking to another host: its page is not read (the crawl keeps to the hosts
        it was pointed at), but the run counts it and the log says which and why."""
        self.crawler.stats.inc_value(keys.DETAILS_SKIPPED)
        self.logger.warning(
            "publication page %s not read: %s is not a host this crawl visits (%s; listed on %s)",
            url,
            urlsplit(url).hostname,
            ", ".join(self.allowed_domains),
            listing_url,
        )

    def _date_warning(self, text: str, url: str) -> None:
        """A printed date we cannot use: stored as NULL (text kept), counted on the run."""
        self.crawler.stats.inc_value(keys.WARNINGS)
        problem = date_problem(text) or "not a date we know"
        self.logger.warning("unparseable date %r for %s (%s): stored as NULL", text, url, problem)

    def details_failed(self, failure: Failure) -> Iterator[Any]:
        """A publication page that failed is recorded, never fatal: the listing record stands."""
        if failure.check(CrawlStopping):  # not fetched because the crawl stops: not a failure
            return
        url = failure.request.cb_kwargs["publication_url"]  # type: ignore[attr-defined]
        self.crawler.stats.inc_value(keys.DETAIL_PAGES)
        response = getattr(failure.value, "response", None)
        cause = f"HTTP {response.status}" if response is not None else failure.getErrorMessage()
        self.logger.warning("publication page %s failed: %s", url, cause)
        yield DetailFailure(url, cause or failure.type.__name__)

    def listing_failed(self, failure: Failure) -> None:
        if failure.check(CrawlStopping):  # the walk stays partial; the next crawl goes on
            return
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        cause = f"HTTP {response.status}" if response is not None else failure.getErrorMessage()
        first = _first_url(request)
        self.fail(
            f"listing page {first} failed: {cause or failure.type.__name__}",
            request.meta.get(META_WALK),
        )

    def request_dropped(self, request: Request, spider: scrapy.Spider | None = None) -> None:
        """The scheduler refused a request as a repeat: for a listing, a redirect loop."""
        if request.meta.get(META_ROLE) != ROLE_LISTING:
            return  # a publication listed twice: its page is fetched once
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if len(chain) > 1:
            message = f"listing page {chain[0]} is a redirect loop: {' -> '.join(chain)}"
        else:
            message = f"listing page {request.url} was requested twice: its pagination loops"
        self.fail(message, request.meta.get(META_WALK))

    def request_left_site(self, request: Request) -> None:
        """A redirect led to a host the crawl does not visit; Scrapy dropped it silently."""
        first = _first_url(request)
        if request.meta.get(META_ROLE) == ROLE_LISTING:
            self.fail(
                f"listing page {first} redirected off the site to {request.url}",
                request.meta.get(META_WALK),
            )
        else:
            self.crawler.stats.inc_value(keys.DETAILS_OFF_SITE)
            self.logger.warning(
                "publication page %s redirected off the site to %s", first, request.url
            )

    def spider_idle(self, spider: scrapy.Spider | None = None) -> None:
        """Nothing left to fetch: a walk that never ended one way or another fails the run."""
        for walk in sorted(self.open_walks):
            self.fail(
                f"the walk of {walk} ended before its listing did "
                "(a request was dropped; see the log)",
                walk,
            )

    def fail(self, message: str, walk: str | None = None) -> None:
        """Record why the run failed; the crawl of other topics goes on, the run ends failed."""
        if walk is not None:
            self.open_walks.discard(walk)
        self.failures.append(message)
        # The run's error restates it: `catalog crawl` prints it once, at the end.
        self.logger.error(message, extra={RESTATED: True})


def _first_url(request: Request) -> str:
    """The URL the spider asked for, before any redirect."""
    return (request.meta.get("redirect_urls") or [request.url])[0]


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
