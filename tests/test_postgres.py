"""The same code on PostgreSQL: migrations, a crawl with details, read-only SQL.

Runs against the server named by CATALOG_TEST_POSTGRES (default: the local one, user postgres)
in a database of its own (the ``pg_url`` fixture in conftest); skipped when no server answers,
except under CI=true, where that fails.
"""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import make_engine, upgrade
from catalog.models import Base
from tests.conftest import Site, invoke, run_catalog


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


def test_read_commands_on_an_empty_database_create_nothing(pg_url, tmp_path):
    home = tmp_path / "home"
    for command in (["stats"], ["sql", "SELECT 1 AS one"], ["runs"], ["export"]):
        result = invoke(home, "--db", pg_url, *command)
        assert result.exit_code == 1
        assert result.stderr == f"Error: no catalog at {pg_url}; run `catalog crawl` first\n"
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []  # no migration ran
    engine.dispose()
    assert not home.exists()
