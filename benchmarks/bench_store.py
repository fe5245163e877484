"""Write path: ``CatalogStore.write_batch`` against raw ``sqlite3`` doing exactly the same
statements, for new publications and for an unchanged re-crawl, at several sizes.

    python -m benchmarks.bench_store --sizes 10k,100k --repeat 3

``RawStore`` below is ``write_batch`` written by hand: the same upserts, SELECTs, history
inserts and link upserts, with the same parameters, in the same order, in one transaction
per batch, on a database of the same schema (Alembic's) with the same pragmas. Before timing,
both run one size's first batches with SQLite's statement trace on, and the counts of
statements by verb must match: the ratio is then the cost of our layer (SQLAlchemy Core,
Python bookkeeping), not of different work.

The unchanged re-crawl (every listing entry seen again, nothing new, no page fetched) must
cost the same per publication at every size; the per-1,000 figures at two sizes show whether
it does. Batches are the pipeline's (200 records): listing pages first, then publication pages.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks import corpus
from benchmarks.harness import Report, Samples, machine_line
from catalog.db import make_engine, upgrade
from catalog.records import ListingEntry, PublicationDetails, TopicRef
from catalog.store import utcnow
from catalog.tables import (
    CHUNK,
    DETAIL_FIELDS,
    DETAIL_LINE_FIELDS,
    LISTING_FIELDS,
    RUN_COUNT_COLUMNS,
)

SECTION_RELATED = "related"


def _db(value: Any) -> Any:
    """A Python value as SQLAlchemy's SQLite dialect binds it."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RawStore:
    """``CatalogStore.write_batch`` for listing entries and page details, in plain sqlite3.

    Same statements as ``catalog.store`` emits (captured with SQLAlchemy's
    ``before_cursor_execute``), written out by hand. Walks, validators and failures are left
    out: the corpus has none.
    """

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("PRAGMA busy_timeout=30000")

    def start_run(self) -> int:
        columns = ", ".join(RUN_COUNT_COLUMNS)
        with self.conn:
            cur = self.conn.execute(
                f'INSERT INTO crawl_runs (started_at, status, spider, "full", {columns}) '
                f"VALUES (?, ?, ?, ?, {_marks(len(RUN_COUNT_COLUMNS))})",
                (_db(utcnow()), "running", "bench", 0, *[0] * len(RUN_COUNT_COLUMNS)),
            )
        return int(cur.lastrowid or 0)

    def write_batch(self, records: Sequence[Any], run_id: int) -> None:
        entries = [r for r in records if isinstance(r, ListingEntry)]
        details = [r for r in records if isinstance(r, PublicationDetails)]
        now = _db(utcnow())
        self._revision: int | None = None  # taken from the counter on first use, once a batch
        reindex: set[int] = set()
        with self.conn:
            topic_ids = self._topics(
                [e.topic for e in entries] + [t for d in details for t in d.related_topics]
            )
            if entries:
                reindex |= self._entries(entries, topic_ids, run_id, now)
            if details:
                reindex |= self._details(details, topic_ids, now)
            for chunk in _chunks(sorted(reindex)):  # everything the index must refresh
                self.conn.execute(
                    f"UPDATE publications SET revision=? WHERE publications.id IN "
                    f"({_marks(len(chunk))})",
                    [self.revision(), *chunk],
                )

    def revision(self) -> int:
        """The batch's revision: the catalog-wide counter, bumped once in the transaction."""
        if self._revision is None:
            self.conn.execute(
                "UPDATE catalog_state SET value=(catalog_state.value + ?) "
                "WHERE catalog_state.key = ?",
                (1, "revision"),
            )
            row = self.conn.execute(
                "SELECT catalog_state.value FROM catalog_state WHERE catalog_state.key = ?",
                ("revision",),
            ).fetchone()
            self._revision = int(row[0])
        return self._revision

    def _topics(self, topics: list[TopicRef]) -> dict[str, int]:
        unique = {t.slug: t for t in topics}
        if not unique:
            return {}
        stored = {  # renamed topics re-index their publications (none in the corpus)
            slug: (topic_id, name, url)
            for topic_id, slug, name, url in self.conn.execute(
                "SELECT topics.id, topics.slug, topics.name, topics.url FROM topics "
                f"WHERE topics.slug IN ({_marks(len(unique))})",
                list(unique),
            )
        }
        stale = [
            (t.slug, t.name, t.url, "partial")
            for slug, t in unique.items()
            if stored.get(slug, (None, None, None))[1:] != (t.name, t.url)
        ]
        if stale:
            self.conn.executemany(
                "INSERT INTO topics (slug, name, url, walk_state) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name, url = excluded.url",
                stale,
            )
        ids = {slug: row[0] for slug, row in stored.items()}
        new = [slug for slug in unique if slug not in stored]
        if new:
            rows = self.conn.execute(
                "SELECT topics.slug, topics.id FROM topics "
                f"WHERE topics.slug IN ({_marks(len(new))})",
                new,
            )
            ids.update(rows.fetchall())
        return ids

    def _entries(
        self, entries: list[ListingEntry], topic_ids: dict[str, int], run_id: int, now: str
    ) -> set[int]:
        latest = {e.url: e for e in entries}
        urls = list(latest)
        columns = ", ".join(f"publications.{n}" for n in ("id", "url", *LISTING_FIELDS))
        existing: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(urls):
            sql = (
                f"SELECT {columns} FROM publications "
                f"WHERE publications.url IN ({_marks(len(chunk))})"
            )
            for row in self.conn.execute(sql, chunk):
                existing[row[1]] = row
        changed: dict[str, list[tuple[str, Any, Any]]] = {}
        for url in urls:
            before = existing.get(url)
            if before is None:
                continue
            diffs = [
                (name, before[2 + i], _db(getattr(latest[url], name)))
                for i, name in enumerate(LISTING_FIELDS)
                if before[2 + i] != _db(getattr(latest[url], name))
            ]
            if diffs:
                changed[url] = diffs
        writes = [u for u in urls if u not in existing or u in changed]
        if writes:
            sets = ", ".join(
                f"{n} = excluded.{n}" for n in (*LISTING_FIELDS, "last_seen_at", "revision")
            )
            self.conn.executemany(
                f"INSERT INTO publications (url, {', '.join(LISTING_FIELDS)}, first_seen_at, "
                f"last_seen_at, revision) VALUES ({_marks(len(LISTING_FIELDS) + 4)}) "
                f"ON CONFLICT (url) DO UPDATE SET {sets}",
                [
                    (
                        u,
                        *(_db(getattr(latest[u], n)) for n in LISTING_FIELDS),
                        now,
                        now,
                        self.revision(),
                    )
                    for u in writes
                ],
            )
        seen_only = [existing[u][0] for u in urls if u in existing and u not in changed]
        for chunk in _chunks(seen_only):
            self.conn.execute(
                "UPDATE publications SET last_seen_at=? WHERE publications.id IN "
                f"({_marks(len(chunk))})",
                [now, *chunk],
            )
        ids = {url: row[0] for url, row in existing.items()}
        new_urls = [u for u in urls if u not in existing]
        for chunk in _chunks(new_urls):
            sql = (
                "SELECT publications.url, publications.id FROM publications "
                f"WHERE publications.url IN ({_marks(len(chunk))})"
            )
            ids.update(self.conn.execute(sql, chunk).fetchall())
        history = [(run_id, ids[u], None, "added", None, None, None, now) for u in new_urls] + [
            (run_id, ids[url], None, "changed", name, _text(old), _text(new), now)
            for url, diffs in changed.items()
            for name, old, new in diffs
        ]
        if history:
            self.conn.executemany(
                "INSERT INTO publication_changes (crawl_run_id, publication_id, topic_id, kind, "
                "field, old_value, new_value, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                history,
            )
        links: dict[tuple[int, int, str], tuple[Any, ...]] = {}
        for e in entries:
            key = (ids[e.url], topic_ids[e.topic.slug], e.section)
            links[key] = (*key, e.listing_url, e.position, now, now, None)
        pairs = {(k[0], k[1]) for k in links}
        known = self._listed_pairs(pairs)
        reindex = {ids[u] for u in new_urls} | {ids[u] for u in changed}
        reindex |= {pub for pub, topic in pairs if (pub, topic) not in known}
        self.conn.executemany(
            "INSERT INTO publication_topics (publication_id, topic_id, section, listing_url, "
            "position, first_seen_at, last_seen_at, delisted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (publication_id, topic_id, section) DO UPDATE SET "
            "listing_url = excluded.listing_url, position = excluded.position, "
            "last_seen_at = excluded.last_seen_at, delisted_at = excluded.delisted_at",
            list(links.values()),
        )
        return reindex

    def _listed_pairs(self, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        for chunk in _chunks(sorted({pub for pub, _ in pairs})):
            sql = (
                "SELECT publication_topics.publication_id, publication_topics.topic_id "
                "FROM publication_topics WHERE publication_topics.publication_id "
                f"IN ({_marks(len(chunk))}) AND publication_topics.delisted_at IS NULL"
            )
            found.update(row for row in self.conn.execute(sql, chunk) if tuple(row) in pairs)
        return found

    def _details(
        self, details: list[PublicationDetails], topic_ids: dict[str, int], now: str
    ) -> set[int]:
        latest = {d.url: d for d in details}
        urls = list(latest)
        ids: dict[str, int] = {}
        for chunk in _chunks(urls):
            sql = (
                "SELECT publications.url, publications.id FROM publications "
                f"WHERE publications.url IN ({_marks(len(chunk))})"
            )
            ids.update(self.conn.execute(sql, chunk).fetchall())
        found = [d for url, d in latest.items() if url in ids]
        if not found:
            return set()
        columns = [*DETAIL_FIELDS, *DETAIL_LINE_FIELDS, "details_fetched_at", "details_error"]
        self.conn.executemany(
            f"UPDATE publications SET {', '.join(f'{c}=?' for c in columns)} "
            "WHERE publications.id = ?",
            [
                (
                    *(getattr(d, n) for n in DETAIL_FIELDS),
                    *("\n".join(getattr(d, n)) or None for n in DETAIL_LINE_FIELDS),
                    now,
                    None,
                    ids[d.url],
                )
                for d in found
            ],
        )
        dated = [(_db(d.published_on), d.date_text, ids[d.url]) for d in found if d.published_on]
        if dated:
            self.conn.executemany(
                "UPDATE publications SET published_on=?, date_text=? "
                "WHERE publications.id = ? AND publications.published_on IS NULL",
                dated,
            )
        pub_ids = [ids[d.url] for d in found]
        names = sorted({n for d in found for n in d.authors})
        if names:
            self.conn.executemany(
                "INSERT INTO authors (name) VALUES (?) "
                "ON CONFLICT (name) DO UPDATE SET name = excluded.name",
                [(n,) for n in names],
            )
        author_ids: dict[str, int] = {}
        for chunk in _chunks(names):
            sql = (
                "SELECT authors.name, authors.id FROM authors "
                f"WHERE authors.name IN ({_marks(len(chunk))})"
            )
            author_ids.update(self.conn.execute(sql, chunk).fetchall())
        related = {(ids[d.url], topic_ids[t.slug]) for d in found for t in d.related_topics}
        newly_related = related - self._listed_pairs(related)
        for chunk in _chunks(pub_ids):
            marks = _marks(len(chunk))
            self.conn.execute(
                "DELETE FROM publication_authors WHERE publication_authors.publication_id "
                f"IN ({marks})",
                chunk,
            )
            self.conn.execute(
                f"DELETE FROM downloads WHERE downloads.publication_id IN ({marks})", chunk
            )
            self.conn.execute(
                "DELETE FROM publication_topics WHERE publication_topics.publication_id "
                f"IN ({marks}) AND publication_topics.section = ?",
                [*chunk, SECTION_RELATED],
            )
        authorships = [
            (ids[d.url], position, author_ids[name])
            for d in found
            for position, name in enumerate(dict.fromkeys(d.authors), start=1)
        ]
        links = [
            (ids[d.url], topic_ids[t.slug], SECTION_RELATED, d.url, position, now, now, None)
            for d in found
            for position, t in enumerate(d.related_topics, start=1)
        ]
        downloads = [
            (ids[d.url], position, f.label, f.format, f.url, f.size)
            for d in found
            for position, f in enumerate(d.downloads, start=1)
        ]
        if authorships:
            self.conn.executemany(
                "INSERT INTO publication_authors (publication_id, position, author_id) "
                "VALUES (?, ?, ?)",
                authorships,
            )
        if links:
            self.conn.executemany(
                "INSERT INTO publication_topics (publication_id, topic_id, section, listing_url, "
                "position, first_seen_at, last_seen_at, delisted_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                links,
            )
        if downloads:
            self.conn.executemany(
                "INSERT INTO downloads (publication_id, position, label, format, url, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                downloads,
            )
        return set(pub_ids) | {pub for pub, _ in newly_related}

    def close(self) -> None:
        self.conn.close()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- making the two sides ----------------------------------------------------------------------


def fresh_schema(folder: Path, name: str) -> Path:
    """An empty catalog database at Alembic's head (the same schema for both sides)."""
    path = folder / f"{name}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def ours(path: Path) -> tuple[Callable[[list[Any]], Any], Any]:
    from catalog.store import CatalogStore

    engine = make_engine(f"sqlite:///{path}")
    store = CatalogStore(engine)
    run = store.start_run("bench")
    return (lambda batch: store.write_batch(batch, run)), engine


def raw(path: Path) -> tuple[Callable[[list[Any]], Any], RawStore]:
    store = RawStore(path)
    run = store.start_run()
    return (lambda batch: store.write_batch(batch, run)), store


def statement_counts(pubs: Sequence[corpus.CorpusPublication], folder: Path) -> dict[str, Counter]:
    """Statements each side executes for the same batches (new, then an unchanged re-crawl)."""
    counts: dict[str, Counter] = {}
    for side in ("ours", "raw"):
        path = fresh_schema(folder, f"trace-{side}")
        counter: Counter = Counter()

        def trace(sql: str, counter: Counter = counter) -> None:
            verb = sql.split(None, 1)[0].upper()
            if verb not in ("BEGIN", "COMMIT", "PRAGMA", "ROLLBACK"):
                counter[verb] += 1

        if side == "ours":
            write, engine = ours(path)
            event.listen(engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(trace))
            engine.dispose()  # reconnect with the trace on
            counter.clear()
        else:
            write, store = raw(path)
            store.conn.set_trace_callback(trace)
        for batch in corpus.batches(pubs):
            write(batch)
        for batch in corpus.recrawl_batches(pubs):
            write(batch)
        counts[side] = counter
    return counts


LARGE = 50_000

# How write_batch once asked which (publication, topic) pairs are listed, and how it asks now.
PAIRS_AS_WRITTEN = (
    "SELECT publication_topics.publication_id, publication_topics.topic_id "
    "FROM publication_topics WHERE (publication_topics.publication_id, "
    "publication_topics.topic_id) IN (VALUES (?, ?), (?, ?)) "
    "AND publication_topics.delisted_at IS NULL"
)
PAIRS_BY_PUBLICATION = (
    "SELECT publication_id, topic_id FROM publication_topics "
    "WHERE publication_id IN (?, ?) AND delisted_at IS NULL"
)


def query_plans(path: Path) -> dict[str, str]:
    """EXPLAIN QUERY PLAN of the pairs lookup: a SCAN is a full table read per batch."""
    conn = sqlite3.connect(path)
    try:
        return {
            label: "; ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
            for label, sql, args in (
                ("pairs lookup as it was (row-value IN VALUES)", PAIRS_AS_WRITTEN, (1, 1, 2, 2)),
                ("pairs lookup as written (publication_id IN)", PAIRS_BY_PUBLICATION, (1, 2)),
            )
        }
    finally:
        conn.close()


def _close(_write: Any, handle: Any, path: Path) -> None:
    """Close a side's connection and delete its database files."""
    if isinstance(handle, RawStore):
        handle.close()
    else:
        handle.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def timed_pass(
    write: Callable[[list[Any]], Any], batches: Iterable[list[Any]], cpu: Samples
) -> float:
    """Wall seconds of one pass; its CPU seconds go to ``cpu`` (steadier on a busy machine)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        write(batch)
    cpu.add(time.process_time() - started_cpu)
    return time.perf_counter() - started


def run(
    sizes: Sequence[int],
    *,
    seed: int = corpus.DEFAULT_SEED,
    repeat_n: int = 3,
    report: Report | None = None,
) -> Report:
    report = report or Report("store: write_batch vs the same statements in raw sqlite3")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp)
        pubs = list(corpus.generate(max(sizes), seed))
        check = statement_counts(pubs[:1000], folder)
        same = check["ours"] == check["raw"]
        report.note(
            f"  statements for 1,000 publications (new + re-crawl): ours {dict(check['ours'])}, "
            f"raw {dict(check['raw'])}: {'identical' if same else 'DIFFERENT'}"
        )
        report.add("statement counts identical (1 = yes)", 1.0 if same else 0.0, "bool")
        for label, plan in query_plans(folder / "trace-raw.db").items():
            report.note(f"  query plan, {label}: {plan}")
        for size in sizes:
            subset = pubs[:size]
            new_batches = list(corpus.batches(subset))
            recrawl_batches = list(corpus.recrawl_batches(subset))
            records = sum(len(b) for b in new_batches)
            times: dict[str, Samples] = {
                k: Samples() for k in ("ours new", "raw new", "ours recrawl", "raw recrawl")
            }
            cpu: dict[str, Samples] = {k: Samples() for k in times}
            # New rows: a fresh database per pass. At 100k and up one pass per side (each
            # writes the whole catalog); re-crawls then repeat on the filled databases, as
            # an unchanged re-crawl leaves them as they were (last_seen_at aside).
            new_passes = repeat_n if size < LARGE else 1
            writers: dict[str, tuple[Callable[[list[Any]], Any], Any, Path]] = {}
            for attempt in range(new_passes):  # A B A B: same drift for both sides
                for side, make in (("ours", ours), ("raw", raw)):
                    if side in writers:
                        _close(*writers.pop(side))
                    path = fresh_schema(folder, f"{side}-{size}-{attempt}")
                    write, handle = make(path)
                    times[f"{side} new"].add(timed_pass(write, new_batches, cpu[f"{side} new"]))
                    writers[side] = (write, handle, path)
            for _ in range(repeat_n):
                for side in ("ours", "raw"):
                    write = writers[side][0]
                    times[f"{side} recrawl"].add(
                        timed_pass(write, recrawl_batches, cpu[f"{side} recrawl"])
                    )
            for side in list(writers):
                _close(*writers.pop(side))
            label = f"{size // 1000}k"
            report.note(f"  -- {size:,} publications ({records:,} records in batches of 200)")
            for name, samples in times.items():
                report.timing(f"{label} {name}", samples, "s")
            report.add(
                f"{label} ours new, records/s (best)", records / times["ours new"].min, "rec/s"
            )
            report.ratio(
                f"{label} ratio ours / raw, new (min)", times["ours new"].min, times["raw new"].min
            )
            report.ratio(
                f"{label} ratio ours / raw, unchanged re-crawl (min)",
                times["ours recrawl"].min,
                times["raw recrawl"].min,
            )
            report.ratio(
                f"{label} ratio ours / raw, new (CPU, min)",
                cpu["ours new"].min,
                cpu["raw new"].min,
            )
            report.ratio(
                f"{label} ratio ours / raw, unchanged re-crawl (CPU, min)",
                cpu["ours recrawl"].min,
                cpu["raw recrawl"].min,
            )
            for side in ("ours", "raw"):
                report.add(
                    f"{label} {side} unchanged re-crawl per 1k publications (min)",
                    times[f"{side} recrawl"].min / size * 1000 * 1000,
                    "ms",
                )
                report.add(
                    f"{label} {side} unchanged re-crawl per 1k publications (CPU, min)",
                    cpu[f"{side} recrawl"].min / size * 1000 * 1000,
                    "ms",
                )
        if len(sizes) > 1:
            small, large = f"{sizes[0] // 1000}k", f"{sizes[-1] // 1000}k"
            figures = report.figures
            for side in ("ours", "raw"):
                for kind in ("min", "CPU, min"):
                    key = f"{side} unchanged re-crawl per 1k publications ({kind})"
                    report.ratio(
                        f"{side} re-crawl per-1k cost ({kind}), {large} / {small} (1.0 = linear)",
                        figures[f"{large} {key}"].value,
                        figures[f"{small} {key}"].value,
                    )
    return report


FIGURES = ["statement counts identical (1 = yes)"]


def cached_entries(db: Path) -> list[ListingEntry]:
    """The listing entries a cached corpus catalog holds, read back rather than regenerated
    (generating 100k publications' text takes minutes; re-crawl entries need none of it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT p.url, p.title, p.content_type, p.published_on, p.date_text, p.summary, "
            "p.image_url, p.image_caption, t.slug, t.name, t.url, l.section, l.listing_url, "
            "l.position FROM publication_topics l JOIN publications p ON p.id = l.publication_id "
            "JOIN topics t ON t.id = l.topic_id WHERE l.section IN ('list', 'featured') "
            "ORDER BY l.rowid"
        ).fetchall()
    finally:
        conn.close()
    topics: dict[str, TopicRef] = {}
    return [
        ListingEntry(
            url=r[0],
            title=r[1],
            content_type=r[2],
            published_on=date.fromisoformat(r[3]) if r[3] else None,
            date_text=r[4],
            summary=r[5],
            image_url=r[6],
            image_caption=r[7],
            topic=topics.setdefault(r[8], TopicRef(r[8], r[9], r[10])),
            section=r[11],
            listing_url=r[12],
            position=r[13],
        )
        for r in rows
    ]


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy, WAL included (a file copy would miss what is not checkpointed)."""
    src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def run_cached_recrawl(
    sizes: Sequence[int],
    *,
    seed: int = corpus.DEFAULT_SEED,
    repeat_n: int = 3,
    report: Report | None = None,
    databases: dict[int, Path] | None = None,
) -> Report:
    """Unchanged re-crawls against copies of the cached corpus catalogs, ours and raw, A B A B.

    The cached catalog was filled by ``write_batch`` from the same corpus, so this is the
    re-crawl of a catalog built the way a crawl builds it, without writing it again first.
    """
    report = report or Report("store: unchanged re-crawl of cached catalogs, ours vs raw")
    with tempfile.TemporaryDirectory(prefix="bench-recrawl-") as tmp:
        for size in sizes:
            source = (databases or {}).get(size) or corpus.build(size, seed).db_path
            entries = cached_entries(source)
            batches = [entries[i : i + corpus.BATCH] for i in range(0, len(entries), corpus.BATCH)]
            writers = {}
            for side, make in (("ours", ours), ("raw", raw)):
                path = Path(tmp) / f"{side}-{size}.db"
                _copy_database(source, path)
                writers[side] = (*make(path), path)
            wall = {side: Samples() for side in writers}
            cpu = {side: Samples() for side in writers}
            for _ in range(repeat_n):
                for side, (write, _handle, _path) in writers.items():
                    wall[side].add(timed_pass(write, batches, cpu[side]))
            for side in list(writers):
                _close(*writers.pop(side))
            label = f"{size // 1000}k"
            report.note(f"  -- {size:,} publications, {len(entries):,} listing entries")
            for side in ("ours", "raw"):
                report.timing(f"{label} {side} recrawl", wall[side], "s")
                report.add(
                    f"{label} {side} re-crawl per 1k publications (CPU, min)",
                    cpu[side].min / size * 1e6,
                    "ms",
                )
                report.add(
                    f"{label} {side} re-crawl per 1k publications (min)",
                    wall[side].min / size * 1e6,
                    "ms",
                )
            report.ratio(f"{label} ratio ours / raw (min)", wall["ours"].min, wall["raw"].min)
            report.ratio(f"{label} ratio ours / raw (CPU, min)", cpu["ours"].min, cpu["raw"].min)
        if len(sizes) > 1:
            small, large = f"{sizes[0] // 1000}k", f"{sizes[-1] // 1000}k"
            for side in ("ours", "raw"):
                for kind in ("min", "CPU, min"):
                    key = f"{side} re-crawl per 1k publications ({kind})"
                    report.ratio(
                        f"{side} re-crawl per-1k cost ({kind}), {large} / {small} (1.0 = linear)",
                        report.figures[f"{large} {key}"].value,
                        report.figures[f"{small} {key}"].value,
                    )
    return report


def figures_for(sizes: Sequence[int]) -> list[str]:
    names = list(FIGURES)
    for size in sizes:
        label = f"{size // 1000}k"
        names += [
            f"{label} ratio ours / raw, new (min)",
            f"{label} ratio ours / raw, unchanged re-crawl (min)",
            f"{label} ours unchanged re-crawl per 1k publications (min)",
            f"{label} raw unchanged re-crawl per 1k publications (min)",
        ]
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 1k, 10k, 100k")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=3, help="passes per side and size")
    parser.add_argument(
        "--cached-recrawl",
        action="store_true",
        help="only unchanged re-crawls, against copies of the cached corpus catalogs",
    )
    args = parser.parse_args()
    print(machine_line())
    if args.cached_recrawl:
        sizes = [corpus.parse_size(s) for s in args.sizes.split(",")]
        run_cached_recrawl(sizes, seed=args.seed, repeat_n=args.repeat)
        return
    run([corpus.parse_size(s) for s in args.sizes.split(",")], seed=args.seed, repeat_n=args.repeat)


if __name__ == "__main__":
    main()
