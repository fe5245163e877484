"""The search index follows the database by revision: bumps, sync, check, shared catalogs.

Store-level tests prove that every change the index holds bumps the revision in the writing
transaction; index tests prove that sync applies exactly what changed, that `index check`
finds every kind of difference and `index sync` repairs it; the PostgreSQL test runs two
homes over one shared catalog.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from catalog import queries
from catalog.db import make_engine, upgrade
from catalog.index import IndexDocument, open_index
from catalog.records import WALK_COMPLETED, WALK_STARTED, PublicationDetails, TopicRef
from catalog.store import Revision, next_revision
from tests.conftest import (
    REPO,
    Site,
    catalog_command,
    clean_env,
    db_rows,
    hits_of,
    invoke,
    run_catalog,
)
from tests.models import CrawlRun, Publication
from tests.test_store import AP, SC, Store, entry, walk

TOPIC = "regional-security"
POSTGRES = os.environ.get(
    "CATALOG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def revisions(engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Publication.id, Publication.revision)).all())


def details(url: str, authors: list[str], topics: list[TopicRef]) -> PublicationDetails:
    return PublicationDetails(
        url=url,
        title="T",
        subtitle="Sub",
        product_type=None,
        content_category=None,
        published_on=date(2020, 5, 1),
        date_text="May 1, 2020",
        authors=authors,
        abstract="An abstract about deterrence",
        research_questions=[],
        key_findings=[],
        recommendations=[],
        body_text=None,
        related_topics=topics,
        document_number=None,
        doi=None,
        isbn=None,
        series=None,
        page_count=None,
        pdf_url=None,
        pdf_size=None,
        print_format=None,
        print_price=None,
    )


@pytest.fixture
def store(tmp_path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    return Store(engine)


def test_every_change_the_index_holds_bumps_the_revision_and_nothing_else_does(store):
    source = queries.CatalogIndexSource(store.engine)
    store.upsert([entry(1), entry(2), entry(3)])
    first = revisions(store.engine)
    assert len(set(first.values())) == 1  # one batch, one revision
    head = source.head().revision
    assert head == next(iter(first.values()))

    def bumped(records, *, run=store) -> set[int]:
        before = revisions(store.engine)
        head_before = source.head().revision
        run.upsert(records)
        after = revisions(store.engine)
        changed = {i for i in after if after[i] != before.get(i)}
        assert all(after[i] > head_before for i in changed)  # strictly newer than all before
        return changed

    assert bumped([entry(1), entry(2), entry(3)]) == set()  # seen again, unchanged
    assert bumped([entry(2, title="Report 2, revised")]) == {2}
    assert bumped([entry(3, topic=AP)]) == {3}  # newly listed under another topic
    assert bumped([details(entry(1).url, ["Ann Author"], [AP])]) == {1}  # page details
    assert bumped([details(entry(1).url, ["Ann Author"], [AP])]) == {1}  # read again
    renamed = dataclasses.replace(SC, name="SC!")
    # The topic's name, which each of its publications is indexed with, changed.
    assert bumped([entry(1, topic=renamed)]) == {1, 2, 3}
    later = Store(store.engine)  # a later run: a full walk that no longer lists RR3
    revised = entry(2, title="Report 2, revised")
    full = [walk(WALK_STARTED, True, renamed), entry(1, topic=renamed)]
    full += [dataclasses.replace(revised, topic=renamed), walk(WALK_COMPLETED, True, renamed)]
    assert bumped(full, run=later) == {3}  # delisted from SC
    assert bumped([entry(3, topic=renamed)], run=later) == {3}  # relisted

    gone_head = source.head().revision
    assert store.delete_publications([2]) == 1
    assert source.head().revision > gone_head  # the tombstone's revision
    assert source.changes(gone_head, source.head().revision) == ([], [2])


def test_sqlite_revision_transactions_commit_in_revision_order(tmp_path):
    """While one transaction holds revision N, no other can take N+1 (SQLite's one writer)."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    upgrade(engine)
    Store(engine).upsert([entry(1)])
    impatient = create_engine(url, connect_args={"timeout": 0.1})
    with engine.begin() as conn:
        value = Revision(conn).value
        with pytest.raises(OperationalError, match="locked"), impatient.begin() as other:
            next_revision(other)
        conn.execute(update(Publication).where(Publication.id == 1).values(revision=value))
    with impatient.begin() as other:
        assert next_revision(other) == value + 1
    impatient.dispose()


# --- sync and check ------------------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path) -> tuple[Store, Path, queries.CatalogIndexSource]:
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'catalog.db'}")
    upgrade(engine)
    store = Store(engine)
    store.upsert([entry(i) for i in range(1, 11)])
    return store, tmp_path / "home", queries.CatalogIndexSource(engine)


