"""Crawl: the listing spider with all pipelines against the same spider with none, same pages.

    python -m benchmarks.bench_crawl --pages 100 --per-page 12 --runs 5

Listing pages carry teasers from the benchmark corpus (RAND's 12 per page) and are served on
127.0.0.1. Every side runs the same command, ``scrapy crawl rand_topic`` with no delay and no
AutoThrottle: with no pipelines, and with all of them once per search engine
(``CATALOG_SEARCH_ENGINE``), differing only in ``ITEM_PIPELINES`` and the engine; every run
with the catalog pipeline gets a fresh home, so each one stores and indexes everything (a
second run into the same home would be an incremental crawl that stops at page one). Runs
alternate A B C A B C so all sides see the same drift in machine load. Reported: the
process's wall time (start-up included) and Scrapy's own ``elapsed_time_seconds`` (spider open
to close), median of N, and each engine's ratios to the crawl with no pipelines.

Listings only (``details=0``) on both sides: the spider asks the catalog which publication
pages to fetch, so with no pipeline it fetches none and a details crawl would compare
different work.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.harness import REPO, Report, Samples, machine_line, python_env
from catalog import queries
from catalog.config import sqlite_url
from catalog.db import make_engine
from catalog.index import open_index
from catalog.localsite import serve

ENGINES = corpus.SEARCH_ENGINES

SLUG = "bench-topic"
_ELAPSED = re.compile(r"'elapsed_time_seconds': ([0-9.]+)")
_ITEMS = re.compile(r"'item_scraped_count': (\d+)")


def teaser(pub: corpus.CorpusPublication) -> str:
    """One teaser in rand.org's listing markup, from a corpus publication."""
    entry = pub.entries[0]
    path = entry.url.removeprefix(corpus.BASE)
    kind = f'<p class="type">{html.escape(entry.content_type)}</p>' if entry.content_type else ""
    return f"""<li data-content-id="{abs(hash(path)) % 10**6}">
  <div class="img-wrap"><a href="{path}">
    <img src="/img/{path.rsplit("/", 1)[-1]}.jpg" alt="{html.escape(entry.image_caption or "")}"></a></div>
  <div class="text">{kind}
    <h3 class="title"><a href="{path}">{html.escape(entry.title)}</a></h3>
    <p class="desc">{html.escape(entry.summary)}</p>
    <p class="date">{entry.date_text.replace(" ", "&nbsp;", 1)}</p></div></li>"""


def write_site(root: Path, pages: int, per_page: int, seed: int = corpus.DEFAULT_SEED) -> int:
    """A topic listing of ``pages`` pages; returns how many teasers it holds."""
    topics = root / "topics"
    topics.mkdir(parents=True)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    pubs = list(corpus.generate(pages * per_page, seed))
    for page in range(1, pages + 1):
        items = "\n".join(teaser(p) for p in pubs[(page - 1) * per_page : page * per_page])
        nxt = (
            f'<li class="next"><a href="/topics/{SLUG}.html?page={page + 1}" rel="next">Next</a></li>'
            if page < pages
            else ""
        )
        name = f"{SLUG}.html" if page == 1 else f"{SLUG}--page-{page}.html"
        (topics / name).write_text(f"""<!DOCTYPE html><html><head><title>Bench | RAND</title></head>
<body><main id="page-content"><h1 id="RANDTitleHeadingId">Bench Topic</h1>
<div id="results"><ul class="teasers list">{items}</ul>
<div class="pagination-wrap"><ul>{nxt}</ul></div></div></main></body></html>""")
    return len(pubs)


NONE = "no pipelines"


def side_name(engine: str) -> str:
    return f"all pipelines, {engine}"


def crawl_command(start: str, home: Path, pipelines: bool) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "rand_topic",
        "-a",
        f"start_url={start}",
        "-a",
        "details=0",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=0",
        "-s",
        "LOG_LEVEL=INFO",  # the closing stats dump is INFO
        "-s",
        f"CATALOG_HOME={home}",
    ]
    if not pipelines:
        command += ["-s", "ITEM_PIPELINES={}"]
    return command


