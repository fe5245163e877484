"""Search latency as the CLI runs it, beside SQLite FTS5 on the same corpus and queries.

    python -m benchmarks.bench_search --size 10k --rounds 5

Every query of a fixed mix (words common to rare, stemming, phrases, ``title:``,
``author:"..."``, boolean, prefix wildcards, ``--since/--until``, ``--type``, ``--topic``,
``--sort newest``) runs the way ``catalog search`` runs it: open the index, parse, search,
highlight each hit, then read the hits from the database. The same steps are timed apart so a
slow total can be pinned on one of them, and the sum is checked against the real
``queries.search_publications``. FTS5 answers the same queries (bm25 with the title weighted
x2 as Whoosh boosts it, ``snippet()`` for highlighting, the same database read), and the
top-10 overlap of the two engines says whether they are answering the same question.
Finally ``catalog search`` runs end to end as a subprocess, start-up included.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks import corpus
from benchmarks.harness import (
    Report,
    Samples,
    machine_line,
    python_env,
    repeat,
)
from catalog import queries, search
from catalog.db import make_engine

LIMIT = 20  # `catalog search` default
FTS_DEFAULT = "{title summary abstract}"  # Whoosh's default fields
# bm25 weights per FTS5 column: url, title (x2 as Whoosh's field_boost), summary, abstract,
# author, topics, then the UNINDEXED filter columns.
BM25 = "bm25(pub_fts, 0, 2.0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0)"


@dataclass(frozen=True)
class MixQuery:
    """One query of the mix, in both engines' words."""

    label: str
    text: str  # as typed after `catalog search`
    fts: str  # the same question in FTS5 MATCH syntax
    filters: dict[str, Any] = field(default_factory=dict)  # search_publications keywords


def query_mix() -> list[MixQuery]:
    """The fixed mix; the author is the corpus's most prolific one, so the query has hits."""
    author = corpus.AUTHORS[0]
    since_until = {"since": date(2020, 1, 1), "until": date(2022, 12, 31)}
    return [
        MixQuery("word, common", "security", f"{FTS_DEFAULT}: security"),
        MixQuery("word, medium", "deterrence", f"{FTS_DEFAULT}: deterrence"),
        MixQuery("word, rare", "sahel", f"{FTS_DEFAULT}: sahel"),
        MixQuery("word, stemmed", "alliances", f"{FTS_DEFAULT}: alliances"),
        MixQuery("two words", "nuclear deterrence", f"{FTS_DEFAULT}: (nuclear AND deterrence)"),
        MixQuery("phrase", '"security cooperation"', f'{FTS_DEFAULT}: "security cooperation"'),
        MixQuery(
            "phrase, 3 words",
            '"great power competition"',
            f'{FTS_DEFAULT}: "great power competition"',
        ),
        MixQuery("title:", "title:deterrence", "title: deterrence"),
        MixQuery("title: phrase", 'title:"arms control"', 'title: "arms control"'),
        MixQuery("author:", f'author:"{author}"', f'author: "{author}"'),
        MixQuery(
            "boolean",
            "russia AND (sanctions OR deterrence)",
            f"{FTS_DEFAULT}: (russia AND (sanctions OR deterrence))",
        ),
        MixQuery("NOT", "china NOT taiwan", f"{FTS_DEFAULT}: (china NOT taiwan)"),
        MixQuery("prefix secur*", "secur*", f"{FTS_DEFAULT}: secur*"),
        MixQuery("prefix deter*", "deter*", f"{FTS_DEFAULT}: deter*"),
        MixQuery("--since/--until", "cyber", f"{FTS_DEFAULT}: cyber", since_until),
        MixQuery(
            "--type --since",
            "workforce",
            f"{FTS_DEFAULT}: workforce",
            {"content_type": "Report", "since": date(2015, 1, 1)},
        ),
        MixQuery("--sort newest", "veterans", f"{FTS_DEFAULT}: veterans", {"sort": "newest"}),
        MixQuery(
            "--topic, phrase",
            '"health care"',
            f'{FTS_DEFAULT}: "health care"',
            {"topic": "health-care"},
        ),
    ]


# --- Whoosh, step by step as catalog.search.search and queries.search_publications do -----


@dataclass
class Steps:
    open: Samples = field(default_factory=Samples)
    search: Samples = field(default_factory=Samples)
    highlight: Samples = field(default_factory=Samples)
    db: Samples = field(default_factory=Samples)
    total: Samples = field(default_factory=Samples)


