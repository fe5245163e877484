"""Engines, sessions and schema upgrades.

SQLite gets WAL (readers never block the crawl's writer), enforced foreign keys and a busy
timeout; every other backend is taken as SQLAlchemy configures it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# The newest Alembic revision. Kept here so that checking a database needs no migration files
# (a Scrapyd egg is a zip Alembic cannot read); a test keeps it equal to the scripts' head.
HEAD_REVISION = "0005"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` opens SQLite files with ``mode=ro``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            if read_only:
                if not Path(database).exists():
                    raise DatabaseError(f"no catalog at {database}: run a crawl or `db upgrade`")
                url = f"sqlite:///file:{database}?mode=ro&uri=true"
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas(read_only))
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc


def _sqlite_pragmas(read_only: bool):
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return on_connect


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        yield session


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _migrations_dir() -> Path:
    if MIGRATIONS_DIR.is_dir():
        return MIGRATIONS_DIR
    import migrations  # installed as a package (non-editable install, egg)

    return Path(migrations.__file__).resolve().parent


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    if not (_migrations_dir() / "versions").is_dir():
        raise DatabaseError(
            "the catalog schema needs an upgrade and this installation has no readable "
            "migrations (a zipped egg?): run `catalog db upgrade` from an installed copy"
        )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot upgrade the catalog schema: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def needs_upgrade(engine: Engine) -> bool:
    """True when the database lacks the newest revision (a new home, or an older schema)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return True
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != {HEAD_REVISION}
