"""Topic walks: a RAND topic page and its pagination, or any publisher's feed and its pages,
newest to oldest.

Which page objects read a start URL is the publisher registry's choice, by host
(:func:`crawler.pages.registry.publisher_for`): RAND's hosts walk RAND's topic listing pages;
every other host is read as a feed (RSS or Atom), or as an HTML page that links one, whose
feed is then walked (RFC 5005 ``rel="next"``, WordPress ``?paged=N``; see ``docs/feeds.md``
and :mod:`crawler.spiders.feed_walks`). A URL that is neither fails the run, in one line.
This module navigates only: page objects parse, the pipeline stores.

Incremental by default: once a whole listing page holds nothing new or changed (or the server
answers 304 Not Modified), the rest of the listing is already in the catalog and the walk of
that topic stops. ``full=1`` walks every page, which also lets the catalog mark publications
that left the listing. A feed shows only its newest entries, so an entry missing from it is no
proof of delisting: only a full walk that followed the feed's pages to its end, or a feed that
declares itself complete (RFC 5005 ``<fh:complete/>``), marks entries gone.

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
    ListingEntry,
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
from crawler.pages import registry
from crawler.pages.common import date_problem, listing_page_url, page_number
from crawler.pages.generic import FeedListing
from crawler.pages.rand import RandTopicPage, TopicListing, topic_slug_from_url
from crawler.reading import (
    DEFAULT_PAGE_CAP,
    DEFAULT_TOPIC,
    META_WALK,
    ROLE_DETAILS,
    ROLE_LISTING,
    as_bool,
    as_list,
    conditional_headers,
    feed_page_key,
    first_url,
    header,
    sent_validators,
    short_walk,
)
from crawler.spiders.feed_walks import FeedWalks

__all__ = ["RandTopicSpider", "short_walk", "topic_url"]


class RandTopicSpider(FeedWalks, scrapy.Spider):
    """``-a topic=a,b`` (slugs), ``-a start_url=URL[,URL]``, ``-a pages=N``, ``-a full=1``,
    ``-a details=0``. A start URL on a RAND host is a topic listing; on any other host, a feed
    or an HTML page linking one.

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
        urls = [topic_url(slug) for slug in as_list(topic)] + as_list(start_url)
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
        self.full = as_bool(full)
        self.details = as_bool(details)
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
            self.open_walks.add(url)
            if registry.publisher_for(url).listing_page is RandTopicPage:
                slug = topic_slug_from_url(url)
                known = self._walk_state(slug) == "complete" if slug else False
                yield self._listing_request(
                    url, page_count=1, topic=None, incremental=known, walk=url
                )
            else:
                yield self._feed_request(url, page_count=1, topic=None, walk=url)
        if self.details and self.catalog is not None:
            limit = self.settings.getint("CATALOG_DETAILS_PER_RUN", 500)
            for url in self.catalog.pending_details(limit):
                if self._allowed(url):
                    yield self._details_request(url)

    def _allowed(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _details_request(self, url: str, entry: ListingEntry | None = None) -> scrapy.Request:
        # After the listing pages: details never hold up the walk that finds them. The
        # listing's entry goes along: a feed's values stand where the page says nothing.
        return scrapy.Request(
            url,
            callback=self.parse_details,
            errback=self.details_failed,
            priority=-10,
            meta={META_ROLE: ROLE_DETAILS},
            cb_kwargs={"publication_url": url, "entry": entry},
        )

    def _walk_state(self, slug: str) -> str | None:
        if self.full or self.catalog is None:
            return None
        return self.catalog.walk_state(slug)

    def _listing_request(
        self, url: str, page_count: int, topic: TopicRef | None, incremental: bool, walk: str
    ) -> scrapy.Request:
        key = listing_page_url(url, page_number(url))
        headers = conditional_headers(self.catalog, key) if incremental else {}
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
            yield from self._not_modified(response, topic, walk)
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
        unchanged, wanted = self._page_known(listing, incremental)
        if page_count == 1:
            yield TopicWalk(listing.topic, WALK_STARTED, full=self.full)
        yield from self._records(listing, response)
        yield from self._details_wanted(listing, wanted, response.url)
        if unchanged:
            yield self._nothing_new(listing.topic, walk, response.url)
        elif listing.next_page_url is None:
            self.open_walks.discard(walk)
            yield TopicWalk(listing.topic, WALK_COMPLETED, full=self.full)
        elif self._cut_short(
            walk,
            page_count,
            f"listing pages of {listing.topic.slug}: pagination never ended",
        ):
            pass
        else:
            yield self._listing_request(
                listing.next_page_url, page_count + 1, listing.topic, incremental, walk
            )

    def _page_known(
        self, listing: TopicListing | FeedListing, incremental: bool
    ) -> tuple[bool, frozenset[str]]:
        """What the catalog has of a listing page's entries: whether an incremental walk may
        stop here (nothing new or changed), and the entries whose own page is to be read."""
        known = self.catalog.page_state(listing.entries) if self.catalog is not None else None
        if known is None:
            return False, frozenset()
        return incremental and known.unchanged, known.needs_details if self.details else frozenset()

    def _nothing_new(self, topic: TopicRef, walk: str, url: str) -> TopicWalk:
        """A page holding only what the catalog has: the rest of the walk is known."""
        self.logger.info("%s holds nothing new: stopping the walk of %s", url, topic.slug)
        self.open_walks.discard(walk)
        return TopicWalk(topic, WALK_COMPLETED, full=False)

    def _cut_short(self, walk: str, page_count: int, endless: str) -> bool:
        """Whether the walk stops at this page without reaching its end: a short walk asked
        for (``pages``; the topic stays "partial" and the next run goes on), or the failure
        cap reached (the run fails: "stopped after N <endless>")."""
        if self.pages is not None and page_count >= self.pages:
            self.logger.info("stopping the walk of %s after %d pages", walk, page_count)
            self.open_walks.discard(walk)
            return True
        if self.pages is None and page_count >= self.page_cap:
            self.fail(f"stopped after {page_count} {endless}", walk)
            return True
        return False

    def _not_modified(
        self, response: Response, topic: TopicRef | None, walk: str
    ) -> Iterator[TopicWalk]:
        """A 304 to a conditional request: the rest of the walk's listing is known."""
        if not sent_validators(response.request):
            # "Not modified" since when? Without validators a 304 is a broken server or
            # proxy, and treating it as "the rest is known" would silently skip a topic.
            self.fail(f"HTTP 304 to a request without validators: {response.url}", walk)
            return
        self.crawler.stats.inc_value(keys.PAGES_NOT_MODIFIED)
        self.logger.info("%s not modified: the rest of its topic is known", response.url)
        self.open_walks.discard(walk)
        if topic is not None:  # page 1 changed earlier in this walk: close the walk
            yield TopicWalk(topic, WALK_COMPLETED, full=False)

    def _details_wanted(
        self, listing: TopicListing | FeedListing, wanted: frozenset[str], listed_on: str
    ) -> Iterator[scrapy.Request]:
        """The publication pages to read: new or changed entries' (on the hosts visited)."""
        entries = {entry.url: entry for entry in listing.entries}
        for url in sorted(wanted):
            if self._allowed(url):
                yield self._details_request(url, entries.get(url))
            else:
                self._details_skipped(url, listed_on)

    def _records(self, listing: TopicListing | FeedListing, response: Response) -> Iterator[Any]:
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
        is_feed = isinstance(listing, FeedListing)
        yield ListingPageSeen(
            # A feed's pages are known by their own URL (``?paged=N``, ``/page/N/``, ...).
            url=feed_page_key(first_url(response.request))
            if is_feed
            else listing_page_url(response.url, listing.page),
            topic=listing.topic,
            etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"),
        )

    def parse_details(
        self, response: Response, publication_url: str, entry: ListingEntry | None = None
    ) -> Iterator[Any]:
        """The publication's own page, read by its publisher's page object (with the feed's
        entry, for a publisher that reads one); stored under the listing's URL even after
        redirects."""
        self.crawler.stats.inc_value(keys.DETAIL_PAGES)
        if not isinstance(response, TextResponse):
            yield DetailFailure(publication_url, f"not an HTML page ({response.url})")
            return
        publisher = registry.publisher_for(publication_url)
        record = publisher.publication(response.url, response.text, listing=entry).parse()
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
        first = first_url(request)
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
        first = first_url(request)
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
