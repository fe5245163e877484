"""A crawl's hold on the catalog, the same for ``catalog crawl``, ``scrapy crawl`` and Scrapyd.

:class:`CatalogRun` is a Scrapy extension (``EXTENSIONS`` in :mod:`crawler.settings`). When
the spider opens it takes the home's crawl lock and, on a shared PostgreSQL catalog, a lock per
topic; upgrades the schema; closes runs whose process died; starts this run's ``crawl_runs``
row; keeps a little disk in reserve to close it; hands the spider its read-only view of the
catalog (the spider asks for it, :func:`catalog_view`); and brings the search index up to the
database (verifying it reads). When the spider closes it syncs the index once more and records
how the run ended, with its one cause. Before, ``catalog crawl`` took the locks and upgraded
the schema itself and told the pipeline to skip them, and the pipeline did it for ``scrapy
crawl``: two ways into one crawl that could drift apart.

A crawl that cannot start (a lock held, a newer schema, a full disk) keeps the cause in
:attr:`CatalogRun.start_error`, a :class:`CatalogError` whose exit code the commands use, and
closes the spider before any request. Its log record carries ``catalog_restated``: the command
line restates it as its one error line, so its stderr shows it once.

A failure that ends the run (a batch that cannot be stored, an index that cannot follow) is
recorded once, as the run's one cause, and nothing more is written: once the catalog cannot be
written, what follows would fail the same way. Every run ends ``succeeded``, ``failed`` or
``interrupted``: a second Ctrl-C or SIGTERM makes Scrapy stop the reactor without closing the
spider, so the run is also closed from a reactor shutdown trigger, after the pipeline stored
what it held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.conf import build_component_list
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from catalog import config as catalog_config
from catalog import queries
from catalog.db import is_sqlite, make_engine, needs_upgrade, upgrade
from catalog.diskspace import SpaceReserve, full_disk_message, is_disk_full
from catalog.errors import CatalogError, CrawlFailed, CrawlLocked
from catalog.lock import crawl_lock, topic_locks
from catalog.store import BatchResult, CatalogStore, RunCounts
from crawler import stats as keys
from crawler.extensions import PromptStop
from crawler.logs import RESTATED
from crawler.pages.rand import topic_slug_from_url

logger = logging.getLogger(__name__)

# A log record with this attribute set is one the command line restates as its error line.
# The pipeline this component serves: without it a crawl writes nothing to the catalog, and
# needs no lock, schema or run (a feed-only `scrapy crawl -s ITEM_PIPELINES={}`).
PIPELINE = "crawler.pipelines.CatalogPipeline"


def pipeline_enabled(settings: BaseSettings) -> bool:
    """Whether the crawl's ``ITEM_PIPELINES`` include the catalog pipeline."""
    for component in build_component_list(settings.getwithbase("ITEM_PIPELINES")):
        name = component if isinstance(component, str) else _path(component)
        if name == PIPELINE:
            return True
    return False


