"""The schema exists only through Alembic, and the migrations match the models."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from catalog.db import HEAD_REVISION, alembic_config, make_engine, needs_upgrade, upgrade
from tests.conftest import run_catalog
from tests.models import Base


def test_upgrade_creates_the_public_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert needs_upgrade(engine)
    upgrade(engine)
    assert not needs_upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"publications", "topics", "publication_topics", "crawl_runs"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("publications")}
    assert {
        "id",
        "url",
        "title",
        "content_type",
        "published_on",
        "date_text",
        "summary",
        "image_url",
        "image_caption",
        "first_seen_at",
        "last_seen_at",
    } <= columns
    run_columns = {c["name"] for c in inspect(engine).get_columns("crawl_runs")}
    assert {
        "started_at",
        "finished_at",
        "status",
        "pages_fetched",
        "items_seen",
        "items_new",
        "items_updated",
        "items_unchanged",
        "items_skipped",
        "details_skipped",
    } <= run_columns


def test_models_and_migrations_agree(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(make_engine(url))
    command.downgrade(alembic_config(url), "base")
    assert "publications" not in inspect(make_engine(url)).get_table_names()
    command.upgrade(alembic_config(url), "head")
    assert "publications" in inspect(make_engine(url)).get_table_names()


def test_head_revision_constant_matches_the_scripts(tmp_path):
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'c.db'}"))
    assert script.get_heads() == [HEAD_REVISION]


def test_0004_recanonicalises_urls_and_merges_collisions_without_losing_data(tmp_path):
    """caf%c3%a9 / caf%C3%A9, reordered queries and tracking parameters become one row."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'c.db'}"
    command.upgrade(alembic_config(url), "0003")
    base = "https://www.rand.org/pubs/research_reports"
    rows = [  # id, url, title, summary, first_seen, last_seen, subtitle, details_fetched_at
        (1, f"{base}/caf%c3%a9.html", "Old title", "", "2020-01-05", "2020-02-01", "Sub", None),
        (
            2,
            f"{base}/caf%C3%A9.html",
            "New title",
            "A summary",
            "2020-01-01",
            "2021-03-01",
            None,
            "2021-03-01 10:00:00",
        ),
        (3, f"{base}/RR1.html?b=2&a=1", "Query", "s", "2019-06-01", "2019-06-01", None, None),
        (
            4,
            f"{base}/RR1.html?a=1&b=2&utm_source=x",
            "Query",
            "s2",
            "2019-07-01",
            "2022-01-01",
            None,
            None,
        ),
        (5, f"{base}/RR2.html", "Alone", "s", "2019-01-01", "2019-01-01", None, None),
    ]
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.executemany(
            "INSERT INTO publications (id, url, title, content_type, date_text, summary, "
            "first_seen_at, last_seen_at, subtitle, details_fetched_at) "
            "VALUES (?, ?, ?, 'Report', '', ?, ?, ?, ?, ?)",
            [(i, u, t, s, f, la, sub, d) for i, u, t, s, f, la, sub, d in rows],
        )
        conn.executemany(
            "INSERT INTO topics (id, slug, name, url, walk_state) VALUES (?, ?, ?, ?, 'complete')",
            [(1, "a", "A", "u"), (2, "b", "B", "u")],
        )
        conn.executemany(
            "INSERT INTO publication_topics VALUES (?, ?, 'list', 'l', ?, ?, ?, NULL)",
            [
                (1, 1, 3, "2020-01-05", "2020-02-01"),
                (2, 1, 1, "2020-01-01", "2021-03-01"),
                (2, 2, 2, "2021-01-01", "2021-03-01"),
            ],
        )
        conn.execute("INSERT INTO authors (id, name) VALUES (1, 'Ann Author')")
        conn.execute("INSERT INTO publication_authors VALUES (2, 1, 1)")
        conn.execute(
            "INSERT INTO crawl_runs (id, started_at, status, spider, pages_fetched, items_seen, "
            "items_new, items_updated, items_unchanged, items_skipped) "
            "VALUES (1, '2020-01-01', 'succeeded', 'rand_topic', 0, 0, 0, 0, 0, 0)"
        )
        conn.executemany(
            "INSERT INTO publication_changes (crawl_run_id, publication_id, kind, changed_at) "
            "VALUES (1, ?, 'added', '2020-01-01')",
            [(1,), (2,), (3,), (4,), (5,)],
        )

    upgrade(make_engine(url))

    with sqlite3.connect(tmp_path / "c.db") as conn:
        pubs = conn.execute(
            "SELECT id, url, title, summary, first_seen_at, last_seen_at, subtitle "
            "FROM publications ORDER BY id"
        ).fetchall()
        assert [p[1] for p in pubs] == [
            f"{base}/caf%C3%A9.html",
            f"{base}/RR1.html?a=1&b=2",
            f"{base}/RR2.html",
        ]
        cafe, query, alone = pubs
        # the survivor is the row first seen; the freshest non-empty values win; none is lost
        assert cafe[0] == 2 and cafe[2:4] == ("New title", "A summary")
        assert cafe[6] == "Sub" and cafe[4].startswith("2020-01-01")
        assert cafe[5].startswith("2021-03-01")
        assert query[0] == 3 and query[3] == "s2" and query[5].startswith("2022-01-01")
        assert alone[0] == 5
        # listings: both topics, one row per (topic, section), earliest first sighting
        links = conn.execute(
            "SELECT topic_id, substr(first_seen_at, 1, 10) FROM publication_topics "
            "WHERE publication_id = 2 ORDER BY topic_id"
        ).fetchall()
        assert links == [(1, "2020-01-01"), (2, "2021-01-01")]
        assert conn.execute("SELECT count(*) FROM publication_topics").fetchone() == (2,)
        assert conn.execute("SELECT publication_id FROM publication_authors").fetchall() == [(2,)]
        # history moved to the survivor, and the merge itself is recorded
        assert conn.execute(
            "SELECT publication_id, count(*) FROM publication_changes WHERE kind = 'added' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall() == [(2, 2), (3, 2), (5, 1)]
        merged = conn.execute(
            "SELECT publication_id, old_value, new_value FROM publication_changes "
            "WHERE kind = 'merged' ORDER BY publication_id"
        ).fetchall()
        assert merged == [
            (2, f"{base}/caf%c3%a9.html", f"{base}/caf%C3%A9.html"),
            (3, f"{base}/RR1.html?a=1&b=2&utm_source=x", f"{base}/RR1.html?a=1&b=2"),
        ]
        assert conn.execute(
            "SELECT spider, status FROM crawl_runs WHERE id = ("
            "SELECT crawl_run_id FROM publication_changes WHERE kind = 'merged' LIMIT 1)"
        ).fetchall() == [("migration 0004", "succeeded")]


def test_downgrade_and_upgrade_keep_every_row(tmp_path):
    """SQLite batch migrations rebuild tables; foreign-key cascades must not eat child rows."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(make_engine(url))
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute(
            "INSERT INTO publications (id, url, title, content_type, date_text, summary, "
            "first_seen_at, last_seen_at) VALUES (1, 'u', 't', '', '', '', '2020-01-01', "
            "'2020-01-01')"
        )
        conn.execute("INSERT INTO topics (id, slug, name, url) VALUES (1, 'a', 'A', 'u')")
        conn.execute(
            "INSERT INTO publication_topics VALUES (1, 1, 'list', 'l', 1, '2020-01-01', "
            "'2020-01-01', NULL)"
        )
        conn.execute(
            "INSERT INTO crawl_runs (id, started_at, status, spider, pages_fetched, items_seen, "
            "items_new, items_updated, items_unchanged, items_skipped) "
            "VALUES (1, '2020-01-01', 'succeeded', 'x', 0, 0, 0, 0, 0, 0)"
        )
        conn.execute(
            "INSERT INTO publication_changes (crawl_run_id, publication_id, kind, changed_at) "
            "VALUES (1, 1, 'added', '2020-01-01')"
        )
    counts = (
        "SELECT (SELECT count(*) FROM publication_topics), "
        "(SELECT count(*) FROM publication_changes)"
    )
    for target in ("0005", "0003", "0002", "head"):
        if target == "head":
            command.upgrade(alembic_config(url), target)
        else:
            command.downgrade(alembic_config(url), target)
        with sqlite3.connect(tmp_path / "c.db") as conn:
            assert conn.execute(counts).fetchone() == (1, 1), target
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_db_upgrade_says_what_it_did(backend):
    """Created on an empty database, then up to date; never a bare "up to date" for a new one."""
    created = backend.run("db", "upgrade")
    assert created.returncode == 0, created.stderr
    assert created.stderr.startswith(f"created the catalog schema (revision {HEAD_REVISION}) in")
    again = backend.run("db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith(f"catalog schema is up to date (revision {HEAD_REVISION})")
    if backend.db:  # the URL, never a password
        assert again.stderr.strip().endswith(backend.db.rsplit("@", 1)[1])


def test_db_upgrade_from_an_older_revision_says_from_what(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    command.upgrade(alembic_config(url), "0004")
    result = run_catalog(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"upgraded the catalog schema from revision 0004 to {HEAD_REVISION}" in result.stderr


@pytest.mark.slow  # every command in a process
def test_a_newer_catalog_is_refused_by_every_command_in_the_same_words(backend):
    """db upgrade and crawl said `unexpected CommandError`; now they say what reads say."""
    assert backend.run("db", "upgrade").returncode == 0
    newer = f"{int(HEAD_REVISION) + 1:04d}"
    engine = make_engine(backend.db or f"sqlite:///{backend.home / 'catalog.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": newer})
    engine.dispose()
    expected = (
        f"Error: catalog schema is at revision {newer}, newer than this version reads "
        f"({HEAD_REVISION}): upgrade thinktank-catalog"
    )
    unreachable = "http://127.0.0.1:9/topics/x.html"  # nothing may be fetched anyway
    for args in (("stats",), ("db", "upgrade"), ("crawl", "--start-url", unreachable)):
        result = backend.run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.strip().splitlines() == [expected], args
    assert backend.rows("SELECT version_num FROM alembic_version") == [(newer,)]
    assert backend.rows("SELECT count(*) FROM crawl_runs") == [(0,)]
