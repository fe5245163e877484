"""Where a catalog lives (home folder, database URL, index) and its catalog.toml."""

from __future__ import annotations

import codecs
import difflib
import math
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from sqlalchemy.engine import URL

from catalog.errors import ConfigError
from catalog.urls import listing_key

APP_NAME = "thinktank-catalog"
ENV_HOME = "CATALOG_HOME"
ENV_DB = "CATALOG_DB"
ENV_SEARCH_ENGINE = "CATALOG_SEARCH_ENGINE"
SEARCH_ENGINES = ("whoosh", "tantivy")  # the adapters of catalog.index; whoosh the default
DEFAULT_SEARCH_ENGINE = "whoosh"


@dataclass(frozen=True, slots=True)
class CatalogConfig:
    """A resolved home: every path and URL the catalog's modules need."""

    home: Path
    db_url: str

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def log_file(self) -> Path:
        return self.home / "crawl.log"

    @property
    def search_engine(self) -> str:
        """The engine of this home's index: ``CATALOG_SEARCH_ENGINE``, else catalog.toml's
        ``[search] engine``, else whoosh (read each time: commands ask once)."""
        return search_engine(self.home)

    def search_index(self, engine: str | None = None):  # -> catalog.index.SearchIndex
        """This home's search index, opened for ``engine`` (the configured one by default)."""
        from catalog.index import open_index

        return open_index(self.index_dir, engine or self.search_engine)


def resolve(home: str | os.PathLike[str] | None = None, db: str | None = None) -> CatalogConfig:
    """Options beat environment variables, which beat the per-user data folder."""
    home_path = Path(
        home or os.environ.get(ENV_HOME) or platformdirs.user_data_dir(APP_NAME)
    ).expanduser()
    db_url = db or os.environ.get(ENV_DB) or sqlite_url(home_path.resolve() / "catalog.db")
    return CatalogConfig(home=home_path.resolve(), db_url=db_url)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, for any path.

    Built with ``URL.create`` rather than by formatting, so a home such as
    ``~/my cat #1 ?x %20`` keeps its ``#``, ``?`` and ``%`` (rendered percent-encoded, and
    decoded again by ``make_url``).
    """
    return URL.create(drivername="sqlite", database=str(path)).render_as_string()


# --- <home>/catalog.toml -------------------------------------------------------------------

CONFIG_NAME = "catalog.toml"
DEFAULT_CONFIG = """\
# thinktank-catalog configuration for this catalog home.
#
# Topics that `catalog crawl` visits when no --topic or --start-url is given: RAND topic
# slugs (https://www.rand.org/topics/<slug>.html) or full listing URLs on any host.
# Edit here or with `catalog topics add|remove|list`. List each topic once.
topics = [
    "security-cooperation",
]

[crawl]
# contact = "mailto:you@example.org"  # put in the User-Agent so site owners can reach you
# delay = 1.0     # seconds between requests to one host, 0 to 3600 (rand.org: >= 1)
# timeout = 30    # seconds before a request gives up, more than 0 and at most 600
# retries = 3     # retries of 429, 5xx and timeouts, with backoff, 0 to 10
# max_listing_pages = 500  # a topic walk that reaches this many listing pages fails the run

[search]
# engine = "whoosh"  # or "tantivy": native code, for large catalogs (see the README)
"""
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# A catalog.toml is a few lines; anything this big is not one, and is not worth parsing.
MAX_CONFIG_BYTES = 1_000_000
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
        if any(_is_control(c) for c in value):
            return "has control characters"
        return None


# The [crawl] settings and what each allows. The README's settings table and DEFAULT_CONFIG's
# comments state the same ranges: change them together.
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


def config_path(home: Path) -> Path:
    return home / CONFIG_NAME


def ensure_config(home: Path) -> Path:
    """Create the commented default catalog.toml when the home has none."""
    path = config_path(home)
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(DEFAULT_CONFIG, encoding="utf-8")
    return path


def _is_control(char: str) -> bool:
    """Control, format and line/paragraph separators: nothing a header or a URL may hold."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def _key_pattern(key: str, section: str | None) -> str:
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    prefix = rf"(?:{re.escape(section)}\s*\.\s*)?" if section else ""
    return rf"^\s*\[?\s*{prefix}{quoted}\s*[\]=.]"


