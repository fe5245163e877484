"""The schema exists only through Alembic, and the migrations match the models."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from catalog.db import HEAD_REVISION, alembic_config, make_engine, needs_upgrade, upgrade
from catalog.models import Base


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
