"""One builder for a crawl's settings, whichever way the crawl starts.

Settings come from four places, each over the one before:

1. the defaults (:mod:`crawler.settings`, Scrapy's ``project`` priority),
2. the home's ``catalog.toml``, its ``[crawl]`` table,
3. the ``CATALOG_*`` environment variables, every one of them in :data:`ENVIRONMENT` (read
   there once, checked, and printed by the README from that table),
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
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from catalog import config as catalog_config
from catalog.config import CRAWL_KEYS, CatalogConfig, HomeConfig, NumberRule, TextRule
from catalog.errors import ConfigError

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

DEFAULT_CONTACT = "https://pypi.org/project/thinktank-catalog/"
RAND_HOST = "rand.org"
RAND_MIN_DELAY = 1.0  # seconds between requests to rand.org, whatever a file or variable says


def user_agent(contact: str) -> str:
    """A descriptive User-Agent: who we are and how the site's owners can reach the operator."""
    return f"thinktank-catalog/0.1 (+{contact}; publication catalog for policy research)"


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


# --- the CATALOG_* environment ----------------------------------------------------------------


def _number(rule: NumberRule) -> Callable[[str, Any], Any]:
    """A parser for ``rule``'s numbers, from text (the environment, ``-s``) or a number."""

    def parse(name: str, raw: Any) -> Any:
        value = raw
        if isinstance(raw, str):
            text = raw.strip()
            try:
                value = int(text) if rule.whole else float(text)
            except ValueError:
                value = text
        problem = rule.problem(value)
        if problem is not None:
            raise ConfigError(f"{name}={_shown(raw)} {problem} ({rule.describe(name)})")
        return value

    return parse


def _text(rule: TextRule) -> Callable[[str, Any], Any]:
    def parse(name: str, raw: Any) -> Any:
        problem = rule.problem(raw)
        if problem is not None:
            raise ConfigError(f"{name}={_shown(raw)} {problem} ({rule.describe(name)})")
        return raw.strip()

    return parse


def _anything(name: str, raw: Any) -> Any:
    return raw