def _line_of(text: str, key: str, section: str | None = None) -> int:
    """The line where ``key`` is set (within ``[section]`` when given); 1 when not found."""
    lines = text.splitlines()
    start = 0
    if section is not None:
        header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
        start = next((n for n, line in enumerate(lines) if header.match(line)), 0)
    pattern = re.compile(_key_pattern(key, section))
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    if section is not None:  # a dotted key at top level: crawl.timeout = 5
        return _line_of(text, key)
    return 1


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return len(text)
    return offset


def _find_value(text: str, value: str, start: int) -> int:
    """Offset of the string literal ``value`` at or after ``start``; -1 when not written plainly."""
    found = [text.find(f"{q}{value}{q}", start) for q in ('"', "'")]
    found = [f for f in found if f >= 0]
    return min(found) if found else -1


def _shown(value: object) -> str:
    """A value as the user wrote it in TOML, cut short so an error stays one readable line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<an integer of {value.bit_length()} bits>"
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _read(path: Path) -> tuple[str, Any]:
    """The file's text and parsed document; a UTF-8 BOM (Windows editors add one) is skipped."""
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block the read
        raise ConfigError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; not a catalog.toml")
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start  # counted in the file as saved, BOM included
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})"
        ) from None
    # Imported here: read commands take the engine from catalog.toml with the standard
    # library's reader, and never pay for tomlkit (it keeps comments, for editing).
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return text, tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", 1)
        message = str(exc).replace("Unexpected character: '\\x00'", "unexpected end of file")
        raise ConfigError(f"{path}:{line}: not valid TOML: {message}") from exc
    except (ValueError, RecursionError) as exc:  # tomlkit's own guards normally catch these
        raise ConfigError(f"{path}: not valid TOML: {type(exc).__name__}") from exc


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host and no spaces or control characters."""
    value = value.strip()
    if (
        value.lower().startswith(("http://", "https://"))
        and len(value) <= MAX_TOPIC_CHARS
        and not any(c.isspace() or _is_control(c) for c in value)
        and _hostname(value)
    ):
        return value
    raise ConfigError(f"{_shown(value)} is not an http(s) URL")


def _hostname(url: str) -> str | None:
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return split.hostname


def check_topic(value: str) -> str:
    """A RAND topic slug or an http(s) listing URL; raises ConfigError otherwise."""
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):  # schemes are case-insensitive
        return check_url(value)
    if _SLUG.match(value) and len(value) <= MAX_TOPIC_CHARS:
        return value
    raise ConfigError(
        f"{_shown(value)} is neither a topic slug (like security-cooperation) nor a URL"
    )


def canonical_topic(value: str) -> str:
    """A checked topic as the catalog keeps it: a slug as it is, a URL in its canonical form
    (no fragment, no tracking parameters, no ``page=1``). Raises ConfigError when invalid."""
    value = check_topic(value)
    return value if "://" not in value else listing_key(value)


def _check_topics(path: Path, text: str, topics: object) -> list[str]:
    """Topic entries: non-empty slugs or URLs, each listing once, in canonical form.

    A duplicate is an error, not a warning: a cron crawl has nobody to read a warning, and a
    topic listed twice is a typo worth fixing. Two spellings of one listing (a slug and its
    URL, a URL with ``?utm_source=...``, ``#...`` or ``?page=1``) are a duplicate too: crawled
    as two walks of one listing, every crawl would fail as a pagination loop.
    """
    topics_line = _line_of(text, "topics")
    if not isinstance(topics, list):
        raise ConfigError(
            f"{path}:{topics_line}: topics must be a list of strings, not {_shown(topics)} "
            '(topics = ["security-cooperation"])'
        )
    checked: list[str] = []
    seen: dict[str, tuple[int, str]] = {}  # listing -> (line, entry as written)
    cursor = _offset_of_line(text, topics_line)  # entries are found in order, duplicates too
    for entry in topics:
        line = topics_line
        if isinstance(entry, str) and (found := _find_value(text, entry, cursor)) >= 0:
            cursor = found + len(entry) + 2
            line = text.count("\n", 0, found) + 1
        if not isinstance(entry, str):
            raise ConfigError(
                f"{path}:{line}: topics has {_shown(entry)}; topics must be a list of strings "
                "(topic slugs or http(s) URLs)"
            )
        try:
            value = canonical_topic(entry)
        except ConfigError as exc:
            raise ConfigError(f"{path}:{line}: topics: {exc}") from None
        key = listing_key(value)
        if key in seen:
            first_line, first = seen[key]
            if first.strip() == entry.strip():
                raise ConfigError(
                    f"{path}:{line}: topics lists {_shown(entry)} twice "
                    f"(also on line {first_line}; remove one)"
                )
            raise ConfigError(
                f"{path}:{line}: topics lists {_shown(entry)} and, on line {first_line}, "
                f"{_shown(first)}: both are the listing {key} (remove one)"
            )
        seen[key] = (line, entry)
        checked.append(value)
    return checked


def _check_crawl(path: Path, text: str, crawl: object) -> tuple[CrawlOptions, tuple[str, ...]]:
    """The [crawl] table's values, and a deprecation line per old name it uses."""
    if not isinstance(crawl, dict):
        raise ConfigError(f"{path}:{_line_of(text, 'crawl')}: [crawl] must be a table")
    deprecations: list[str] = []
    values: dict[str, Any] = {}
    for key, value in crawl.items():
        line = _line_of(text, key, "crawl")
        new = DEPRECATED_CRAWL_KEYS.get(key)
        if new is not None:
            if new in crawl:
                raise ConfigError(
                    f"{path}:{line}: [crawl] sets both {key} and {new}: keep {new} "
                    f"({key} is its old name)"
                )
            deprecations.append(f"{path}:{line}: {deprecation(key, new)}")
        rule = CRAWL_KEYS.get(new or key)
        if rule is None:
            raise ConfigError(f"{path}:{line}: unknown [crawl] setting {key!r} {_hint(key)}")
        problem = rule.problem(value)
        if problem is OUT_OF_RANGE:
            raise ConfigError(
                f"{path}:{line}: {key} = {_shown(value)} is out of range ({rule.describe(key)})"
            )
        if problem is not None:
            raise ConfigError(
                f"{path}:{line}: {key} has a bad value {_shown(value)}: "
                f"{problem} ({rule.describe(key)})"
            )
        values[new or key] = value
    if "contact" in values:
        values["contact"] = values["contact"].strip()
    return CrawlOptions(**values), tuple(deprecations)


def _hint(key: str, known: Iterable[str] = CRAWL_KEYS) -> str:
    """A did-you-mean for a misspelt setting, else the list of settings there are."""
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    return f"(did you mean {close[0]!r}?)" if close else f"(known: {', '.join(known)})"


def load_home_config(home: Path) -> HomeConfig:
    """Read (creating if needed) and validate catalog.toml; errors name the file and line.

    Everything is checked before a crawl does any work, so a bad value is one line on stderr
    and exit code 2, never a traceback or a hung cron job.
    """
    path = ensure_config(home)
    text, doc = _read(path)
    data = doc.unwrap()
    _check_top_keys(path, text, data)
    topics = _check_topics(path, text, data.get("topics", []))
    crawl, deprecations = _check_crawl(path, text, data.get("crawl", {}))
    _check_search(path, text, data.get("search", {}))
    return HomeConfig(path=path, topics=topics, crawl=crawl, deprecations=deprecations)


TOP_KEYS = ("topics", "crawl", "search")
SEARCH_KEYS = ("engine",)


def _check_top_keys(path: Path, text: str, data: dict[str, Any]) -> None:
    """Refuse a setting or table the file may not have: ``[serch]`` would otherwise be read
    as nothing, and the engine the user chose silently ignored."""
    for key in data:
        if key not in TOP_KEYS:
            what = "table" if isinstance(data[key], dict) else "setting"
            raise ConfigError(
                f"{path}:{_line_of(text, key)}: unknown {what} {key!r} {_hint(key, TOP_KEYS)}"
            )


def _check_search(path: Path, text: str, search: object) -> str | None:
    """The [search] table's engine (None when not set); unknown keys and engines refused."""
    if not isinstance(search, dict):
        raise ConfigError(f"{path}:{_line_of(text, 'search')}: [search] must be a table")
    for key in search:
        if key not in SEARCH_KEYS:
            line = _line_of(text, key, "search")
            raise ConfigError(
                f"{path}:{line}: unknown [search] setting {key!r} {_hint(key, SEARCH_KEYS)}"
            )
    engine = search.get("engine")
    if engine is not None and engine not in SEARCH_ENGINES:
        line = _line_of(text, "engine", "search")
        raise ConfigError(
            f"{path}:{line}: engine = {_shown(engine)} is not a search engine "
            f"(engines: {', '.join(SEARCH_ENGINES)})"
        )
    return engine


def search_engine(home: Path) -> str:
    """The search engine of a home: the environment beats catalog.toml beats the default.

    Read commands call this too, so it never creates catalog.toml and reads only the
    ``[search]`` table (with the standard library's TOML reader: no tomlkit import on a
    search); the rest of the file is checked by the commands that use it.
    """
    chosen = os.environ.get(ENV_SEARCH_ENGINE)
    if chosen is not None:
        if chosen.strip() not in SEARCH_ENGINES:
            raise ConfigError(
                f"{ENV_SEARCH_ENGINE}={_shown(chosen)} is not a search engine "
                f"(engines: {', '.join(SEARCH_ENGINES)})"
            )
        return chosen.strip()
    path = config_path(home)
    if not path.is_file():
        return DEFAULT_SEARCH_ENGINE
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomlkit reads it (and checks it) instead
        return _read_search_with_tomlkit(path) or DEFAULT_SEARCH_ENGINE
    try:
        raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):
        _read(path)  # says what is wrong, with the line, as every catalog.toml error does
        raise
    if not isinstance(data, dict):
        return DEFAULT_SEARCH_ENGINE
    _check_top_keys(path, text, data)
    return _check_search(path, text, data.get("search", {})) or DEFAULT_SEARCH_ENGINE


