"""Run the listing spider in-process, under the home's lock, and report what the run did.

Logging: everything goes to ``<home>/crawl.log`` with tracebacks; stderr (when asked for) gets
one line per record and never a traceback. At the default level it shows only the catalog's own
warnings and errors: Scrapy's messages about the same failures ("Gave up retrying", "Error
downloading") repeat what the spider reports and stay in the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task

from catalog import queries
from catalog.config import (
    CatalogConfig,
    CrawlOptions,
    check_topic,
    check_url,
    load_home_config,
)
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.diskspace import full_disk_message, is_disk_full
from catalog.errors import ConfigError, CrawlFailed, DatabaseError, UsageError
from catalog.lock import crawl_lock, topic_locks
from catalog.records import ListingEntry
from crawler.pages.rand import topic_slug_from_url
from crawler.pipelines import (
    SETTING_LOCK_HELD,
    STAT_RUN_ERROR,
    STAT_RUN_ID,
    STAT_RUN_STATUS,
    STAT_START_ERROR,
    CatalogPipeline,
)
from crawler.settings import apply_local_site_rule, user_agent
from crawler.spiders.rand_topic import RandTopicSpider, page_cap, topic_url

RAND_HOST = "rand.org"
RAND_MIN_DELAY = 1.0
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
# Loggers whose records reach stderr at the default level: ours, and the spider's (its name).
OWN_LOGGERS = ("catalog", "crawler", RandTopicSpider.name)
PROGRESS_INTERVAL = 0.5  # seconds between progress updates on a terminal


@dataclass(slots=True)
class CrawlSummary:
    run_id: int
    status: str
    full: bool
    pages_fetched: int
    pages_not_modified: int
    items_seen: int
    items_new: int
    items_updated: int
    items_unchanged: int
    items_skipped: int
    items_delisted: int
    details_fetched: int
    details_failed: int
    details_skipped: int
    warnings: int
    error: str | None

    @property
    def changed_nothing(self) -> bool:
        return not (self.items_new or self.items_updated or self.items_delisted)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_rand(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == RAND_HOST or host.endswith("." + RAND_HOST)


def crawl_settings(
    config: CatalogConfig,
    *,
    start_urls: list[str],
    options: CrawlOptions | None = None,
    host_map: dict[str, str] | None = None,
) -> Settings:
    """Project settings, then what the home's catalog.toml says, then local-site speed-ups.

    ``host_map`` fetches a host's pages from another server (``CATALOG_HOST_MAP``: the demo).
    """
    options = options or CrawlOptions()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("CATALOG_HOME", str(config.home), priority="cmdline")
    settings.set("CATALOG_DB", config.db_url, priority="cmdline")
    if host_map:
        settings.set("CATALOG_HOST_MAP", dict(host_map), priority="cmdline")
    # The same rule `scrapy crawl` applies in the spider (crawler.settings).
    apply_local_site_rule(settings, start_urls, "cmdline")
    if options.contact:
        settings.set("USER_AGENT", user_agent(options.contact), priority="cmdline")
    if options.delay is not None:
        delay = float(options.delay)
        if any(_is_rand(u) for u in start_urls):
            delay = max(delay, RAND_MIN_DELAY)
        settings.set("DOWNLOAD_DELAY", delay, priority="cmdline")
        settings.set("AUTOTHROTTLE_START_DELAY", max(delay, 0.1), priority="cmdline")
    if options.timeout is not None:
        settings.set("DOWNLOAD_TIMEOUT", float(options.timeout), priority="cmdline")
    if options.retries is not None:
        settings.set("RETRY_TIMES", int(options.retries), priority="cmdline")
    if options.max_pages is not None:
        settings.set("CATALOG_MAX_PAGES", int(options.max_pages), priority="cmdline")
    try:
        page_cap(settings.get("CATALOG_MAX_PAGES"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # Our own handlers (below) do the logging: a rotating file in the home, stderr as asked.
    settings.set("LOG_ENABLED", False, priority="cmdline")
    settings.set("LOG_LEVEL", "INFO", priority="cmdline")
    settings.set(SETTING_LOCK_HELD, True, priority="cmdline")
    return settings


class OneLineFormatter(logging.Formatter):
    """The record's first line alone: no traceback, no stack, so a terminal gets one line each.

    Only the text is formatted; ``exc_info`` stays on the record for the file handler.
    """

    def __init__(self, fmt: str = LOG_FORMAT, *, clear_line: bool = False) -> None:
        super().__init__(fmt)
        self.clear_line = clear_line  # erase a progress line drawn on the same terminal line

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        lines = self.formatMessage(record).splitlines()
        text = lines[0] if lines else ""
        return "\r\x1b[K" + text if self.clear_line else text


def _own_records(record: logging.LogRecord) -> bool:
    return record.name.split(".")[0] in OWN_LOGGERS


def stderr_handler(level: str, *, clear_line: bool = False) -> logging.Handler:
    """A stderr handler that never prints a traceback (the log file keeps them).

    Below INFO (the default, WARNING) only the catalog's own records pass: each failure is
    reported once, in the catalog's words. ``clear_line`` erases a progress line first.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(OneLineFormatter(clear_line=clear_line))
    if logging.getLevelName(level) > logging.INFO:
        handler.addFilter(_own_records)
    return handler


class CrawlLogHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file, which never prints to stderr when it cannot write.

    The logging module reports a handler's failure with a traceback on stderr, once per
    record: on a full disk that was hundreds of lines, even under --quiet, for a problem the
    crawl reports in one line anyway. Records that cannot be written are dropped; writing
    resumes when there is room again (the crawl frees some to close its run).
    """

    failures = 0  # records (or flushes) that could not be written

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.failures += 1

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:
            self.failures += 1

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            self.failures += 1


def log_file_handler(path: Path) -> logging.Handler:
    """The home's rotating log file: everything, tracebacks included."""
    handler = CrawlLogHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def _attach_logging(
    config: CatalogConfig, stderr_level: str | None, *, progress: bool = False
) -> list[logging.Handler]:
    file_handler = log_file_handler(config.log_file)
    file_handler.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [file_handler]
    if stderr_level is not None:
        handlers.append(stderr_handler(stderr_level, clear_line=progress))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    return handlers


# --- progress ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a running crawl has got; new and changed count stored batches only."""

    listing_pages: int
    found: int
    new: int
    changed: int
    detail_pages: int
    elapsed: float


def progress_line(progress: Progress) -> str:
    """One short line for a terminal: what a person watching a crawl wants to know."""
    minutes, seconds = divmod(int(progress.elapsed), 60)
    return (
        f"listing pages {progress.listing_pages} | publications {progress.found} found, "
        f"{progress.new} new, {progress.changed} changed | "
        f"detail pages {progress.detail_pages} | {minutes}:{seconds:02d}"
    )


def read_progress(crawler: Crawler, started: float) -> Progress:
    """The crawl's counters now: Scrapy stats for pages, the pipeline's for publications."""
    stats = crawler.stats
    pipeline = crawler.get_item_pipeline(CatalogPipeline) if crawler.engine else None
    counts = pipeline.counts if pipeline is not None else None

    def stat(name: str) -> int:
        return int(stats.get_value(name, 0) or 0) if stats else 0

    found = counts.items_seen if counts else 0
    if pipeline is not None:  # and those read but still waiting for their batch to be stored
        waiting = {r.url for r in pipeline.buffer if isinstance(r, ListingEntry)}
        found += sum(1 for url in waiting if not pipeline.counts.counted(url))
    return Progress(
        listing_pages=stat("catalog/pages_fetched"),
        found=found,
        new=counts.items_new if counts else 0,
        changed=counts.items_updated if counts else 0,
        detail_pages=stat("catalog/detail_pages"),
        elapsed=time.monotonic() - started,
    )