def _host_map(name: str, raw: Any) -> dict[str, str]:
    """A JSON object of host names to the http(s) server each is fetched from."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
    if not isinstance(value, dict) or not all(
        isinstance(host, str) and host and isinstance(server, str) and _is_http_url(server)
        for host, server in value.items()
    ):
        raise ConfigError(
            f"{name}={_shown(raw)} is not a JSON object of host names to http(s) servers "
            '(e.g. {"catalog-demo.invalid": "http://127.0.0.1:8765"})'
        )
    return value


def _is_http_url(text: str) -> bool:
    try:
        split = urlsplit(text)
    except ValueError:
        return False
    return split.scheme in ("http", "https") and bool(split.hostname)


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


@dataclass(frozen=True)
class Variable:
    """One ``CATALOG_*`` environment variable: the setting it sets and what it allows."""

    name: str
    setting: str
    meaning: str
    allowed: str
    default: str
    parse: Callable[[str, Any], Any] = field(repr=False, default=_anything)
    # The Scrapy settings a value becomes (most set just ``setting`` to it).
    to_settings: Callable[[Any], dict[str, Any]] | None = field(repr=False, default=None)
    replaced_by: str | None = None  # a deprecated variable: the one to use instead

    def settings_for(self, value: Any) -> dict[str, Any]:
        return self.to_settings(value) if self.to_settings else {self.setting: value}


MAX_LISTING_PAGES_RULE = CRAWL_KEYS["max_listing_pages"]
assert isinstance(MAX_LISTING_PAGES_RULE, NumberRule)
CONTACT_RULE = CRAWL_KEYS["contact"]
assert isinstance(CONTACT_RULE, TextRule)


def _contact_settings(contact: str) -> dict[str, Any]:
    return {"USER_AGENT": user_agent(contact)}


# Every CATALOG_* variable a crawl reads: the README's table is made from this one (a test
# keeps them equal). CATALOG_SEARCH_ENGINE chooses the index engine of every command and is
# read by the catalog core with the rest of catalog.toml's [search]; it is not a crawl setting.
ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "CATALOG_HOME",
        "CATALOG_HOME",
        "the catalog's home folder: catalog.toml, crawl lock, log, index, SQLite catalog",
        "a folder",
        "the per-user data folder",
    ),
    Variable(
        "CATALOG_DB",
        "CATALOG_DB",
        "the catalog's database",
        "a SQLAlchemy URL (`sqlite:///...`, `postgresql+psycopg://...`)",
        "`sqlite:///<home>/catalog.db`",
    ),
    Variable(
        "CATALOG_CONTACT",
        "USER_AGENT",
        "how site owners reach you, put in the User-Agent (catalog.toml: `contact`)",
        "1–200 printable characters",
        DEFAULT_CONTACT,
        parse=_text(CONTACT_RULE),
        to_settings=_contact_settings,
    ),
    Variable(
        "CATALOG_MAX_LISTING_PAGES",
        "CATALOG_MAX_LISTING_PAGES",
        "a topic walk that reaches this many listing pages fails the run "
        "(catalog.toml: `max_listing_pages`)",
        "1–100,000",
        "500",
        parse=_number(MAX_LISTING_PAGES_RULE),
    ),
    Variable(
        "CATALOG_MAX_PAGES",
        "CATALOG_MAX_LISTING_PAGES",
        "deprecated name of `CATALOG_MAX_LISTING_PAGES`",
        "1–100,000",
        "",
        parse=_number(MAX_LISTING_PAGES_RULE),
        replaced_by="CATALOG_MAX_LISTING_PAGES",
    ),
    Variable(
        "CATALOG_DETAILS_PER_RUN",
        "CATALOG_DETAILS_PER_RUN",
        "publication pages still unread (failed, or never read) that a crawl reads at its "
        "start, at most",
        "0–100,000",
        "500",
        parse=_number(NumberRule("pages", high=100_000, whole=True)),
    ),
    Variable(
        "CATALOG_BATCH_SIZE",
        "CATALOG_BATCH_SIZE",
        "records stored per database transaction, at most",
        "1–100,000",
        "200",
        parse=_number(NumberRule("records", high=100_000, low=1, whole=True)),
    ),
    Variable(
        "CATALOG_BATCH_SECONDS",
        "CATALOG_BATCH_SECONDS",
        "seconds a record waits for its batch, at most (what a crawl killed outright loses)",
        "0.1–3,600",
        "5",
        parse=_number(NumberRule("seconds", high=3600, low=0.1)),
    ),
    Variable(
        "CATALOG_INDEX_EVERY",
        "CATALOG_INDEX_EVERY",
        "publications stored between two search-index commits during a crawl",
        "1–10,000,000",
        "5000",
        parse=_number(NumberRule("publications", high=10_000_000, low=1, whole=True)),
    ),
    Variable(
        "CATALOG_HOST_MAP",
        "CATALOG_HOST_MAP",
        "fetch a host's pages from another server, keeping the host's URLs (the demo does)",
        'a JSON object, e.g. `{"catalog-demo.invalid": "http://127.0.0.1:8765"}`',
        "none",
        parse=_host_map,
    ),
)
VARIABLES = {variable.name: variable for variable in ENVIRONMENT}
# The catalog's settings whose `-s` values are checked as their variables' are.
CHECKED_SETTINGS = {
    variable.setting: variable
    for variable in ENVIRONMENT
    if variable.replaced_by is None and variable.to_settings is None
}
# Scrapy settings of old names: old -> new.
DEPRECATED_SETTINGS = {"CATALOG_MAX_PAGES": "CATALOG_MAX_LISTING_PAGES"}


@dataclass(frozen=True)
class Environment:
    """The ``CATALOG_*`` variables that are set, read once and checked."""

    values: dict[str, Any]  # variable name -> checked value
    deprecations: tuple[str, ...] = ()

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def settings(self) -> dict[str, Any]:
        """The Scrapy settings these values become; a new name beats its deprecated one."""
        found: dict[str, Any] = {}
        for variable in sorted(ENVIRONMENT, key=lambda v: v.replaced_by is None):
            if variable.name in self.values:
                found.update(variable.settings_for(self.values[variable.name]))
        return found


def read_environment(environ: Mapping[str, str] | None = None) -> Environment:
    """Read every variable of :data:`ENVIRONMENT` from ``environ`` (default ``os.environ``).

    An empty variable counts as unset, as a shell's ``CATALOG_DB=`` means. A bad value raises
    :class:`ConfigError` naming the variable and what it allows; deprecation lines are
    collected, not printed (the crawl logs them once it runs).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    deprecations: list[str] = []
    for variable in ENVIRONMENT:
        raw = environ.get(variable.name)
        if raw is None or not raw.strip():
            continue
        values[variable.name] = variable.parse(variable.name, raw)
        if variable.replaced_by is not None:
            deprecations.append(catalog_config.deprecation(variable.name, variable.replaced_by))
    return Environment(values, tuple(deprecations))


def environment_table() -> str:
    """The README's table of the environment variables, made from :data:`ENVIRONMENT`."""
    lines = [
        "| variable | Scrapy setting | what it sets | allowed | default |",
        "| --- | --- | --- | --- | --- |",
    ]
    for v in ENVIRONMENT:
        lines.append(
            f"| `{v.name}` | `{v.setting}` | {v.meaning} | {v.allowed} | {v.default or '—'} |"
        )
    return "\n".join(lines)


# --- building --------------------------------------------------------------------------------


def _file_settings(options: catalog_config.CrawlOptions) -> dict[str, Any]:
    """The Scrapy settings of catalog.toml's [crawl] table (values already checked)."""
    found: dict[str, Any] = {}
    if options.contact is not None:
        found.update(_contact_settings(options.contact))
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
