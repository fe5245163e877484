"""Shared fixtures: local RAND-shaped sites on 127.0.0.1, catalogs built from them, and
PostgreSQL databases of their own.

Crawls run the real command line in a subprocess (Scrapy's reactor starts once per process);
read-only commands run in-process through click's CliRunner.

Tests that must hold on both backends take ``backend`` (a new, empty catalog of their own:
a SQLite file in the home, or a new PostgreSQL database) or ``crawled_backend`` (the demo's two
topics, crawled once per backend per session; read-only). Both are :class:`Catalog` objects
whose ``run``, ``invoke`` and ``rows`` pass ``--db`` when there is one, and their test ids
read ``[sqlite]`` and ``[postgresql]``.

Tests that must hold on both search engines take ``search_engine`` (ids ``[whoosh]`` and
``[tantivy]``): it sets ``CATALOG_SEARCH_ENGINE`` for the test, which every command the test
runs (in-process or in a subprocess) inherits. ``searched_backend`` is ``crawled_backend`` with
its own home per engine, its index built by that engine once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from catalog.cli import cli
from catalog.demo import DEMO_SITE
from catalog.localsite import LocalSite, serve

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOPIC = "security-cooperation"
DEMO_PUBLICATIONS = 42  # distinct publications in the demo's security-cooperation topic
# The PostgreSQL server tests create their databases on (default: the local one, user postgres).
PG_SERVER = os.environ.get(
    "CATALOG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Site:
    root: Path
    base: str
    server: LocalSite

    def topic_url(self, slug: str = TOPIC) -> str:
        return f"{self.base}/topics/{slug}.html"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CATALOG_DB", "CATALOG_HOME")}
    return {**env, **extra}


def catalog_command(home: Path, *args: str, db: str | None = None) -> list[str]:
    """``python -m catalog --home HOME [--db URL] ARGS``."""
    return [sys.executable, "-m", "catalog", "--home", str(home), *_db_args(db), *args]


def _db_args(db: str | None) -> list[str]:
    return ["--db", db] if db else []


def run_catalog(
    home: Path, *args: str, db: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``python -m catalog --home HOME [--db URL] ARGS`` as a user would, in its own process."""
    return subprocess.run(
        catalog_command(home, *args, db=db),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        cwd=REPO,
    )


def invoke(home: Path, *args: str, db: str | None = None) -> Result:
    """Run a command in-process; for commands that do not crawl."""
    return CliRunner().invoke(
        cli, ["--home", str(home), *_db_args(db), *args], catch_exceptions=False
    )


# --- both search engines ---------------------------------------------------------------------

SEARCH_ENGINES = ["whoosh", "tantivy"]
ENV_SEARCH_ENGINE = "CATALOG_SEARCH_ENGINE"


@pytest.fixture(params=SEARCH_ENGINES)
def search_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The search engine a test runs on (``[whoosh]``, ``[tantivy]``), for all its commands."""
    monkeypatch.setenv(ENV_SEARCH_ENGINE, request.param)
    return request.param


def build_index(folder: Path, docs: list[dict], engine: str, revision: int = 0):
    """An index of bare records (rows as the catalog reads them, each with an ``id``) built by
    ``engine``, for library tests that need no catalog."""
    from catalog.index import IndexState, open_index

    index = open_index(folder, engine)
    index.rebuild_documents(docs, IndexState(catalog_id=1, revision=revision))
    return index


def write_documents(index, docs: list[dict], delete: tuple[int, ...] = ()) -> int:
    """Add or replace bare records by id (and delete ``delete``) in one commit, as a sync
    does, without recording a revision."""
    from catalog.index import IndexDocument

    return index.engine.write(
        index.folder, [IndexDocument.from_row(d) for d in docs], delete=delete
    )


def texts_of(docs: list[dict]):
    """What a catalog gives the index for snippets, from bare records: ``texts=`` of search."""
    from catalog.index import page_text
    from catalog.index.model import HitText

    by_id = {
        d["id"]: HitText(d.get("title") or "", d.get("summary") or "", page_text(d)) for d in docs
    }
    return lambda ids: {i: by_id[i] for i in ids if i in by_id}


def hits_of(index, text: str, *, sort: str = "relevance", limit: int = 20, texts=None, **filters):
    """The hits of one search, in a reader of their own (snippets when ``texts`` is given)."""
    from catalog.index import Filters

    with index.open_reader() as reader:
        found = reader.search(text, filters=Filters(**filters), sort=sort, limit=limit, texts=texts)
        return found.hits


def db_url(target: Path | str) -> str:
    """A catalog's database URL: a home (its SQLite file) or a URL as it is."""
    if isinstance(target, Path):
        return f"sqlite:///{target / 'catalog.db'}"
    return target


