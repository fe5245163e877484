"""Hand crawl records to the catalog in batches.

Writes are batched (``CATALOG_BATCH_SIZE``): one database transaction per batch, written when
the batch is full, when it has waited ``CATALOG_BATCH_SECONDS`` (so a crawl killed outright
loses seconds of work, not a batch of a slow first crawl), and when the spider closes, so an
interrupted crawl keeps what it stored.

That is all this pipeline does. The run it writes into (locks, schema, the ``crawl_runs`` row,
the index syncs, the one cause of a failure) belongs to :class:`crawler.catalog_run.CatalogRun`;
a batch that cannot be stored is reported to it, and from then on nothing more is written.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from catalog.index import crash_point
from catalog.records import (
    DetailFailure,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    TopicWalk,
)
from catalog.store import Record
from crawler.catalog_run import CatalogRun

RECORD_TYPES = (ListingEntry, ListingPageSeen, TopicWalk, PublicationDetails, DetailFailure)

logger = logging.getLogger(__name__)


class CatalogPipeline:
    """Batches the spider's records into the run's store: by size, by age, and at the end."""

    def __init__(self, crawler: Crawler, run: CatalogRun) -> None:
        settings = crawler.settings
        self.run = run
        self.batch_size = max(1, settings.getint("CATALOG_BATCH_SIZE", 200))
        self.batch_seconds = max(0.1, settings.getfloat("CATALOG_BATCH_SECONDS", 5.0))
        self.buffer: list[Record] = []
        self.flush_timer: Any = None  # a LoopingCall once the spider is open

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogPipeline:
        run = CatalogRun.of(crawler)
        if run is None:
            raise NotConfigured("the catalog pipeline needs crawler.catalog_run.CatalogRun")
        pipeline = cls(crawler, run)
        # Asked to stop at once (a second Ctrl-C): store what waits before the run is closed.
        run.before_hard_stop(pipeline.store_waiting)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        from twisted.internet import task

        self.flush_timer = task.LoopingCall(self._flush_waiting)
        self.flush_timer.start(self.batch_seconds, now=False)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, RECORD_TYPES):
            raise DropItem(f"not a catalog record: {type(item).__name__}")
        if not self.run.writable:  # not started, or failed: nothing more is written
            self.buffer.clear()
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def _flush_waiting(self) -> None:
        """Every ``CATALOG_BATCH_SECONDS``: store what waits, however small the batch."""
        if self.buffer and not self.run.finished:
            self.flush()

    def flush(self, *, index: bool = True) -> None:
        """Write the buffer to the database (the source of truth) as one batch; the run syncs
        the index when enough has been stored, unless ``index`` is False (the crawl ends)."""
        if not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        if not self.run.writable:
            return
        assert self.run.store is not None and self.run.run_id is not None
        try:
            result = self.run.store.write_batch(batch, self.run.run_id)
        except Exception as exc:
            logger.info("storing a batch of %d records failed", len(batch), exc_info=True)
            what = f"storing a batch of {len(batch)} records failed"
            self.run.fail(self.run.cause(what, exc, self.run.database_path()))
            return
        crash_point("batch-stored")  # crash tests: stored, not yet indexed
        self.run.batch_stored(result, sync=index)

    def store_waiting(self) -> None:
        """Store what the buffer holds, leaving the index to the next command."""
        self._stop_flush_timer()
        self.flush(index=False)

    def _stop_flush_timer(self) -> None:
        if self.flush_timer is not None and self.flush_timer.running:
            self.flush_timer.stop()

    def close_spider(self, spider: Spider | None = None) -> None:
        """The last batch; the run's last index sync follows when the spider has closed."""
        self.store_waiting()
