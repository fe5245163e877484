"""Engines, sessions and schema upgrades.

SQLite gets WAL (readers never block the crawl's writer), enforced foreign keys and a busy
timeout; every other backend is taken as SQLAlchemy configures it.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from catalog.errors import DatabaseError, NoCatalog, SchemaMismatch

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# The newest Alembic revision. Kept here so that checking a database needs no migration files
# (a Scrapyd egg is a zip Alembic cannot read); a test keeps it equal to the scripts' head.
HEAD_REVISION = "0007"
# pg_advisory_xact_lock key held while migrating a PostgreSQL catalog ("tankmig1").
UPGRADE_LOCK_KEY = int.from_bytes(b"tankmig1", "big")


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | URL, *, read_only: bool = False) -> Engine:
    """An engine for ``url``.

    ``read_only`` is for commands that only read: a SQLite file must already exist (nothing
    is created, not even its folder) and is opened read-only; PostgreSQL sessions default to
    read-only transactions. Writers get the SQLite file's folder created for them.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not parsed.query.get("uri"):
            path = Path(database)
            if read_only:
                parsed = _readonly_sqlite_url(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas(read_only))
        return engine
    connect_args: dict[str, Any] = {}
    if read_only and parsed.get_backend_name() == "postgresql":
        # Every transaction of this engine is read-only, whatever the code above it does.
        connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc


def _readonly_sqlite_url(path: Path) -> URL:
    """A ``file:`` URI that opens ``path`` read-only, or ``NoCatalog`` when there is none.

    ``mode=ro`` still needs the ``-shm`` file of a WAL database, which cannot be created in a
    folder we may not write (a read-only mount, another user's catalog). There the file is
    opened ``immutable=1``: no locks and no ``-shm``, which is safe because nobody who shares
    our lack of write access can be changing it.
    """
    if not path.is_file():
        raise NoCatalog(f"no catalog at {path}; run `catalog crawl` first")
    location = "file:" + quote(str(path.resolve()))
    options = {"mode": "ro"} if _opens_read_only(location) else {"immutable": "1"}
    return URL.create(drivername="sqlite", database=location, query={**options, "uri": "true"})


def _opens_read_only(location: str) -> bool:
    """Whether ``mode=ro`` can read this file (it cannot when a WAL ``-shm`` is out of reach).

    Only that failure (SQLite says the folder or file is read-only, or cannot be opened)
    leads to ``immutable=1``; any other error is left for the real connection to report.
    """
    try:
        with closing(sqlite3.connect(f"{location}?mode=ro", uri=True, timeout=30)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
        if name:
            return not (name.startswith("SQLITE_READONLY") or name == "SQLITE_CANTOPEN")
        return not re.search(r"readonly|unable to open", str(exc))
    return True


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


def upgrade(engine: Engine) -> set[str] | None:
    """Bring the schema to the newest revision; a no-op when it is already there.

    Returns the revisions the database was at before (None: it held no catalog schema, which
    is now created). A catalog from a newer version is refused with the message read commands
    give, before Alembic sees a revision it does not know.
    """
    from alembic import command

    try:
        before = schema_revisions(engine)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseError(f"cannot read the catalog at {where(engine)}: {first}") from exc
    if before and (newer := _newer_schema(before)) is not None:
        raise newer
    if before == {HEAD_REVISION}:
        return before
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    if not (_migrations_dir() / "versions").is_dir():
        raise DatabaseError(
            "the catalog schema needs an upgrade and this installation has no readable "
            "migrations (a zipped egg?): run `catalog db upgrade` from an installed copy"
        )
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Crawlers on several machines may upgrade one catalog at once (two first
                # crawls, or a deploy with new migrations): one migrates, the others wait here
                # and then find the schema at head. Released when the transaction ends.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot upgrade the catalog schema: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return before


def schema_revisions(engine: Engine) -> set[str] | None:
    """The Alembic revisions the database is at; None when it has no catalog schema at all.

    One plain query of Alembic's own table, not Alembic itself: every read command checks
    this, and importing Alembic would cost more than the rest of a search.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def needs_upgrade(engine: Engine) -> bool:
    """True when the database lacks the newest revision (a new home, or an older schema)."""
    return schema_revisions(engine) != {HEAD_REVISION}


def check_schema(engine: Engine) -> None:
    """Make sure a catalog is there at the revision this version reads, without migrating.

    Read commands call this instead of ``upgrade``: reading must never change the catalog,
    and an old schema is the user's to upgrade (``catalog db upgrade``) when they choose.
    """
    try:
        revisions = schema_revisions(engine)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseError(f"cannot read the catalog at {where(engine)}: {first}") from exc
    if not revisions:
        raise NoCatalog(f"no catalog at {where(engine)}; run `catalog crawl` first")
    if revisions == {HEAD_REVISION}:
        return
    if (newer := _newer_schema(revisions)) is not None:
        raise newer
    raise SchemaMismatch(
        f"catalog schema is at revision {', '.join(sorted(revisions))}, this version needs "
        f"{HEAD_REVISION}: run `catalog db upgrade`"
    )


def _newer_schema(revisions: set[str]) -> SchemaMismatch | None:
    """The error for a catalog a newer version of this program migrated; None otherwise.

    Revision ids are zero-padded numbers, so a newer catalog sorts after our head. Every
    command says the same: reading it, crawling it or `db upgrade` (which cannot go back).
    """
    if max(revisions) <= HEAD_REVISION:
        return None
    return SchemaMismatch(
        f"catalog schema is at revision {', '.join(sorted(revisions))}, newer than this "
        f"version reads ({HEAD_REVISION}): upgrade thinktank-catalog"
    )


def where(engine: Engine) -> str:
    """The catalog's file path (SQLite) or its URL without password, for messages."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        if url.database.startswith("file:"):  # a URI (read-only opens): percent-encoded
            return unquote(url.database.removeprefix("file:").split("?", 1)[0])
        return url.database  # a plain path, "%20" and all
    return url.render_as_string()
