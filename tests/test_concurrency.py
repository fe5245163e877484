"""Many crawlers, one PostgreSQL catalog: crawls from different homes (machines) at once.

Each crawl is a real `python -m catalog crawl` process with a home of its own and the same
`--db`. The local site holds a request of each crawl until both have started, so the two runs
are in flight together (topic locks, run journal, shared publications). Whether their write
transactions overlap is then up to timing (a crawl of the demo writes in one or two batches),
so the last test makes two store batches overlap on purpose. No fixed sleeps: every wait is
bounded.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from catalog.db import HEAD_REVISION, make_engine, upgrade
from catalog.demo import DEMO_SITE
from catalog.localsite import serve
from catalog.lock import lock_holder_name
from catalog.store import CatalogStore
from tests.conftest import (
    DEMO_PUBLICATIONS,
    REPO,
    TOPIC,
    Catalog,
    Site,
    clean_env,
    db_rows,
    pg_database,
)
from tests.test_store import AP, SC, entry

# Crawls racing each other.
pytestmark = pytest.mark.slow

ALLIANCES = "alliances-and-partnerships"
ARRIVE_TIMEOUT = 60  # seconds for a crawl process to start and reach its held request
CRAWL_TIMEOUT = 180  # a crawl of the demo site takes seconds; longer means a deadlock


@pytest.fixture(scope="module")
def module_site() -> Iterator[Site]:
    """The demo site on a port of this module's own (its holds touch no other test)."""
    with serve(DEMO_SITE) as server:
        yield Site(DEMO_SITE, server.url, server)


def start(catalog: Catalog, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        catalog.command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )


@contextmanager
def crawling(*processes: subprocess.Popen) -> Iterator[None]:
    """Kill the crawls this test started if the block fails before they were waited for."""
    try:
        yield
    except BaseException:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
        raise


