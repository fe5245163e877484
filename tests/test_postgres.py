"""What only PostgreSQL has: migrations that match the models, read-only SQL enforced by the
server, and read commands on an empty database.

Runs against the server named by CATALOG_TEST_POSTGRES (default: the local one, user postgres)
in a database of its own (``pg_url``) or the session's crawled one (``crawled_postgres``);
skipped when no server answers, except under CI=true, where that fails.

Crawls on PostgreSQL are tested with SQLite's in test_crawl and test_details (``[postgresql]``),
read commands in test_cli, `catalog sql` with ``%`` and ``-p`` in test_sql, and crawlers
sharing one database in test_concurrency.
"""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from catalog.db import make_engine, upgrade
from tests.conftest import DEMO_PUBLICATIONS, Catalog, invoke
from tests.models import Base


def test_migrations_match_the_models_on_postgres(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_crawl_search_and_sql_on_postgres(crawled_postgres: Catalog):
    catalog = crawled_postgres

    def sql_json(query: str) -> list[dict]:
        result = catalog.invoke("sql", query, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert sql_json("SELECT count(*) AS n FROM publications") == [{"n": DEMO_PUBLICATIONS}]
    [by_author] = sql_json(
        "SELECT count(*) AS n FROM publication_authors pa JOIN authors a ON a.id = pa.author_id "
        "WHERE a.name = 'Derek Grossman'"
    )
    assert by_author["n"] >= 2
    # the server refuses the write: every transaction of a read command is read-only
    refused = catalog.invoke("sql", "DELETE FROM publications")
    assert refused.exit_code == 1 and "read-only" in refused.stderr
    assert sql_json("SELECT count(*) AS n FROM publications") == [{"n": DEMO_PUBLICATIONS}]
    hits = json.loads(catalog.invoke("search", "alliances", "--json").stdout)
    assert hits and all(h["title"] for h in hits)


def test_read_commands_on_an_empty_database_create_nothing(pg_url, tmp_path):
    home = tmp_path / "home"
    for command in (["stats"], ["sql", "SELECT 1 AS one"], ["runs"], ["export"], ["changes"]):
        result = invoke(home, *command, db=pg_url)
        assert result.exit_code == 1
        assert result.stderr == f"Error: no catalog at {pg_url}; run `catalog crawl` first\n"
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []  # no migration ran
    engine.dispose()
    assert not home.exists()
