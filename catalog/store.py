"""The only module that writes the catalog database.

Crawl records arrive in batches; each batch is one transaction of a few set-based statements
(one SELECT to classify, one upsert per table, one insert of history rows), never a round trip
per item.

Revisions: every change to what a search index holds about a publication (listing fields, page
details, authors, topics, listing and delisting, a new row, a deletion) sets the publication's
``revision`` in the same transaction, from a catalog-wide counter. Each index records the
highest revision it has absorbed, so ``revision > recorded`` is exactly what it must apply.
That only holds if revisions become visible in the order they are handed out:

- SQLite: the counter is the ``revision`` row of ``catalog_state``, bumped inside the writing
  transaction. SQLite admits one writer at a time, so transactions commit in counter order and
  a reader can never see revision 11 committed while 10 is still to come.
- PostgreSQL: the counter is the sequence ``publication_revision_seq`` (``nextval`` never
  hands two crawlers the same value and never blocks on a hot row). A sequence alone does not
  order commits, though: a transaction holding 10 may commit after one holding 11, and an
  index that absorbed 11 would never look at 10 again. So each writing transaction first
  takes a transaction-scoped advisory lock: batches on one database commit one after another,
  in revision order. Batches are short; crawls spend their time fetching, not writing.
- Other backends (MySQL/MariaDB): the counter row, whose row lock orders commits the same way.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
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
from catalog.listings import LISTED, as_listed, field_diffs
from catalog.lock import process_alive
from catalog.records import (
    SECTION_FEATURED,
    SECTION_LIST,
    WALK_COMPLETED,
    WALK_STARTED,
    DetailFailure,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    TopicRef,
    TopicWalk,
    merge_fields,
)
from catalog.tables import (
    CHUNK,
    DETAIL_COLUMNS,
    DETAIL_FIELDS,
    DETAIL_LINE_FIELDS,
    LISTING_FIELDS,
    RUN_COUNT_COLUMNS,
)

PUBLICATIONS = tables.publications
TOPICS = tables.topics
LINKS = tables.publication_topics
RUNS = tables.crawl_runs
PAGES = tables.listing_pages
CHANGES = tables.publication_changes
AUTHORS = tables.authors
AUTHORSHIPS = tables.publication_authors
DOWNLOADS = tables.downloads
TOMBSTONES = tables.deleted_publications
STATE = tables.catalog_state
# pg_advisory_xact_lock key serialising revision-stamping transactions ("tankrev1").
REVISION_LOCK_KEY = 0x74616E6B72657631
# A `running` run of another host (whose pid we cannot check) is taken as dead this late.
STALE_REMOTE_RUN = timedelta(days=2)
SECTION_RELATED = "related"  # publication_topics rows from a publication page's related topics


Record = ListingEntry | ListingPageSeen | TopicWalk | PublicationDetails | DetailFailure

# Statements built once: building one per batch (coercing every IN-list value, generating its
# cache key) cost more than executing it. IN lists are expanding parameters, so one statement
# serves every chunk size. Results are read with .all() (one fetchall): iterating a result
# fetches row by row.
_EXISTING = select(
    PUBLICATIONS.c.id, PUBLICATIONS.c.url, *[PUBLICATIONS.c[n] for n in LISTING_FIELDS]
).where(PUBLICATIONS.c.url.in_(bindparam("urls", expanding=True)))
_IDS_BY_URL = select(PUBLICATIONS.c.url, PUBLICATIONS.c.id).where(
    PUBLICATIONS.c.url.in_(bindparam("urls", expanding=True))
)
_TOUCH = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_seen_at=bindparam("now"))
)
_STAMP = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(revision=bindparam("rev"))
)
_LISTED_LINKS = select(LINKS.c.publication_id, LINKS.c.topic_id).where(
    LINKS.c.publication_id.in_(bindparam("ids", expanding=True)), LINKS.c.delisted_at.is_(None)
)
_LISTED_LINKS_IN = _LISTED_LINKS.where(LINKS.c.section.in_(bindparam("sections", expanding=True)))
_TOPICS_BY_SLUG = select(TOPICS.c.id, TOPICS.c.slug, TOPICS.c.name, TOPICS.c.url).where(
    TOPICS.c.slug.in_(bindparam("slugs", expanding=True))
)
_TOPIC_IDS = select(TOPICS.c.slug, TOPICS.c.id).where(
    TOPICS.c.slug.in_(bindparam("slugs", expanding=True))
)
_TOPIC_PUBLICATIONS = (
    select(LINKS.c.publication_id)
    .where(LINKS.c.topic_id.in_(bindparam("ids", expanding=True)), LINKS.c.delisted_at.is_(None))
    .distinct()
)
_AUTHOR_IDS = select(AUTHORS.c.name, AUTHORS.c.id).where(
    AUTHORS.c.name.in_(bindparam("names", expanding=True))
)
_DETAILS = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"))
    .values({c: bindparam(c) for c in DETAIL_COLUMNS})
)
# The listing's date wins; the page's fills it only where the listing had none.
_PAGE_DATE = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"), PUBLICATIONS.c.published_on.is_(None))
    .values(published_on=bindparam("b_date"), date_text=bindparam("b_text"))
)
_DETAIL_FAILURE = (
    update(PUBLICATIONS)
    .where(PUBLICATIONS.c.id == bindparam("b_id"))
    .values(details_error=bindparam("b_error"), details_fetched_at=None)
)
_REVISION_LOCK = select(func.pg_advisory_xact_lock(REVISION_LOCK_KEY))
_NEXT_IN_SEQUENCE = select(tables.REVISION_SEQUENCE.next_value())
_BUMP_COUNTER = update(STATE).where(STATE.c.key == "revision").values(value=STATE.c.value + 1)
_READ_COUNTER = select(STATE.c.value).where(STATE.c.key == "revision")
_CLEAR_AUTHORSHIPS = delete(AUTHORSHIPS).where(
    AUTHORSHIPS.c.publication_id.in_(bindparam("ids", expanding=True))
)
_CLEAR_DOWNLOADS = delete(DOWNLOADS).where(
    DOWNLOADS.c.publication_id.in_(bindparam("ids", expanding=True))
)
_CLEAR_RELATED = delete(LINKS).where(
    LINKS.c.publication_id.in_(bindparam("ids", expanding=True)),
    LINKS.c.section == SECTION_RELATED,
)


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
# A publication met twice in one run counts once, as the most telling of its outcomes.
_OUTCOME_RANK = {UNCHANGED: 0, UPDATED: 1, NEW: 2}


@dataclass(slots=True)
class BatchResult:
    """What a batch did: per-publication counts, and the publications the index must refresh.

    ``outcomes`` maps each listed URL to new, updated or unchanged, so that a run can count
    publications rather than sightings (RAND repeats featured teasers on every page).
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    delisted: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    reindex_ids: set[int] = field(default_factory=set)
    outcomes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RunCounts:
    """A run's totals; listing counts are of distinct publications, whatever the batches."""

    pages_fetched: int = 0
    pages_not_modified: int = 0
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_skipped: int = 0
    items_delisted: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    details_skipped: int = 0
    warnings: int = 0
    _outcomes: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, batch: BatchResult) -> None:
        for url, outcome in batch.outcomes.items():
            before = self._outcomes.get(url)
            if before is None or _OUTCOME_RANK[outcome] > _OUTCOME_RANK[before]:
                self._outcomes[url] = outcome
        self.items_seen = len(self._outcomes)
        self.items_new = sum(1 for o in self._outcomes.values() if o == NEW)
        self.items_updated = sum(1 for o in self._outcomes.values() if o == UPDATED)
        self.items_unchanged = self.items_seen - self.items_new - self.items_updated
        self.items_delisted += batch.delisted
        self.details_fetched += batch.details_fetched
        self.details_failed += batch.details_failed

    def counted(self, url: str) -> bool:
        """Whether a stored batch of this run held the publication at ``url``."""
        return url in self._outcomes

    def as_columns(self) -> dict[str, int]:
        """The counts as ``crawl_runs`` columns."""
        return {name: getattr(self, name) for name in RUN_COUNT_COLUMNS}


