"""Where a catalog lives (home folder, database URL, index) and its catalog.toml."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
import tomlkit
from sqlalchemy.engine import URL
from tomlkit.exceptions import TOMLKitError

from catalog.errors import ConfigError

APP_NAME = "thinktank-catalog"
ENV_HOME = "CATALOG_HOME"
ENV_DB = "CATALOG_DB"


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
# Edit here or with `catalog topics add|remove|list`.
topics = [
    "security-cooperation",
]

[crawl]
# contact = "mailto:you@example.org"  # put in the User-Agent so site owners can reach you
# delay = 1.0                         # seconds between requests to one host (rand.org: >= 1)
# timeout = 30                        # seconds before a request gives up
# retries = 3                         # retries of 429, 5xx and timeouts, with backoff
"""
CRAWL_KEYS = {"contact": str, "delay": (int, float), "timeout": (int, float), "retries": int}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    contact: str | None = None
    delay: float | None = None
    timeout: float | None = None
    retries: int | None = None


@dataclass(frozen=True, slots=True)
class HomeConfig:
    path: Path
    topics: list[str]
    crawl: CrawlOptions


def config_path(home: Path) -> Path:
    return home / CONFIG_NAME


def ensure_config(home: Path) -> Path:
    """Create the commented default catalog.toml when the home has none."""
    path = config_path(home)
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(DEFAULT_CONFIG, encoding="utf-8")
    return path


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*\[?\s*{re.escape(key)}\s*[\]=]", line):
            return number
    return 1


def _read(path: Path) -> tuple[str, tomlkit.TOMLDocument]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return text, tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", 1)
        message = str(exc).replace("Unexpected character: '\\x00'", "unexpected end of file")
        raise ConfigError(f"{path}:{line}: not valid TOML: {message}") from exc


def check_url(value: str) -> str:
    """An absolute http(s) URL; raises ConfigError otherwise."""
    value = value.strip()
    if value.startswith(("http://", "https://")) and urlsplit(value).hostname:
        return value
    raise ConfigError(f"{value!r} is not an http(s) URL")


def check_topic(value: str) -> str:
    """A RAND topic slug or an http(s) listing URL; raises ConfigError otherwise."""
    value = value.strip()
    if value.startswith(("http://", "https://")) and urlsplit(value).hostname:
        return value
    if _SLUG.match(value):
        return value
    raise ConfigError(f"{value!r} is neither a topic slug (like security-cooperation) nor a URL")


def load_home_config(home: Path) -> HomeConfig:
    """Read (creating if needed) and validate catalog.toml; errors name the file and line."""
    path = ensure_config(home)
    text, doc = _read(path)
    data = doc.unwrap()
    for key in data:
        if key not in ("topics", "crawl"):
            raise ConfigError(
                f"{path}:{_line_of(text, key)}: unknown setting {key!r} "
                "(expected topics and [crawl])"
            )
    topics = data.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ConfigError(f"{path}:{_line_of(text, 'topics')}: topics must be a list of strings")
    for topic in topics:
        try:
            check_topic(topic)
        except ConfigError as exc:
            raise ConfigError(f"{path}:{_line_of(text, 'topics')}: {exc}") from None
    crawl = data.get("crawl", {})
    if not isinstance(crawl, dict):
        raise ConfigError(f"{path}:{_line_of(text, 'crawl')}: [crawl] must be a table")
    for key, value in crawl.items():
        expected = CRAWL_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{path}:{_line_of(text, key)}: unknown [crawl] setting {key!r} "
                f"(known: {', '.join(CRAWL_KEYS)})"
            )
        if (
            not isinstance(value, expected)
            or isinstance(value, bool)
            or (not isinstance(value, str) and value < 0)
        ):
            raise ConfigError(f"{path}:{_line_of(text, key)}: {key} has a bad value {value!r}")
    return HomeConfig(path=path, topics=list(topics), crawl=CrawlOptions(**crawl))


def edit_topics(home: Path, *, add: str | None = None, remove: str | None = None) -> list[str]:
    """Add or remove one topic in catalog.toml, keeping the file's comments and layout."""
    load_home_config(home)  # validate first: never rewrite a file we cannot read
    path = config_path(home)
    _, doc = _read(path)
    if "topics" not in doc:
        doc["topics"] = tomlkit.array()
    topics = doc["topics"]
    if add is not None:
        value = check_topic(add)
        if value not in topics:
            topics.append(value)
    if remove is not None:
        if remove not in topics:
            raise ConfigError(f"{remove!r} is not in the topics of {path}")
        del topics[list(topics).index(remove)]
    partial = path.with_name(path.name + ".partial")
    partial.write_text(tomlkit.dumps(doc), encoding="utf-8")
    partial.replace(path)
    return [str(t) for t in topics]
