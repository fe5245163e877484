"""`catalog demo`: serve the bundled sample site on 127.0.0.1, crawl it, search it."""

from __future__ import annotations

import errno
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from catalog import queries
from catalog.config import CatalogConfig
from catalog.crawl import CrawlSummary, run_crawl
from catalog.db import make_engine
from catalog.localsite import serve

DEMO_SITE = Path(__file__).resolve().parent / "demo_site"
# A fixed port keeps the demo's URLs the same from run to run, so a second demo adds no rows;
# when it is taken, any free port will do.
DEMO_PORT = 8765
DEMO_TOPICS = ("security-cooperation", "alliances-and-partnerships")


def run_demo(config: CatalogConfig, query: str) -> tuple[CrawlSummary, list[dict[str, Any]]]:
    with ExitStack() as stack:
        try:
            site = stack.enter_context(serve(DEMO_SITE, port=DEMO_PORT))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            site = stack.enter_context(serve(DEMO_SITE, port=0))
        summary = run_crawl(
            config, start_urls=[f"{site.url}/topics/{slug}.html" for slug in DEMO_TOPICS]
        )
    hits = queries.search_publications(make_engine(config.db_url), config.index_dir, query, limit=5)
    return summary, hits