class CatalogStore:
    """Writes crawl records and the crawl-run journal through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- crawl-run journal -------------------------------------------------------------

    def start_run(self, spider: str, *, full: bool = False) -> int:
        """Record a run as ``running`` before anything is fetched, so a crash still leaves a row.

        The host and pid let a later command tell a live run from one whose process died.
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                RUNS.insert().values(
                    started_at=utcnow(),
                    status="running",
                    spider=spider,
                    full=full,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
            )
            return int(result.inserted_primary_key[0])

    def finish_run(
        self, run_id: int, status: str, counts: RunCounts, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {
            "finished_at": utcnow(),
            "status": status,
            "error": error,
            **counts.as_columns(),
        }
        with self.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    def close_abandoned_runs(self, *, stale_after: timedelta = STALE_REMOTE_RUN) -> int:
        """Mark ``running`` runs whose process is gone as interrupted; returns how many.

        Several crawlers may share one database (PostgreSQL), so a ``running`` row is not
        proof of a dead process. On this host the pid answers the question; a run of another
        host (or from before runs recorded theirs) is closed only once older than
        ``stale_after``, far longer than any crawl.
        """
        here = socket.gethostname()
        now = utcnow()
        with self.engine.connect() as conn:
            running = conn.execute(
                select(RUNS.c.id, RUNS.c.host, RUNS.c.pid, RUNS.c.started_at).where(
                    RUNS.c.status == "running"
                )
            ).all()
        dead = [
            run_id
            for run_id, host, pid, started_at in running
            if (
                not process_alive(pid, started_at)
                if host == here and pid is not None
                else started_at < now - stale_after
            )
        ]
        if not dead:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(RUNS)
                .where(RUNS.c.id.in_(dead), RUNS.c.status == "running")
                .values(
                    status="interrupted",
                    finished_at=now,
                    error="the crawl process ended without closing its run (killed?)",
                )
            )
            return result.rowcount or 0

    # --- deletions ---------------------------------------------------------------------

    def delete_publications(self, ids: Sequence[int]) -> int:
        """Delete publications (their listings, authors and history go with them).

        Each leaves a tombstone under a fresh revision in the same transaction, so that every
        search index sharing the catalog drops it on its next sync. Returns how many went.
        """
        ids = sorted(set(ids))
        if not ids:
            return 0
        with self.engine.begin() as conn:
            revision = Revision(conn)
            gone = []
            for chunk in _chunks(ids):
                gone += conn.execute(
                    select(PUBLICATIONS.c.id, PUBLICATIONS.c.url).where(
                        PUBLICATIONS.c.id.in_(chunk)
                    )
                ).all()
            if not gone:
                return 0
            now = utcnow()
            _upsert(
                conn,
                TOMBSTONES,
                [
                    {"id": pub_id, "url": url, "revision": revision.value, "deleted_at": now}
                    for pub_id, url in gone
                ],
                keys=["id"],
                update=["url", "revision", "deleted_at"],
            )
            for chunk in _chunks([pub_id for pub_id, _ in gone]):
                conn.execute(delete(PUBLICATIONS).where(PUBLICATIONS.c.id.in_(chunk)))
            return len(gone)

    # --- crawl records -----------------------------------------------------------------

    def write_batch(self, records: Sequence[Record], run_id: int) -> BatchResult:
        """Store a batch of crawl records in one transaction.

        Listings are upserted keyed on the canonical URL (a re-crawl adds no row), changes and
        additions go to ``publication_changes``, listing-page validators are kept, topic walk
        markers are applied in order, and publication-page details come last (their listing
        entry may sit earlier in the same batch).
        """
        entries = [r for r in records if isinstance(r, ListingEntry)]
        pages = [r for r in records if isinstance(r, ListingPageSeen)]
        walks = [r for r in records if isinstance(r, TopicWalk)]
        details = [r for r in records if isinstance(r, PublicationDetails)]
        failures = [r for r in records if isinstance(r, DetailFailure)]
        result = BatchResult()
        now = utcnow()
        with self.engine.begin() as conn:
            revision = Revision(conn)
            topic_ids = _upsert_topics(
                conn,
                [e.topic for e in entries]
                + [p.topic for p in pages]
                + [w.topic for w in walks]
                + [t for d in details for t in d.related_topics],
                result.reindex_ids,
            )
            if entries:
                _write_entries(conn, entries, topic_ids, run_id, now, result, revision)
            if pages:
                _upsert(
                    conn,
                    PAGES,
                    [
                        {
                            "url": p.url,
                            "topic_id": topic_ids[p.topic.slug],
                            "etag": p.etag,
                            "last_modified": p.last_modified,
                            "fetched_at": now,
                        }
                        for p in {p.url: p for p in pages}.values()
                    ],
                    keys=["url"],
                    update=["topic_id", "etag", "last_modified", "fetched_at"],
                )
            for walk in walks:
                _apply_walk(conn, walk, topic_ids[walk.topic.slug], run_id, now, result)
            # After the entries: a detail record may follow its listing entry in one batch.
            if details:
                _write_details(conn, details, topic_ids, now, result)
            if failures:
                _write_detail_failures(conn, failures, result)
            # Last, in the same transaction: everything the index must refresh gets one revision.
            _stamp_revision(conn, result.reindex_ids, revision)
        return result


