"""The ``CATALOG_*`` environment variables a crawl reads: one table, read once, checked.

Each variable is a row of :data:`ENVIRONMENT`: the Scrapy setting it sets, what it means and
allows, its default, and how its text is checked. :func:`read_environment` reads them all at
once (the settings builder calls it, nothing else in the crawler reads the environment), and
docs/settings.md prints :func:`environment_table`, so what is documented is what is read. A
bad value is one line naming the variable and what it allows (exit code 2), as catalog.toml's are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from catalog import config as catalog_config
from catalog.config import CRAWL_KEYS, NumberRule, TextRule
from catalog.errors import ConfigError

DEFAULT_CONTACT = "https://pypi.org/project/thinktank-catalog/"


def user_agent(contact: str) -> str:
    """A descriptive User-Agent: who we are and how the site's owners can reach the operator."""
    return f"thinktank-catalog/0.1 (+{contact}; publication catalog for policy research)"


def contact_settings(contact: str) -> dict[str, Any]:
    """The settings a contact becomes: the User-Agent that carries it."""
    return {"USER_AGENT": user_agent(contact)}


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


# Every CATALOG_* variable a crawl reads: the table of docs/settings.md is made from this one
# (a test keeps them equal). CATALOG_SEARCH_ENGINE chooses the index engine of every command and is
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
        to_settings=contact_settings,
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
    """The table (docs/settings.md) of the environment variables, made from :data:`ENVIRONMENT`."""
    lines = [
        "| variable | Scrapy setting | what it sets | allowed | default |",
        "| --- | --- | --- | --- | --- |",
    ]
    for v in ENVIRONMENT:
        lines.append(
            f"| `{v.name}` | `{v.setting}` | {v.meaning} | {v.allowed} | {v.default or '—'} |"
        )
    return "\n".join(lines)
