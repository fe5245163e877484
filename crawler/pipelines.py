"""Hand crawl records to the catalog in batches, and keep the crawl-run journal.

Writes are batched (``CATALOG_BATCH_SIZE``): one database transaction per batch, written when
the batch is full, when it has waited ``CATALOG_BATCH_SECONDS`` (so a crawl killed outright
loses seconds of work, not a batch of a slow first crawl), and when the spider closes, so an
interrupted crawl keeps what it stored.

A failure that ends the run (a batch that cannot be stored, an index that cannot follow) is
recorded once, as the run's one cause, and nothing more is written: a full disk is named in
one line, and the room a reserve file kept free is used to close the run as ``failed``.

The index follows the database by revision (``catalog.index.sync``): brought up to it when
the crawl starts (whatever a killed run or another home's crawler left), after every
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
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from catalog import config as catalog_config
from catalog import queries
from catalog.db import is_sqlite, make_engine, needs_upgrade, upgrade
from catalog.diskspace import SpaceReserve, full_disk_message, is_disk_full
from catalog.errors import CatalogError, CrawlLocked
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
from crawler.extensions import PromptStop
from crawler.pages.rand import topic_slug_from_url
from crawler.spiders.rand_topic import STAT_DETAILS_SKIPPED, STAT_WARNINGS

RECORD_TYPES = (ListingEntry, ListingPageSeen, TopicWalk, PublicationDetails, DetailFailure)

logger = logging.getLogger(__name__)

STAT_RUN_ID = "catalog/run_id"
STAT_START_ERROR = "catalog/start_error"  # why a run could not start (no run_id then)
STAT_RUN_STATUS = "catalog/run_status"  # how the run ended (crawler.commands reads it too)
STAT_RUN_ERROR = "catalog/run_error"  # the run's cause of failure, as recorded (or not)
# Set by `catalog crawl`, which takes the home's lock itself before starting Scrapy.
SETTING_LOCK_HELD = "CATALOG_LOCK_HELD"
# Publications stored between index syncs (and one more at close). Large enough that Whoosh
# commits are rare, small enough that a long crawl's searches are not far behind.
INDEX_EVERY = 5_000
# Seconds a record waits in a batch at most: what a crawl killed outright can lose.
BATCH_SECONDS = 5.0


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
        batch_seconds = os.environ.get("CATALOG_BATCH_SECONDS") or settings.getfloat(
            "CATALOG_BATCH_SECONDS", BATCH_SECONDS
        )
        self.batch_seconds = max(0.1, float(batch_seconds))
        self.unindexed = 0  # publications stored (and to be re-indexed) since the last sync
        self.buffer: list[Record] = []
        self.counts = RunCounts()
        self.errors: list[str] = []
        self.store: CatalogStore | None = None
        self.run_id: int | None = None
        self.resources = ExitStack()
        self.finished = False
        self.flush_timer: Any = None  # a LoopingCall once the run has started
        self.reserve: SpaceReserve | None = None

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
                self._refuse(str(exc), "catalog_locked")
                return
        engine = make_engine(self.config.db_url)
        if not self.lock_held:  # `catalog crawl` holds the topic locks itself
            slugs = [slug for slug in map(topic_slug_from_url, spider.start_urls) if slug]
            try:
                self.resources.enter_context(topic_locks(engine, slugs))
            except CrawlLocked as exc:
                engine.dispose()
                self._refuse(str(exc), "catalog_locked")
                return
        try:
            if needs_upgrade(engine):
                upgrade(engine)
            self.store = CatalogStore(engine)
            closed = self.store.close_abandoned_runs()
            if closed:
                logger.warning("closed %d run(s) whose process had died as interrupted", closed)
            self.run_id = self.store.start_run(spider.name, full=getattr(spider, "full", False))
        except (CatalogError, SQLAlchemyError, OSError) as exc:
            # A newer or unreadable catalog, a full disk: one line, and no run to close.
            self.store = None
            engine.dispose()
            self._refuse(self._cause("the crawl cannot start", exc, self._database_path()))
            return
        # After the run's row: on a nearly full disk the run starts without a reserve rather
        # than not at all.
        self.reserve = self._hold_reserve()
        self.crawler.stats.set_value(STAT_RUN_ID, self.run_id)
        spider.catalog = queries.CatalogView(engine)
        from twisted.internet import reactor, task

        reactor.addSystemEventTrigger("before", "shutdown", self._reactor_stopping)
        self.flush_timer = task.LoopingCall(self._flush_waiting)
        self.flush_timer.start(self.batch_seconds, now=False)
        try:
            self._sync_index(engine, verify=True)
        except Exception as exc:
            self._fail(
                self._cause("the search index cannot follow the catalog", exc, self.index_dir)
            )

    @property
    def index_dir(self) -> Path:
        return self.config.index_dir

    def _database_path(self) -> Path | str:
        """What a database failure names: the SQLite file, or the server's URL."""
        url = make_url(self.config.db_url)
        if is_sqlite(url) and url.database:
            return Path(url.database)
        return url.render_as_string()

    def _hold_reserve(self) -> SpaceReserve | None:
        """Keep room to close the run on a full disk, beside the SQLite file (see diskspace)."""
        path = self._database_path()
        if not isinstance(path, Path):
            return None  # the server keeps its own disk; the home only holds index and log
        reserve = SpaceReserve(path.parent)
        if not reserve.hold():
            logger.info("no room for %s: a full disk may leave this run unclosed", reserve.path)
            return None
        return reserve

    def _release_reserve(self) -> None:
        if self.reserve is not None:
            self.reserve.release()

    def _refuse(self, message: str, reason: str = "catalog_error") -> None:
        """The run cannot start: say why in one line and close the spider before any request."""
        logger.error(message)
        self.errors.append(message)
        self.crawler.stats.set_value(STAT_START_ERROR, message)
        _close_spider(self.crawler, reason)

    @staticmethod
    def _cause(what: str, exc: BaseException, path: Path | str) -> str:
        """One line: what failed and why; a full disk is named as such, with its mount point."""
        if is_disk_full(exc):
            if isinstance(path, Path):
                return f"{what}: {full_disk_message(path)}"
            return f"{what}: the database server's disk is full ({path})"
        if isinstance(exc, CatalogError):
            return f"{what}: {exc}"
        return f"{what}: {_first_line(exc)}"

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
        """Record why the run fails and stop the spider; the run is closed as ``failed``.

        The first failure is the run's cause: once the catalog cannot be written, nothing more
        is (what follows would fail the same way, and each attempt would add a line).
        """
        if self.errors:
            return
        logger.error(message)
        self.errors.append(message)
        self.buffer = []
        engine = self.crawler.engine
        if engine is not None and self.crawler.spider is not None:
            _close_spider(self.crawler, "catalog_error")
            # Nor does it wait for requests queued under the politeness delay.
            for extension in self.crawler.extensions.middlewares:
                if isinstance(extension, PromptStop):
                    extension.drop_queued()

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, RECORD_TYPES):
            raise DropItem(f"not a catalog record: {type(item).__name__}")
        if self.errors:  # the run has failed: nothing more is written (see _fail)
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def _flush_waiting(self) -> None:
        """Every ``CATALOG_BATCH_SECONDS``: store what waits, however small the batch."""
        if self.buffer and not self.finished:
            self.flush()

    def flush(self, *, index: bool = True) -> None:
        """Write the buffer to the database (the source of truth); sync the index when
        ``CATALOG_INDEX_EVERY`` publications have been stored since the last sync."""
        if not self.buffer or self.store is None or self.run_id is None or self.errors:
            return
        batch, self.buffer = self.buffer, []
        try:
            result = self.store.write_batch(batch, self.run_id)
        except Exception as exc:
            logger.info("storing a batch of %d records failed", len(batch), exc_info=True)
            self._fail(
                self._cause(
                    f"storing a batch of {len(batch)} records failed", exc, self._database_path()
                )
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
            logger.info("updating the search index failed", exc_info=True)
            self._fail(self._cause("updating the search index failed", exc, self.index_dir))
            return
        self.unindexed = 0

    def _stop_flush_timer(self) -> None:
        if self.flush_timer is not None and self.flush_timer.running:
            self.flush_timer.stop()

    def close_spider(self, spider: Spider | None = None) -> None:
        self._stop_flush_timer()
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
        self._stop_flush_timer()
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
        self.counts.details_skipped = stats.get_value(STAT_DETAILS_SKIPPED, 0)
        # One cause per failure: the spider's (a topic's listing failed) and the pipeline's (the
        # catalog could not be written), each once; what merely followed from them is not one.
        errors = list(dict.fromkeys([*getattr(spider, "failures", []), *self.errors]))
        exceptions = stats.get_value("spider_exceptions/count", 0)
        if exceptions and not errors:
            errors.append(f"{exceptions} spider exception(s); see the log")
        if reason == "shutdown":
            status = "interrupted"
        elif reason != "finished" or errors:
            status = "failed"
            if not errors:
                errors.append(f"spider closed: {reason}")
        else:
            status = "succeeded"
        error = "; ".join(errors) or None
        self.crawler.stats.set_value(STAT_RUN_STATUS, status)
        self.crawler.stats.set_value(STAT_RUN_ERROR, error)
        try:
            self._close_run(status, error)
        finally:
            self._release_reserve()
            self.store.engine.dispose()

    def _close_run(self, status: str, error: str | None) -> None:
        """Record how the run ended; on a full disk, free the reserve and try once more.

        When even that fails, the cause goes to the log and the crawl's stats (the command
        line reports it); the next command closes the run as interrupted.
        """
        assert self.store is not None and self.run_id is not None
        while True:
            try:
                self.store.finish_run(self.run_id, status, self.counts, error)
                return
            except Exception as exc:
                if is_disk_full(exc) and self.reserve is not None and self.reserve.held:
                    self._release_reserve()
                    continue
                what = f"run {self.run_id} could not be recorded as {status}"
                cause = self._cause(what, exc, self._database_path())
                logger.error(cause)
                self.crawler.stats.set_value(
                    STAT_RUN_ERROR, "; ".join(filter(None, [error, cause]))
                )
                return


def _close_spider(crawler: Crawler, reason: str) -> None:
    """Close the spider with ``reason``: Scrapy 2.14+'s coroutine, else 2.13's method."""
    engine = crawler.engine
    if hasattr(engine, "close_spider_async"):
        deferred_from_coro(engine.close_spider_async(reason=reason))
    else:  # pragma: no cover (Scrapy 2.13)
        engine.close_spider(crawler.spider, reason)


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
