"""The store's tables and the statements it runs, built once; bulk insert and upsert."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)

from catalog import tables
from catalog.errors import DatabaseError
from catalog.records import (
    DetailFailure,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    TopicWalk,
)
from catalog.tables import (
    AUTHORS,
    AUTHORSHIPS,
    CHUNK,
    DETAIL_COLUMNS,
    DOWNLOADS,
    LINKS,
    LISTING_FIELDS,
    PUBLICATIONS,
    STATE,
    TOPICS,
)

# pg_advisory_xact_lock key serialising revision-stamping transactions ("tankrev1").
REVISION_LOCK_KEY = 0x74616E6B72657631

SECTION_RELATED = "related"  # publication_topics rows from a publication page's related topics

Record = ListingEntry | ListingPageSeen | TopicWalk | PublicationDetails | DetailFailure

# Statements built once: building one per batch (coercing every IN-list value, generating its
# cache key) cost more than executing it. IN lists are expanding parameters, so one statement
# serves every chunk size. Results are read with .all() (one fetchall): iterating a result
# fetches row by row.
EXISTING = select(
    PUBLICATIONS.c.id,
    PUBLICATIONS.c.url,
    *[PUBLICATIONS.c[n] for n in LISTING_FIELDS],
    PUBLICATIONS.c.publisher,
).where(PUBLICATIONS.c.url.in_(bindparam("urls", expanding=True)))
# Where the listing fields sit in an EXISTING row, and the publisher after them.
LISTED_SLICE = slice(2, 2 + len(LISTING_FIELDS))
STORED_PUBLISHER = 2 + len(LISTING_FIELDS)

PUBLISHERS_BY_URL = select(PUBLICATIONS.c.url, PUBLICATIONS.c.id, PUBLICATIONS.c.publisher).where(
    PUBLICATIONS.c.url.in_(bindparam("urls", expanding=True))
)

SET_PUBLISHER = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"))
    .values(publisher=bindparam("b_publisher"))
)

IDS_BY_URL = select(PUBLICATIONS.c.url, PUBLICATIONS.c.id).where(
    PUBLICATIONS.c.url.in_(bindparam("urls", expanding=True))
)

TOUCH = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_seen_at=bindparam("now"))
)

STAMP = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(revision=bindparam("rev"))
)

LISTED_LINKS = select(LINKS.c.publication_id, LINKS.c.topic_id).where(
    LINKS.c.publication_id.in_(bindparam("ids", expanding=True)), LINKS.c.delisted_at.is_(None)
)

LISTED_LINKS_IN = LISTED_LINKS.where(LINKS.c.section.in_(bindparam("sections", expanding=True)))

TOPICS_BY_SLUG = select(TOPICS.c.id, TOPICS.c.slug, TOPICS.c.name, TOPICS.c.url).where(
    TOPICS.c.slug.in_(bindparam("slugs", expanding=True))
)

TOPIC_IDS = select(TOPICS.c.slug, TOPICS.c.id).where(
    TOPICS.c.slug.in_(bindparam("slugs", expanding=True))
)

TOPIC_PUBLICATIONS = (
    select(LINKS.c.publication_id)
    .where(LINKS.c.topic_id.in_(bindparam("ids", expanding=True)), LINKS.c.delisted_at.is_(None))
    .distinct()
)

AUTHOR_IDS = select(AUTHORS.c.name, AUTHORS.c.id).where(
    AUTHORS.c.name.in_(bindparam("names", expanding=True))
)

DETAILS = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"))
    .values({c: bindparam(c) for c in DETAIL_COLUMNS})
)

# The listing's date wins; the page's fills it only where the listing had none.
PAGE_DATE = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"), PUBLICATIONS.c.published_on.is_(None))
    .values(published_on=bindparam("b_date"), date_text=bindparam("b_text"))
)

DETAIL_FAILURE = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"))
    .values(details_error=bindparam("b_error"), details_fetched_at=None)
)

REVISION_LOCK = select(func.pg_advisory_xact_lock(REVISION_LOCK_KEY))

NEXT_IN_SEQUENCE = select(tables.REVISION_SEQUENCE.next_value())

BUMP_COUNTER = update(STATE).where(STATE.c.key == "revision").values(value=STATE.c.value + 1)

READ_COUNTER = select(STATE.c.value).where(STATE.c.key == "revision")

CLEAR_AUTHORSHIPS = delete(AUTHORSHIPS).where(
    AUTHORSHIPS.c.publication_id.in_(bindparam("ids", expanding=True))
)

CLEAR_DOWNLOADS = delete(DOWNLOADS).where(
    DOWNLOADS.c.publication_id.in_(bindparam("ids", expanding=True))
)

CLEAR_RELATED = delete(LINKS).where(
    LINKS.c.publication_id.in_(bindparam("ids", expanding=True)),
    LINKS.c.section == SECTION_RELATED,
)


def history_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"topic_id": None, "field": None, "old_value": None, "new_value": None, **row}


def text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_publications(conn: Connection, urls: list[str]) -> dict[str, Sequence[Any]]:
    """Stored rows by URL: (id, url, *LISTING_FIELDS, publisher) as rows, no mapping built per
    row (``LISTED_SLICE`` and ``STORED_PUBLISHER`` pick the parts)."""
    found: dict[str, Sequence[Any]] = {}
    for chunk in chunks(urls):
        for row in conn.execute(EXISTING, {"urls": chunk}).all():
            found[row[1]] = row
    return found


def publication_ids(conn: Connection, urls: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(urls):
        ids.update(conn.execute(IDS_BY_URL, {"urls": chunk}).all())
    return ids


def stored_publishers(conn: Connection, urls: list[str]) -> dict[str, tuple[int, str]]:
    """(id, publisher) of the stored publications among ``urls``, by URL."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in chunks(urls):
        for url, pub_id, publisher in conn.execute(PUBLISHERS_BY_URL, {"urls": chunk}).all():
            found[url] = (pub_id, publisher or "")
    return found