def _report_progress(crawler: Crawler, report: Callable[[Progress], None]) -> None:
    """Call ``report`` every PROGRESS_INTERVAL seconds from engine start to engine stop."""
    started = time.monotonic()
    loops: list[task.LoopingCall] = []

    def start() -> None:
        # Made here, not before: a LoopingCall built before Scrapy installs its reactor would
        # install Twisted's default one instead.
        loops.append(task.LoopingCall(lambda: report(read_progress(crawler, started))))
        loops[0].start(PROGRESS_INTERVAL, now=True)

    def stop() -> None:
        for loop in loops:
            if loop.running:
                loop.stop()
        report(read_progress(crawler, started))

    crawler.signals.connect(start, signal=signals.engine_started, weak=False)
    crawler.signals.connect(stop, signal=signals.engine_stopped, weak=False)


def _topic_start(topic: str) -> str:
    """A topic as catalog.toml and --topic take it: a RAND slug or a listing URL."""
    return topic if "://" in topic else topic_url(topic)


def resolve_start_urls(
    config: CatalogConfig, topics: list[str] | None, start_urls: list[str] | None
) -> tuple[list[str], CrawlOptions]:
    """Explicit topics and URLs, else the topics of the home's catalog.toml."""
    home_config = load_home_config(config.home)
    try:
        for value in topics or []:
            check_topic(value)
        for value in start_urls or []:
            check_url(value)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    urls = [_topic_start(t) for t in topics or []] + list(start_urls or [])
    if not urls:
        urls = [_topic_start(t) for t in home_config.topics]
    if not urls:
        raise UsageError(
            f"no topics to crawl: {home_config.path} lists none (catalog topics add SLUG)"
        )
    return urls, home_config.crawl


def run_crawl(
    config: CatalogConfig,
    *,
    topics: list[str] | None = None,
    start_urls: list[str] | None = None,
    max_pages: int | None = None,
    full: bool = False,
    details: bool = True,
    stderr_level: str | None = "WARNING",
    progress: Callable[[Progress], None] | None = None,
    host_map: dict[str, str] | None = None,
) -> CrawlSummary:
    """Crawl topics into the catalog; one process, one run, one crawl per home at a time.

    Scrapy's reactor cannot be restarted, so call this once per process. ``stderr_level``
    None keeps stderr silent (the log file in the home still gets everything). ``progress``
    is called about twice a second while the crawl runs (the CLI draws it on a terminal).
    ``host_map`` fetches a host's pages from another server (see ``crawl_settings``).
    """
    urls, options = resolve_start_urls(config, topics, start_urls)
    settings = crawl_settings(config, start_urls=urls, options=options, host_map=host_map)
    slugs = [slug for slug in map(topic_slug_from_url, urls) if slug]
    with ExitStack() as locks:
        try:
            locks.enter_context(crawl_lock(config.home))
            engine = make_engine(config.db_url)
            # Crawlers on other machines sharing this (PostgreSQL) catalog: one crawl per topic.
            locks.enter_context(topic_locks(engine, slugs))
            if needs_upgrade(engine):
                upgrade(engine)
        except (OSError, SQLAlchemyError, DatabaseError) as exc:
            if is_disk_full(exc):
                why = full_disk_message(config.home)
                raise CrawlFailed(f"the crawl cannot start: {why}") from exc
            raise
        process = CrawlerProcess(settings)
        handlers = _attach_logging(config, stderr_level, progress=progress is not None)
        try:
            crawler = process.create_crawler(RandTopicSpider)
            if progress is not None:
                _report_progress(crawler, progress)
            process.crawl(crawler, start_url=urls, max_pages=max_pages, full=full, details=details)
            process.start()
        finally:
            for handler in handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        run_id = stats.get(STAT_RUN_ID)
        run = queries.crawl_run(engine, run_id) if run_id is not None else None
        engine.dispose()
        if run is None:
            why = stats.get(STAT_START_ERROR) or "the crawl did not start"
            raise CrawlFailed(f"{why} (details in {config.log_file})")
    values = {**run, "run_id": run["id"], "full": bool(run["full"])}
    if run["status"] == "running" and stats.get(STAT_RUN_STATUS):
        # The run ended but could not be recorded (a full disk): report it as it ended.
        values.update(status=stats[STAT_RUN_STATUS], error=stats.get(STAT_RUN_ERROR))
    return CrawlSummary(**{f.name: values[f.name] for f in fields(CrawlSummary)})
