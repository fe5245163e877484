"""`catalog demo`: serve the bundled sample sites on 127.0.0.1, crawl them, search them.

Two publishers, read in one crawl: a RAND-shaped site (RAND's own page objects) and a
WordPress-like think tank (the generic reader: a paged tag feed, articles with embedded
metadata). The demo's records are catalogued under fixed origins, ``http://catalog-demo.invalid``
and ``http://meridian-institute.invalid``, which the crawl fetches from the local servers
whatever their ports (``CATALOG_HOST_MAP``): a second demo on other ports finds every record
already there. ``.invalid`` is reserved (RFC 2606), so no
real site's URL can ever be one of the demo's.

The demo writes only into a catalog of its own: an empty one, or one that holds nothing but
demo records. A catalog with anything else in it (a real crawl's, on a shared PostgreSQL or
in an existing home) is refused before anything is written, since nothing could undo it.
"""

from __future__ import annotations

import errno
import shlex
import shutil
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, or_, select
from sqlalchemy.engine import make_url

from catalog import queries, tables
from catalog.config import CatalogConfig
from catalog.db import make_engine, where
from catalog.errors import NoCatalog, UsageError
from catalog.localsite import serve
from crawler.run import CrawlSummary, run_crawl

DEMO_SITE = Path(__file__).resolve().parent / "demo_site"
DEMO_HOST = "catalog-demo.invalid"
DEMO_ORIGIN = f"http://{DEMO_HOST}"
# The demo's second publisher: a WordPress-like think tank that no page object of its own
# reads, so the generic reader does (a tag feed, paged; articles with embedded metadata).
# Served from its own folder, under its own reserved name.
DEMO_INSTITUTE_SITE = Path(__file__).resolve().parent / "demo_institute_site"
DEMO_INSTITUTE_HOST = "meridian-institute.invalid"
DEMO_INSTITUTE_ORIGIN = f"http://{DEMO_INSTITUTE_HOST}"
DEMO_INSTITUTE_FEEDS = (f"{DEMO_INSTITUTE_ORIGIN}/tag/security-cooperation/feed/",)
# Every origin the demo's records may have.
DEMO_ORIGINS = (DEMO_ORIGIN, DEMO_INSTITUTE_ORIGIN)
# The port the demo site is served on when it is free; any free port does otherwise, since the
# records' URLs do not depend on it.
DEMO_PORT = 8765
DEMO_TOPICS = ("security-cooperation", "alliances-and-partnerships")


def demo_start_urls() -> list[str]:
    """The RAND-shaped site's topics, then the institute's tag feed."""
    return [f"{DEMO_ORIGIN}/topics/{slug}.html" for slug in DEMO_TOPICS] + list(
        DEMO_INSTITUTE_FEEDS
    )


def check_demo_catalog(config: CatalogConfig) -> None:
    """Refuse (UsageError, exit 2) a catalog that holds anything but the demo's own records.

    Read-only: nothing is created or migrated to find out. An empty database, or a home
    without one, is fine.
    """
    try:
        engine = make_engine(config.db_url, read_only=True)
    except NoCatalog:
        return  # a SQLite home without a catalog yet
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if not names:
                return
            if "alembic_version" not in names:
                other = f"tables that are not a catalog's ({', '.join(sorted(names)[:3])}, ...)"
            else:
                other = _other_record(conn, names)
    finally:
        engine.dispose()
    if other is not None:
        raise UsageError(
            f"catalog demo writes only into an empty catalog or one of its own, and "
            f"{where(engine)} holds {other}: give the demo its own --home (and --db)"
        )


def _other_record(conn: Any, names: set[str]) -> str | None:
    """A publication or topic in the catalog that is not the demo's, described; or None.

    A topic without a URL (a publication page's keyword) belongs to its publications.
    """
    for table, what in ((tables.publications, "publication"), (tables.topics, "topic")):
        if table.name not in names:
            continue
        theirs = [table.c.url.startswith(origin + "/", autoescape=True) for origin in DEMO_ORIGINS]
        if table is tables.topics:
            theirs.append(table.c.url == "")
        url = conn.execute(select(table.c.url).where(~or_(*theirs)).limit(1)).scalar()
        if url is not None:
            return f"the {what} {url}"
    return None


def run_demo(config: CatalogConfig, query: str) -> tuple[CrawlSummary, list[dict[str, Any]]]:
    check_demo_catalog(config)
    with ExitStack() as stack:
        try:
            site = stack.enter_context(serve(DEMO_SITE, port=DEMO_PORT))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            site = stack.enter_context(serve(DEMO_SITE, port=0))
        institute = stack.enter_context(serve(DEMO_INSTITUTE_SITE, port=0))
        summary = run_crawl(
            config,
            start_urls=demo_start_urls(),
            host_map={DEMO_HOST: site.url, DEMO_INSTITUTE_HOST: institute.url},
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
    base = _base_words(config, argv0)
    commands = [
        [*base, "search", query],
        [*base, "search", '"security cooperation"'],
    ]
    if hits:
        commands.append([*base, "show", str(hits[0]["id"])])
    commands.append([*base, "export", "--format", "bibtex", "--output", "demo.bib"])
    return [shlex.join(c) for c in commands]


def _base_words(config: CatalogConfig, argv0: str | None = None) -> list[str]:
    """``catalog --home HOME [--db URL]``: the demo's catalog, from any folder."""
    base = [*program_words(argv0), "--home", str(config.home)]
    if config.db_url != f"sqlite:///{(config.home / 'catalog.db').resolve()}":
        # Never a password on the screen: masked as everywhere else (or give CATALOG_DB).
        base += ["--db", make_url(config.db_url).render_as_string(hide_password=True)]
    return base


def serve_command(config: CatalogConfig, argv0: str | None = None) -> str:
    """How to browse the demo's catalog: `catalog --home HOME serve`."""
    return shlex.join([*_base_words(config, argv0), "serve"])