def listed_pairs(
    conn: Connection, pairs: set[tuple[int, int]], sections: tuple[str, ...] | None = None
) -> set[tuple[int, int]]:
    """Which (publication, topic) pairs are currently linked (in any, or the given, sections).

    Asked by ``publication_id IN (...)``, the leading column of the primary key, and filtered
    by topic here: SQLite plans a ``(publication_id, topic_id) IN (VALUES ...)`` as a scan of
    the whole table, once per batch, which made an unchanged re-crawl grow faster than the
    catalog.
    """
    found: set[tuple[int, int]] = set()
    query = LISTED_LINKS_IN if sections else LISTED_LINKS
    for chunk in chunks(sorted({pub for pub, _ in pairs})):
        params: dict[str, Any] = {"ids": chunk}
        if sections:
            params["sections"] = list(sections)
        rows = conn.execute(query, params).all()
        found.update((pub, topic) for pub, topic in rows if (pub, topic) in pairs)
    return found


def insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain INSERT of every row in one executemany (no IN-list, so no chunking needed)."""
    if rows:
        conn.execute(insert_statement(table), rows)


@functools.cache
def insert_statement(table: Table) -> Executable:
    """The table's INSERT, built once (see ``EXISTING``'s comment)."""
    return table.insert()


def upsert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str], update: list[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, in the dialect's own words.

    One statement executed with every row (executemany): compiled once and cached, where a
    multi-VALUES statement would be compiled afresh for each batch.
    """
    if rows:
        conn.execute(upsert_statement(conn.dialect.name, table, tuple(keys), tuple(update)), rows)


@functools.cache
def upsert_statement(
    dialect: str, table: Table, keys: tuple[str, ...], update: tuple[str, ...]
) -> Executable:
    """The upsert statement, built once per dialect and table (see ``EXISTING``'s comment)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(table)
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})
    else:
        raise DatabaseError(f"upserts are not supported on the {dialect!r} backend")
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
    )