class Revision:
    """The revision of one writing transaction: taken from the counter on first use, once.

    Created at the start of the transaction, before anything is written: on PostgreSQL that
    is where the advisory lock is taken (see the module docstring), so a batch never waits
    for it while holding row locks another batch wants.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._value: int | None = None
        if conn.dialect.name == "postgresql":
            conn.execute(_REVISION_LOCK)

    @property
    def value(self) -> int:
        if self._value is None:
            self._value = next_revision(self.conn)
        return self._value


def next_revision(conn: Connection) -> int:
    """The next value of the catalog's change counter, inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(_NEXT_IN_SEQUENCE).scalar_one())
    conn.execute(_BUMP_COUNTER)
    return int(conn.execute(_READ_COUNTER).scalar_one())


def _stamp_revision(conn: Connection, ids: set[int], revision: Revision) -> None:
    if not ids:
        return
    value = revision.value
    for chunk in _chunks(sorted(ids)):
        conn.execute(_STAMP, {"rev": value, "ids": chunk})


def _upsert_topics(conn: Connection, topics: list[TopicRef], reindex: set[int]) -> dict[str, int]:
    """Topic ids by slug; a renamed topic's publications go to ``reindex`` (names are indexed).

    One read of the batch's topics; only new or changed topics are upserted, and only new
    slugs are read again for their ids (every batch names the same few topics).
    """
    unique = {t.slug: t for t in topics}
    if not unique:
        return {}
    stored = {
        slug: (topic_id, name, url)
        for topic_id, slug, name, url in conn.execute(
            _TOPICS_BY_SLUG, {"slugs": list(unique)}
        ).all()
    }
    renamed = [
        stored[slug][0]
        for slug, t in unique.items()
        if slug in stored and stored[slug][1] != t.name
    ]
    for chunk in _chunks(renamed):
        reindex.update(conn.execute(_TOPIC_PUBLICATIONS, {"ids": chunk}).scalars())
    _upsert(
        conn,
        TOPICS,
        [
            {"slug": t.slug, "name": t.name, "url": t.url}
            for slug, t in unique.items()
            if stored.get(slug, (None, None, None))[1:] != (t.name, t.url)
        ],
        keys=["slug"],
        update=["name", "url"],
    )
    ids = {slug: row[0] for slug, row in stored.items()}
    new = [slug for slug in unique if slug not in stored]
    if new:
        ids.update(conn.execute(_TOPIC_IDS, {"slugs": new}).all())
    return ids


