"""The same code on PostgreSQL: migrations, a crawl with details, read-only SQL.

Runs against the server named by CATALOG_TEST_POSTGRES (default: the local one, user postgres)
in a database of its own, created and dropped here; skipped when no server answers.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from catalog.db import make_engine, upgrade
from catalog.models import Base
from tests.conftest import Site, invoke, run_catalog

SERVER = os.environ.get(
    "CATALOG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg")
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    name = f"catalog_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # no server here: nothing to test against
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at {SERVER}: {type(exc).__name__}")
    try:
        yield make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_migrations_match_the_models_on_postgres(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_crawl_search_and_sql_on_postgres(pg_url, demo_site: Site, tmp_path):
    home = tmp_path / "home"
    first = run_catalog(home, "--db", pg_url, "crawl", "--start-url", demo_site.topic_url())
    assert first.returncode == 0, first.stderr
    assert "new 42" in first.stdout and "details 41" in first.stdout
    again = run_catalog(
        home, "--db", pg_url, "crawl", "--full", "--start-url", demo_site.topic_url()
    )
    assert again.returncode == 0 and "new 0, updated 0, unchanged 42" in again.stdout

    count = invoke(home, "--db", pg_url, "sql", "SELECT count(*) AS n FROM publications", "--json")
    assert json.loads(count.stdout) == [{"n": 42}]
    by_author = invoke(
        home,
        "--db",
        pg_url,
        "sql",
        "SELECT count(*) AS n FROM publication_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE a.name = 'Derek Grossman'",
        "--json",
    )
    assert json.loads(by_author.stdout)[0]["n"] >= 2
    refused = invoke(home, "--db", pg_url, "sql", "DELETE FROM publications")
    assert refused.exit_code == 1 and "read-only" in refused.stderr
    assert json.loads(
        invoke(
            home, "--db", pg_url, "sql", "SELECT count(*) AS n FROM publications", "--json"
        ).stdout
    ) == [{"n": 42}]
    hits = json.loads(invoke(home, "--db", pg_url, "search", "alliances", "--json").stdout)
    assert hits and all(h["title"] for h in hits)
