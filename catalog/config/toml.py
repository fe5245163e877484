"""<home>/catalog.toml read and checked: errors name the file, line, key and allowed range."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config.rules import (
    CRAWL_KEYS,
    DEFAULT_SEARCH_ENGINE,
    DEPRECATED_CRAWL_KEYS,
    ENV_SEARCH_ENGINE,
    OUT_OF_RANGE,
    SEARCH_ENGINES,
    SEARCH_KEYS,
    TOP_KEYS,
    CrawlOptions,
    HomeConfig,
    deprecation,
)
from catalog.config.text import MAX_CONFIG_BYTES, line_of, read, shown
from catalog.config.topics import canonical_topic, check_topics
from catalog.errors import ConfigError
from catalog.urls import listing_key

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
# engine = "whoosh"  # or "tantivy": native code, for large catalogs (see docs/search.md)
"""


def config_path(home: Path) -> Path:
    return home / CONFIG_NAME


def ensure_config(home: Path) -> Path:
    """Create the commented default catalog.toml when the home has none."""
    path = config_path(home)
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(DEFAULT_CONFIG, encoding="utf-8")
    return path


def _check_crawl(path: Path, text: str, crawl: object) -> tuple[CrawlOptions, tuple[str, ...]]:
    """The [crawl] table's values, and a deprecation line per old name it uses."""
    if not isinstance(crawl, dict):
        raise ConfigError(f"{path}:{line_of(text, 'crawl')}: [crawl] must be a table")
    deprecations: list[str] = []
    values: dict[str, Any] = {}
    for key, value in crawl.items():
        line = line_of(text, key, "crawl")
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
                f"{path}:{line}: {key} = {shown(value)} is out of range ({rule.describe(key)})"
            )
        if problem is not None:
            raise ConfigError(
                f"{path}:{line}: {key} has a bad value {shown(value)}: "
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
    text, doc = read(path)
    data = doc.unwrap()
    _check_top_keys(path, text, data)
    topics = check_topics(path, text, data.get("topics", []))
    crawl, deprecations = _check_crawl(path, text, data.get("crawl", {}))
    _check_search(path, text, data.get("search", {}))
    return HomeConfig(path=path, topics=topics, crawl=crawl, deprecations=deprecations)


def _check_top_keys(path: Path, text: str, data: dict[str, Any]) -> None:
    """Refuse a setting or table the file may not have: ``[serch]`` would otherwise be read
    as nothing, and the engine the user chose silently ignored."""
    for key in data:
        if key not in TOP_KEYS:
            what = "table" if isinstance(data[key], dict) else "setting"
            raise ConfigError(
                f"{path}:{line_of(text, key)}: unknown {what} {key!r} {_hint(key, TOP_KEYS)}"
            )


def _check_search(path: Path, text: str, search: object) -> str | None:
    """The [search] table's engine (None when not set); unknown keys and engines refused."""
    if not isinstance(search, dict):
        raise ConfigError(f"{path}:{line_of(text, 'search')}: [search] must be a table")
    for key in search:
        if key not in SEARCH_KEYS:
            line = line_of(text, key, "search")
            raise ConfigError(
                f"{path}:{line}: unknown [search] setting {key!r} {_hint(key, SEARCH_KEYS)}"
            )
    engine = search.get("engine")
    if engine is not None and engine not in SEARCH_ENGINES:
        line = line_of(text, "engine", "search")
        raise ConfigError(
            f"{path}:{line}: engine = {shown(engine)} is not a search engine "
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
                f"{ENV_SEARCH_ENGINE}={shown(chosen)} is not a search engine "
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
        read(path)  # says what is wrong, with the line, as every catalog.toml error does
        raise
    if not isinstance(data, dict):
        return DEFAULT_SEARCH_ENGINE
    _check_top_keys(path, text, data)
    return _check_search(path, text, data.get("search", {})) or DEFAULT_SEARCH_ENGINE


def _read_search_with_tomlkit(path: Path) -> str | None:
    text, doc = read(path)
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
    _, doc = read(path)
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
