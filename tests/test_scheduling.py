"""Scheduled crawls: incremental walks, conditional requests, history, runs, locks, signals."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from catalog.index import open_index
from catalog.lock import crawl_lock
from tests.conftest import REPO, Site, catalog_command, clean_env, db_rows, invoke, run_catalog

TOPIC = "regional-security"
LONG_TOPIC_ITEMS = 50


def crawled(site: Site, home: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_catalog(home, "crawl", "--start-url", site.topic_url(TOPIC), *args)
    assert result.returncode == 0, result.stderr
    return result


def listing_requests(site: Site) -> list[str]:
    return [p for p in site.server.paths() if p.startswith("/topics/")]


def test_unchanged_ten_page_topic_costs_one_request(long_site: Site, tmp_path):
    home = tmp_path / "home"
    first = crawled(long_site, home)
    assert "pages 10, items 50, new 50" in first.stdout
    assert len(listing_requests(long_site)) == 10
    before = db_rows(home, "SELECT * FROM publications ORDER BY id")
    long_site.server.requests.clear()

    second = crawled(long_site, home)
    assert (
        "pages 1, items 0, new 0, updated 0" in second.stdout and "not modified 1" in second.stdout
    )
    assert "nothing new or changed" in second.stdout
    assert long_site.server.paths() == ["/robots.txt", f"/topics/{TOPIC}.html"]
    [(_, headers)] = [r for r in long_site.server.requests if r[0].startswith("/topics/")]
    assert headers.get("If-None-Match", "").startswith('"')
    after = db_rows(home, "SELECT * FROM publications ORDER BY id")
    assert after == before  # an unchanged re-crawl writes nothing to publications
    assert db_rows(home, "SELECT count(*) FROM publication_changes WHERE crawl_run_id = 2") == [
        (0,)
    ]


def test_without_validators_an_unchanged_first_page_stops_the_walk(long_site: Site, tmp_path):
    home = tmp_path / "home"
    crawled(long_site, home)
    # as if the server sent no ETag or Last-Modified
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.execute("DELETE FROM listing_pages")
    long_site.server.requests.clear()
    second = crawled(long_site, home)
    assert "pages 1, items 5, new 0, updated 0, unchanged 5" in second.stdout
    assert listing_requests(long_site) == [f"/topics/{TOPIC}.html"]


def test_site_that_changes_between_runs(long_site: Site, tmp_path):
    home = tmp_path / "home"
    crawled(long_site, home)
    first_page = long_site.root / "topics" / f"{TOPIC}.html"
    html = first_page.read_text()
    new_teaser = (
        '<li data-content-id="1"><div class="text"><p class="type">Report</p>'
        '<h3 class="title"><a href="/pubs/research_reports/RRA9999-1.html">A Brand New Report'
        '</a></h3><p class="desc">Fresh findings.</p><p class="date">Nov 20, 2026</p></div></li>'
    )
    results = '<div id="results">\n<ul class="teasers list">\n'
    assert results in html and "Part 2\n" in html
    html = html.replace(results, results + new_teaser).replace("Part 2\n", "Part 2 (revised)\n")
    first_page.write_text(html)
    long_site.server.requests.clear()

    result = crawled(long_site, home)
    assert "pages 2, items 6, new 1, updated 1, unchanged 4" in result.stdout
    assert "not modified 1" in result.stdout  # page 2 had not changed: the walk stopped there
    assert len(listing_requests(long_site)) == 2

    changes = json.loads(invoke(home, "changes", "--since-last-run", "--json").stdout)
    kinds = {(c["kind"], c["field"], c["topic"]) for c in changes}
    assert kinds == {("added", None, TOPIC), ("changed", "title", TOPIC)}
    changed = next(c for c in changes if c["kind"] == "changed")
    assert changed["old_value"].endswith("Part 2") and changed["new_value"].endswith("(revised)")
    table = invoke(home, "changes")
    assert f"{TOPIC}: 1 added, 1 changed" in table.stdout
    assert json.loads(invoke(home, "changes", "--since", "2000-01-01", "--json").stdout)


def test_full_crawl_marks_what_left_the_listing(long_site: Site, tmp_path):
    home = tmp_path / "home"
    crawled(long_site, home)
    last_page = long_site.root / "topics" / f"{TOPIC}--page-10.html"
    html = last_page.read_text()
    start = html.index('<li data-content-id="710004"')
    last_page.write_text(html[:start] + html[html.index("</li>", start) + len("</li>") :])

    incremental = crawled(long_site, home)
    assert "delisted 0" in incremental.stdout
    full = crawled(long_site, home, "--full")
    assert (
        "(full): pages 10, items 49, new 0, updated 0, unchanged 49, skipped 0, delisted 1"
        in full.stdout
    )
    assert db_rows(home, "SELECT count(*) FROM publications") == [(LONG_TOPIC_ITEMS,)]
    [(title,)] = db_rows(
        home,
        "SELECT p.title FROM publications p JOIN publication_topics l "
        "ON l.publication_id = p.id WHERE l.delisted_at IS NOT NULL",
    )
    assert title.endswith("Part 50")
    [change] = json.loads(invoke(home, "changes", "--json").stdout)
    assert change["kind"] == "delisted" and change["topic"] == TOPIC


def test_runs_lists_recent_runs(long_site: Site, tmp_path):
    home = tmp_path / "home"
    crawled(long_site, home)
    crawled(long_site, home, "--full")
    runs = json.loads(invoke(home, "runs", "--json").stdout)
    assert [(r["id"], r["status"], r["full"], r["items_new"]) for r in runs] == [
        (2, "succeeded", True, 0),
        (1, "succeeded", False, 50),
    ]
    assert invoke(home, "runs", "--limit", "1").stdout.count("succeeded") == 1


def test_topics_config_drives_the_default_crawl(long_site: Site, tmp_path):
    home = tmp_path / "home"
    assert invoke(home, "topics", "list").stdout.split() == ["security-cooperation"]
    assert "# Topics that `catalog crawl` visits" in (home / "catalog.toml").read_text()
    assert invoke(home, "topics", "add", long_site.topic_url(TOPIC)).exit_code == 0
    assert invoke(home, "topics", "remove", "security-cooperation").exit_code == 0
    assert invoke(home, "topics", "list").stdout.split() == [long_site.topic_url(TOPIC)]
    assert "# Topics that `catalog crawl` visits" in (home / "catalog.toml").read_text()
    result = run_catalog(home, "crawl")
    assert result.returncode == 0, result.stderr
    assert "new 50" in result.stdout
    bad = invoke(home, "topics", "add", "Not A Slug!")
    assert bad.exit_code == 2 and "neither a topic slug" in bad.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('topics = ["a"\n', "catalog.toml:1: not valid TOML"),
        ('topics = ["a"]\ncolour = "blue"\n', "catalog.toml:2: unknown setting 'colour'"),
        ('topics = ["a"]\n\n[crawl]\ndelay = "fast"\n', "catalog.toml:4: delay has a bad value"),
        ('topics = ["a"]\n[crawl]\nspeed = 1\n', "catalog.toml:3: unknown [crawl] setting 'speed'"),
        ("topics = 3\n", "catalog.toml:1: topics must be a list"),
    ],
)
def test_malformed_config_names_file_and_line(tmp_path, text, message):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text(text)
    result = run_catalog(home, "crawl")
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_quiet_prints_only_on_failure_and_the_log_file_has_it_all(long_site: Site, tmp_path):
    home = tmp_path / "home"
    ok = run_catalog(home, "crawl", "--quiet", "--start-url", long_site.topic_url(TOPIC))
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""
    log = (home / "crawl.log").read_text()
    assert "Spider closed (finished)" in log
    (long_site.root / "_status.json").write_text(json.dumps({f"/topics/{TOPIC}.html": 500}))
    failed = run_catalog(
        home, "crawl", "--quiet", "--full", "--start-url", long_site.topic_url(TOPIC)
    )
    assert failed.returncode == 1 and failed.stdout == ""
    assert "HTTP 500" in failed.stderr and "failed" in failed.stderr


def test_second_crawl_on_a_home_exits_3_and_the_first_is_unaffected(long_site: Site, tmp_path):
    home = tmp_path / "home"
    hold = long_site.server.hold(f"/topics/{TOPIC}.html?page=3")
    first = subprocess.Popen(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url(TOPIC)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    try:
        assert hold.arrived.wait(60), "the first crawl never reached page 3"
        second = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
        assert second.returncode == 3
        assert "another crawl is running" in second.stderr and "pid" in second.stderr
    finally:
        hold.release.set()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "new 50" in out
    assert db_rows(home, "SELECT status FROM crawl_runs") == [("succeeded",)]


def test_lock_held_in_process_blocks_a_crawl(tmp_path, long_site: Site):
    home = tmp_path / "home"
    with crawl_lock(home):
        result = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 3
    assert not (home / "catalog.db").exists() or db_rows(
        home, "SELECT count(*) FROM crawl_runs"
    ) == [(0,)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_crawl_keeps_what_was_stored(long_site: Site, tmp_path, signum):
    home = tmp_path / "home"
    hold = long_site.server.hold(f"/topics/{TOPIC}.html?page=4")
    process = subprocess.Popen(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url(TOPIC)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    try:
        assert hold.arrived.wait(60), "the crawl never reached page 4"
        process.send_signal(signum)
    finally:
        hold.release.set()
        out, err = process.communicate(timeout=120)
    assert process.returncode == 1, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    [(status, stored)] = db_rows(home, "SELECT status, items_new FROM crawl_runs")
    assert status == "interrupted"
    count = db_rows(home, "SELECT count(*) FROM publications")[0][0]
    assert count == stored and 15 <= count <= 20  # pages 1-3 at least, never page 5 on
    assert open_index(home / "index").doc_count() == count  # the index matches the database
    assert db_rows(home, "SELECT walk_state FROM topics") == [("partial",)]

    again = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
    assert again.returncode == 0, again.stderr
    assert db_rows(home, "SELECT count(*) FROM publications") == [(LONG_TOPIC_ITEMS,)]
    assert open_index(home / "index").doc_count() == LONG_TOPIC_ITEMS
    assert db_rows(home, "SELECT walk_state FROM topics") == [("complete",)]


STOPPING = "stopping after the requests in flight; press Ctrl-C again to stop now"


def test_ctrl_c_says_so_at_once_and_stops_after_the_requests_in_flight(long_site: Site, tmp_path):
    """Under a politeness delay the downloader holds requests queued for their turn: Scrapy's
    graceful stop fetched them all, one delay apart (a live crawl went on for 9.5 s and 10
    pages). Now the queue is dropped: only the request in flight is answered."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text("topics = []\n[crawl]\ndelay = 3\n")
    page_2 = f"/topics/{TOPIC}.html?page=2"
    hold = long_site.server.hold(page_2)
    process = subprocess.Popen(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url(TOPIC)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    said = threading.Event()
    lines: list[str] = []

    def read_stderr() -> None:
        for line in process.stderr:
            lines.append(line)
            if STOPPING in line:
                said.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        # Page 1's five publication pages now wait in the downloader behind page 2.
        assert hold.arrived.wait(60), "the crawl never asked for page 2"
        asked = len(long_site.server.paths())
        process.send_signal(signal.SIGINT)
        assert said.wait(10), f"nothing said at once: {lines}"  # page 2 is still held
        hold.release.set()
        released = time.monotonic()
        out = process.stdout.read()
        assert process.wait(timeout=60) == 1
        stopped_after = time.monotonic() - released
    finally:
        hold.release.set()
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(10)
    assert long_site.server.paths()[asked:] == [], "requests were sent after Ctrl-C"
    assert stopped_after < 6, f"took {stopped_after:.1f} s after the last answer"
    err = "".join(lines)
    assert err.count(STOPPING) == 1 and "Traceback" not in err
    assert "interrupted" in err and "interrupted" in out
    [(status, stored, error)] = db_rows(home, "SELECT status, items_new, error FROM crawl_runs")
    assert status == "interrupted" and error is None  # nothing failed: it was stopped
    assert db_rows(home, "SELECT count(*) FROM publications") == [(stored,)]
    assert stored == 10  # pages 1 and 2 (in flight when Ctrl-C came), nothing after
    assert db_rows(home, "SELECT walk_state FROM topics") == [("partial",)]
    assert db_rows(home, "SELECT count(*) FROM publications WHERE details_error IS NOT NULL") == [
        (0,)
    ]  # the publication pages given up are not failures: the next crawl reads them


def test_killed_crawl_is_closed_and_its_index_repaired(long_site: Site, tmp_path):
    home = tmp_path / "home"
    crawled(long_site, home)
    with sqlite3.connect(home / "catalog.db") as conn:  # as a `kill -9` leaves things
        conn.execute(
            "INSERT INTO crawl_runs (started_at, status, spider, full, pages_fetched, "
            "pages_not_modified, items_seen, items_new, items_updated, items_unchanged, "
            "items_skipped, items_delisted) VALUES "
            "('2026-01-01', 'running', 'rand_topic', 0, 0, 0, 0, 0, 0, 0, 0, 0)"
        )
    shutil.rmtree(home / "index")
    crawled(long_site, home)
    assert db_rows(home, "SELECT status FROM crawl_runs ORDER BY id") == [
        ("succeeded",),
        ("interrupted",),
        ("succeeded",),
    ]
    assert open_index(home / "index").doc_count() == LONG_TOPIC_ITEMS


def test_retry_after_is_honoured_and_5xx_retried(long_site: Site, tmp_path):
    page2 = f"/topics/{TOPIC}.html?page=2"
    page3 = f"/topics/{TOPIC}.html?page=3"
    (long_site.root / "_status.json").write_text(
        json.dumps(
            {
                page2: {"status": 429, "times": 1, "headers": {"Retry-After": "0"}},
                page3: {"status": 503, "times": 2},
            }
        )
    )
    result = crawled(long_site, tmp_path / "home")
    assert "new 50" in result.stdout
    paths = long_site.server.paths()
    assert paths.count(page2) == 2 and paths.count(page3) == 3


def test_timeout_fails_the_run_loudly(long_site: Site, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text("topics = []\n[crawl]\ntimeout = 1\nretries = 0\n")
    hold = long_site.server.hold(f"/topics/{TOPIC}.html?page=2")
    try:
        result = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
    finally:
        hold.release.set()
    assert result.returncode == 1
    [(status, error)] = db_rows(home, "SELECT status, error FROM crawl_runs")
    assert status == "failed" and "page=2 failed" in error and "took longer than" in error
    assert db_rows(home, "SELECT count(*) FROM publications") == [(5,)]


def test_robots_txt_is_obeyed_and_user_agent_names_a_contact(long_site: Site, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text('topics = []\n[crawl]\ncontact = "mailto:ops@example.org"\n')
    (long_site.root / "robots.txt").write_text("User-agent: *\nDisallow: /topics/\n")
    result = run_catalog(home, "crawl", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 1 and "robots.txt" in result.stderr
    assert long_site.server.paths() == ["/robots.txt"]
    [(_, headers)] = long_site.server.requests
    assert "thinktank-catalog" in headers["User-Agent"]
    assert "mailto:ops@example.org" in headers["User-Agent"]


def test_a_batch_stored_mid_page_does_not_end_the_walk(long_site: Site, tmp_path):
    """Batches of one: each entry is stored while the page is handed over, yet the walk goes on."""
    home = tmp_path / "home"
    crawled(long_site, home)
    for number in (1, 2):
        page = (
            long_site.root
            / "topics"
            / (f"{TOPIC}.html" if number == 1 else f"{TOPIC}--page-{number}.html")
        )
        page.write_text(page.read_text().replace("Part ", "Chapter "))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "rand_topic",
            "-a",
            f"start_url={long_site.topic_url(TOPIC)}",
            "-s",
            "CATALOG_BATCH_SIZE=1",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
        ],
        cwd=REPO,
        env=clean_env(CATALOG_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [(updated, pages)] = db_rows(
        home, "SELECT items_updated, pages_fetched FROM crawl_runs ORDER BY id DESC LIMIT 1"
    )
    assert updated == 10 and pages == 3  # pages 1 and 2 changed; page 3 unchanged ends it