def _write_entries(
    conn: Connection,
    entries: list[ListingEntry],
    topic_ids: dict[str, int],
    run_id: int,
    now: datetime,
    result: BatchResult,
    revision: Revision,
) -> None:
    # Listing fields by URL, in LISTING_FIELDS order; sightings of one publication merge (the
    # first non-empty value wins). Plain dicts: the entries themselves are left as they came.
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        listed = dict(zip(LISTING_FIELDS, LISTED(entry), strict=True))
        if entry.url in latest:
            merge_fields(latest[entry.url], listed)
        else:
            latest[entry.url] = listed
    urls = list(latest)
    existing = _existing_publications(conn, urls)

    changed: dict[str, list[tuple[str, Any, Any]]] = {}
    for url in urls:  # each publication once, however often the batch lists it
        before = existing.get(url)
        if before is None:
            result.outcomes[url] = NEW
            continue
        stored = before[2:]
        diffs = field_diffs(stored, as_listed(latest[url], stored))
        if diffs:
            result.outcomes[url] = UPDATED
            result.reindex_ids.add(before[0])
            changed[url] = diffs
        else:
            result.outcomes[url] = UNCHANGED
    result.new = sum(1 for o in result.outcomes.values() if o == NEW)
    result.updated = sum(1 for o in result.outcomes.values() if o == UPDATED)
    result.unchanged = len(result.outcomes) - result.new - result.updated

    # Only new and changed rows are written in full; the rest get last_seen_at alone.
    writes = [u for u in urls if u not in existing or u in changed]
    _upsert(
        conn,
        PUBLICATIONS,
        [
            {
                "url": u,
                **latest[u],
                "first_seen_at": now,
                "last_seen_at": now,
                "revision": revision.value,
            }
            for u in writes
        ],
        keys=["url"],
        update=[*LISTING_FIELDS, "last_seen_at", "revision"],
    )
    seen_only = [existing[u][0] for u in urls if u in existing and u not in changed]
    for chunk in _chunks(seen_only):
        conn.execute(_TOUCH, {"now": now, "ids": chunk})
    ids = {url: row[0] for url, row in existing.items()}
    ids.update(_publication_ids(conn, [u for u in urls if u not in existing]))
    added = [ids[u] for u in urls if u not in existing]
    result.reindex_ids.update(added)

    history = [
        {"crawl_run_id": run_id, "publication_id": pub_id, "kind": "added", "changed_at": now}
        for pub_id in added
    ] + [
        {
            "crawl_run_id": run_id,
            "publication_id": ids[url],
            "kind": "changed",
            "field": name,
            "old_value": _text(old),
            "new_value": _text(new),
            "changed_at": now,
        }
        for url, diffs in changed.items()
        for name, old, new in diffs
    ]
    _insert(conn, CHANGES, [_history_row(row) for row in history])

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
            "delisted_at": None,
        }
    pairs = {(k[0], k[1]) for k in links}
    known = _listed_pairs(conn, pairs)
    # A publication newly listed under a topic is re-indexed: its topics changed.
    result.reindex_ids.update(pub for pub, topic in pairs if (pub, topic) not in known)
    _upsert(
        conn,
        LINKS,
        list(links.values()),
        keys=["publication_id", "topic_id", "section"],
        update=["listing_url", "position", "last_seen_at", "delisted_at"],
    )