def _path(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', '')}"


class CatalogRun:
    """One crawl run in the catalog: locks, schema, run row, spider's view, index, end."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.config = catalog_config.resolve(
            settings.get("CATALOG_HOME"), settings.get("CATALOG_DB")
        )
        self.index_every = max(1, settings.getint("CATALOG_INDEX_EVERY", 5_000))
        self.resources = ExitStack()  # the locks and the engine, released when the run ends
        self.store: CatalogStore | None = None
        self.view: queries.CatalogView | None = None
        self.run_id: int | None = None
        self.counts = RunCounts()
        self.errors: list[str] = []  # the run's cause of failure: one, see fail()
        self.start_error: CatalogError | None = None  # why the run could not start
        self.status: str | None = None  # how the run ended, once it has
        self.error: str | None = None  # its cause, as recorded (or why it could not be)
        self.unindexed = 0  # publications stored (and to be re-indexed) since the last sync
        self.closing = False
        self.finished = False
        self.reserve: SpaceReserve | None = None
        self.hard_stop_hooks: list[Callable[[], None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogRun:
        if not pipeline_enabled(crawler.settings):
            raise NotConfigured("no catalog pipeline: this crawl writes nothing to the catalog")
        run = cls(crawler)
        crawler.signals.connect(run.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(run.spider_closed, signal=signals.spider_closed)
        return run

    @classmethod
    def of(cls, crawler: Crawler) -> CatalogRun | None:
        """The crawler's run component, or None when it has none (yet)."""
        try:
            manager = crawler.extensions
        except RuntimeError:  # Scrapy 2.14+: the crawler is not configured yet
            return None
        for extension in getattr(manager, "middlewares", ()):
            if isinstance(extension, cls):
                return extension
        return None

    @property
    def writable(self) -> bool:
        """Whether records may still be stored: the run started, and nothing has failed."""
        return self.store is not None and self.run_id is not None and not self.errors

    def before_hard_stop(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when the crawl stops at once, before the run is closed (the pipeline
        stores the records it holds)."""
        self.hard_stop_hooks.append(hook)

    # --- start -------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        """Take the locks, bring the schema up, close abandoned runs and start this one."""
        try:
            self.resources.enter_context(crawl_lock(self.config.home))
        except CrawlLocked as exc:
            self._refuse(exc, "catalog_locked")
            return
        except OSError as exc:
            self._refuse(self._cannot_start(exc, self.config.home))
            return
        try:
            engine = make_engine(self.config.db_url)
            self.resources.callback(engine.dispose)
            # Crawlers on other machines sharing this (PostgreSQL) catalog: one crawl per topic.
            self.resources.enter_context(topic_locks(engine, _slugs(spider.start_urls)))
        except CrawlLocked as exc:
            self._refuse(exc, "catalog_locked")
            return
        except (CatalogError, SQLAlchemyError, OSError) as exc:
            self._refuse(self._cannot_start(exc, self.database_path()))
            return
        try:
            if needs_upgrade(engine):
                upgrade(engine)
            store = CatalogStore(engine)
            closed = store.close_abandoned_runs()
            if closed:
                logger.warning("closed %d run(s) whose process had died as interrupted", closed)
            self.run_id = store.start_run(spider.name, full=bool(getattr(spider, "full", False)))
        except (CatalogError, SQLAlchemyError, OSError) as exc:
            # A newer or unreadable catalog, a full disk: one line, and no run to close.
            self._refuse(self._cannot_start(exc, self.database_path()))
            return
        self.store = store
        self.view = queries.CatalogView(engine)
        # After the run's row: on a nearly full disk the run starts without a reserve rather
        # than not at all.
        self.reserve = self._hold_reserve()
        self.crawler.stats.set_value(keys.RUN_ID, self.run_id)
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", self._reactor_stopping)
        try:
            self._sync_index(verify=True)
        except Exception as exc:
            logger.info("the first index sync failed", exc_info=True)
            what = "the search index cannot follow the catalog"
            self.fail(self.cause(what, exc, self.config.index_dir))

    def _refuse(self, error: CatalogError, reason: str = "catalog_error") -> None:
        """The run cannot start: say why in one line and close the spider before any request."""
        self.start_error = error
        logger.error("%s", error, extra={RESTATED: True})
        self.crawler.stats.set_value(keys.START_ERROR, str(error))
        self.resources.close()
        _close_spider(self.crawler, reason)

    def _cannot_start(self, exc: BaseException, path: Path | str) -> CatalogError:
        """The error a crawl that cannot start reports: the catalog's own as it is (a newer
        schema, an in-memory database), anything else as one line saying it cannot start."""
        if isinstance(exc, CatalogError) and not is_disk_full(exc):
            return exc
        return CrawlFailed(self.cause("the crawl cannot start", exc, path))

    def database_path(self) -> Path | str:
        """What a database failure names: the SQLite file, or the server's URL."""
        url = make_url(self.config.db_url)
        if is_sqlite(url) and url.database:
            return Path(url.database)
        return url.render_as_string()

    def _hold_reserve(self) -> SpaceReserve | None:
        """Keep room to close the run on a full disk, beside the SQLite file (see diskspace)."""
        path = self.database_path()
        if not isinstance(path, Path):
            return None  # the server keeps its own disk; the home only holds index and log
        reserve = SpaceReserve(path.parent)
        if not reserve.hold():
            logger.info("no room for %s: a full disk may leave this run unclosed", reserve.path)
            return None
        return reserve

    # --- while it runs -----------------------------------------------------------------------

    def cause(self, what: str, exc: BaseException, path: Path | str) -> str:
        """One line: what failed and why; a full disk is named as such, with its mount point.

        ``path`` is what was being written: :meth:`database_path`, the index folder, a file.
        """
        if is_disk_full(exc):
            if isinstance(path, Path):
                return f"{what}: {full_disk_message(path)}"
            return f"{what}: the database server's disk is full ({path})"
        if isinstance(exc, CatalogError):
            return f"{what}: {exc}"
        return f"{what}: {_first_line(exc)}"

    def fail(self, message: str) -> None:
        """Record why the run fails and stop the spider; the run is closed as ``failed``.

        The first failure is the run's cause: once the catalog cannot be written, nothing more
        is (what follows would fail the same way, and each attempt would add a line).
        """
        if self.errors:
            return
        logger.error(message, extra={RESTATED: True})  # the run's error says it once, at the end
        self.errors.append(message)
        if self.closing or self.crawler.spider is None:
            return
        _close_spider(self.crawler, "catalog_error")
        # Nor does it wait for requests queued under the politeness delay.
        for extension in getattr(self.crawler.extensions, "middlewares", ()):
            if isinstance(extension, PromptStop):
                extension.drop_queued()

    def batch_stored(self, result: BatchResult, *, sync: bool = True) -> None:
        """Count a stored batch; sync the index once ``CATALOG_INDEX_EVERY`` publications have
        been stored since the last sync (unless ``sync`` is False: the crawl is ending)."""
        self.counts.add(result)
        self.unindexed += len(result.reindex_ids)
        if sync and self.unindexed >= self.index_every:
            self.sync_index()

    def sync_index(self) -> None:
        """Bring the index up to what this crawl stored, unless nothing is pending or the run
        already failed (the next command then syncs)."""
        if not self.unindexed or self.errors or self.store is None:
            return
        try:
            self._sync_index()
        except Exception as exc:
            logger.info("updating the search index failed", exc_info=True)
            self.fail(self.cause("updating the search index failed", exc, self.config.index_dir))
            return
        self.unindexed = 0

    def _sync_index(self, *, verify: bool = False) -> None:
        """Bring the index up to the database: what a killed run or other crawlers changed.

        The first sync of a crawl also makes sure the index reads (``verify``): a damaged
        one is rebuilt then, and the crawl goes on."""
        assert self.store is not None
        index = self.config.search_index()
        report = index.sync(queries.CatalogIndexSource(self.store.engine), verify=verify)
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

    # --- end ---------------------------------------------------------------------------------

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """The spider closed (the pipeline has stored what it held): last index sync, and the
        run's end recorded."""
        self.closing = True
        try:
            if self.run_id is not None:
                self.sync_index()
                self._finish(spider, reason)
        finally:
            self.resources.close()

    def _reactor_stopping(self) -> None:
        """The reactor stops: after a second signal, without the spider being closed."""
        if self.finished or self.store is None or self.run_id is None:
            return
        logger.warning("stopping at once: closing run %s as interrupted", self.run_id)
        self.closing = True
        try:
            for hook in self.hard_stop_hooks:  # asked to stop at once: the index can wait
                hook()
            self._finish(self.crawler.spider, "shutdown")
        finally:
            self.resources.close()

    def _finish(self, spider: Spider | None, reason: str) -> None:
        if self.finished or self.store is None or self.run_id is None:
            return
        self.finished = True
        stats = self.crawler.stats
        self.counts.pages_fetched = stats.get_value(keys.PAGES_FETCHED, 0)
        self.counts.pages_not_modified = stats.get_value(keys.PAGES_NOT_MODIFIED, 0)
        self.counts.items_skipped = stats.get_value(keys.ITEMS_SKIPPED, 0)
        self.counts.warnings = stats.get_value(keys.WARNINGS, 0)
        self.counts.details_skipped = stats.get_value(keys.DETAILS_SKIPPED, 0)
        # One cause per failure: the spider's (a topic's listing failed) and the run's (the
        # catalog could not be written), each once; what merely followed from them is not one.
        errors = list(dict.fromkeys([*getattr(spider, "failures", []), *self.errors]))
        exceptions = stats.get_value(keys.SPIDER_EXCEPTIONS, 0)
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
        self.status, self.error = status, "; ".join(errors) or None
        stats.set_value(keys.RUN_STATUS, status)
        stats.set_value(keys.RUN_ERROR, self.error)
        try:
            self._close_run(status, self.error)
        finally:
            if self.reserve is not None:
                self.reserve.release()

    def _close_run(self, status: str, error: str | None) -> None:
        """Record how the run ended; on a full disk, free the reserve and try once more.

        When even that fails, the cause goes to the log and to :attr:`error` (the commands
        report it); the next command closes the run as interrupted.
        """
        assert self.store is not None and self.run_id is not None
        while True:
            try:
                self.store.finish_run(self.run_id, status, self.counts, error)
                return
            except Exception as exc:
                if is_disk_full(exc) and self.reserve is not None and self.reserve.held:
                    self.reserve.release()
                    continue
                what = f"run {self.run_id} could not be recorded as {status}"
                cause = self.cause(what, exc, self.database_path())
                logger.error(cause)
                self.error = "; ".join(filter(None, [error, cause]))
                self.crawler.stats.set_value(keys.RUN_ERROR, self.error)
                return


def catalog_view(crawler: Crawler) -> queries.CatalogView | None:
    """The read-only view of the catalog a crawl's spider asks its questions of, once the run
    has started; None without a run (``scrapy shell``, a feed-only crawl, a refused start)."""
    run = CatalogRun.of(crawler)
    return run.view if run is not None else None


def _slugs(urls: Iterable[str]) -> list[str]:
    return [slug for slug in map(topic_slug_from_url, urls) if slug]


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
