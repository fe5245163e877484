"""Scrapy settings: polite by default, one pipeline into the catalog.

The catalog's location comes from CATALOG_HOME / CATALOG_DB (environment or ``-s``), the same
variables the ``catalog`` command reads, so ``scrapy crawl`` and ``catalog crawl`` share a catalog.
"""

import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

BOT_NAME = "thinktank_catalog"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Our `scrapy crawl` exits 1 when the catalog run failed or was interrupted (Scrapyd, cron).
COMMANDS_MODULE = "crawler.commands"


def is_local_url(url: str, host_map: Mapping[str, str] | None = None) -> bool:
    """Whether ``url`` is served by this machine: localhost, a loopback address, or a host the
    crawl maps onto one (``CATALOG_HOST_MAP``, as the demo does)."""
    host = urlsplit(url).hostname or ""
    if host_map and host in host_map:
        return is_local_url(host_map[host])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_site_settings() -> dict[str, Any]:
    """Pages on this machine (the demo, tests, a local mirror) need no politeness delay."""
    return {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "RETRY_BACKOFF_BASE": 0,
    }


def apply_local_site_rule(settings: Any, start_urls: list[str], priority: str) -> bool:
    """The one local-site rule of both entry points: when every start URL is local, drop the
    politeness delay at ``priority`` (``catalog crawl``: cmdline, under catalog.toml's own
    ``delay``; ``scrapy crawl``: spider, under ``-s``). Returns whether it applied."""
    host_map = settings.getdict("CATALOG_HOST_MAP")
    if not start_urls or not all(is_local_url(u, host_map) for u in start_urls):
        return False
    settings.update(local_site_settings(), priority=priority)
    return True


def user_agent(contact: str) -> str:
    """A descriptive User-Agent: who we are and how the site's owners can reach the operator."""
    return f"thinktank-catalog/0.1 (+{contact}; publication catalog for policy research)"


CATALOG_CONTACT = os.environ.get("CATALOG_CONTACT", "https://pypi.org/project/thinktank-catalog/")
USER_AGENT = user_agent(CATALOG_CONTACT)
ROBOTSTXT_OBEY = True

# Pace: one request at a time per host, at least a second apart, slower when the host is slow.
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 2.0  # seconds; doubles each attempt
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0  # a Retry-After longer than this gives up instead of waiting
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # Same filter, but a redirect off the site is reported to the spider instead of vanishing.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.ReportingOffsiteMiddleware": 50,
    # Between decompression (590) and meta refresh (580), the first to read the text:
    # undeclared non-UTF-8 pages are read as cp1252.
    "crawler.middlewares.LegacyEncodingMiddleware": 585,
    # Before HttpProxyMiddleware (750): mapped hosts are fetched from their server (the demo).
    "crawler.middlewares.HostMapMiddleware": 740,
}
# Host name -> server URL to fetch its pages from, e.g. {"catalog-demo.invalid":
# "http://127.0.0.1:8765"}; the URLs stored stay the host's (see HostMapMiddleware).
CATALOG_HOST_MAP: dict[str, str] = {}
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024  # a listing page is ~100 KB; anything this big is not one
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

ITEM_PIPELINES = {"crawler.pipelines.CatalogPipeline": 300}

CATALOG_HOME = os.environ.get("CATALOG_HOME")
CATALOG_DB = os.environ.get("CATALOG_DB")
CATALOG_BATCH_SIZE = 200
# Publication pages retried or backfilled at the start of a crawl, at most.
CATALOG_DETAILS_PER_RUN = 500
# Listing pages per topic walk, at most: a walk that reaches this fails the run (a listing
# whose pagination never ends). `--max-pages N` / `-a max_pages=N` is a deliberate short walk.
CATALOG_MAX_PAGES = os.environ.get("CATALOG_MAX_PAGES") or 500

# Feeds (`scrapy crawl rand_topic -O out.jsonl`) hold publication records only, never the
# crawl's control records (topic walks, listing validators, detail failures).
EXTENSIONS = {
    "scrapy.extensions.feedexport.FeedExporter": None,
    "crawler.extensions.PublicationFeedExporter": 0,
    # Ctrl-C / SIGTERM: say so at once, stop after the requests in flight (not the queue).
    "crawler.extensions.PromptStop": 0,
}

# No consoles into a running crawl: the catalog needs no code-execution endpoint.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
