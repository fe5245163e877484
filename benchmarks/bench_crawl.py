"""Crawl benchmark: the listing spider with the catalog pipeline against the same spider
with no pipeline, on the same generated pages served on 127.0.0.1, in the same run.

    python benchmarks/bench_crawl.py [--pages 100] [--per-page 20]

The ratio shows what storing and indexing cost the crawl; compare ratios, not absolute
times, across machines. Listing pages are walked one after another (each page names the
next), so pages/s is bound by round trips, not by parallelism.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from catalog.localsite import serve

REPO = Path(__file__).resolve().parent.parent
SLUG = "bench-topic"


def teaser(n: int) -> str:
    return f"""<li data-content-id="{n}">
  <div class="img-wrap"><a href="/pubs/research_reports/RR{n}.html">
    <img src="/img/{n}.jpg" alt="Photo {n}, photo by RAND"></a></div>
  <div class="text"><p class="type">{"Report" if n % 3 else "Commentary"}</p>
    <h3 class="title"><a href="/pubs/research_reports/RR{n}.html">Security cooperation in region {n % 40}: study {n}</a></h3>
    <p class="desc">Allies and partners weigh burden&#8209;sharing and deterrence &mdash; case {n}.</p>
    <p class="date">Mar&nbsp;{n % 28 + 1}, {2000 + n % 25}</p></div></li>"""


def write_site(root: Path, pages: int, per_page: int) -> None:
    topics = root / "topics"
    topics.mkdir(parents=True)
    for page in range(1, pages + 1):
        items = "\n".join(teaser((page - 1) * per_page + i) for i in range(per_page))
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


def timed(label: str, command: list[str], env: dict[str, str], items: int, pages: int) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{label} failed:\n{result.stderr[-2000:]}")
    print(
        f"{label:<36} {seconds:6.2f} s  {pages / seconds:7.1f} pages/s  "
        f"{items / seconds:8.0f} items/s"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--per-page", type=int, default=20)
    args = parser.parse_args()
    items = args.pages * args.per_page
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_site(folder / "site", args.pages, args.per_page)
        with serve(folder / "site") as site:
            start = f"{site.url}/topics/{SLUG}.html"
            env = {**os.environ, "CATALOG_HOME": str(folder / "bare")}
            bare = timed(
                "spider alone (no pipeline)",
                [
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
                    "ITEM_PIPELINES={}",
                    "-s",
                    "DOWNLOAD_DELAY=0",
                    "-s",
                    "AUTOTHROTTLE_ENABLED=0",
                    "-s",
                    "LOG_LEVEL=WARNING",
                ],
                env,
                items,
                args.pages,
            )
            full = timed(
                "catalog crawl (store + index)",
                [
                    sys.executable,
                    "-m",
                    "catalog",
                    "--home",
                    str(folder / "home"),
                    "crawl",
                    "--no-details",
                    "--start-url",
                    start,
                ],
                {k: v for k, v in env.items() if k != "CATALOG_HOME"},
                items,
                args.pages,
            )
            print(f"ratio with pipeline / without: {full / bare:.2f}")


if __name__ == "__main__":
    main()
