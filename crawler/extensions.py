"""Scrapy extensions: feeds of publication records only, and a prompt stop on Ctrl-C.

The spider yields control records for the catalog pipeline too (topic walks, listing-page
validators, failed publication pages). A feed (``scrapy crawl rand_topic -O out.jsonl``) is
for people and other programs, who want publications: every line a record with a URL and a
title. The pipeline still receives everything; only what the feed writes is filtered.

On a first SIGINT or SIGTERM, Scrapy stops gracefully: it takes no new request, but it still
downloads every request its downloader already holds, one politeness delay apart, and waits
out retry backoffs; a live crawl of rand.org went on for 9.5 s and 10 pages after Ctrl-C.
:class:`PromptStop` says at once that the crawl is stopping, and gives up what is not yet on
the wire, so the crawl ends when the requests in flight have answered.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FeedExporter, ItemFilter
from twisted.python.failure import Failure

from catalog.records import ListingEntry, PublicationDetails
from crawler.middlewares import BackoffRetryMiddleware, CrawlStopping

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

PUBLICATION_RECORDS = (ListingEntry, PublicationDetails)


class PublicationItemFilter(ItemFilter):
    """Publication records, narrowed further by a feed's own ``item_classes`` if it has any."""

    def accepts(self, item: Any) -> bool:
        return isinstance(item, PUBLICATION_RECORDS) and super().accepts(item)


class PublicationFeedExporter(FeedExporter):
    """Scrapy's feed exporter with :class:`PublicationItemFilter` as every feed's default.

    A feed that names its own ``item_filter`` keeps it.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        for uri, options in self.feeds.items():
            if not options.get("item_filter"):
                self.filters[uri] = PublicationItemFilter(options)


class PromptStop:
    """A first SIGINT/SIGTERM: one line at once, then stop after the requests in flight.

    Scrapy's own handlers (installed once the reactor runs) start the graceful stop and arm
    the second signal to stop at once; this extension's handler wraps theirs. Requests queued
    in the downloader (waiting for their turn under the politeness delay) and retry backoffs
    are abandoned with :class:`CrawlStopping`, which the spider passes over: the topics they
    belonged to stay ``partial`` and the next crawl carries on.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.previous: dict[int, Any] = {}
        self.stopping = False
        from twisted.internet import reactor

        # After Scrapy's handlers: they are installed by a startup trigger; ours a turn later.
        reactor.callWhenRunning(lambda: reactor.callLater(0, self._install))
        crawler.signals.connect(self._forget, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PromptStop:
        return cls(crawler)

    def _install(self) -> None:
        for signum in STOP_SIGNALS:
            current = signal.getsignal(signum)
            # Only over a handler of Scrapy's: embedded crawls keep the host program's handlers.
            if callable(current) and current is not signal.default_int_handler:
                self.previous[signum] = current
                signal.signal(signum, self._on_signal)

    def _forget(self) -> None:
        self.previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        from twisted.internet import reactor

        handler = self.previous.get(signum)
        if handler is not None:
            handler(signum, frame)  # Scrapy's: stop gracefully, and arm the second signal
        # Logging cannot happen in a signal handler: from the reactor, at its next turn.
        reactor.callFromThread(self._announce, signum)
        reactor.callFromThread(self.drop_queued)

    def _announce(self, signum: int) -> None:
        if signum == signal.SIGINT:
            logger.warning("stopping after the requests in flight; press Ctrl-C again to stop now")
        else:
            logger.warning(
                "%s: stopping after the requests in flight; send it again to stop now",
                signal.Signals(signum).name,
            )

    def drop_queued(self) -> None:
        """Give up every request not yet on the wire, and every retry backoff."""
        self.stopping = True
        engine = self.crawler.engine
        if engine is None:
            return
        downloader = engine.downloader
        for slot in list(downloader.slots.values()):
            slot.close()  # its timer for the next request under the delay
            while slot.queue:
                request, deferred = slot.queue.popleft()
                deferred.errback(Failure(CrawlStopping(f"the crawl is stopping: {request.url}")))
        for middleware in downloader.middleware.middlewares:
            if isinstance(middleware, BackoffRetryMiddleware):
                middleware.cancel_waits()