def _apply_walk(
    conn: Connection,
    walk: TopicWalk,
    topic_id: int,
    run_id: int,
    now: datetime,
    result: BatchResult,
) -> None:
    if walk.event == WALK_STARTED:
        conn.execute(update(TOPICS).where(TOPICS.c.id == topic_id).values(walk_state="partial"))
        return
    if walk.event != WALK_COMPLETED:
        raise ValueError(f"unknown walk event {walk.event!r}")
    conn.execute(
        update(TOPICS).where(TOPICS.c.id == topic_id).values(walk_state="complete", walked_at=now)
    )
    if not walk.full:
        return
    # A full walk saw every listing of the topic: what it did not see is no longer listed.
    started_at = conn.execute(select(RUNS.c.started_at).where(RUNS.c.id == run_id)).scalar_one()
    gone = (
        (LINKS.c.topic_id == topic_id)
        & LINKS.c.section.in_([SECTION_FEATURED, SECTION_LIST])
        & (LINKS.c.last_seen_at < started_at)
        & LINKS.c.delisted_at.is_(None)
    )
    rows = conn.execute(select(LINKS.c.publication_id, LINKS.c.section).where(gone)).all()
    if not rows:
        return
    conn.execute(update(LINKS).where(gone).values(delisted_at=now))
    still_listed = _listed_pairs(
        conn, {(pub, topic_id) for pub, _ in rows}, sections=(SECTION_FEATURED, SECTION_LIST)
    )
    delisted = sorted({pub for pub, _ in rows if (pub, topic_id) not in still_listed})
    result.delisted += len(delisted)
    result.reindex_ids.update(delisted)
    _insert(
        conn,
        CHANGES,
        [
            _history_row(
                {
                    "crawl_run_id": run_id,
                    "publication_id": pub,
                    "topic_id": topic_id,
                    "kind": "delisted",
                    "changed_at": now,
                }
            )
            for pub in delisted
        ],
    )


