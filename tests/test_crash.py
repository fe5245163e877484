"""kill -9 at any moment of a crawl, an index rebuild or an index sync; then any command.

Whatever moment the process dies at, the recorded revision of the index is never ahead of
what it holds, and the next command (a search, a crawl) leaves the index equal to the
database: `catalog index check` exits 0 and search results are what SQL says. Every test
runs on both search engines (``search_engine``).

Crawls are killed at seeded random moments (after a random number of the local site's
requests, with small batches so database and index commits happen all along); syncs and
rebuilds, too quick to hit at random, are killed at each named crash point in between their
steps (``CATALOG_CRASH_AT``). Set ``CATALOG_CRASH_SEED`` to replay other moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from catalog import queries
from catalog.db import make_engine, upgrade
from catalog.index import CRASH_ENV, open_index
from catalog.store import Revision
from tests.conftest import (
    REPO,
    Site,
    catalog_command,
    clean_env,
    db_rows,
    invoke,
    run_catalog,
)
from tests.test_store import Store, entry

# Crawls killed at random moments, then checked.
pytestmark = pytest.mark.slow

TOPIC = "regional-security"
SEED = int(os.environ.get("CATALOG_CRASH_SEED", "20261123"))
BATCH = "5"  # records per batch: a database commit and an index commit every few items
ALL = ("--limit", "1000", "--json")


def assert_index_follows_database(home: Path, *, search_first: bool = True) -> None:
    """After one more command (a search, unless the caller ran another), `index check` passes
    and searches return what SQL says."""
    if search_first:
        assert invoke(home, "search", "security").exit_code == 0
    check = invoke(home, "index", "check")
    assert check.exit_code == 0, check.stdout + check.stderr
    everything = json.loads(invoke(home, "search", "*", *ALL).stdout)
    assert sorted(h["url"] for h in everything) == sorted(
        url for (url,) in db_rows(home, "SELECT url FROM publications")
    )
    chapters = json.loads(invoke(home, "search", "title:chapter", *ALL).stdout)
    assert sorted(h["url"] for h in chapters) == sorted(
        url for (url,) in db_rows(home, "SELECT url FROM publications WHERE title LIKE '%Chapter%'")
    )


def assert_never_ahead(home: Path) -> None:
    """What a killed process leaves: the recorded revision is at most the catalog's."""
    state = open_index(home / "index", os.environ["CATALOG_SEARCH_ENGINE"]).state()
    if state is not None:
        engine = make_engine(f"sqlite:///{home / 'catalog.db'}")
        assert state.revision <= queries.CatalogIndexSource(engine).head().revision
        engine.dispose()


