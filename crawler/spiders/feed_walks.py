"""Feed walks: a topic on any host without page objects of its own, read as a feed.

A start URL is an RSS or Atom feed, or an HTML page that links one (the feed it names first is
walked instead). The feed's pages are followed newest to oldest (RFC 5005 ``rel="next"``;
WordPress's ``?paged=N``, where a 404 or an empty page past the last is the end), to the end
on a first or full crawl; afterwards incrementally: the first page is asked for
conditionally (a 304 ends the walk) and a page holding nothing new stops it, as RAND's walks
do. A feed shows only its newest entries, so an entry missing from it proves nothing: only a
full walk that followed the pages to the end, or a feed that declares itself complete
(RFC 5005 ``<fh:complete/>``), may mark what it did not see as delisted (``docs/feeds.md``).

A mixin of :class:`crawler.spiders.rand_topic.RandTopicSpider`, which owns the walks' state,
their failures and the publication pages; navigation only: the registry's page objects parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response

from catalog.queries import CatalogView
from catalog.records import WALK_COMPLETED, WALK_STARTED, TopicRef, TopicWalk
from crawler import stats as keys
from crawler.middlewares import META_ROLE
from crawler.pages import registry
from crawler.pages.generic import FeedLinks, FeedListing, NotAFeed
from crawler.pages.generic.site import feed_slug
from crawler.reading import META_WALK, ROLE_LISTING, conditional_headers, feed_page_key, first_url


class FeedWalks:
    """The spider's feed walks: requests, pages, and how a walk ends.

    What it uses of the spider it is mixed into, named here (annotations only): the walks'
    state and arguments, and the steps RAND's walks share (records, details, 304s, a page
    with nothing new, a walk cut short, failures).
    """

    catalog: CatalogView | None
    crawler: Crawler
    logger: Any
    details: bool
    full: bool
    pages: int | None
    page_cap: int
    open_walks: set[str]
    fail: Callable[..., None]
    _allowed: Callable[[str], bool]
    _walk_state: Callable[[str], str | None]
    _records: Callable[..., Iterator[Any]]
    _details_wanted: Callable[..., Iterator[scrapy.Request]]
    _not_modified: Callable[..., Iterator[TopicWalk]]
    _nothing_new: Callable[..., TopicWalk]
    _cut_short: Callable[..., bool]
    _page_known: Callable[..., tuple[bool, frozenset[str]]]

    def _feed_request(
        self,
        url: str,
        *,
        page_count: int,
        topic: TopicRef | None,
        walk: str,
        incremental: bool | None = None,
        guessed: bool = False,
        discovered: bool = False,
    ) -> scrapy.Request:
        """A page of a feed (or the HTML page naming it). Its first page is asked for
        conditionally once the walk of its topic has been complete (a 304 ends the walk);
        a page WordPress's ``?paged=N`` guessed may answer 404: the end of the feed."""
        if incremental is None:  # a walk's first request: has this feed been walked whole?
            incremental = self._walk_state(feed_slug(url)) == "complete"
        headers = conditional_headers(self.catalog, feed_page_key(url)) if incremental else {}
        return scrapy.Request(
            url,
            headers=headers,
            callback=self.parse_feed,
            errback=self.listing_failed,
            meta={
                "handle_httpstatus_list": [304, 404] if guessed else [304],
                META_ROLE: ROLE_LISTING,
                META_WALK: walk,
            },
            cb_kwargs={
                "page_count": page_count,
                "topic": topic,
                "incremental": incremental,
                "guessed": guessed,
                "discovered": discovered,
            },
        )

    def parse_feed(
        self,
        response: Response,
        page_count: int = 1,
        topic: TopicRef | None = None,
        incremental: bool = False,
        guessed: bool = False,
        discovered: bool = False,
    ) -> Iterator[Any]:
        """One page of a feed: its entries, the pages to read, then the walk's next step."""
        walk = response.meta.get(META_WALK, response.url)
        self.crawler.stats.inc_value(keys.PAGES_FETCHED)
        if response.status == 304:
            yield from self._not_modified(response, topic, walk)
            return
        publisher = registry.publisher_for(response.url)
        page = publisher.listing_page(response.url, response.body, topic=topic)  # type: ignore[call-arg]
        result = page.parse()
        if guessed and (
            response.status == 404
            or isinstance(result, NotAFeed)
            or (isinstance(result, FeedListing) and not result.entries)
        ):
            # WordPress never says which page is its last: the page after it is the end.
            self.logger.info("%s is past the end of its feed", response.url)
            yield from self._feed_ended(topic, walk, complete=False)
            return
        if isinstance(result, FeedLinks):
            yield from self._follow_feed_link(result, response, walk, topic, discovered)
            return
        if isinstance(result, NotAFeed):
            self.fail(f"{first_url(response.request)} is not a feed: {result.reason}", walk)
            return
        listing = result
        if topic is None:  # the feed's first page names the topic the walk is of
            incremental = self._walk_state(listing.topic.slug) == "complete"
            yield TopicWalk(listing.topic, WALK_STARTED, full=self.full)
        unchanged, wanted = self._page_known(listing, incremental)
        yield from self._records(listing, response)
        yield from self._details_wanted(listing, wanted, response.url)
        if topic is None and not listing.entries:
            # A feed listing nothing: a new tag, or a site serving an empty feed by mistake.
            # Either way it is no evidence that what the catalog lists has gone.
            self.crawler.stats.inc_value(keys.WARNINGS)
            self.logger.warning("the feed %s lists no entries", response.url)
            yield from self._feed_ended(listing.topic, walk, complete=False, proof=False)
        elif listing.next_page_url is None:  # the last page, new entries or none
            yield from self._feed_ended(listing.topic, walk, complete=listing.complete)
        elif unchanged:
            yield self._nothing_new(listing.topic, walk, response.url)
        elif self._cut_short(
            walk, page_count, f"pages of the feed {listing.topic.url}: its paging never ended"
        ):
            pass
        else:
            yield self._feed_request(
                listing.next_page_url,
                page_count=page_count + 1,
                topic=listing.topic,
                walk=walk,
                incremental=incremental,
                guessed=listing.next_page_guessed,
            )

    def _follow_feed_link(
        self,
        links: FeedLinks,
        response: Response,
        walk: str,
        topic: TopicRef | None,
        discovered: bool,
    ) -> Iterator[scrapy.Request]:
        """An HTML page where a feed was expected: walk the feed it links, if it may."""
        asked = first_url(response.request)
        if discovered or topic is not None:
            self.fail(f"{asked} is an HTML page, not the feed its page linked", walk)
            return
        feed = links.feed_urls[0]
        if not self._allowed(feed):
            self.fail(
                f"{asked} links its feed on another host ({feed}): give that feed's URL instead",
                walk,
            )
            return
        self.logger.info("%s links the feed %s: walking that", asked, feed)
        yield self._feed_request(feed, page_count=1, topic=None, walk=walk, discovered=True)

    def _feed_ended(
        self, topic: TopicRef | None, walk: str, *, complete: bool, proof: bool = True
    ) -> Iterator[Any]:
        """The feed's pages were followed to the end. Only now may a full walk (or a feed that
        says it is complete) mark what it did not see as delisted: a feed shows its newest
        entries only, so an entry that left it proves nothing unless every page was read.
        ``proof`` False: the end was reached, but it proves nothing (an empty feed)."""
        self.open_walks.discard(walk)
        if topic is not None:
            yield TopicWalk(topic, WALK_COMPLETED, full=proof and (self.full or complete))