def _qmark_to_named(sql: str) -> str:
    """``?`` placeholders (outside quoted literals) as ``:p0``, ``:p1``, ... for ``text()``."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    count = 0
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        pieces = parts[i].split("?")
        out = pieces[0]
        for piece in pieces[1:]:
            out += f":p{count}{piece}"
            count += 1
        parts[i] = out
    return "".join(parts)


def _plain(value: object) -> object:
    """A value as SQLite hands it out: dates and times in ISO text, decimals as numbers.

    PostgreSQL returns ``date``/``datetime`` (and ``Decimal`` for some aggregates) where SQLite
    returns text and floats; the same assertion then holds on both backends.
    """
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def db_rows(target: Path | str, sql: str, *params: object) -> list[tuple]:
    """Rows of a query against a catalog, read through SQLAlchemy as a user's SQL tool would.

    ``target`` is a home (its SQLite file) or a database URL. ``?`` placeholders work on both
    backends; values come back normalised by :func:`_plain`.
    """
    engine = create_engine(db_url(target), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            result = conn.execute(
                text(_qmark_to_named(sql)), {f"p{i}": p for i, p in enumerate(params)}
            )
            return [tuple(_plain(v) for v in row) for row in result]
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Catalog:
    """A catalog on one backend: a home, and the database URL given as ``--db`` (None: the
    home's SQLite file)."""

    backend: str  # "sqlite" | "postgresql"
    home: Path
    db: str | None = None

    @property
    def target(self) -> Path | str:
        return self.db or self.home

    def args(self) -> list[str]:
        """Global options for ``catalog`` that point at this catalog."""
        return ["--home", str(self.home), *_db_args(self.db)]

    def command(self, *args: str) -> list[str]:
        return catalog_command(self.home, *args, db=self.db)

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return run_catalog(self.home, *args, db=self.db, timeout=timeout)

    def invoke(self, *args: str) -> Result:
        return invoke(self.home, *args, db=self.db)

    def rows(self, sql: str, *params: object) -> list[tuple]:
        return db_rows(self.target, sql, *params)

    def with_home(self, home: Path) -> Catalog:
        """The same database seen from another home (another machine's index and lock)."""
        if self.db is None:
            raise ValueError("a SQLite catalog lives in its home")
        return Catalog(self.backend, home, self.db)


@pytest.fixture(scope="session")
def demo_site() -> Iterator[Site]:
    with serve(DEMO_SITE) as server:
        yield Site(DEMO_SITE, server.url, server)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A private, editable copy of the demo site, served on its own port."""
    root = tmp_path / "site"
    shutil.copytree(DEMO_SITE, root)
    with serve(root) as server:
        yield Site(root, server.url, server)


@pytest.fixture
def long_site(tmp_path: Path) -> Iterator[Site]:
    """A private copy of the ten-page `regional-security` topic (five teasers a page)."""
    root = tmp_path / "long-site"
    shutil.copytree(FIXTURES / "site", root)
    with serve(root) as server:
        yield Site(root, server.url, server)


@pytest.fixture(scope="session")
def crawled_home(tmp_path_factory: pytest.TempPathFactory, demo_site: Site) -> Path:
    """A SQLite catalog of both demo topics. Shared: tests must only read it."""
    home = tmp_path_factory.mktemp("crawled") / "home"
    _crawl_demo(Catalog("sqlite", home), demo_site)
    return home


def _crawl_demo(catalog: Catalog, demo_site: Site) -> None:
    result = catalog.run(
        "crawl",
        "--start-url",
        demo_site.topic_url(),
        "--start-url",
        demo_site.topic_url("alliances-and-partnerships"),
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def home_copy(crawled_home: Path, tmp_path: Path) -> Path:
    """A private copy of the crawled catalog, for tests that change it."""
    target = tmp_path / "home"
    shutil.copytree(crawled_home, target)
    return target


# --- PostgreSQL ------------------------------------------------------------------------------


def _no_postgres(reason: str) -> None:
    """Skip on a developer's machine without a server; in CI a missing server is a failure."""
    message = f"no PostgreSQL server at {PG_SERVER}: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the test server's maintenance database."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _no_postgres("psycopg is not installed (pip install -e '.[test]')")
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: no server to test against
        admin.dispose()
        _no_postgres(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    yield admin
    admin.dispose()


@contextmanager
def pg_database(admin: Engine) -> Iterator[str]:
    """A new, uniquely named database on the test server, dropped (connections and all)."""
    name = f"catalog_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """The URL of an empty database of this test's own."""
    with pg_database(pg_admin) as url:
        yield url


# --- both backends ---------------------------------------------------------------------------

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The backend a test runs on; the one parameter behind ``backend`` and friends."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_admin")  # skips (or fails under CI) without a server
    return request.param


@pytest.fixture
def backend(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Catalog:
    """An empty catalog of this test's own on each backend (``[sqlite]``, ``[postgresql]``)."""
    home = tmp_path / "home"
    if backend_name == "sqlite":
        return Catalog("sqlite", home)
    return Catalog("postgresql", home, request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def crawled_postgres(
    pg_admin: Engine, demo_site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Catalog]:
    """Both demo topics crawled into a PostgreSQL database, once per session; read-only."""
    home = tmp_path_factory.mktemp("crawled-pg") / "home"
    with pg_database(pg_admin) as url:
        catalog = Catalog("postgresql", home, url)
        _crawl_demo(catalog, demo_site)
        yield catalog


@pytest.fixture
def crawled_backend(backend_name: str, request: pytest.FixtureRequest) -> Catalog:
    """The demo's two topics crawled on each backend, shared by the session: only read it."""
    if backend_name == "sqlite":
        return Catalog("sqlite", request.getfixturevalue("crawled_home"))
    return request.getfixturevalue("crawled_postgres")


@pytest.fixture(scope="session")
def engine_homes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Homes of the crawled catalogs per (backend, engine), made on first use."""
    return {}


@pytest.fixture
def searched_backend(
    crawled_backend: Catalog,
    search_engine: str,
    engine_homes: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Catalog:
    """The crawled demo catalog on each backend, searched with each engine; only read it.

    The crawl indexed it with the default engine; each other engine gets a copy of the home
    (SQLite) or a home of its own over the same database (PostgreSQL), indexed once.
    """
    key = (crawled_backend.backend, search_engine)
    if key not in engine_homes:
        home = tmp_path_factory.mktemp(f"searched-{crawled_backend.backend}-{search_engine}")
        home = home / "home"
        if crawled_backend.db is None:
            shutil.copytree(crawled_backend.home, home)
            catalog = Catalog(crawled_backend.backend, home)
        else:
            catalog = crawled_backend.with_home(home)
        result = catalog.invoke("index", "sync")
        assert result.exit_code == 0, result.output
        engine_homes[key] = home
    home = engine_homes[key]
    if crawled_backend.db is None:
        return Catalog(crawled_backend.backend, home)
    return crawled_backend.with_home(home)


@pytest.fixture
def crawled_copy(crawled_backend: Catalog, tmp_path: Path) -> Catalog:
    """A private copy of the crawled home (index, lock; the SQLite file) for tests that change
    the home. On PostgreSQL the database stays the shared one: such tests must not write it."""
    target = tmp_path / "home"
    shutil.copytree(crawled_backend.home, target)
    return Catalog(crawled_backend.backend, target, crawled_backend.db)


# --- `catalog serve` in a process of its own ----------------------------------------------------


@dataclass
class Served:
    """A running `catalog serve`: its base URL, process and every line it wrote to stderr."""

    url: str
    process: subprocess.Popen
    log: list[str]

    def get(self, path: str, **kwargs):
        import httpx2 as httpx

        return httpx.get(self.url.rstrip("/") + path, timeout=60, **kwargs)


@contextmanager
def served(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 60, **popen):
    """Start ``command`` (a `catalog ... serve --port 0`), wait for its readiness line
    (``serving HOME at URL``, never a sleep), yield it, and stop it with SIGTERM."""
    import queue
    import threading
    import time

    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**(env or {})),
        cwd=REPO,
        **popen,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def drain() -> None:
        for line in process.stderr:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    url = None
    try:
        while url is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                process.wait(timeout=30)
                raise AssertionError(f"catalog serve exited {process.returncode}: {''.join(log)}")
            match = re.search(r"^serving .* at (http://\S+) ", line)
            if match:
                url = match.group(1)
        yield Served(url, process, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


# --- markers: what a test needs, read from the fixtures it uses ------------------------------
#
# `pytest -m "not slow"` is the loop to run while working (under a minute on two cores);
# plain `pytest` (CI) runs everything. A test is marked by the fixtures it asks for, so a new
# test needs no mark of its own unless it is slow for another reason (then mark it by hand,
# or its module with `pytestmark`).

# Fixtures that start a real crawl or server in a process of their own.
E2E_FIXTURES = {
    "demo_site",
    "site",
    "long_site",
    "crawled_home",
    "crawled_postgres",
    "crawled_backend",
    "crawled_copy",
    "home_copy",
    "searched_backend",
}
# Fixtures whose tests crawl a private site of their own, every one: seconds each.
SLOW_FIXTURES = {"site", "long_site"}
POSTGRES_FIXTURES = {"pg_admin", "pg_url", "crawled_postgres"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        marks = set()
        if names & E2E_FIXTURES:
            marks.add("e2e")
        if names & SLOW_FIXTURES:
            marks.add("slow")
        # `backend` and friends ask for PostgreSQL at run time, by their parameter
        if names & POSTGRES_FIXTURES or params.get("backend_name") == "postgresql":
            marks.add("postgres")
        if item.get_closest_marker("scrapyd") or item.get_closest_marker("bench"):
            marks.add("slow")
        for mark in sorted(marks):
            item.add_marker(mark)