def finish(process: subprocess.Popen, timeout: float = CRAWL_TIMEOUT) -> tuple[int, str, str]:
    """Wait for a crawl; one still running after ``timeout`` is killed and fails the test."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"crawl {process.pid} still running after {timeout}s (deadlock?):\n{err}")
    return process.returncode, out, err


@dataclass
class TwoCrawls:
    db: str
    homes: list[Path]
    results: list[tuple[int, str, str]]
    runs_while_held: list[tuple]  # crawl_runs while both crawls waited at their first page

    def catalog(self, home: Path) -> Catalog:
        return Catalog("postgresql", home, self.db)

    def rows(self, sql: str, *params: object) -> list[tuple]:
        return self.catalog(self.homes[0]).rows(sql, *params)


@pytest.fixture(scope="module")
def two_topics_at_once(
    pg_admin: Engine, module_site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoCrawls]:
    """Two homes crawl the demo's two topics (which share publications) into one database at
    the same time: each is held at its topic's first listing page until both got there."""
    root = tmp_path_factory.mktemp("concurrent")
    homes = [root / "machine-a", root / "machine-b"]
    with pg_database(pg_admin) as url:
        # The documented start: `db upgrade` once, then crawlers anywhere.
        upgraded = Catalog("postgresql", root / "admin", url).run("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        paths = [f"/topics/{slug}.html" for slug in (TOPIC, ALLIANCES)]
        holds = [module_site.server.hold(path) for path in paths]
        processes = [
            start(Catalog("postgresql", home, url), "crawl", "--start-url", module_site.base + path)
            for home, path in zip(homes, paths, strict=True)
        ]
        with crawling(*processes):
            try:
                for hold, path in zip(holds, paths, strict=True):
                    assert hold.arrived.wait(ARRIVE_TIMEOUT), f"no crawl reached {path}"
                held = db_rows(url, "SELECT status, error FROM crawl_runs ORDER BY id")
            finally:
                for hold in holds:
                    hold.release.set()
            results = [finish(p) for p in processes]
        yield TwoCrawls(url, homes, results, held)


def test_both_crawls_finish_and_succeed(two_topics_at_once):
    for code, out, err in two_topics_at_once.results:
        assert code == 0, err
        assert "succeeded" in out
    runs = two_topics_at_once.rows("SELECT status, error FROM crawl_runs ORDER BY id")
    assert runs == [("succeeded", None), ("succeeded", None)]
    assert two_topics_at_once.rows(
        "SELECT slug, walk_state FROM topics WHERE slug IN (?, ?) ORDER BY slug", ALLIANCES, TOPIC
    ) == [(ALLIANCES, "complete"), (TOPIC, "complete")]


def test_a_crawl_that_starts_leaves_the_other_crawl_running(two_topics_at_once):
    """A run on another machine (or process) that is alive is never closed as abandoned."""
    assert two_topics_at_once.runs_while_held == [("running", None), ("running", None)]


def test_every_publication_lands_once(two_topics_at_once):
    assert two_topics_at_once.rows("SELECT count(*), count(DISTINCT url) FROM publications") == [
        (DEMO_PUBLICATIONS, DEMO_PUBLICATIONS)
    ]


def test_a_publication_of_both_topics_has_both_links(two_topics_at_once):
    per_publication = two_topics_at_once.rows(
        "SELECT p.url, string_agg(DISTINCT t.slug, ',' ORDER BY t.slug) "
        "FROM publications p JOIN publication_topics l ON l.publication_id = p.id "
        "JOIN topics t ON t.id = l.topic_id WHERE l.section IN ('featured', 'list') "
        "GROUP BY p.url"
    )
    topics = dict(per_publication)
    assert len(topics) == DEMO_PUBLICATIONS  # every publication is listed under a topic
    both = [url for url, slugs in topics.items() if slugs == f"{ALLIANCES},{TOPIC}"]
    alliances_only = [url for url, slugs in topics.items() if slugs == ALLIANCES]
    assert alliances_only == []  # the demo's alliances topic lists only shared publications
    assert len(both) == 5


def test_one_added_history_row_per_publication(two_topics_at_once):
    assert two_topics_at_once.rows(
        "SELECT count(*), count(DISTINCT publication_id) FROM publication_changes "
        "WHERE kind = 'added'"
    ) == [(DEMO_PUBLICATIONS, DEMO_PUBLICATIONS)]
    # and the runs' counts agree: each publication was new to exactly one of them
    assert two_topics_at_once.rows("SELECT sum(items_new) FROM crawl_runs") == [
        (DEMO_PUBLICATIONS,)
    ]


def test_a_home_that_never_crawled_searches_the_shared_catalog(two_topics_at_once, tmp_path):
    # No `catalog index sync` on this branch yet: a new home builds its index with rebuild.
    reader = two_topics_at_once.catalog(tmp_path / "machine-c")
    rebuilt = reader.invoke("index", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"indexed {DEMO_PUBLICATIONS}" in rebuilt.stdout
    hits = json.loads(reader.invoke("search", "*", "--limit", "100", "--json").stdout)
    urls = {url for (url,) in reader.rows("SELECT url FROM publications")}
    assert {h["url"] for h in hits} == urls and len(hits) == DEMO_PUBLICATIONS
    shared = json.loads(reader.invoke("search", "*", "--topic", ALLIANCES, "--json").stdout)
    assert len(shared) == 5


def test_a_second_crawl_of_the_same_topic_does_not_start(pg_url, module_site: Site, tmp_path):
    first = Catalog("postgresql", tmp_path / "machine-a", pg_url)
    second = first.with_home(tmp_path / "machine-b")
    page2 = f"/topics/{TOPIC}.html?page=2"
    hold = module_site.server.hold(page2)
    running = start(first, "crawl", "--start-url", module_site.base + f"/topics/{TOPIC}.html")
    with crawling(running):
        try:
            assert hold.arrived.wait(ARRIVE_TIMEOUT), "the first crawl never reached page 2"
            refused = second.run("crawl", "--start-url", module_site.base + f"/topics/{TOPIC}.html")
        finally:
            hold.release.set()
        code, out, err = finish(running)
    assert code == 0, err
    assert "succeeded" in out

    assert refused.returncode == 3, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    holder = lock_holder_name(socket.gethostname(), running.pid).removeprefix("catalog-crawl ")
    assert re.search(
        rf"topic {TOPIC} is being crawled by {re.escape(holder)} since "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
        line,
    ), line
    # the refused crawl left no run behind; the first one finished its own
    assert first.rows("SELECT status FROM crawl_runs") == [("succeeded",)]
    assert first.rows("SELECT count(*) FROM publications") == [(DEMO_PUBLICATIONS,)]


# --- two batches in flight at once, made to overlap on purpose --------------------------------
# The end-to-end crawls above write the demo site in a batch or two each (CATALOG_BATCH_SIZE is
# 200), so whether their transactions overlap is up to timing. Here the overlap is certain: a
# gate (an EXCLUSIVE lock on publication_changes) stops the first batch after it has upserted
# its publications and before it commits; the second batch classifies the same publications
# meanwhile. Both are real CatalogStore transactions on the real server.

GATE_TIMEOUT = 30.0


def _waiting_on_lock(
    admin: Engine, database: str, count: int, timeout: float = GATE_TIMEOUT
) -> None:
    """Poll (bounded) until ``count`` sessions of ``database`` wait for a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with admin.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = :db AND wait_event_type = 'Lock'"
                ),
                {"db": database},
            ).scalar_one()
        if waiting >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"{count} sessions never waited on a lock within {timeout}s")


def test_overlapping_batches_record_each_addition_once(pg_admin: Engine, pg_url: str):
    """Writing transactions take the catalog's revision lock first, so they never interleave."""
    engine = make_engine(pg_url)
    upgrade(engine)
    store = CatalogStore(engine)
    runs = [store.start_run("a"), store.start_run("b")]
    shared = [entry(n, SC) for n in (1, 2, 3)]
    batches = [shared, [entry(n, AP) for n in (3, 2, 1, 4)]]  # other topic, other order
    database = make_url(pg_url).database
    results: list = [None, None]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            results[i] = store.write_batch(batches[i], runs[i])
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    gate = create_engine(pg_url, poolclass=NullPool)
    try:
        with gate.connect() as conn:
            conn.execute(text("LOCK TABLE publication_changes IN EXCLUSIVE MODE"))
            threads[0].start()
            _waiting_on_lock(pg_admin, database, 1)  # batch A: upserted, stopped at history
            threads[1].start()
            _waiting_on_lock(pg_admin, database, 2)  # batch B: classified, waits on A's rows
            conn.rollback()  # open the gate
        for thread in threads:
            thread.join(GATE_TIMEOUT)
            assert not thread.is_alive(), "a batch never finished (deadlock?)"
    finally:
        gate.dispose()
    assert errors == []
    added = db_rows(
        pg_url,
        "SELECT count(*), count(DISTINCT publication_id) FROM publication_changes "
        "WHERE kind = 'added'",
    )
    engine.dispose()
    assert db_rows(pg_url, "SELECT count(*) FROM publications") == [(4,)]
    assert added == [(4, 4)]
    assert results[0].new + results[1].new == 4


def test_overlapping_crawls_record_each_addition_once(
    pg_admin: Engine, pg_url: str, module_site: Site, tmp_path
):
    # Listing-only batches of two topics share no topic row, so nothing serialises them (with
    # details, the related topics both batches upsert happen to). The gate holds the first
    # batch uncommitted until the second has classified the same publications.
    admin = Catalog("postgresql", tmp_path / "admin", pg_url)
    assert admin.run("db", "upgrade").returncode == 0
    gate = create_engine(pg_url, poolclass=NullPool)
    try:
        with gate.connect() as conn:
            conn.execute(text("LOCK TABLE publication_changes IN EXCLUSIVE MODE"))
            processes = [
                start(
                    admin.with_home(tmp_path / slug),
                    "crawl",
                    "--no-details",
                    "--start-url",
                    module_site.base + f"/topics/{slug}.html",
                )
                for slug in (TOPIC, ALLIANCES)
            ]
            with crawling(*processes):
                _waiting_on_lock(pg_admin, make_url(pg_url).database, 2, CRAWL_TIMEOUT)
                conn.rollback()  # open the gate
                results = [finish(p) for p in processes]
    finally:
        gate.dispose()
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    assert admin.rows("SELECT count(*) FROM publications") == [(DEMO_PUBLICATIONS,)]
    assert admin.rows(
        "SELECT count(*), count(DISTINCT publication_id) FROM publication_changes "
        "WHERE kind = 'added'"
    ) == [(DEMO_PUBLICATIONS, DEMO_PUBLICATIONS)]


def test_two_first_crawls_upgrading_one_empty_catalog_at_once(pg_url: str):
    """Both upgrades succeed: one migrates, the other waits for it and finds the schema at head."""
    import threading

    from catalog.db import schema_revisions

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def first_crawl() -> None:
        engine = make_engine(pg_url)
        try:
            barrier.wait(timeout=30)
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=first_crawl) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    engine = make_engine(pg_url)
    try:
        assert schema_revisions(engine) == {HEAD_REVISION}
    finally:
        engine.dispose()