def whoosh_split(engine: Any, index_dir: Path, q: MixQuery, steps: Steps) -> list[str]:
    """One query, each step timed; mirrors search.search + queries.search_publications.

    Reads catalog.search's steps (``Filters.apply``, ``IndexReader.run`` and ``snippets``):
    if they change, this split must follow; ``check_split`` below says when it stops adding up.
    """
    filters = dict(q.filters)
    sort = filters.pop("sort", "relevance")
    t0 = time.perf_counter()
    reader = search.open_reader(index_dir)
    t1 = time.perf_counter()
    try:
        query = search.Filters(**filters).apply(search.parse_query(q.text))
        results = reader.run(query, sort, LIMIT)
        # searcher.search() has matched, scored and kept the top N here. Not len(results):
        # Whoosh counts every match by running the query again when it skipped blocks.
        t2 = time.perf_counter()
        hits = reader.snippets(
            results,
            scored=sort == "relevance",
            page_texts=lambda ids: queries.page_texts(engine, ids),
        )
        urls = [hit.url for hit in hits]
        t3 = time.perf_counter()
    finally:
        reader.close()
    queries.publications_by_url(engine, urls)
    t4 = time.perf_counter()
    steps.open.add(t1 - t0)
    steps.search.add(t2 - t1)
    steps.highlight.add(t3 - t2)
    steps.db.add(t4 - t3)
    steps.total.add(t4 - t0)
    return urls


def whoosh_cli(engine: Any, index_dir: Path, q: MixQuery) -> list[str]:
    """The real thing: what `catalog search` calls."""
    rows = queries.search_publications(engine, index_dir, q.text, limit=LIMIT, **q.filters)
    return [r["url"] for r in rows]


# --- FTS5 ----------------------------------------------------------------------------------


def fts_sql(q: MixQuery) -> tuple[str, list[Any]]:
    """The FTS5 statement answering ``q``, with the same filters and ordering."""
    where = ["pub_fts MATCH ?"]
    params: list[Any] = [q.fts]
    f = q.filters
    if f.get("since"):
        where.append("published_on >= ?")
        params.append(f["since"].isoformat())
    if f.get("until"):
        where.append("published_on <= ?")
        params.append(f["until"].isoformat())
    if f.get("content_type"):
        where.append("lower(content_type) = ?")
        params.append(f["content_type"].lower())
    if f.get("topic"):
        where.append("instr(',' || topic_slugs || ',', ?) > 0")
        params.append(f",{f['topic']},")
    order = {"newest": "published_on DESC", "oldest": "published_on ASC"}.get(
        f.get("sort", ""), BM25
    )
    sql = (
        "SELECT url, snippet(pub_fts, -1, '[', ']', ' … ', 24) FROM pub_fts "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {LIMIT}"
    )
    return sql, params


def fts_split(engine: Any, fts_path: Path, q: MixQuery, steps: Steps) -> list[str]:
    """Open, search with bm25 and snippet, then the same database read as Whoosh's."""
    sql, params = fts_sql(q)
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{fts_path}?mode=ro", uri=True)
    t1 = time.perf_counter()
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    t2 = time.perf_counter()
    urls = [url for url, _snippet in rows]
    queries.publications_by_url(engine, urls)
    t3 = time.perf_counter()
    steps.open.add(t1 - t0)
    steps.search.add(t2 - t1)  # search and snippets: FTS5 makes them in one statement
    steps.db.add(t3 - t2)
    steps.total.add(t3 - t0)
    return urls


def overlap_at_10(a: list[str], b: list[str]) -> float:
    """Share of Whoosh's top 10 that FTS5's top 10 also holds (1.0 when both are empty)."""
    top_a, top_b = set(a[:10]), set(b[:10])
    if not top_a and not top_b:
        return 1.0
    return len(top_a & top_b) / max(len(top_a), len(top_b))


# --- tantivy, only when installed ------------------------------------------------------------


def tantivy_available() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


# --- the benchmark ----------------------------------------------------------------------------