def _read_search_with_tomlkit(path: Path) -> str | None:
    text, doc = _read(path)
    data = doc.unwrap()
    _check_top_keys(path, text, data)
    return _check_search(path, text, data.get("search", {}))


@dataclass(frozen=True, slots=True)
class TopicsEdit:
    """catalog.toml's topics after an edit, and the entry that already named an added topic."""

    topics: list[str]
    already_listed: str | None = None


def edit_topics(home: Path, *, add: str | None = None, remove: str | None = None) -> TopicsEdit:
    """Add or remove one topic in catalog.toml, keeping the file's comments and layout.

    Topics are compared by the listing they name, so adding another spelling of a listed
    topic changes nothing (``already_listed`` says which entry has it), and removing takes
    any spelling of it. An added topic is written in its canonical form.
    """
    import tomlkit

    load_home_config(home)  # validate first: never rewrite a file we cannot read
    path = config_path(home)
    _, doc = _read(path)
    if "topics" not in doc:
        doc["topics"] = tomlkit.array()
    topics = doc["topics"]
    keys = [listing_key(str(t)) for t in topics]
    if add is not None:
        value = canonical_topic(add)
        if listing_key(value) in keys:
            listed = str(topics[keys.index(listing_key(value))])
            return TopicsEdit([str(t) for t in topics], already_listed=listed)
        topics.append(value)
    if remove is not None:
        try:
            key = listing_key(canonical_topic(remove))
        except ConfigError:
            key = remove
        if key not in keys:
            raise ConfigError(f"{remove!r} is not in the topics of {path}")
        del topics[keys.index(key)]
    partial = path.with_name(path.name + ".partial")
    partial.write_text(tomlkit.dumps(doc), encoding="utf-8")
    partial.replace(path)
    return TopicsEdit([str(t) for t in topics])