def test_sync_applies_exactly_what_changed(catalog, search_engine):
    store, home, source = catalog
    index = open_index(home / "index", search_engine)
    first = index.sync(source)
    assert first.rebuilt and first.updated == 10 and first.why == ""
    assert index.state() == source.head()
    assert index.sync(source).changed is False  # level: nothing to do

    store.upsert([entry(4, title="Deterrence in the Baltic")])
    store.delete_publications([7])
    report = index.sync(source)
    assert (report.updated, report.deleted, report.rebuilt) == (1, 1, False)
    assert [h.url for h in hits_of(index, "baltic")] == [entry(4).url]
    assert index.check(source).ok


def test_check_lists_every_difference_and_sync_repairs_them(catalog, search_engine):
    store, home, source = catalog
    index = open_index(home / "index", search_engine)
    index.sync(source)
    docs = {d["id"]: d for d in source.documents()}
    # Damage the index behind the catalog's back: one document gone, one stale, one extra.
    stale = IndexDocument.from_row({**docs[5], "revision": 0, "title": "Old"})
    extra = IndexDocument.from_row({**docs[6], "id": 99, "url": "https://x/gone"})
    index.engine.write(index.folder, [stale, extra], delete=[3])

    result = invoke(home, "index", "check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["missing", "3"],
        ["stale", "5"],
        ["extra", "99"],
    ]
    assert "1 missing, 1 stale, 1 extra" in result.stderr

    repaired = invoke(home, "index", "sync")
    assert repaired.exit_code == 0, repaired.stderr
    assert "2 updated, 1 deleted" in repaired.stderr
    ok = invoke(home, "index", "check")
    assert ok.exit_code == 0 and ok.stdout == ""
    assert "matches the catalog: 10 publications" in ok.stderr


