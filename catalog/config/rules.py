"""What catalog.toml may say: its tables and keys, and the range of every value."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from catalog.config.text import is_control

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


MAX_TOPIC_CHARS = 2_000  # a listing URL longer than this is not a URL a site serves

MAX_CONTACT_CHARS = 200  # it goes into every request's User-Agent header

OUT_OF_RANGE = "is out of range"  # the one problem reported as `key = value is out of range`


@dataclass(frozen=True, slots=True)
class NumberRule:
    """The allowed range of one numeric [crawl] setting.

    Scrapy takes these values as they come: a negative delay, an infinite timeout or a
    billion retries would make a cron crawl hang or hammer a site instead of failing, so the
    range is checked before any work starts and the message states it.
    """

    unit: str
    high: float
    low: float = 0
    low_open: bool = False  # True: the low end itself is not allowed (timeout > 0)
    whole: bool = False  # True: an integer (retries), not a float

    def describe(self, key: str) -> str:
        low = f"{self.low:g} {'<' if self.low_open else '<='} {key}"
        return f"{low} <= {self.high:g}{' ' + self.unit if self.unit else ''}"

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not allowed, or None when it is."""
        numeric = int if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            return "is not a whole number" if self.whole else "is not a number"
        if isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        too_low = value <= self.low if self.low_open else value < self.low
        if too_low or value > self.high:
            return OUT_OF_RANGE
        return None


@dataclass(frozen=True, slots=True)
class TextRule:
    """A string setting that ends up in an HTTP header: non-empty, printable, short."""

    max_chars: int

    def describe(self, key: str) -> str:
        return f"{key}: 1 to {self.max_chars} printable characters"

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str):
            return "is not a text"
        if not value.strip():
            return "is empty"
        if len(value) > self.max_chars:
            return f"is longer than {self.max_chars} characters"
        if any(is_control(c) for c in value):
            return "has control characters"
        return None


# The [crawl] settings and what each allows. The settings table of docs/settings.md and
# DEFAULT_CONFIG's comments state the same ranges: change them together.
CRAWL_KEYS: dict[str, NumberRule | TextRule] = {
    "contact": TextRule(MAX_CONTACT_CHARS),
    "delay": NumberRule("seconds", high=3600),
    "timeout": NumberRule("seconds", high=600, low_open=True),
    "retries": NumberRule("", high=10, whole=True),
    # A walk that reaches this many listing pages fails the run: pagination never ended.
    "max_listing_pages": NumberRule("pages", high=100_000, low=1, whole=True),
}

# Old names that still work, each with a one-line deprecation warning: old -> new.
DEPRECATED_CRAWL_KEYS = {
    # "max_pages" named both the failure cap and `--max-pages`, a deliberate short walk.
    "max_pages": "max_listing_pages",
}


def deprecation(old: str, new: str) -> str:
    """The one-line warning every deprecated name gets (catalog.toml, environment, options)."""
    return f"{old} is deprecated: use {new} (the old name still works for now)"


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    """catalog.toml's ``[crawl]`` table, checked; None where the file does not set a value."""

    contact: str | None = None
    delay: float | None = None
    timeout: float | None = None
    retries: int | None = None
    max_listing_pages: int | None = None


@dataclass(frozen=True, slots=True)
class HomeConfig:
    path: Path
    topics: list[str]
    crawl: CrawlOptions
    # One line per deprecated name the file uses, with its line: the crawl logs them.
    deprecations: tuple[str, ...] = ()


TOP_KEYS = ("topics", "crawl", "search")

SEARCH_KEYS = ("engine",)


ENV_SEARCH_ENGINE = "CATALOG_SEARCH_ENGINE"

SEARCH_ENGINES = ("whoosh", "tantivy")  # the adapters of catalog.index; whoosh the default

DEFAULT_SEARCH_ENGINE = "whoosh"
