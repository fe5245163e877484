"""Hand crawl records to the catalog in batches, and keep the crawl-run journal.

Writes are batched (``CATALOG_BATCH_SIZE``): one database transaction per batch, flushed
again when the spider closes, so an interrupted crawl keeps what it stored.

The index follows the database by revision (``catalog.index.sync``): brought up to it when the crawl
starts (whatever a killed run or another home's crawler left), after every
``CATALOG_INDEX_EVERY`` publications stored, and when the spider closes. A Whoosh commit costs
far more than a database batch (it rewrites segments), so committing it per batch made the
index most of a crawl's time; syncing by revision makes the cadence safe: a crawl killed
before its index caught up leaves the index behind, never wrong, and the next command catches
it up.

Every run ends ``succeeded``, ``failed`` or ``interrupted``: a second Ctrl-C or SIGTERM makes
Scrapy stop the reactor without closing the spider, so the run is also closed from a reactor
shutdown trigger, after storing what was buffered.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy import Engine

from catalog import config as catalog_config
from catalog import queries
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.errors import CrawlLocked
from catalog.index import crash_point
from catalog.lock import crawl_lock, topic_locks
from catalog.records import (
    DetailFailure,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    TopicWalk,
)
from catalog.store import CatalogStore, Record, RunCounts
from crawler.pages.rand import topic_slug_from_url
from crawler.spiders.rand_topic import STAT_WARNINGS

RECORD_TYPES = (ListingEntry, ListingPageSeen, TopicWalk, PublicationDetails, DetailFailure)

logger = logging.getLogger(__name__)

STAT_RUN_ID = "catalog/run_id"
# Set by `catalog crawl`, which takes the home's lock itself before starting Scrapy.
SETTING_LOCK_HELD = "CATALOG_LOCK_HELD"
# Publications stored between index syncs (and one more at close). Large enough that Whoosh
# commits are rare, small enough that a long crawl's searches are not far behind.
INDEX_EVERY = 5_000


class CatalogPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.config = catalog_config.resolve(
            settings.get("CATALOG_HOME"), settings.get("CATALOG_DB")
        )
        self.lock_held = settings.getbool(SETTING_LOCK_HELD)
        # The environment wins, as for CATALOG_DETAILS_PER_RUN: `catalog crawl` has no -s.
        batch_size = os.environ.get("CATALOG_BATCH_SIZE") or settings.getint(
            "CATALOG_BATCH_SIZE", 200
        )
        self.batch_size = max(1, int(batch_size))
        index_every = os.environ.get("CATALOG_INDEX_EVERY") or settings.getint(
            "CATALOG_INDEX_EVERY", INDEX_EVERY
        )
        self.index_every = max(1, int(index_every))
        self.unindexed = 0  # publications stored (and to be re-indexed) since the last sync
        self.buffer: list[Record] = []
        self.counts = RunCounts()
        self.errors: list[str] = []
        self.store: CatalogStore | None = None
        self.run_id: int | None = None
        self.resources = ExitStack()
        self.finished = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogPipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        spider = self.crawler.spider
        if not self.lock_held:  # `scrapy crawl`: take the same lock `catalog crawl` takes
            try:
                self.resources.enter_context(crawl_lock(self.config.home))
            except CrawlLocked as exc:
                logger.error(str(exc))
                self.crawler.engine.close_spider(spider, "catalog_locked")
                return
        engine = make_engine(self.config.db_url)
        if not self.lock_held:  # `catalog crawl` holds the topic locks itself
            slugs = [slug for slug in map(topic_slug_from_url, spider.start_urls) if slug]
            try:
                self.resources.enter_context(topic_locks(engine, slugs))
            except CrawlLocked as exc:
                logger.error(str(exc))
                engine.dispose()
                self.crawler.engine.close_spider(spider, "catalog_locked")
                return
        if needs_upgrade(engine):
            upgrade(engine)
        self.store = CatalogStore(engine)
        closed = self.store.close_abandoned_runs()
        if closed:
            logger.warning("closed %d run(s) whose process had died as interrupted", closed)
        self.run_id = self.store.start_run(spider.name, full=getattr(spider, "full", False))
        self.crawler.stats.set_value(STAT_RUN_ID, self.run_id)
        spider.catalog = queries.CatalogView(engine)
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", self._reactor_stopping)
        try:
            self._sync_index(engine, verify=True)
        except Exception as exc:
            self._fail(f"the search index cannot follow the catalog: {exc}")

    def _sync_index(self, engine: Engine, *, verify: bool = False) -> None:
        """Bring the index up to the database: what a killed run or other crawlers changed.

        The first sync of a crawl also makes sure the index reads (``verify``): a damaged
        one is rebuilt then, and the crawl goes on."""
        index = self.config.search_index()
        report = index.sync(queries.CatalogIndexSource(engine), verify=verify)
        if report.rebuilt:
            why = f" ({report.why})" if report.why else ""
            log = logger.warning if report.why else logger.info
            log(
                "search index rebuilt for %s%s: %d publications",
                index.engine_name,
                why,
                report.updated,
            )
        elif report.changed:
            logger.info(
                "search index caught up from revision %s to %s (%d updated, %d deleted)",
                report.before,
                report.after,
                report.updated,
                report.deleted,
            )

    def _fail(self, message: str) -> None:
        """Record why the run fails and stop the spider; the run is closed as ``failed``."""
        logger.error(message)
        self.errors.append(message)
        engine = self.crawler.engine
        if engine is not None and self.crawler.spider is not None:
            engine.close_spider(self.crawler.spider, "catalog_error")

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, RECORD_TYPES):
            raise DropItem(f"not a catalog record: {type(item).__name__}")
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self, *, index: bool = True) -> None:
        """Write the buffer to the database (the source of truth); sync the index when
        ``CATALOG_INDEX_EVERY`` publications have been stored since the last sync."""
        if not self.buffer or self.store is None or self.run_id is None:
            return
        batch, self.buffer = self.buffer, []
        try:
            result = self.store.write_batch(batch, self.run_id)
        except Exception as exc:
            self._fail(
                f"storing a batch of {len(batch)} records failed: {type(exc).__name__}: {exc}"
            )
            return
        self.counts.add(result)
        crash_point("batch-stored")  # crash tests: stored, not yet indexed
        self.unindexed += len(result.reindex_ids)
        if index and self.unindexed >= self.index_every:
            self.sync_index()

    def sync_index(self) -> None:
        """Bring the index up to what this crawl stored, unless nothing is pending or the run
        already failed (the next command then syncs)."""
        if not self.unindexed or self.errors or self.store is None:
            return
        try:
            self._sync_index(self.store.engine)
        except Exception as exc:
            self._fail(f"updating the search index failed: {exc}")
            return
        self.unindexed = 0

    def close_spider(self, spider: Spider | None = None) -> None:
        self.flush(index=False)
        self.sync_index()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            self._finish(spider, reason)
        finally:
            self.resources.close()

    def _reactor_stopping(self) -> None:
        """The reactor stops: after a second signal, without the spider being closed."""
        if self.finished or self.store is None or self.run_id is None:
            return
        logger.warning("stopping at once: closing run %s as interrupted", self.run_id)
        try:
            # Asked to stop at once: store the buffer, leave the index to the next command.
            self.flush(index=False)
            self._finish(self.crawler.spider, "shutdown")
        finally:
            self.resources.close()

    def _finish(self, spider: Spider | None, reason: str) -> None:
        if self.finished or self.store is None or self.run_id is None:
            return
        self.finished = True
        stats = self.crawler.stats
        self.counts.pages_fetched = stats.get_value("catalog/pages_fetched", 0)
        self.counts.pages_not_modified = stats.get_value("catalog/pages_not_modified", 0)
        self.counts.items_skipped = stats.get_value("catalog/items_skipped", 0)
        self.counts.warnings = stats.get_value(STAT_WARNINGS, 0)
        errors = list(getattr(spider, "failures", [])) + self.errors
        exceptions = stats.get_value("spider_exceptions/count", 0)
        if exceptions:
            errors.append(f"{exceptions} spider exception(s); see the log")
        if reason == "shutdown":
            status = "interrupted"
        elif reason != "finished" or errors:
            status = "failed"
            if reason != "finished":
                errors.append(f"spider closed: {reason}")
        else:
            status = "succeeded"
        self.crawler.stats.set_value("catalog/run_status", status)
        try:
            self.store.finish_run(self.run_id, status, self.counts, "; ".join(errors) or None)
        except Exception as exc:  # the database is gone or full: say so in one line
            logger.error("cannot record the end of run %s: %s", self.run_id, _first_line(exc))
        finally:
            self.store.engine.dispose()


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
