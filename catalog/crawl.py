"""Run the listing spider in-process and report what the run did."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import select

from catalog.config import CatalogConfig
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.errors import CrawlFailed
from catalog.models import CrawlRun
from crawler.pipelines import STAT_RUN_ID
from crawler.spiders.rand_topic import RandTopicSpider, topic_url


@dataclass(slots=True)
class CrawlSummary:
    run_id: int
    status: str
    pages_fetched: int
    items_seen: int
    items_new: int
    items_updated: int
    items_unchanged: int
    items_skipped: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def crawl_settings(config: CatalogConfig, *, start_urls: list[str], log_level: str) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("CATALOG_HOME", str(config.home), priority="cmdline")
    settings.set("CATALOG_DB", config.db_url, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if start_urls and all(_is_local(u) for u in start_urls):
        # Pages on this machine (the demo, tests, a local mirror) need no politeness delay.
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="cmdline")
    return settings


def run_crawl(
    config: CatalogConfig,
    *,
    topics: list[str] | None = None,
    start_urls: list[str] | None = None,
    max_pages: int | None = None,
    log_level: str = "WARNING",
) -> CrawlSummary:
    """Crawl the given topics and start URLs into the catalog; one process, one run.

    Scrapy's reactor cannot be restarted, so call this once per process.
    """
    config.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.db_url)
    if needs_upgrade(engine):
        upgrade(engine)
    urls = [topic_url(t) for t in topics or []] + list(start_urls or [])
    process = CrawlerProcess(crawl_settings(config, start_urls=urls, log_level=log_level))
    logging.getLogger("scrapy").setLevel(log_level)
    crawler = process.create_crawler(RandTopicSpider)
    process.crawl(crawler, start_url=urls or None, max_pages=max_pages)
    process.start()
    run_id = crawler.stats.get_value(STAT_RUN_ID) if crawler.stats else None
    if run_id is None:
        raise CrawlFailed("the crawl did not start; see the log above")
    with engine.connect() as conn:
        run = conn.execute(select(CrawlRun.__table__).where(CrawlRun.id == run_id)).mappings().one()
    engine.dispose()
    return CrawlSummary(
        run_id=run["id"],
        status=run["status"],
        pages_fetched=run["pages_fetched"],
        items_seen=run["items_seen"],
        items_new=run["items_new"],
        items_updated=run["items_updated"],
        items_unchanged=run["items_unchanged"],
        items_skipped=run["items_skipped"],
        error=run["error"],
    )