def _write_details(
    conn: Connection,
    details: list[PublicationDetails],
    topic_ids: dict[str, int],
    now: datetime,
    result: BatchResult,
) -> None:
    """Detail columns, authors in order and related topics of publications already stored."""
    latest = {d.url: d for d in details}
    ids = _publication_ids(conn, list(latest))
    found = [d for url, d in latest.items() if url in ids]
    if not found:
        return
    rows = [
        {
            "b_id": ids[d.url],
            **{name: getattr(d, name) for name in DETAIL_FIELDS},
            **{name: "\n".join(getattr(d, name)) or None for name in DETAIL_LINE_FIELDS},
            "details_fetched_at": now,
            "details_error": None,
        }
        for d in found
    ]
    conn.execute(_DETAILS, rows)
    dated = [
        {"b_id": ids[d.url], "b_date": d.published_on, "b_text": d.date_text}
        for d in found
        if d.published_on
    ]
    if dated:
        conn.execute(_PAGE_DATE, dated)
    pub_ids = [ids[d.url] for d in found]
    names = sorted({name for d in found for name in d.authors})
    if names:
        _upsert(conn, AUTHORS, [{"name": n} for n in names], keys=["name"], update=["name"])
    author_ids: dict[str, int] = {}
    for chunk in _chunks(names):
        author_ids.update(conn.execute(_AUTHOR_IDS, {"names": chunk}).all())
    related = {(ids[d.url], topic_ids[t.slug]) for d in found for t in d.related_topics}
    newly_related = related - _listed_pairs(conn, related)
    for chunk in _chunks(pub_ids):
        conn.execute(_CLEAR_AUTHORSHIPS, {"ids": chunk})
        conn.execute(_CLEAR_DOWNLOADS, {"ids": chunk})
        conn.execute(_CLEAR_RELATED, {"ids": chunk})
    authorships = [
        {"publication_id": ids[d.url], "position": position, "author_id": author_ids[name]}
        for d in found
        for position, name in enumerate(dict.fromkeys(d.authors), start=1)
    ]
    links = [
        {
            "publication_id": ids[d.url],
            "topic_id": topic_ids[t.slug],
            "section": SECTION_RELATED,
            "listing_url": d.url,
            "position": position,
            "first_seen_at": now,
            "last_seen_at": now,
            "delisted_at": None,
        }
        for d in found
        for position, t in enumerate(d.related_topics, start=1)
    ]
    downloads = [
        {
            "publication_id": ids[d.url],
            "position": position,
            "label": f.label,
            "format": f.format,
            "url": f.url,
            "size": f.size,
        }
        for d in found
        for position, f in enumerate(d.downloads, start=1)
    ]
    _insert(conn, AUTHORSHIPS, authorships)
    _insert(conn, LINKS, links)
    _insert(conn, DOWNLOADS, downloads)
    result.details_fetched += len(found)
    result.reindex_ids.update(pub_ids)
    result.reindex_ids.update(pub for pub, _ in newly_related)


