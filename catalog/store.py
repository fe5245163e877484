"""The only module that writes the catalog database.

Listings arrive in batches; each batch is one transaction of a few set-based statements
(one SELECT to classify, one upsert per table), never a round trip per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, tuple_, update

from catalog.errors import DatabaseError
from catalog.models import CrawlRun, Publication, PublicationTopic, Topic
from crawler.items import ListingEntry

PUBLICATIONS: Table = Publication.__table__  # type: ignore[assignment]
TOPICS: Table = Topic.__table__  # type: ignore[assignment]
LINKS: Table = PublicationTopic.__table__  # type: ignore[assignment]
RUNS: Table = CrawlRun.__table__  # type: ignore[assignment]

# The listing fields whose change makes a publication "updated" (and re-indexed).
LISTING_FIELDS = (
    "title",
    "content_type",
    "published_on",
    "date_text",
    "summary",
    "image_url",
    "image_caption",
)
# SQLite allows 32766 bound parameters per statement; stay far below it on every backend.
CHUNK = 500


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(slots=True)
class UpsertResult:
    """What a batch did: per-item counts, and the publications the index must refresh."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    reindex_ids: set[int] = field(default_factory=set)

    def add(self, other: UpsertResult) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.reindex_ids |= other.reindex_ids


@dataclass(slots=True)
class RunCounts:
    pages_fetched: int = 0
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_skipped: int = 0


class CatalogStore:
    """Writes listings and the crawl-run journal through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- crawl-run journal -------------------------------------------------------------

    def start_run(self, spider: str) -> int:
        """Record a run as ``running`` before anything is fetched, so a crash still leaves a row."""
        with self.engine.begin() as conn:
            result = conn.execute(
                RUNS.insert().values(started_at=utcnow(), status="running", spider=spider)
            )
            return int(result.inserted_primary_key[0])

    def finish_run(
        self, run_id: int, status: str, counts: RunCounts, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {
            "finished_at": utcnow(),
            "status": status,
            "error": error,
            **{name: getattr(counts, name) for name in RunCounts.__slots__},
        }
        with self.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    # --- listings ----------------------------------------------------------------------

    def upsert_listings(self, entries: Sequence[ListingEntry]) -> UpsertResult:
        """Insert new publications, update changed ones, bump ``last_seen_at`` of all seen.

        Keyed on the canonical URL, so crawling the same pages twice adds no row. Topics and
        listing links are upserted in the same transaction.
        """
        result = UpsertResult()
        if not entries:
            return result
        now = utcnow()
        latest: dict[str, ListingEntry] = {}
        for entry in entries:
            latest[entry.url] = entry  # the last sighting in a batch wins
        urls = list(latest)
        with self.engine.begin() as conn:
            existing = _existing_publications(conn, urls)
            first_in_batch: set[str] = set()
            for entry in entries:
                if entry.url in first_in_batch:
                    result.unchanged += 1
                    continue
                first_in_batch.add(entry.url)
                before = existing.get(entry.url)
                if before is None:
                    result.new += 1
                elif _differs(before, latest[entry.url]):
                    result.updated += 1
                    result.reindex_ids.add(before["id"])
                else:
                    result.unchanged += 1

            rows = [
                {
                    "url": url,
                    **{name: getattr(e, name) for name in LISTING_FIELDS},
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for url, e in latest.items()
            ]
            _upsert(
                conn, PUBLICATIONS, rows, keys=["url"], update=[*LISTING_FIELDS, "last_seen_at"]
            )
            ids = _publication_ids(conn, urls)
            result.reindex_ids |= {ids[url] for url in urls if url not in existing}

            topics = {e.topic.slug: e.topic for e in entries}
            _upsert(
                conn,
                TOPICS,
                [{"slug": t.slug, "name": t.name, "url": t.url} for t in topics.values()],
                keys=["slug"],
                update=["name", "url"],
            )
            topic_ids = dict(
                conn.execute(
                    select(TOPICS.c.slug, TOPICS.c.id).where(TOPICS.c.slug.in_(topics))
                ).all()
            )
            links: dict[tuple[int, int, str], dict[str, Any]] = {}
            for e in entries:
                key = (ids[e.url], topic_ids[e.topic.slug], e.section)
                links[key] = {
                    "publication_id": key[0],
                    "topic_id": key[1],
                    "section": key[2],
                    "listing_url": e.listing_url,
                    "position": e.position,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
            pairs = {(k[0], k[1]) for k in links}
            known = _existing_pairs(conn, pairs)
            # A publication newly listed under a topic is re-indexed: its topics changed.
            result.reindex_ids |= {pub for pub, topic in pairs if (pub, topic) not in known}
            _upsert(
                conn,
                LINKS,
                list(links.values()),
                keys=["publication_id", "topic_id", "section"],
                update=["listing_url", "position", "last_seen_at"],
            )
        return result


def _differs(before: dict[str, Any], entry: ListingEntry) -> bool:
    return any(before[name] != getattr(entry, name) for name in LISTING_FIELDS)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_publications(conn: Connection, urls: list[str]) -> dict[str, dict[str, Any]]:
    columns = [PUBLICATIONS.c.id, PUBLICATIONS.c.url] + [PUBLICATIONS.c[n] for n in LISTING_FIELDS]
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(urls):
        for row in conn.execute(select(*columns).where(PUBLICATIONS.c.url.in_(chunk))).mappings():
            found[row["url"]] = dict(row)
    return found


def _publication_ids(conn: Connection, urls: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(urls):
        query = select(PUBLICATIONS.c.url, PUBLICATIONS.c.id).where(PUBLICATIONS.c.url.in_(chunk))
        ids.update(conn.execute(query).all())
    return ids


def _existing_pairs(conn: Connection, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    key = tuple_(LINKS.c.publication_id, LINKS.c.topic_id)
    for chunk in _chunks(sorted(pairs)):
        query = select(LINKS.c.publication_id, LINKS.c.topic_id).where(key.in_(chunk))
        found.update(conn.execute(query).all())
    return found


def _upsert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str], update: list[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, in the dialect's own words, in chunks."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        for chunk in _chunks(rows, CHUNK // 4):
            stmt = mysql_insert(table).values(list(chunk))
            conn.execute(stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update}))
        return
    else:
        raise DatabaseError(f"upserts are not supported on the {dialect!r} backend")
    for chunk in _chunks(rows, CHUNK // 4):
        stmt = insert(table).values(list(chunk))
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in update}
            )
        )