def test_search_catches_up_first_and_an_index_of_another_catalog_is_rebuilt(
    catalog, tmp_path, search_engine
):
    store, home, source = catalog
    assert invoke(home, "index", "rebuild").exit_code == 0
    store.upsert([entry(2, title="Maritime Deterrence")])
    hits = json.loads(invoke(home, "search", "maritime", "--json").stdout)
    assert [h["url"] for h in hits] == [entry(2).url]

    # The home pointed at another database: its index is not trusted, however level it looks.
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    Store(other).upsert([entry(50, title="Elsewhere")])
    result = invoke(home, "--db", f"sqlite:///{tmp_path / 'other.db'}", "search", "*", "--json")
    assert [h["url"] for h in json.loads(result.stdout)] == [entry(50).url]
    assert "rebuilt the search index" in result.stderr and "another catalog" in result.stderr


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make a folder read-only for this process: permissions, or (as root) a read-only mount."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip("running as root and cannot mount a read-only folder")
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True
        )
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_index_is_searched_as_it_is_with_one_warning(catalog, search_engine):
    store, home, source = catalog
    index = open_index(home / "index", search_engine)
    index.sync(source)
    store.upsert([entry(1, title="Arctic Security")])
    with read_only(index.folder):
        result = invoke(home, "search", "report", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 10  # what the index holds
    warning = result.stderr.strip().splitlines()
    assert (
        len(warning) == 1
        and "behind the catalog" in warning[0]
        and "cannot be written" in (warning[0])
    )
    assert invoke(home, "search", "arctic", "--json").stdout.count(entry(1).url) == 1


def test_crawl_with_a_read_only_index_fails_in_one_line_and_keeps_the_database(
    long_site: Site, tmp_path, search_engine
):
    home = tmp_path / "home"
    url = long_site.topic_url(TOPIC)
    first = run_catalog(home, "crawl", "--pages", "1", "--start-url", url)
    assert first.returncode == 0, first.stderr
    with read_only(home / "index"):
        result = run_catalog(home, "crawl", "--quiet", "--start-url", url)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "search index" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert db_rows(home, "SELECT status FROM crawl_runs ORDER BY id") == [
        ("succeeded",),
        ("failed",),
    ]
    assert db_rows(home, "SELECT count(*) FROM publications") == [(50,)]  # stored, intact
    assert invoke(home, "index", "check").exit_code == 1  # behind: the batch was not indexed
    assert invoke(home, "search", "*", "--limit", "100", "--json").stdout.count('"url"') == 50
    assert invoke(home, "index", "check").exit_code == 0  # the search caught it up


# --- runs ------------------------------------------------------------------------------------


def test_runs_closes_a_running_run_whose_process_died(catalog):
    store, home, _ = catalog
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    with store.engine.begin() as conn:
        conn.execute(
            update(CrawlRun).values(host=socket.gethostname(), pid=finished.pid)
        )  # the fixture's run, as if its process had been killed
    [run] = json.loads(invoke(home, "runs", "--json").stdout)
    assert run["status"] == "interrupted" and "killed" in run["error"]


def test_second_signal_during_shutdown_still_closes_the_run(
    long_site: Site, tmp_path, search_engine
):
    """SIGTERM starts a graceful stop that waits for a held request; a second one stops at once."""
    home = tmp_path / "home"
    hold = long_site.server.hold(f"/topics/{TOPIC}.html?page=4")
    process = subprocess.Popen(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url(TOPIC)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(CATALOG_BATCH_SIZE="5"),
        cwd=REPO,
    )
    try:
        assert hold.arrived.wait(60), "the crawl never reached page 4"
        process.send_signal(signal.SIGTERM)
        log = home / "crawl.log"
        deadline = time.monotonic() + 30
        while "shutting down gracefully" not in log.read_text():
            assert time.monotonic() < deadline, "the crawl never began its graceful stop"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        hold.release.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, (out, err)
    [(status, new, error)] = db_rows(home, "SELECT status, items_new, error FROM crawl_runs")
    assert status == "interrupted", (status, error)
    assert new == db_rows(home, "SELECT count(*) FROM publications")[0][0] >= 15
    assert invoke(home, "index", "check").exit_code in (0, 1)  # behind at worst, never ahead
    assert invoke(home, "search", "*", "--limit", "100").exit_code == 0
    assert invoke(home, "index", "check").exit_code == 0


# --- two homes, one PostgreSQL catalog ---------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg")
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"catalog_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        message = f"no PostgreSQL server at {POSTGRES}: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def search_urls(home: Path, db: str, query: str, *args: str) -> set[str]:
    result = invoke(home, "--db", db, "search", query, "--limit", "500", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return {hit["url"] for hit in json.loads(result.stdout)}


def test_homes_sharing_a_postgres_catalog_each_follow_it(
    pg_url, long_site: Site, tmp_path, search_engine
):
    crawler_home, reader_home = tmp_path / "a", tmp_path / "b"
    url = long_site.topic_url(TOPIC)
    first = run_catalog(crawler_home, "--db", pg_url, "crawl", "--start-url", url)
    assert first.returncode == 0, first.stderr

    synced = invoke(reader_home, "--db", pg_url, "index", "sync")
    assert synced.exit_code == 0
    assert f"rebuilt the search index for {search_engine}: 50" in synced.stderr
    assert len(search_urls(reader_home, pg_url, "*")) == 50
    assert invoke(reader_home, "--db", pg_url, "index", "check").exit_code == 0

    # The site changes: a title is revised and the last teaser leaves the listing.
    first_page = long_site.root / "topics" / f"{TOPIC}.html"
    first_page.write_text(first_page.read_text().replace("Part 2\n", "Part 2 Zanzibar\n"))
    last_page = long_site.root / "topics" / f"{TOPIC}--page-10.html"
    html = last_page.read_text()
    start = html.index('<li data-content-id="710004"')
    last_page.write_text(html[:start] + html[html.index("</li>", start) + len("</li>") :])
    full = run_catalog(crawler_home, "--db", pg_url, "crawl", "--full", "--start-url", url)
    assert full.returncode == 0, full.stderr
    assert "updated 1" in full.stdout and "delisted 1" in full.stdout

    # The reader's index is now behind on exactly those two publications...
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        delisted = conn.execute(
            text("SELECT publication_id FROM publication_topics WHERE delisted_at IS NOT NULL")
        ).scalar_one()
        retitled = conn.execute(
            text("SELECT id FROM publications WHERE title LIKE '%Zanzibar%'")
        ).scalar_one()
    engine.dispose()
    behind = invoke(reader_home, "--db", pg_url, "index", "check")
    assert behind.exit_code == 1
    stale = sorted(int(line.split("\t")[1]) for line in behind.stdout.splitlines())
    assert stale == sorted([delisted, retitled]) and behind.stdout.startswith("stale")
    # ...and its next search sees both, with no other command in between.
    [renamed] = search_urls(reader_home, pg_url, "zanzibar")
    assert renamed.startswith(long_site.base)
    assert invoke(reader_home, "--db", pg_url, "index", "check").exit_code == 0
    assert invoke(crawler_home, "--db", pg_url, "index", "check").exit_code == 0


def test_postgres_revisions_come_from_the_sequence_in_commit_order(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    store = Store(engine)
    store.upsert([entry(i) for i in range(1, 4)])
    with engine.begin() as conn:
        mine = Revision(conn).value
        # Another writer now waits for the advisory lock instead of committing a later revision
        # that a reader could absorb before this one.
        with engine.connect() as other:
            other.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(Exception, match="lock timeout"):
                Revision(other).value  # noqa: B018
            other.rollback()
    assert mine > max(revisions(engine).values())  # taken from the sequence, not yet used
    engine.dispose()
