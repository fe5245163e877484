"""`catalog demo`: serve the bundled sample site on 127.0.0.1, crawl it, search it."""

from __future__ import annotations

import errno
import shlex
import shutil
import sys
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
    hits = queries.search_publications(
        make_engine(config.db_url), config.search_index(), query, limit=5
    )
    return summary, hits


def program_words(argv0: str | None = None) -> list[str]:
    """How to run this catalog again from the same shell: ``catalog`` when that is on PATH
    and is this program, else the script's path, else ``python -m catalog``."""
    argv0 = argv0 if argv0 is not None else sys.argv[0]
    scripts = [Path(argv0)] if Path(argv0).name == "catalog" else []
    scripts.append(Path(sys.executable).parent / "catalog")
    on_path = shutil.which("catalog")
    for script in scripts:
        if script.is_file():
            if on_path and Path(on_path).resolve() == script.resolve():
                return ["catalog"]
            return [str(script)]
    return [sys.executable, "-m", "catalog"]


def next_commands(
    config: CatalogConfig, query: str, hits: list[dict[str, Any]], argv0: str | None = None
) -> list[str]:
    """The demo's search, then commands to try next, each runnable exactly as printed.

    They name the demo's home (and database, when it is not the home's own), quoted for a
    POSIX shell, so that they reach the catalog the demo just built from any folder.
    """
    base = [*program_words(argv0), "--home", str(config.home)]
    if config.db_url != f"sqlite:///{(config.home / 'catalog.db').resolve()}":
        base += ["--db", config.db_url]
    commands = [
        [*base, "search", query],
        [*base, "search", '"security cooperation"'],
    ]
    if hits:
        commands.append([*base, "show", str(hits[0]["id"])])
    commands.append([*base, "export", "--format", "bibtex", "--output", "demo.bib"])
    return [shlex.join(c) for c in commands]
