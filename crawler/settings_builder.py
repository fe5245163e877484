"""One builder for a crawl's settings, whichever way the crawl starts.

Settings come from four places, each over the one before:

1. the defaults (:mod:`crawler.settings`, Scrapy's ``project`` priority),
2. the home's ``catalog.toml``, its ``[crawl]`` table,
3. the ``CATALOG_*`` environment variables, every one of them in
   :data:`crawler.environment.ENVIRONMENT` (read there once, checked, and printed in
   docs/settings.md from that table),
4. the command line: ``catalog crawl``'s options, or ``scrapy crawl -s NAME=VALUE``.

``catalog crawl`` calls :func:`build_settings` before Scrapy starts, so that a bad value is one
line and exit code 2 before anything is created. ``scrapy crawl`` and Scrapyd get the same
through :class:`CatalogSettings`, a Scrapy add-on (``ADDONS``) whose ``update_settings`` runs
before the crawler is configured; our ``scrapy crawl`` command builds first too, to refuse a
bad value in one line. Either way the add-on then applies the rules that depend on where the
crawl goes (:func:`apply_site_rules`): no politeness delay for this machine's own pages, never
less than a second between requests to rand.org.

Layers 2 and 3 sit at priorities between Scrapy's ``project`` (20) and ``cmdline`` (40), so
``-s`` still wins over everything, as Scrapy documents.
"""

from __future__ import annotations

import ipaddress
import logging
import pprint
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from sqlalchemy.engine import make_url

from catalog import config as catalog_config
from catalog.config import CatalogConfig, HomeConfig
from crawler.environment import (
    CHECKED_SETTINGS,
    DEPRECATED_SETTINGS,
    Environment,
    contact_settings,
    read_environment,
)

logger = logging.getLogger(__name__)


PRIORITY_SITE_RULE = SETTINGS_PRIORITIES["project"] + 1  # over the defaults, under the rest
PRIORITY_FILE = SETTINGS_PRIORITIES["project"] + 2  # catalog.toml
PRIORITY_ENVIRONMENT = SETTINGS_PRIORITIES["project"] + 3  # CATALOG_* variables
PRIORITY_COMMAND_LINE = SETTINGS_PRIORITIES["cmdline"]  # catalog crawl's options, scrapy -s

# Set once the layers are applied: the add-on then leaves them alone (catalog crawl and our
# scrapy crawl build before the crawler is made, to refuse bad values before anything starts).
SETTING_BUILT = "CATALOG_SETTINGS_BUILT"
# Deprecation lines found while building, logged once by the add-on when the crawl starts.
SETTING_DEPRECATIONS = "CATALOG_DEPRECATIONS"

RAND_HOST = "rand.org"
RAND_MIN_DELAY = 1.0  # seconds between requests to rand.org, whatever a file or variable says


# --- where a crawl goes ------------------------------------------------------------------------


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