def _write_detail_failures(
    conn: Connection, failures: list[DetailFailure], result: BatchResult
) -> None:
    """Keep the reason; details_fetched_at stays NULL, so the next crawl tries again."""
    latest = {f.url: f for f in failures}
    ids = _publication_ids(conn, list(latest))
    rows = [
        {"b_id": ids[url], "b_error": f.reason[:2000]} for url, f in latest.items() if url in ids
    ]
    if rows:
        conn.execute(_DETAIL_FAILURE, rows)
    result.details_failed += len(latest)


def _history_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"topic_id": None, "field": None, "old_value": None, "new_value": None, **row}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_publications(conn: Connection, urls: list[str]) -> dict[str, Sequence[Any]]:
    """Stored rows by URL: (id, url, *LISTING_FIELDS) as rows, no mapping built per row."""
    found: dict[str, Sequence[Any]] = {}
    for chunk in _chunks(urls):
        for row in conn.execute(_EXISTING, {"urls": chunk}).all():
            found[row[1]] = row
    return found


def _publication_ids(conn: Connection, urls: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(urls):
        ids.update(conn.execute(_IDS_BY_URL, {"urls": chunk}).all())
    return ids


def _listed_pairs(
    conn: Connection, pairs: set[tuple[int, int]], sections: tuple[str, ...] | None = None
) -> set[tuple[int, int]]:
    """Which (publication, topic) pairs are currently linked (in any, or the given, sections).

    Asked by ``publication_id IN (...)``, the leading column of the primary key, and filtered
    by topic here: SQLite plans a ``(publication_id, topic_id) IN (VALUES ...)`` as a scan of
    the whole table, once per batch, which made an unchanged re-crawl grow faster than the
    catalog.
    """
    found: set[tuple[int, int]] = set()
    query = _LISTED_LINKS_IN if sections else _LISTED_LINKS
    for chunk in _chunks(sorted({pub for pub, _ in pairs})):
        params: dict[str, Any] = {"ids": chunk}
        if sections:
            params["sections"] = list(sections)
        rows = conn.execute(query, params).all()
        found.update((pub, topic) for pub, topic in rows if (pub, topic) in pairs)
    return found


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain INSERT of every row in one executemany (no IN-list, so no chunking needed)."""
    if rows:
        conn.execute(_insert_statement(table), rows)


@functools.cache
def _insert_statement(table: Table) -> Executable:
    """The table's INSERT, built once (see ``_EXISTING``'s comment)."""
    return table.insert()


def _upsert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str], update: list[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, in the dialect's own words.

    One statement executed with every row (executemany): compiled once and cached, where a
    multi-VALUES statement would be compiled afresh for each batch.
    """
    if rows:
        conn.execute(_upsert_statement(conn.dialect.name, table, tuple(keys), tuple(update)), rows)


@functools.cache
def _upsert_statement(
    dialect: str, table: Table, keys: tuple[str, ...], update: tuple[str, ...]
) -> Executable:
    """The upsert statement, built once per dialect and table (see ``_EXISTING``'s comment)."""
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
