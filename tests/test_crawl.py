"""End to end: the real `catalog crawl` against RAND-shaped sites served on 127.0.0.1.

The core paths (first crawl and re-crawl, a changed listing, a failed page, a messy page) run
on both backends (``backend``: ``[sqlite]``, ``[postgresql]``); their variations on SQLite.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from crawler.spiders.rand_topic import RandTopicSpider
from tests.conftest import (
    DEMO_PUBLICATIONS,
    FIXTURES,
    REPO,
    Catalog,
    Site,
    catalog_command,
    clean_env,
    db_rows,
    invoke,
    run_catalog,
)

PAGES = FIXTURES / "pages" / "rand"


@pytest.mark.slow  # two crawls
def test_crawl_catalogs_every_teaser_and_a_second_run_adds_nothing(
    demo_site: Site, backend: Catalog
):
    first = backend.run("crawl", "--start-url", demo_site.topic_url())
    assert first.returncode == 0, first.stderr
    assert (
        "succeeded (incremental): pages 3, items 42, new 42, updated 0, unchanged 0, skipped 0"
        in (first.stdout)
    )

    assert backend.rows("SELECT count(*), count(DISTINCT url) FROM publications") == [(42, 42)]
    [row] = backend.rows(
        "SELECT title, content_type, published_on, date_text, summary, image_url, image_caption "
        "FROM publications WHERE url LIKE '%/pubs/research_reports/RRA393-3.html'",
    )
    assert row[:4] == (
        "Challenges of Deploying Ground-Based Intermediate-Range Missiles on Allied Lands",
        "Report",
        "2022-04-28",
        "Apr 28, 2022",
    )
    assert "treaty allies in the region—Australia" in row[4]
    assert row[5].endswith(".jpg") and row[6].startswith("Flight test of a conventionally")
    # every field a teaser carries made it; teasers without photo or type keep NULL / ''
    assert backend.rows("SELECT count(*) FROM publications WHERE published_on IS NULL") == [(0,)]
    assert backend.rows("SELECT count(*) FROM publications WHERE image_url IS NULL") == [(11,)]
    assert backend.rows("SELECT count(*) FROM publications WHERE content_type = ''") == [(1,)]
    assert backend.rows("SELECT slug, name FROM topics WHERE walk_state = 'complete'") == [
        ("security-cooperation", "Security Cooperation")
    ]
    sections = backend.rows(
        "SELECT section, count(*), min(position), max(listing_url) FROM publication_topics "
        "WHERE section != 'related' GROUP BY section ORDER BY section",
    )
    assert sections == [
        ("featured", 2, 1, f"{demo_site.base}/topics/security-cooperation.html"),
        ("list", 40, 1, f"{demo_site.base}/topics/security-cooperation.html?page=3"),
    ]

    second = backend.run("crawl", "--full", "--start-url", demo_site.topic_url())
    assert second.returncode == 0, second.stderr
    assert "(full): pages 3, items 42, new 0, updated 0, unchanged 42" in second.stdout
    assert backend.rows("SELECT count(*) FROM publications") == [(DEMO_PUBLICATIONS,)]
    runs = backend.rows(
        "SELECT status, pages_fetched, items_seen, items_new FROM crawl_runs ORDER BY id"
    )
    assert runs == [("succeeded", 3, 42, 42), ("succeeded", 3, 42, 0)]


def test_changed_listing_updates_the_row_and_the_index(site: Site, backend: Catalog):
    assert backend.run("crawl", "--start-url", site.topic_url()).returncode == 0
    page = site.root / "topics" / "security-cooperation.html"
    page.write_text(
        page.read_text()
        .replace("Navigating", "Charting")
        .replace("Biden Puts Japan at the Center", "Biden Puts Tokyo at the Center")
    )
    result = backend.run("crawl", "--start-url", site.topic_url())
    assert result.returncode == 0, result.stderr
    # page 1 changed; page 2 answers 304 Not Modified, so the walk stops there
    assert "pages 2, items 17, new 0, updated 1, unchanged 16" in result.stdout
    assert "not modified 1" in result.stdout
    found = backend.run("search", "tokyo center", "--json")
    assert [h["title"] for h in json.loads(found.stdout)] == [
        "Biden Puts Tokyo at the Center of U.S. Policy in Asia"
    ]
    assert json.loads(backend.run("search", "title:japan AND title:biden", "--json").stdout) == []


def test_page_without_teasers_fails_loudly_and_keeps_what_was_stored(site: Site, backend: Catalog):
    shutil.copy(
        PAGES / "topic-no-teasers" / "input.html",
        site.root / "topics" / "security-cooperation--page-2.html",
    )
    result = backend.run("crawl", "--start-url", site.topic_url())
    assert result.returncode == 1
    assert "no teasers" in result.stderr and "Traceback" not in result.stderr
    [(status, error)] = backend.rows("SELECT status, error FROM crawl_runs")
    assert status == "failed" and "no teasers on" in error and "?page=2" in error
    assert backend.rows("SELECT count(*) FROM publications") == [(17,)]  # page 1 is kept


def test_server_error_on_a_listing_page_fails_the_run(site: Site, tmp_path):
    (site.root / "_status.json").write_text(
        json.dumps({"/topics/security-cooperation.html?page=2": 500})
    )
    home = tmp_path / "home"
    result = run_catalog(home, "crawl", "--start-url", site.topic_url())
    assert result.returncode == 1
    [(status, error)] = db_rows(home, "SELECT status, error FROM crawl_runs")
    assert status == "failed" and "HTTP 500" in error
    assert db_rows(home, "SELECT count(*) FROM publications") == [(17,)]


def test_messy_page_skips_bad_teasers_and_keeps_odd_dates(site: Site, backend: Catalog):
    topics = site.root / "topics"
    shutil.copy(
        PAGES / "topic-messy" / "input.html",
        topics / "national-security-and-terrorism--page-2.html",
    )
    shutil.copy(
        topics / "security-cooperation--page-3.html",
        topics / "national-security-and-terrorism--page-3.html",
    )
    result = backend.run(
        "crawl",
        "--start-url",
        f"{site.base}/topics/national-security-and-terrorism.html?page=2&query=x",
    )
    assert result.returncode == 0, result.stderr
    assert (
        "pages 2, items 13, new 13, updated 0, unchanged 0, skipped 2, delisted 0" in result.stdout
    )
    assert "unparseable date 'Winter 2020'" in result.stderr
    assert "no link" in result.stderr and "no title" in result.stderr
    assert backend.rows(
        "SELECT published_on, date_text FROM publications WHERE title = 'A Season of Change'"
    ) == [(None, "Winter 2020")]
    assert backend.rows(
        "SELECT count(*) FROM publications WHERE title LIKE '%Defense and Security%'"
    ) == [(0,)]


@pytest.mark.slow  # crawls
def test_pages_is_a_short_walk(demo_site: Site, tmp_path):
    result = run_catalog(
        tmp_path / "home", "crawl", "--start-url", demo_site.topic_url(), "--pages", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "pages 1, items 17, new 17" in result.stdout


def test_spider_arguments():
    spider = RandTopicSpider(topic="security-cooperation,middle-east")
    assert spider.start_urls == [
        "https://www.rand.org/topics/security-cooperation.html",
        "https://www.rand.org/topics/middle-east.html",
    ]
    assert spider.allowed_domains == ["www.rand.org"]
    assert RandTopicSpider().start_urls == ["https://www.rand.org/topics/security-cooperation.html"]
    local = RandTopicSpider(start_url="http://127.0.0.1:8000/topics/x.html", pages="2")
    assert local.allowed_domains == ["127.0.0.1"] and local.pages == 2
    assert RandTopicSpider(max_pages="3").pages == 3  # the old name still works
    assert RandTopicSpider(pages="2", max_pages="3").pages == 2  # the new one wins
    with pytest.raises(ValueError, match="pages must be a whole number"):
        RandTopicSpider(pages="lots")


@pytest.mark.parametrize(
    "args", [("--start-url", "notaurl"), ("--start-url", "ftp://x/y"), ("--topic", "Bad Slug!")]
)
def test_bad_start_urls_and_topics_are_usage_errors(tmp_path, args):
    result = run_catalog(tmp_path / "home", "crawl", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("every", "syncs"), [("1000", range(1, 2)), ("20", range(2, 7))])
def test_crawl_syncs_the_index_every_so_many_publications_and_at_close(
    long_site: Site, tmp_path, every: str, syncs: range
):
    """Batches of five are stored one by one, but the index is committed only every
    ``CATALOG_INDEX_EVERY`` publications and once more at close; it ends equal to the database.

    50 publications, each stored twice (listing, then page): 100 re-indexings, so at most
    five syncs of 20 and the close's; with 1000, the close's sync alone.
    """
    home = tmp_path / "home"
    crawl = subprocess.run(
        catalog_command(home, "crawl", "--start-url", long_site.topic_url("regional-security")),
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(CATALOG_BATCH_SIZE="5", CATALOG_INDEX_EVERY=every),
        cwd=REPO,
    )
    assert crawl.returncode == 0, crawl.stderr
    log = (home / "crawl.log").read_text()
    caught_up = re.findall(r"search index caught up from revision \d+ to \d+ \((\d+) updated", log)
    assert len(caught_up) in syncs, log
    assert sum(map(int, caught_up)) >= db_rows(home, "SELECT count(*) FROM publications")[0][0]
    # Nothing left for a later command: the crawl's own last sync brought the index up.
    check = invoke(home, "index", "check")
    assert check.exit_code == 0, check.stdout + check.stderr
