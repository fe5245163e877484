"""Run the listing spider in-process, under the home's lock, and report what the run did."""

from __future__ import annotations

import ipaddress
import logging
import logging.handlers
import sys
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from catalog import queries
from catalog.config import (
    CatalogConfig,
    CrawlOptions,
    check_topic,
    check_url,
    load_home_config,
)
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.errors import ConfigError, CrawlFailed, UsageError
from catalog.lock import crawl_lock
from crawler.pipelines import SETTING_LOCK_HELD, STAT_RUN_ID
from crawler.settings import user_agent
from crawler.spiders.rand_topic import RandTopicSpider, topic_url

RAND_HOST = "rand.org"
RAND_MIN_DELAY = 1.0
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


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
    error: str | None

    @property
    def changed_nothing(self) -> bool:
        return not (self.items_new or self.items_updated or self.items_delisted)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_rand(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == RAND_HOST or host.endswith("." + RAND_HOST)


def crawl_settings(
    config: CatalogConfig, *, start_urls: list[str], options: CrawlOptions | None = None
) -> Settings:
    """Project settings, then what the home's catalog.toml says, then local-site speed-ups."""
    options = options or CrawlOptions()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("CATALOG_HOME", str(config.home), priority="cmdline")
    settings.set("CATALOG_DB", config.db_url, priority="cmdline")
    local = bool(start_urls) and all(_is_local(u) for u in start_urls)
    if local:
        # Pages on this machine (the demo, tests, a local mirror) need no politeness delay.
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="cmdline")
        settings.set("RETRY_BACKOFF_BASE", 0, priority="cmdline")
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
    # Our own handlers (below) do the logging: a rotating file in the home, stderr as asked.
    settings.set("LOG_ENABLED", False, priority="cmdline")
    settings.set("LOG_LEVEL", "INFO", priority="cmdline")
    settings.set(SETTING_LOCK_HELD, True, priority="cmdline")
    return settings


def _attach_logging(config: CatalogConfig, stderr_level: str | None) -> list[logging.Handler]:
    formatter = logging.Formatter(LOG_FORMAT)
    file_handler = logging.handlers.RotatingFileHandler(
        config.log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [file_handler]
    if stderr_level is not None:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(stderr_level)
        handlers.append(stream)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return handlers


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
) -> CrawlSummary:
    """Crawl topics into the catalog; one process, one run, one crawl per home at a time.

    Scrapy's reactor cannot be restarted, so call this once per process. ``stderr_level``
    None keeps stderr silent (the log file in the home still gets everything).
    """
    urls, options = resolve_start_urls(config, topics, start_urls)
    with crawl_lock(config.home):
        engine = make_engine(config.db_url)
        if needs_upgrade(engine):
            upgrade(engine)
        process = CrawlerProcess(crawl_settings(config, start_urls=urls, options=options))
        handlers = _attach_logging(config, stderr_level)
        try:
            crawler = process.create_crawler(RandTopicSpider)
            process.crawl(crawler, start_url=urls, max_pages=max_pages, full=full, details=details)
            process.start()
        finally:
            for handler in handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
        run_id = crawler.stats.get_value(STAT_RUN_ID) if crawler.stats else None
        run = queries.crawl_run(engine, run_id) if run_id is not None else None
        engine.dispose()
        if run is None:
            raise CrawlFailed(f"the crawl did not start; see {config.log_file}")
    values = {**run, "run_id": run["id"], "full": bool(run["full"])}
    return CrawlSummary(**{f.name: values[f.name] for f in fields(CrawlSummary)})
