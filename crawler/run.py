"""Start a crawl in-process (``catalog crawl``, the demo) and report what the run did.

The crawl is the one ``scrapy crawl`` and Scrapyd run: the same settings builder
(:mod:`crawler.settings_builder`), called here first so that a bad value is refused before
anything starts, and the same run component (:class:`crawler.catalog_run.CatalogRun`), which
takes the locks and keeps the journal. What is left here is the command line's own: its
logging, its progress line, and turning the run's end into a summary or an error.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from twisted.internet import task

from catalog import queries
from catalog.config import CatalogConfig, HomeConfig, check_topic, check_url, load_home_config
from catalog.db import make_engine
from catalog.errors import ConfigError, CrawlFailed, UsageError
from catalog.records import ListingEntry
from crawler import stats as keys
from crawler.catalog_run import CatalogRun
from crawler.logs import RESTATED
from crawler.pipelines import CatalogPipeline
from crawler.settings_builder import PRIORITY_COMMAND_LINE, apply_site_rules, build_settings
from crawler.spiders.rand_topic import RandTopicSpider, topic_url

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


def crawl_settings(
    config: CatalogConfig,
    *,
    start_urls: list[str],
    home_config: HomeConfig | None = None,
    host_map: dict[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of a ``catalog crawl``: the defaults, the home's catalog.toml, the
    ``CATALOG_*`` environment, then what the command line gave, through the one builder
    ``scrapy crawl`` uses too (:mod:`crawler.settings_builder`).

    ``host_map`` fetches a host's pages from another server (``CATALOG_HOST_MAP``: the demo).
    A bad catalog.toml or variable raises :class:`ConfigError` (exit code 2) before anything
    is created.
    """
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    given = {"CATALOG_HOME": str(config.home), "CATALOG_DB": config.db_url}
    if host_map:
        given["CATALOG_HOST_MAP"] = dict(host_map)
    # Our own handlers (run_crawl) do the logging: a rotating file in the home, stderr as asked.
    given.update(LOG_ENABLED=False, LOG_LEVEL="INFO")
    settings.update(given, priority=PRIORITY_COMMAND_LINE)
    build_settings(settings, home_config=home_config, environ=environ)
    # What the add-on applies again when the crawl starts: these settings are final here.
    apply_site_rules(settings, start_urls)
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


def _not_restated(record: logging.LogRecord) -> bool:
    """Records the command line restates as its one error line (a crawl that cannot start)
    stay in the log file only: stderr says each thing once."""
    return not getattr(record, RESTATED, False)


def stderr_handler(level: str, *, clear_line: bool = False) -> logging.Handler:
    """A stderr handler that never prints a traceback (the log file keeps them).

    Below INFO (the default, WARNING) only the catalog's own records pass: each failure is
    reported once, in the catalog's words. ``clear_line`` erases a progress line first.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(OneLineFormatter(clear_line=clear_line))
    handler.addFilter(_not_restated)
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
    """The crawl's counters now: Scrapy stats for pages, the run's for publications."""
    stats = crawler.stats
    try:
        pipeline = crawler.get_item_pipeline(CatalogPipeline)
    except RuntimeError:  # the engine is not made yet
        pipeline = None
    counts = pipeline.run.counts if pipeline is not None else None

    def stat(name: str) -> int:
        return int(stats.get_value(name, 0) or 0) if stats else 0

    found = counts.items_seen if counts else 0
    if pipeline is not None and counts is not None:  # and those waiting for their batch
        waiting = {r.url for r in pipeline.buffer if isinstance(r, ListingEntry)}
        found += sum(1 for url in waiting if not counts.counted(url))
    return Progress(
        listing_pages=stat(keys.PAGES_FETCHED),
        found=found,
        new=counts.items_new if counts else 0,
        changed=counts.items_updated if counts else 0,
        detail_pages=stat(keys.DETAIL_PAGES),
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
) -> tuple[list[str], HomeConfig]:
    """Explicit topics and URLs, else the topics of the home's catalog.toml (read and checked
    here, once: the settings are built from the same reading)."""
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
    return urls, home_config


def run_crawl(
    config: CatalogConfig,
    *,
    topics: list[str] | None = None,
    start_urls: list[str] | None = None,
    pages: int | None = None,
    full: bool = False,
    details: bool = True,
    stderr_level: str | None = "WARNING",
    progress: Callable[[Progress], None] | None = None,
    host_map: dict[str, str] | None = None,
) -> CrawlSummary:
    """Crawl topics into the catalog; one process, one run, one crawl per home at a time.

    The run itself (locks, schema, journal, index) is :class:`CatalogRun`'s, as for
    ``scrapy crawl``; this starts Scrapy in-process and reports what the run did. ``pages``
    is a deliberate short walk (listing pages per topic). Scrapy's reactor cannot be
    restarted, so call this once per process. ``stderr_level`` None keeps stderr silent (the
    log file in the home still gets everything). ``progress`` is called about twice a second
    while the crawl runs (the CLI draws it on a terminal). ``host_map`` fetches a host's pages
    from another server (see ``crawl_settings``).
    """
    urls, home_config = resolve_start_urls(config, topics, start_urls)
    settings = crawl_settings(config, start_urls=urls, home_config=home_config, host_map=host_map)
    process = CrawlerProcess(settings)
    handlers = _attach_logging(config, stderr_level, progress=progress is not None)
    try:
        crawler = process.create_crawler(RandTopicSpider)
        if progress is not None:
            _report_progress(crawler, progress)
        process.crawl(crawler, start_url=urls, pages=pages, full=full, details=details)
        process.start()
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
    return _summary(config, crawler)


def _summary(config: CatalogConfig, crawler: Crawler) -> CrawlSummary:
    """What the run did, as its journal row says (or as it ended, when that could not be
    recorded); the reason it could not start, raised, when it did not."""
    run = CatalogRun.of(crawler)
    if run is not None and run.start_error is not None:
        raise run.start_error
    if run is None or run.run_id is None:
        raise CrawlFailed(f"the crawl did not start (details in {config.log_file})")
    engine = make_engine(config.db_url)
    try:
        row = queries.crawl_run(engine, run.run_id)
    finally:
        engine.dispose()
    if row is None:
        raise CrawlFailed(f"run {run.run_id} is not in the journal (details in {config.log_file})")
    values = {**row, "run_id": row["id"], "full": bool(row["full"])}
    if row["status"] == "running" and run.status:
        # The run ended but could not be recorded (a full disk): report it as it ended.
        values.update(status=run.status, error=run.error)
    return CrawlSummary(**{f.name: values[f.name] for f in fields(CrawlSummary)})