def crawl_killed_after(site: Site, home: Path, requests: int, *args: str) -> bool:
    """Start a crawl, SIGKILL it once the site has answered ``requests`` more requests.

    Returns False when the crawl finished first (the moment fell after its end).
    """
    start = len(site.server.paths())
    process = subprocess.Popen(
        catalog_command(home, "crawl", "--quiet", "--start-url", site.topic_url(TOPIC), *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # The index synced after every batch, as a big crawl does every few thousand
        # publications: kills also land inside those mid-crawl index commits.
        env=clean_env(CATALOG_BATCH_SIZE=BATCH, CATALOG_INDEX_EVERY=BATCH),
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    try:
        while len(site.server.paths()) - start < requests and process.poll() is None:
            assert time.monotonic() < deadline, "the crawl made no progress"
            time.sleep(0.005)
        if process.poll() is not None:
            return False
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return True
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def edit_site(site: Site) -> None:
    """Titles on the first three pages change; the last page's last teaser leaves."""
    pages = site.root / "topics"
    for name in (f"{TOPIC}.html", f"{TOPIC}--page-2.html", f"{TOPIC}--page-3.html"):
        page = pages / name
        page.write_text(page.read_text().replace("Part ", "Chapter "))
    last = pages / f"{TOPIC}--page-10.html"
    html = last.read_text()
    start = html.index('<li data-content-id="710004"')
    last.write_text(html[:start] + html[html.index("</li>", start) + len("</li>") :])


def test_kill_9_at_random_moments_of_crawls(long_site: Site, tmp_path, search_engine):
    rng = random.Random(SEED)
    home = tmp_path / "home"
    requests = 61  # robots.txt, 10 listing pages, 50 publication pages

    # A first crawl killed part way; a search is the next command.
    assert crawl_killed_after(long_site, home, rng.randint(3, requests - 5))
    assert_never_ahead(home)
    assert_index_follows_database(home)

    # Killed again (any walk asks robots.txt and ten listing pages at least); a normal crawl is
    # the next command, and finishes the walk.
    assert crawl_killed_after(long_site, home, rng.randint(1, 11))
    assert_never_ahead(home)
    finished = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
    assert finished.returncode == 0, finished.stderr
    assert db_rows(home, "SELECT count(*) FROM publications") == [(50,)]
    assert_index_follows_database(home, search_first=False)

    # The site changes; updating --full crawls are killed at random moments.
    edit_site(long_site)
    for most in (24, 11):  # the first also fetches the 15 retitled publications' pages
        assert crawl_killed_after(long_site, home, rng.randint(1, most), "--full")
        assert_never_ahead(home)
        assert_index_follows_database(home)
    # Nothing is left running: `catalog runs` closes the last killed run (its pid is gone).
    assert invoke(home, "runs").exit_code == 0
    assert db_rows(home, "SELECT count(*) FROM crawl_runs WHERE status = 'running'") == [(0,)]
    assert db_rows(home, "SELECT count(*) FROM crawl_runs WHERE status = 'interrupted'") == [(4,)]


def test_kill_9_between_a_batch_commit_and_its_index_update(
    long_site: Site, tmp_path, search_engine
):
    """The window every crawl batch has: the database committed, the index not yet."""
    home = tmp_path / "home"
    killed = subprocess.run(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url(TOPIC)),
        capture_output=True,
        text=True,
        env=clean_env(
            CATALOG_BATCH_SIZE=BATCH,
            CATALOG_INDEX_EVERY=BATCH,
            **{CRASH_ENV: "batch-stored"},
        ),
        cwd=REPO,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stored = db_rows(home, "SELECT count(*) FROM publications")[0][0]
    assert stored > 0
    behind = invoke(home, "index", "check")
    assert behind.exit_code == 1 and behind.stdout.count("missing") == stored
    assert_never_ahead(home)
    assert_index_follows_database(home)


def test_kill_9_early_in_a_first_crawl_loses_seconds_not_a_batch(long_site: Site, tmp_path):
    """Batches hold 200 records, so a first crawl of a slow site killed in its first minutes
    stored nothing. Records wait at most CATALOG_BATCH_SECONDS (5) before they are stored:
    here page 2 never answers, and page 1's records are stored anyway (the crawl then dies,
    as `kill -9` would, right after that batch's commit)."""
    home = tmp_path / "home"
    hold = long_site.server.hold(f"/topics/{TOPIC}.html?page=2")
    process = subprocess.Popen(
        catalog_command(home, "crawl", "--quiet", "--start-url", long_site.topic_url(TOPIC)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**{CRASH_ENV: "batch-stored"}),  # default batch size and wait
        cwd=REPO,
    )
    try:
        assert hold.arrived.wait(60), "the crawl never asked for page 2"
        # Killed at its first stored batch, while page 2 is still held (up to 30 s).
        assert process.wait(timeout=20) == -signal.SIGKILL, process.stderr.read()
    finally:
        hold.release.set()
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()
    assert db_rows(home, "SELECT count(*) FROM publications") == [(5,)]  # page 1
    assert db_rows(home, "SELECT status FROM crawl_runs") == [("running",)]  # as kill -9 left it
    again = run_catalog(home, "crawl", "--quiet", "--start-url", long_site.topic_url(TOPIC))
    assert again.returncode == 0, again.stderr
    assert db_rows(home, "SELECT status FROM crawl_runs ORDER BY id") == [
        ("interrupted",),
        ("succeeded",),
    ]


@pytest.fixture
def indexed(tmp_path, search_engine) -> Path:
    """A home with 50 publications, indexed, then changed behind its index's back."""
    home = tmp_path / "home"
    engine = make_engine(f"sqlite:///{home / 'catalog.db'}")
    upgrade(engine)
    store = Store(engine)
    store.upsert([entry(n) for n in range(1, 51)])
    open_index(home / "index", search_engine).sync(queries.CatalogIndexSource(engine))
    # What another crawler could have done since: retitle ten publications, delete two.
    with engine.begin() as conn:
        revision = Revision(conn).value
        conn.exec_driver_sql(
            "UPDATE publications SET title = title || ' Chapter', revision = ? WHERE id <= 10",
            (revision,),
        )
    assert store.delete_publications([11, 12]) == 2
    engine.dispose()
    return home


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("sync", "sync-before-commit"),
        ("sync", "sync-after-commit"),
        ("rebuild", "rebuild-staged"),
        ("rebuild", "rebuild-mid-swap"),
    ],
)
def test_kill_9_inside_index_sync_and_rebuild(indexed: Path, command, point):
    home = indexed
    killed = subprocess.run(
        catalog_command(home, "index", command),
        capture_output=True,
        text=True,
        env=clean_env(**{CRASH_ENV: point}),
        cwd=REPO,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert_never_ahead(home)
    if point == "rebuild-mid-swap":
        assert not (home / "index").exists()  # killed between the two renames
    assert_index_follows_database(home)  # its searches are the next command
    assert not (home / "index.rebuild").exists() and not (home / "index.old").exists()