def one_run(start: str, home: Path, engine: str | None) -> tuple[float, float, int]:
    """(wall seconds, Scrapy elapsed seconds, items) of one crawl in its own process; with all
    pipelines and the index of ``engine``, or with none when ``engine`` is None."""
    extra = {"CATALOG_SEARCH_ENGINE": engine} if engine else {}
    started = time.perf_counter()
    result = subprocess.run(
        crawl_command(start, home, pipelines=engine is not None),
        cwd=REPO,
        env=python_env(**extra),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    elapsed, items = _ELAPSED.search(result.stderr), _ITEMS.search(result.stderr)
    if result.returncode != 0 or not elapsed or not items:
        raise RuntimeError(f"crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return wall, float(elapsed.group(1)), int(items.group(1))


def run(
    *, pages: int = 100, per_page: int = 12, runs: int = 5, report: Report | None = None
) -> Report:
    report = report or Report(f"crawl: all pipelines / none, {pages} listing pages")
    sides: dict[str, str | None] = {NONE: None, **{side_name(e): e for e in ENGINES}}
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        folder = Path(tmp)
        teasers = write_site(folder / "site", pages, per_page)
        wall = {name: Samples() for name in sides}
        spider = {name: Samples() for name in sides}
        items: dict[str, int] = {}
        with serve(folder / "site") as site:
            start = f"{site.url}/topics/{SLUG}.html"
            for attempt in range(runs):  # A B C A B C
                for n, (name, engine) in enumerate(sides.items()):
                    home = folder / f"home-{attempt}-{n}"
                    w, e, count = one_run(start, home, engine)
                    wall[name].add(w)
                    spider[name].add(e)
                    items[name] = count
                    if engine is not None:
                        check_index(home, engine)
                    shutil.rmtree(home, ignore_errors=True)
        report.note(f"  {pages} pages x {per_page} teasers = {teasers} items; {runs} runs each")
        for name in sides:
            report.timing(f"{name}: process wall", wall[name], "s")
            report.timing(f"{name}: scrapy elapsed", spider[name], "s")
            report.add(f"{name}: pages/s (median elapsed)", pages / spider[name].median, "pages/s")
            report.add(f"{name}: items scraped", items[name], "items")
        for engine in ENGINES:
            name = side_name(engine)
            report.ratio(
                f"ratio all / none, {engine}, scrapy elapsed (median)",
                spider[name].median,
                spider[NONE].median,
                "time: 1.25 is a speed of 0.8",
            )
            report.ratio(
                f"ratio all / none, {engine}, process wall (median)",
                wall[name].median,
                wall[NONE].median,
            )
    return report


def check_index(home: Path, engine: str) -> None:
    """The crawl's home holds an index of ``engine`` with every publication it stored: the
    sides with pipelines did the work they are timed for."""
    db = make_engine(sqlite_url(home / "catalog.db"), read_only=True)
    try:
        stored = queries.publication_count(db)
    finally:
        db.dispose()
    index = open_index(home / "index", engine)
    if not stored or index.built_by() != engine or index.doc_count() != stored:
        raise RuntimeError(
            f"crawl with {engine}: index built by {index.built_by()} holding "
            f"{index.doc_count()} documents; the catalog holds {stored}"
        )


FIGURES = [
    *(f"ratio all / none, {e}, scrapy elapsed (median)" for e in ENGINES),
    *(f"ratio all / none, {e}, process wall (median)" for e in ENGINES),
    *(f"{side_name(e)}: pages/s (median elapsed)" for e in ENGINES),
    f"{NONE}: pages/s (median elapsed)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--per-page", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5, help="runs per side, interleaved")
    args = parser.parse_args()
    print(machine_line())
    run(pages=args.pages, per_page=args.per_page, runs=args.runs)


if __name__ == "__main__":
    main()