def is_rand(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == RAND_HOST or host.endswith("." + RAND_HOST)


def local_site_settings() -> dict[str, Any]:
    """Pages on this machine (the demo, tests, a local mirror) need no politeness delay."""
    return {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "RETRY_BACKOFF_BASE": 0,
    }


def apply_site_rules(settings: BaseSettings, start_urls: Iterable[str]) -> None:
    """The rules that depend on where the crawl goes, the same for every entry point.

    When every start URL is on this machine, the politeness delay goes, just over the defaults
    (a ``delay`` in catalog.toml or ``-s DOWNLOAD_DELAY`` still wins). A crawl of rand.org
    never waits less than a second between requests, whatever catalog.toml or the environment
    say (``-s`` is Scrapy's own override and is left alone). Applying the rules twice changes
    nothing.
    """
    urls = list(start_urls)
    host_map = settings.getdict("CATALOG_HOST_MAP")
    if urls and all(is_local_url(u, host_map) for u in urls):
        settings.update(local_site_settings(), priority=PRIORITY_SITE_RULE)
    if any(is_rand(u) for u in urls):
        for name in ("DOWNLOAD_DELAY", "AUTOTHROTTLE_START_DELAY"):
            priority = settings.getpriority(name) or 0
            if priority < PRIORITY_COMMAND_LINE and settings.getfloat(name) < RAND_MIN_DELAY:
                settings.set(name, RAND_MIN_DELAY, priority=priority)


# --- building --------------------------------------------------------------------------------


def _file_settings(options: catalog_config.CrawlOptions) -> dict[str, Any]:
    """The Scrapy settings of catalog.toml's [crawl] table (values already checked)."""
    found: dict[str, Any] = {}
    if options.contact is not None:
        found.update(contact_settings(options.contact))
    if options.delay is not None:
        found["DOWNLOAD_DELAY"] = float(options.delay)
        found["AUTOTHROTTLE_START_DELAY"] = max(float(options.delay), 0.1)
    if options.timeout is not None:
        found["DOWNLOAD_TIMEOUT"] = float(options.timeout)
    if options.retries is not None:
        found["RETRY_TIMES"] = int(options.retries)
    if options.max_listing_pages is not None:
        found["CATALOG_MAX_LISTING_PAGES"] = int(options.max_listing_pages)
    return found


def _layer(settings: BaseSettings, values: Mapping[str, Any], priority: int) -> None:
    for name, value in values.items():
        settings.set(name, value, priority=priority)


def _resolve_home(settings: BaseSettings, environment: Environment) -> CatalogConfig:
    """The home and database: a setting given on the command line, else the variable, else the
    per-user data folder (the same rule every `catalog` command follows)."""

    def given(name: str) -> str | None:
        if (settings.getpriority(name) or 0) >= PRIORITY_COMMAND_LINE:
            return settings.get(name) or None
        return environment.get(name) or settings.get(name) or None

    config = catalog_config.resolve(given("CATALOG_HOME"), given("CATALOG_DB"))
    for name, value in (("CATALOG_HOME", str(config.home)), ("CATALOG_DB", config.db_url)):
        priority = max(settings.getpriority(name) or 0, PRIORITY_ENVIRONMENT)
        settings.set(name, value, priority=priority)
    return config


def _check_command_line(settings: BaseSettings, deprecations: list[str]) -> None:
    """The catalog's own settings given with ``-s`` are checked as their variables are, and
    old names still work (with a warning)."""
    for old, new in DEPRECATED_SETTINGS.items():
        priority = settings.getpriority(old)
        if priority is None:
            continue
        deprecations.append(catalog_config.deprecation(f"setting {old}", new))
        if priority >= (settings.getpriority(new) or 0):
            settings.set(new, settings.get(old), priority=priority)
    for name, variable in CHECKED_SETTINGS.items():
        if (settings.getpriority(name) or 0) >= PRIORITY_COMMAND_LINE:
            value = variable.parse(f"setting {name}", settings.get(name))
            settings.set(name, value, priority=settings.getpriority(name))


def build_settings(
    settings: BaseSettings,
    *,
    home_config: HomeConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Put catalog.toml and the ``CATALOG_*`` environment under ``settings``' command line.

    ``settings`` holds the defaults and whatever the command line gave (at ``cmdline``
    priority); ``home_config`` is the home's catalog.toml when the caller has read it already.
    Raises :class:`ConfigError` (exit code 2) for a bad file, variable or ``-s`` value, before
    anything is created but the home's commented default catalog.toml.
    """
    environment = read_environment(environ)
    config = _resolve_home(settings, environment)
    if home_config is None:
        home_config = catalog_config.load_home_config(config.home)
    deprecations = [*home_config.deprecations, *environment.deprecations]
    _layer(settings, _file_settings(home_config.crawl), PRIORITY_FILE)
    _layer(settings, environment.settings(), PRIORITY_ENVIRONMENT)
    _check_command_line(settings, deprecations)
    settings.set(SETTING_DEPRECATIONS, deprecations, priority=PRIORITY_COMMAND_LINE)
    settings.set(SETTING_BUILT, True, priority=PRIORITY_COMMAND_LINE)


class CatalogSettings:
    """The Scrapy add-on that gives every crawl the catalog's settings (``ADDONS``).

    ``scrapy crawl``, Scrapyd and scripts that run the project's crawler get catalog.toml and
    the environment through it; ``catalog crawl`` has built them already, and gets the site
    rules and the deprecation warnings from it like every other crawl.
    """

    def __init__(self, crawler: Any = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> CatalogSettings:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.getbool(SETTING_BUILT):
            build_settings(settings)  # raises ConfigError: scripts see the one-line cause
        spider = getattr(self.crawler, "spider", None)
        if spider is not None:
            apply_site_rules(settings, getattr(spider, "start_urls", []))
        for line in settings.getlist(SETTING_DEPRECATIONS):
            logger.warning(line)
        # Scrapy logs only the settings it knows ("Overridden settings"); these are ours.
        logger.info("Catalog settings:\n%s", pprint.pformat(catalog_settings(settings)))


def catalog_settings(settings: BaseSettings) -> dict[str, Any]:
    """The catalog's own settings as a crawl uses them, a database password masked."""
    shown = {
        name: settings[name]
        for name in sorted(settings.attributes)
        if name.startswith("CATALOG_") and name not in (SETTING_BUILT, SETTING_DEPRECATIONS)
    }
    if shown.get("CATALOG_DB"):
        shown["CATALOG_DB"] = make_url(shown["CATALOG_DB"]).render_as_string(hide_password=True)
    if isinstance(shown.get("CATALOG_HOST_MAP"), BaseSettings):
        shown["CATALOG_HOST_MAP"] = shown["CATALOG_HOST_MAP"].copy_to_dict()
    return shown
