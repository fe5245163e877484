"""The store: crawl batches, the crawl-run journal and deletions, each one transaction."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    delete,
    select,
    update,
)

from catalog.lock import process_alive
from catalog.records import (
    DetailFailure,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    TopicWalk,
)
from catalog.store.results import BatchResult, RunCounts, utcnow
from catalog.store.revisions import Revision, stamp_revision
from catalog.store.statements import Record, chunks, upsert
from catalog.store.writes import (
    apply_walk,
    upsert_topics,
    write_detail_failures,
    write_details,
    write_entries,
)
from catalog.tables import PAGES, PUBLICATIONS, RUNS, TOMBSTONES

# A `running` run of another host (whose pid we cannot check) is taken as dead this late.
STALE_REMOTE_RUN = timedelta(days=2)


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
            for chunk in chunks(ids):
                gone += conn.execute(
                    select(PUBLICATIONS.c.id, PUBLICATIONS.c.url).where(
                        PUBLICATIONS.c.id.in_(chunk)
                    )
                ).all()
            if not gone:
                return 0
            now = utcnow()
            upsert(
                conn,
                TOMBSTONES,
                [
                    {"id": pub_id, "url": url, "revision": revision.value, "deleted_at": now}
                    for pub_id, url in gone
                ],
                keys=["id"],
                update=["url", "revision", "deleted_at"],
            )
            for chunk in chunks([pub_id for pub_id, _ in gone]):
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
            topic_ids = upsert_topics(
                conn,
                [e.topic for e in entries]
                + [p.topic for p in pages]
                + [w.topic for w in walks]
                + [t for d in details for t in d.related_topics],
                result.reindex_ids,
            )
            if entries:
                write_entries(conn, entries, topic_ids, run_id, now, result, revision)
            if pages:
                upsert(
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
                apply_walk(conn, walk, topic_ids[walk.topic.slug], run_id, now, result)
            # After the entries: a detail record may follow its listing entry in one batch.
            if details:
                write_details(conn, details, topic_ids, run_id, now, result)
            if failures:
                write_detail_failures(conn, failures, result)
            # Last, in the same transaction: everything the index must refresh gets one revision.
            stamp_revision(conn, result.reindex_ids, revision)
        return result