def run(
    built: corpus.BuiltCorpus,
    *,
    rounds: int = 5,
    cli_runs: int = 5,
    report: Report | None = None,
) -> Report:
    report = report or Report(f"search, {built.size:,} publications")
    engine = make_engine(built.db_url, read_only=True)
    mix = query_mix()
    whoosh, fts, cli = Steps(), Steps(), Samples()
    per_query: dict[str, tuple[Samples, Samples, float, int]] = {}
    for q in mix:  # warm the OS cache and Python's imports once, untimed
        whoosh_cli(engine, built.index_dir, q)
        fts_split(engine, built.fts_path, q, Steps())
    for _ in range(rounds):
        for q in mix:  # interleaved per query: both engines see the same machine load
            w_steps, f_steps = Steps(), Steps()
            w_urls = whoosh_split(engine, built.index_dir, q, w_steps)
            f_urls = fts_split(engine, built.fts_path, q, f_steps)
            started = time.perf_counter()
            whoosh_cli(engine, built.index_dir, q)
            cli.add(time.perf_counter() - started)
            for total, part in ((whoosh, w_steps), (fts, f_steps)):
                for name in ("open", "search", "highlight", "db", "total"):
                    getattr(total, name).values.extend(getattr(part, name).values)
            w_s, f_s, _, _ = per_query.setdefault(
                q.label, (Samples(), Samples(), overlap_at_10(w_urls, f_urls), len(w_urls))
            )
            w_s.values.extend(w_steps.total.values)
            f_s.values.extend(f_steps.total.values)

    n = len(whoosh.total.values)
    report.note(f"  {len(mix)} queries x {rounds} rounds = {n} samples per engine, limit {LIMIT}")
    report.note(
        f"  {'query':<20} {'whoosh med ms':>13} {'fts5 med ms':>11} {'ratio':>7} "
        f"{'top10 overlap':>13} {'hits':>5}"
    )
    for label, (w_s, f_s, overlap, hits) in per_query.items():
        report.note(
            f"  {label:<20} {w_s.median * 1000:>13.1f} {f_s.median * 1000:>11.1f} "
            f"{w_s.median / f_s.median:>7.1f} {overlap:>13.2f} {hits:>5}"
        )
    report.latency("whoosh as the CLI runs it (search_publications)", cli)
    report.latency("whoosh split: total", whoosh.total)
    report.latency("whoosh search()", whoosh.search, "the engine alone: match, score, top N")
    for step in ("open", "search", "highlight", "db"):
        report.add(f"whoosh split: {step} median", whoosh_median(whoosh, step), "ms")
    report.latency("fts5: total", fts.total)
    for step in ("open", "search", "db"):
        report.add(f"fts5: {step} median", whoosh_median(fts, step), "ms")
    report.ratio("ratio whoosh / fts5, p50", whoosh.total.p(50), fts.total.p(50))
    report.ratio("ratio whoosh / fts5, p95", whoosh.total.p(95), fts.total.p(95))
    report.ratio(
        "ratio whoosh / fts5, engine only p50 (no db read)",
        engine_only(whoosh).p(50),
        engine_only(fts).p(50),
    )
    report.ratio(
        "check: split total / search_publications, p50",
        whoosh.total.p(50),
        cli.p(50),
        "~1.0 when the split mirrors the code",
    )
    report.add(
        "top-10 overlap whoosh vs fts5, mean",
        sum(o for _, _, o, _ in per_query.values()) / len(per_query),
        "share",
    )
    if tantivy_available():
        report.note("  tantivy is installed but not wired in yet; skipped")
    else:
        report.note("  tantivy not installed: skipped (pip install tantivy to compare)")
    engine.dispose()

    # End to end, as a user runs it: a fresh process per search.
    for label, args in (
        ("catalog search word", ["security"]),
        ("catalog search phrase --since", ['"security cooperation"', "--since", "2020"]),
    ):
        samples = repeat(lambda a=args: run_cli_search(built.home, a), cli_runs, warmup=1)
        report.timing(f"{label} (subprocess)", samples)
    return report


def whoosh_median(steps: Steps, name: str) -> float:
    return getattr(steps, name).median * 1000


def engine_only(steps: Steps) -> Samples:
    """Per-sample total minus the database read: the search engine's own cost."""
    return Samples([t - d for t, d in zip(steps.total.values, steps.db.values, strict=True)])


def run_cli_search(home: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "catalog", "--home", str(home), "search", *args],
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"catalog search failed: {result.stderr[-2000:]}")


FIGURES = [
    "whoosh as the CLI runs it (search_publications) p50",
    "whoosh as the CLI runs it (search_publications) p95",
    "whoosh as the CLI runs it (search_publications) p99",
    "whoosh search() p50",
    "whoosh search() p95",
    "whoosh split: open median",
    "whoosh split: search median",
    "whoosh split: highlight median",
    "whoosh split: db median",
    "fts5: total p50",
    "fts5: total p95",
    "fts5: total p99",
    "ratio whoosh / fts5, p50",
    "top-10 overlap whoosh vs fts5, mean",
    "catalog search word (subprocess) median",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the query mix")
    parser.add_argument("--cli-runs", type=int, default=5, help="subprocess searches per query")
    args = parser.parse_args()
    print(machine_line())
    built = corpus.build(corpus.parse_size(args.size), args.seed)
    run(built, rounds=args.rounds, cli_runs=args.cli_runs)


if __name__ == "__main__":
    main()
