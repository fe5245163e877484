"""Search latency of every engine, side by side, beside SQLite FTS5 on the same corpus and queries.

    python -m benchmarks.bench_search --size 10k --rounds 5

Every query of a fixed mix (words common to rare, stemming, phrases, ``title:``,
``author:"..."``, boolean, prefix wildcards, ``--since/--until``, ``--type``, ``--topic``,
``--sort newest``) runs, for each engine, two ways:

- index open: one reader opened before the first query and kept for all of them, as a web
  server would. The engine alone (``EngineSearcher.top``: match, score, the exact top N and
  the total) is timed inside the reader's ``search`` (which adds snippets).
- as the CLI runs it: the index's sync check, then ``queries.search_catalog`` (open the
  index, search, snippets, read the hits from the database, a suggestion when nothing
  matched, close), split into those steps.

Both run the real code: the reader and index are the catalog's own classes with a clock
around their engine call, open, search and suggest, so the split cannot drift from the code.
FTS5 answers the same queries both ways (a connection kept open; a connection per query plus
the same database read), with bm25 (the title weighted x2 as the engines boost it) and
``snippet()``, as the performance issue measured it: that statement is the reference the
engines' ratios are taken to. The engine alone makes no snippets (the reader does, after it),
so the same statement without ``snippet()`` is timed too, to show what they cost FTS5. Every
engine and FTS5 run the same query back to back before the next query starts, so all see the
same machine load.

The engines share one query language and one analyzer, so their hit counts must be equal:
each query's totals are reported, and how many queries differ (the targets want 0). The
top-10 overlap of each pair (engines, and each engine with FTS5) says whether their rankings
answer the same question. Finally ``catalog search`` runs end to end as a subprocess per
engine, start-up included, beside the import floor of the command (its libraries imported
alone), interleaved.
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
from benchmarks.bench_startup import IMPORT_FLOORS
from benchmarks.harness import (
    REPO,
    Report,
    Samples,
    interleaved,
    machine_line,
    python_env,
)
from catalog import queries
from catalog.db import make_engine
from catalog.index import Filters, SearchIndex
from catalog.index.reader import IndexReader

LIMIT = 20  # `catalog search` default
ENGINES = corpus.SEARCH_ENGINES
FTS_DEFAULT = "{title summary abstract}"  # the engines' default fields
# bm25 weights per FTS5 column: url, title (x2 as the engines boost it), summary, abstract,
# author, topics, then the UNINDEXED filter columns.
BM25 = "bm25(pub_fts, 0, 2.0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0)"
# End to end: what a user types after `catalog search`.
CLI_SEARCHES = {
    "word": ["security"],
    "phrase --since": ['"security cooperation"', "--since", "2020"],
}


@dataclass(frozen=True)
class MixQuery:
    """One query of the mix, in the catalog's words and in FTS5's."""

    label: str
    text: str  # as typed after `catalog search`
    fts: str  # the same question in FTS5 MATCH syntax
    filters: dict[str, Any] = field(default_factory=dict)  # Filters' fields, and "sort"

    @property
    def sort(self) -> str:
        return self.filters.get("sort", "relevance")

    @property
    def catalog_filters(self) -> Filters:
        return Filters(**{k: v for k, v in self.filters.items() if k != "sort"})


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


# --- the catalog's own index and reader, with a clock around their steps --------------------


@dataclass
class Clock:
    """Seconds spent in each step since the last reset (summed over calls)."""

    open: float = 0.0  # opening the index, and closing it
    engine: float = 0.0  # EngineSearcher.top: the engine alone
    search: float = 0.0  # IndexReader.search: the engine and snippets
    search_engine: float = 0.0  # the engine's part of that
    suggest: float = 0.0  # IndexReader.suggest ("did you mean", when nothing matched)

    def reset(self) -> None:
        self.open = self.engine = self.search = self.search_engine = self.suggest = 0.0


class TimedSearcher:
    """An engine's searcher whose ``top`` is timed; everything else passes through."""

    def __init__(self, inner: Any, clock: Clock) -> None:
        self._inner = inner
        self._clock = clock

    def top(self, plan: Any, filters: Filters, *, sort: str, limit: int) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.top(plan, filters, sort=sort, limit=limit)
        finally:
            self._clock.engine += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class TimedReader(IndexReader):
    """The catalog's reader, timing its search, suggest and close."""

    def __init__(self, reader: IndexReader, clock: Clock) -> None:
        super().__init__(TimedSearcher(reader.searcher, clock), reader.engine)
        self.clock = clock

    def search(self, *args: Any, **kwargs: Any) -> Any:
        engine_before = self.clock.engine
        started = time.perf_counter()
        try:
            return super().search(*args, **kwargs)
        finally:
            self.clock.search += time.perf_counter() - started
            self.clock.search_engine += self.clock.engine - engine_before

    def suggest(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().suggest(*args, **kwargs)
        finally:
            self.clock.suggest += time.perf_counter() - started

    def close(self) -> None:
        started = time.perf_counter()
        try:
            super().close()
        finally:
            self.clock.open += time.perf_counter() - started


class TimedIndex(SearchIndex):
    """The catalog's index, whose readers are :class:`TimedReader` and whose open is timed."""

    def __init__(self, folder: Path, engine: str, clock: Clock) -> None:
        super().__init__(folder, engine)
        self.clock = clock

    def open_reader(self) -> TimedReader:
        started = time.perf_counter()
        reader = super().open_reader()
        self.clock.open += time.perf_counter() - started
        return TimedReader(reader, self.clock)


@dataclass
class Steps:
    """One engine's samples as the CLI runs it, step by step (seconds)."""

    sync: Samples = field(default_factory=Samples)  # the sync check before a search
    open: Samples = field(default_factory=Samples)  # open and close
    engine: Samples = field(default_factory=Samples)  # EngineSearcher.top
    snippets: Samples = field(default_factory=Samples)  # the rest of IndexReader.search
    suggest: Samples = field(default_factory=Samples)
    db: Samples = field(default_factory=Samples)  # the hits' rows (and page text) read
    total: Samples = field(default_factory=Samples)


STEP_NAMES = ("sync", "open", "engine", "snippets", "suggest", "db")


def cli_search(db: Any, index: TimedIndex, q: MixQuery, steps: Steps | None) -> list[str]:
    """One query as `catalog search` runs it, each step timed: the index's sync check (a
    no-op when it is level), then ``queries.search_catalog``."""
    clock = index.clock
    clock.reset()
    source = queries.CatalogIndexSource(db)
    t0 = time.perf_counter()
    report = index.sync(source)
    t1 = time.perf_counter()
    found = queries.search_catalog(
        db, index, q.text, filters=q.catalog_filters, sort=q.sort, limit=LIMIT
    )
    t2 = time.perf_counter()
    if report.rebuilt or report.updated or report.deleted:
        raise RuntimeError(f"{index}: the cached index was not level with the catalog: {report}")
    if steps is not None:
        steps.sync.add(t1 - t0)
        steps.open.add(clock.open)
        steps.engine.add(clock.engine)
        steps.snippets.add(clock.search - clock.search_engine)
        steps.suggest.add(clock.suggest)
        steps.db.add(t2 - t1 - clock.open - clock.search - clock.suggest)
        steps.total.add(t2 - t0)
    return [row["url"] for row in found.rows]


def open_search(db: Any, reader: TimedReader, q: MixQuery) -> tuple[float, float, Any]:
    """One query on a reader kept open: (engine seconds, search() seconds, result)."""
    reader.clock.reset()
    result = reader.search(
        q.text,
        filters=q.catalog_filters,
        sort=q.sort,
        limit=LIMIT,
        texts=lambda ids: queries.hit_texts(db, ids),
    )
    return reader.clock.engine, reader.clock.search, result


# --- FTS5 ----------------------------------------------------------------------------------


def fts_where(q: MixQuery) -> tuple[str, list[Any]]:
    """The FTS5 WHERE clause answering ``q``, with the same filters."""
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
    return " AND ".join(where), params


def fts_sql(q: MixQuery, snippets: bool = True) -> tuple[str, list[Any]]:
    """The FTS5 statement answering ``q``: the same filters and ordering, with snippets (or,
    to show what they cost, the stored title and summary instead)."""
    where, params = fts_where(q)
    order = {"newest": "published_on DESC", "oldest": "published_on ASC"}.get(q.sort, BM25)
    shown = "snippet(pub_fts, -1, '[', ']', ' … ', 24)" if snippets else "title, summary"
    sql = f"SELECT url, {shown} FROM pub_fts WHERE {where} ORDER BY {order} LIMIT {LIMIT}"
    return sql, params


def fts_count(conn: sqlite3.Connection, q: MixQuery) -> int:
    where, params = fts_where(q)
    return int(conn.execute(f"SELECT count(*) FROM pub_fts WHERE {where}", params).fetchone()[0])


@dataclass
class FtsSteps:
    open: Samples = field(default_factory=Samples)
    statement: Samples = field(default_factory=Samples)
    db: Samples = field(default_factory=Samples)
    total: Samples = field(default_factory=Samples)


def fts_cli(db: Any, fts_path: Path, q: MixQuery, steps: FtsSteps | None) -> list[str]:
    """As the CLI would: open, search with bm25 and snippets, the same database read."""
    sql, params = fts_sql(q)
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{fts_path}?mode=ro", uri=True)
    t1 = time.perf_counter()
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    t2 = time.perf_counter()
    urls = [row[0] for row in rows]
    queries.publications_by_url(db, urls)
    t3 = time.perf_counter()
    if steps is not None:
        steps.open.add(t1 - t0)
        steps.statement.add(t2 - t1)  # search and snippets: FTS5 makes them in one statement
        steps.db.add(t3 - t2)
        steps.total.add(t3 - t0)
    return urls


def fts_open(
    conn: sqlite3.Connection, q: MixQuery, snippets: bool = True
) -> tuple[float, list[str]]:
    """The statement alone on a connection kept open: (seconds, urls)."""
    sql, params = fts_sql(q, snippets)
    started = time.perf_counter()
    rows = conn.execute(sql, params).fetchall()
    return time.perf_counter() - started, [row[0] for row in rows]


def overlap_at_10(a: list[str], b: list[str]) -> float:
    """Share of the top 10 the two lists hold in common (1.0 when both are empty)."""
    top_a, top_b = set(a[:10]), set(b[:10])
    if not top_a and not top_b:
        return 1.0
    return len(top_a & top_b) / max(len(top_a), len(top_b))


# --- the benchmark ----------------------------------------------------------------------------


@dataclass
class PerQuery:
    """One query's samples and answers, every engine and FTS5."""

    engine_open: dict[str, Samples] = field(default_factory=dict)
    search_open: dict[str, Samples] = field(default_factory=dict)
    cli: dict[str, Samples] = field(default_factory=dict)
    fts_open: Samples = field(default_factory=Samples)
    fts_bare: Samples = field(default_factory=Samples)  # no snippet(): what snippets cost
    fts_cli: Samples = field(default_factory=Samples)
    hits: dict[str, int] = field(default_factory=dict)  # result.total; "fts5": count(*)
    top: dict[str, list[str]] = field(default_factory=dict)  # the urls shown, in order


def run(
    built: corpus.BuiltCorpus,
    *,
    rounds: int = 5,
    cli_runs: int = 5,
    report: Report | None = None,
) -> Report:
    report = report or Report(f"search, {built.size:,} publications")
    db = make_engine(built.db_url, read_only=True)
    mix = query_mix()
    clocks = {name: Clock() for name in ENGINES}
    indexes = {name: TimedIndex(built.index_dir_for(name), name, clocks[name]) for name in ENGINES}
    # Index open: one reader per engine, and one FTS5 connection, for every query and round.
    readers = {name: indexes[name].open_reader() for name in ENGINES}
    fts_conn = sqlite3.connect(f"file:{built.fts_path}?mode=ro", uri=True)
    per_query = {q.label: PerQuery() for q in mix}
    cli_steps = {name: Steps() for name in ENGINES}
    fts_steps = FtsSteps()
    try:
        for q in mix:  # warm the OS cache and imports once, untimed; keep the answers
            found = per_query[q.label]
            for name in ENGINES:
                cli_search(db, indexes[name], q, None)
                _, _, result = open_search(db, readers[name], q)
                found.hits[name] = result.total
                found.top[name] = [hit.url for hit in result.hits]
            fts_cli(db, built.fts_path, q, None)
            found.top["fts5"] = fts_open(fts_conn, q)[1]
            found.hits["fts5"] = fts_count(fts_conn, q)
        for _ in range(rounds):
            for q in mix:  # interleaved per query: every engine sees the same machine load
                found = per_query[q.label]
                for name in ENGINES:
                    engine_s, search_s, _ = open_search(db, readers[name], q)
                    found.engine_open.setdefault(name, Samples()).add(engine_s)
                    found.search_open.setdefault(name, Samples()).add(search_s)
                found.fts_open.add(fts_open(fts_conn, q)[0])
                found.fts_bare.add(fts_open(fts_conn, q, snippets=False)[0])
                for name in ENGINES:
                    before = len(cli_steps[name].total.values)
                    cli_search(db, indexes[name], q, cli_steps[name])
                    found.cli.setdefault(name, Samples()).add(cli_steps[name].total.values[before])
                before = len(fts_steps.total.values)
                fts_cli(db, built.fts_path, q, fts_steps)
                found.fts_cli.add(fts_steps.total.values[before])
    finally:
        for reader in readers.values():
            reader.close()
        fts_conn.close()
        db.dispose()

    _report_queries(report, mix, per_query, rounds)
    _report_latency(report, per_query, cli_steps, fts_steps)
    _report_agreement(report, per_query)
    end_to_end(built, cli_runs, report)
    return report


def _merged(per_query: dict[str, PerQuery], pick: Any) -> Samples:
    """One latency set over every query's samples."""
    merged = Samples()
    for found in per_query.values():
        merged.values.extend(pick(found).values)
    return merged


def _report_queries(
    report: Report, mix: list[MixQuery], per_query: dict[str, PerQuery], rounds: int
) -> None:
    report.note(
        f"  {len(mix)} queries x {rounds} rounds = {len(mix) * rounds} samples per engine and "
        f"mode, limit {LIMIT}; engines: {', '.join(ENGINES)}; reference: SQLite FTS5"
    )
    report.note("  per query, engine alone with the index open (median ms), hits, top-10 overlap:")
    pairs = _pairs()
    head = "".join(f"{n + ' ms':>11}" for n in (*ENGINES, "fts5"))
    head += "".join(f"{n + ' hits':>14}" for n in (*ENGINES, "fts5")) + f"{'equal':>7}"
    head += "".join(f"{f'{a[0]}/{b[0]}':>6}" for a, b in pairs)
    report.note(f"  {'query':<18}{head}")
    for label, found in per_query.items():
        line = "".join(f"{found.engine_open[n].median * 1000:>11.2f}" for n in ENGINES)
        line += f"{found.fts_open.median * 1000:>11.2f}"
        line += "".join(f"{found.hits[n]:>14,}" for n in (*ENGINES, "fts5"))
        line += f"{'yes' if _hits_equal(found) else 'NO':>7}"
        line += "".join(f"{overlap_at_10(found.top[a], found.top[b]):>6.2f}" for a, b in pairs)
        report.note(f"  {label:<18}{line}")
    report.note(
        "  (overlap columns: first letters of the pair, e.g. t/w = tantivy vs whoosh, "
        "w/f = whoosh vs fts5; equal compares the engines' hits only: FTS5's may differ, "
        "it has its own tokenizer and stemmer)"
    )
    report.details["queries"] = {
        label: {
            "hits": found.hits,
            "hits_equal": _hits_equal(found),
            "top10_overlap": {
                f"{a}/{b}": overlap_at_10(found.top[a], found.top[b]) for a, b in pairs
            },
            "engine_open_median_ms": {
                **{n: found.engine_open[n].median * 1000 for n in ENGINES},
                "fts5": found.fts_open.median * 1000,
            },
            "cli_median_ms": {
                **{n: found.cli[n].median * 1000 for n in ENGINES},
                "fts5": found.fts_cli.median * 1000,
            },
        }
        for label, found in per_query.items()
    }


def _pairs() -> list[tuple[str, str]]:
    """The engine pairs, then each engine with FTS5."""
    pairs = [(b, a) for i, a in enumerate(ENGINES) for b in ENGINES[i + 1 :]]
    return pairs + [(name, "fts5") for name in ENGINES]


def _hits_equal(found: PerQuery) -> bool:
    return len({found.hits[n] for n in ENGINES}) == 1


def _report_latency(
    report: Report,
    per_query: dict[str, PerQuery],
    cli_steps: dict[str, Steps],
    fts_steps: FtsSteps,
) -> None:
    engine_open = {n: _merged(per_query, lambda f, n=n: f.engine_open[n]) for n in ENGINES}
    search_open = {n: _merged(per_query, lambda f, n=n: f.search_open[n]) for n in ENGINES}
    fts_open = _merged(per_query, lambda f: f.fts_open)
    fts_bare = _merged(per_query, lambda f: f.fts_bare)
    cli = {n: cli_steps[n].total for n in ENGINES}
    cli_engine = {n: cli_steps[n].engine for n in ENGINES}

    columns = (*ENGINES, "fts5")
    report.note("  side by side (ms)                  " + "".join(f"{c:>10}" for c in columns))
    rows = (
        ("engine alone, index open", engine_open, fts_open),
        ("search() with snippets, open", search_open, None),
        ("as the CLI runs it", cli, fts_steps.total),
        ("engine alone, CLI", cli_engine, fts_steps.statement),
    )
    for title, sets, fts in rows:
        for q in (50, 95):
            cells = [sets[n].p(q) * 1000 for n in ENGINES]
            cells.append(fts.p(q) * 1000 if fts is not None else float("nan"))
            text = "".join(f"{c:>10.2f}" if c == c else f"{'-':>10}" for c in cells)
            report.note(f"    {title + f' p{q}':<34}{text}")

    for q in (50, 95, 99):
        for name in ENGINES:
            report.add(
                f"{name} engine, index open p{q}",
                engine_open[name].p(q) * 1000,
                "ms",
                "EngineSearcher.top, one reader for all queries" if q == 50 else "",
            )
        report.add(
            f"fts5 statement, connection open p{q}",
            fts_open.p(q) * 1000,
            "ms",
            "MATCH, bm25, snippet(), LIMIT 20" if q == 50 else "",
        )
    for q in (50, 95):
        report.add(
            f"fts5 statement without snippet(), connection open p{q}",
            fts_bare.p(q) * 1000,
            "ms",
            "not the reference: shows what FTS5's snippets cost" if q == 50 else "",
        )
    for q in (50, 95):
        for name in ENGINES:
            report.add(f"{name} search(), index open p{q}", search_open[name].p(q) * 1000, "ms")
    for q in (50, 95, 99):
        for name in ENGINES:
            report.add(
                f"{name} as the CLI runs it p{q}",
                cli[name].p(q) * 1000,
                "ms",
                "sync check + search_catalog, index opened per query" if q == 50 else "",
            )
        report.add(f"fts5 as the CLI runs it p{q}", fts_steps.total.p(q) * 1000, "ms")
    for q in (50, 95):
        for name in ENGINES:
            report.add(
                f"{name} engine, as the CLI runs it p{q}", cli_engine[name].p(q) * 1000, "ms"
            )
        report.add(
            f"fts5 statement, as the CLI runs it p{q}", fts_steps.statement.p(q) * 1000, "ms"
        )
    for step in STEP_NAMES:
        for name in ENGINES:
            samples = getattr(cli_steps[name], step)
            report.add(f"{name} CLI split: {step} median", samples.median * 1000, "ms")
    for step in ("open", "statement", "db"):
        report.add(f"fts5 CLI split: {step} median", getattr(fts_steps, step).median * 1000, "ms")

    for q in (50, 95):
        for name in ENGINES:
            report.ratio(
                f"ratio {name} engine / fts5, index open, p{q}",
                engine_open[name].p(q),
                fts_open.p(q),
            )
    for q in (50, 95):
        for name in ENGINES:
            report.ratio(
                f"ratio {name} / fts5 as the CLI runs it, p{q}",
                cli[name].p(q),
                fts_steps.total.p(q),
            )
    default, *others = ENGINES
    for name in others:
        for q in (50, 95):
            report.ratio(
                f"ratio {name} / {default} engine, index open, p{q}",
                engine_open[name].p(q),
                engine_open[default].p(q),
            )


def _report_agreement(report: Report, per_query: dict[str, PerQuery]) -> None:
    differ = [(label, f.hits) for label, f in per_query.items() if not _hits_equal(f)]
    report.add(
        "hit counts differ between engines (queries)",
        len(differ),
        "queries",
        f"of {len(per_query)}",
    )
    for label, hits in differ:
        counts = ", ".join(f"{n} {hits[n]:,}" for n in ENGINES)
        report.note(f"  HIT COUNTS DIFFER: {label}: {counts}")
    for a, b in _pairs():
        shares = [overlap_at_10(f.top[a], f.top[b]) for f in per_query.values()]
        report.add(f"top-10 overlap {a} vs {b}, mean", sum(shares) / len(shares), "share")
        report.add(f"top-10 overlap {a} vs {b}, min", min(shares), "share")


def end_to_end(built: corpus.BuiltCorpus, runs: int, report: Report) -> None:
    """`catalog search` in a fresh process per engine, beside the command's import floor;
    all interleaved."""
    commands: dict[str, list[str]] = {}
    for name in ENGINES:
        commands[f"import floor, {name}"] = ["-c", IMPORT_FLOORS[name]]
        for label, args in CLI_SEARCHES.items():
            commands[f"catalog search {label}, {name}"] = [
                *("-m", "catalog", *built.cli_args(name), "search", *args)
            ]
    for args in commands.values():  # .pyc files and the OS cache, untimed
        run_python_args(args)
    samples = interleaved({k: (lambda a=v: run_python_args(a)) for k, v in commands.items()}, runs)
    report.note(
        f"  end to end: a fresh process each, {runs} runs interleaved; floors: "
        + "; ".join(f"{n}: python -c {IMPORT_FLOORS[n]!r}" for n in ENGINES)
    )
    for name, s in samples.items():
        report.timing(f"{name} (subprocess)", s)
    for name in ENGINES:
        floor = samples[f"import floor, {name}"].median
        ratios = []
        for label in CLI_SEARCHES:
            ratios.append(
                report.ratio(
                    f"ratio catalog search {label} / import floor, {name} (median)",
                    samples[f"catalog search {label}, {name}"].median,
                    floor,
                )
            )
        report.add(
            f"ratio catalog search / import floor, {name}, worst (median)",
            max(ratios),
            "x",
            "the worse of the searches above",
        )


def run_python_args(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args} failed: {result.stderr[-2000:]}")


FIGURES = [
    *(f"{n} engine, index open p{q}" for n in ENGINES for q in (50, 95, 99)),
    *(f"fts5 statement, connection open p{q}" for q in (50, 95, 99)),
    *(f"fts5 statement without snippet(), connection open p{q}" for q in (50, 95)),
    *(f"{n} search(), index open p{q}" for n in ENGINES for q in (50, 95)),
    *(f"{n} as the CLI runs it p{q}" for n in ENGINES for q in (50, 95, 99)),
    *(f"fts5 as the CLI runs it p{q}" for q in (50, 95, 99)),
    *(f"{n} engine, as the CLI runs it p{q}" for n in ENGINES for q in (50, 95)),
    *(f"{n} CLI split: {step} median" for n in ENGINES for step in STEP_NAMES),
    *(f"ratio {n} engine / fts5, index open, p{q}" for n in ENGINES for q in (50, 95)),
    *(f"ratio {n} / fts5 as the CLI runs it, p{q}" for n in ENGINES for q in (50, 95)),
    *(f"ratio {n} / {ENGINES[0]} engine, index open, p{q}" for n in ENGINES[1:] for q in (50, 95)),
    "hit counts differ between engines (queries)",
    *(f"top-10 overlap {a} vs {b}, mean" for a, b in _pairs()),
    *(f"import floor, {n} (subprocess) median" for n in ENGINES),
    *(
        f"catalog search {label}, {n} (subprocess) median"
        for n in ENGINES
        for label in CLI_SEARCHES
    ),
    *(f"ratio catalog search / import floor, {n}, worst (median)" for n in ENGINES),
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
