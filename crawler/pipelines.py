"""Hand listing records to the catalog in batches, and keep the crawl-run journal.

Writes are batched (``CATALOG_BATCH_SIZE``): one database transaction and one index commit per
batch, flushed again when the spider closes, so an interrupted crawl keeps what it stored.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from catalog import config as catalog_config
from catalog import queries, search
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.store import CatalogStore, RunCounts
from crawler.items import ListingEntry

logger = logging.getLogger(__name__)

STAT_RUN_ID = "catalog/run_id"


class CatalogPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.config = catalog_config.resolve(
            settings.get("CATALOG_HOME"), settings.get("CATALOG_DB")
        )
        self.batch_size = max(1, settings.getint("CATALOG_BATCH_SIZE", 200))
        self.buffer: list[ListingEntry] = []
        self.counts = RunCounts()
        self.errors: list[str] = []
        self.store: CatalogStore | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogPipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        engine = make_engine(self.config.db_url)
        if needs_upgrade(engine):
            upgrade(engine)
        self.store = CatalogStore(engine)
        self.run_id = self.store.start_run(self.crawler.spider.name)
        self.crawler.stats.set_value(STAT_RUN_ID, self.run_id)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, ListingEntry):
            raise DropItem(f"not a listing entry: {type(item).__name__}")
        self.counts.items_seen += 1
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffer: database first (the source of truth), then the index."""
        if not self.buffer or self.store is None:
            return
        batch, self.buffer = self.buffer, []
        try:
            result = self.store.upsert_listings(batch)
            self.counts.items_new += result.new
            self.counts.items_updated += result.updated
            self.counts.items_unchanged += result.unchanged
            if result.reindex_ids:
                docs = queries.index_documents(self.store.engine, result.reindex_ids)
                search.update_documents(self.config.index_dir, docs)
        except Exception as exc:
            message = f"storing a batch of {len(batch)} failed: {type(exc).__name__}: {exc}"
            logger.error(message)
            self.errors.append(message)
            engine = self.crawler.engine
            if engine is not None and self.crawler.spider is not None:
                engine.close_spider(self.crawler.spider, "catalog_error")

    def close_spider(self, spider: Spider | None = None) -> None:
        self.flush()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.store is None or self.run_id is None:
            return
        stats = self.crawler.stats
        self.counts.pages_fetched = stats.get_value("catalog/pages_fetched", 0)
        self.counts.items_skipped = stats.get_value("catalog/items_skipped", 0)
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
        self.store.finish_run(self.run_id, status, self.counts, "; ".join(errors) or None)
        self.store.engine.dispose()
