"""Shared fixtures: local RAND-shaped sites on 127.0.0.1, catalogs built from them, and
PostgreSQL databases of their own.

Crawls run the real command line in a subprocess (Scrapy's reactor starts once per process);
read-only commands run in-process through click's CliRunner.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

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


def catalog_command(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "catalog", "--home", str(home), *args]


def run_catalog(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python -m catalog --home HOME ARGS`` as a user would, in its own process."""
    return subprocess.run(
        catalog_command(home, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        cwd=REPO,
    )


def db_rows(home: Path, sql: str, *params: object) -> list[tuple]:
    """Rows of a query against a home's SQLite catalog, read as a user's SQL tool would."""
    with sqlite3.connect(home / "catalog.db") as conn:
        return conn.execute(sql, params).fetchall()


def invoke(home: Path, *args: str) -> Result:
    """Run a command in-process; for commands that do not crawl."""
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


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
    """A catalog of both demo topics. Shared: tests must only read it."""
    home = tmp_path_factory.mktemp("crawled") / "home"
    result = run_catalog(
        home,
        "crawl",
        "--start-url",
        demo_site.topic_url(),
        "--start-url",
        demo_site.topic_url("alliances-and-partnerships"),
    )
    assert result.returncode == 0, result.stderr
    return home


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
