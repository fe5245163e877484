"""Write-path benchmark: our batched store and index against raw sqlite3, same rows, same run.

    python benchmarks/bench_store.py [--rows 20000] [--batch 200]

Prints rows/s of CatalogStore.write_batch (Core upserts, one transaction per batch, change
history) beside raw ``sqlite3.executemany`` of the same rows in one transaction, the ratio,
the cost of an unchanged re-crawl, and Whoosh indexing docs/s for a full rebuild versus an
incremental update of 1% of the documents. Compare ratios, not absolute times, across runs.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from catalog import queries, search
from catalog.db import make_engine, upgrade
from catalog.store import CatalogStore
from crawler.items import ListingEntry, TopicRef

TOPIC = TopicRef("bench", "Bench", "https://www.rand.org/topics/bench.html")


REGIONS = [
    "the Baltic",
    "the Sahel",
    "the South China Sea",
    "the Gulf",
    "Korea",
    "the Arctic",
    "Central Asia",
    "the Andes",
    "the Black Sea",
    "the Horn of Africa",
]
THEMES = [
    "security cooperation",
    "arms sales",
    "alliance management",
    "deterrence",
    "counterterrorism",
    "maritime law enforcement",
    "defense industry",
    "basing",
]


def entries(count: int, suffix: str = "") -> list[ListingEntry]:
    """A corpus where each theme and region is in a fraction of documents, as in a catalog."""
    start = date(2020, 1, 1)
    return [
        ListingEntry(
            url=f"https://www.rand.org/pubs/research_reports/RR{n}.html",
            title=f"{THEMES[n % 8].capitalize()} in {REGIONS[n % 10]}: study {n}{suffix}",
            content_type="Report" if n % 3 else "Commentary",
            published_on=start + timedelta(days=n % 1500),
            date_text="Jan 1, 2020",
            summary=f"How partners in {REGIONS[n // 10 % 10]} weigh {THEMES[n // 8 % 8]} ({n}).",
            image_url=None,
            image_caption=None,
            topic=TOPIC,
            section="list",
            listing_url=TOPIC.url,
            position=n % 20 + 1,
        )
        for n in range(count)
    ]


def timed(label: str, rows: int, func) -> float:
    started = time.perf_counter()
    func()
    seconds = time.perf_counter() - started
    print(f"{label:<44} {rows:>7} rows  {seconds:7.3f} s  {rows / seconds:>10,.0f} rows/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    rows = entries(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = make_engine(f"sqlite:///{folder / 'catalog.db'}")
        upgrade(engine)
        store = CatalogStore(engine)
        run = store.start_run("bench")

        def write_all(batch_rows):
            for start in range(0, len(batch_rows), args.batch):
                store.write_batch(batch_rows[start : start + args.batch], run)

        ours = timed(
            f"store.write_batch, new (batches of {args.batch})", len(rows), lambda: write_all(rows)
        )
        timed("store.write_batch, unchanged re-crawl", len(rows), lambda: write_all(rows))
        changed = entries(args.rows // 100, suffix=" (revised)")
        timed("store.write_batch, 1% changed", len(changed), lambda: write_all(changed))

        raw_db = sqlite3.connect(folder / "raw.db")
        raw_db.execute("PRAGMA journal_mode=WAL")
        raw_db.execute(
            "CREATE TABLE publications (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, "
            "content_type TEXT, published_on DATE, date_text TEXT, summary TEXT)"
        )
        values = [
            (e.url, e.title, e.content_type, e.published_on.isoformat(), e.date_text, e.summary)
            for e in rows
        ]

        def raw_insert():
            with raw_db:
                raw_db.executemany(
                    "INSERT INTO publications (url, title, content_type, published_on, "
                    "date_text, summary) VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )

        raw = timed("raw sqlite3.executemany, one transaction", len(values), raw_insert)
        print(
            f"ratio ours / raw (new rows): {ours / raw:.1f}x the time of a bare insert "
            "(ours also classifies, upserts topics and links, and writes history)"
        )

        index_dir = folder / "index"
        docs = list(queries.index_documents(engine))
        full = timed(
            "search.rebuild (full index)", len(docs), lambda: search.rebuild(index_dir, docs)
        )
        sample = docs[: max(1, len(docs) // 100)]
        part = timed(
            "search.update_documents (1% incremental)",
            len(sample),
            lambda: search.update_documents(index_dir, sample),
        )
        print(f"ratio incremental 1% / full rebuild: {part / full:.3f}")
        latencies = []
        for query in ("alliances", '"security cooperation"', "deterrence AND baltic", "arct*"):
            started = time.perf_counter()
            search.search(index_dir, query, limit=20)
            latencies.append((time.perf_counter() - started) * 1000)
        print("query latency ms: " + ", ".join(f"{ms:.1f}" for ms in latencies))


if __name__ == "__main__":
    main()
