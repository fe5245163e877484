"""End to end: topics read from feeds, by the real `catalog crawl`, on a local two-publisher
site: the RAND-shaped demo site on 127.0.0.1 and a WordPress-like think tank
(:mod:`tests.feedsite`) served under a reserved host name mapped onto 127.0.0.1.

What the request logs show: a feed's pages followed to the end on a first crawl, a re-crawl
stopped by a 304 or by a page holding nothing new, and no publication page fetched again
for an unchanged feed. What the catalog shows: both publishers, entries whose page is gone
or says nothing counted as failed with a reason, and delisting only after a full walk to
the feed's end (or a feed that says it is complete).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from catalog.localsite import LocalSite, serve
from crawler.pages.generic import FeedListing, GenericFeedPage
from tests import feedsite
from tests.conftest import DEMO_PUBLICATIONS, Catalog, Site, catalog_command, clean_env, invoke
from tests.feedsite import FEED, HOST, ORIGIN, SITE_NAME, TAG_PAGE, FeedSite, posts

FEED_PATH = "/tag/alliances/feed/"
SLUG = f"{HOST}/tag/alliances"
# Seven posts, three a page: three pages, and WordPress's 404 past the last.
EVERY_PAGE = [FEED_PATH] + [f"{FEED_PATH}?paged={n}" for n in (2, 3, 4)]


@pytest.fixture
def think_tank(tmp_path: Path) -> Iterator[tuple[FeedSite, LocalSite]]:
    """Seven posts in three feed pages (3 + 3 + 1), served on 127.0.0.1."""
    site = FeedSite(tmp_path / "think-tank", posts(7))
    site.write()
    with serve(site.root) as server:
        yield site, server


def crawl(home: Path, server: LocalSite, *args: str) -> subprocess.CompletedProcess:
    """``catalog crawl ARGS`` in its own process, the think tank's host mapped to its server."""
    env = clean_env(CATALOG_HOST_MAP=json.dumps({HOST: server.url}))
    return subprocess.run(
        catalog_command(home, "crawl", *args),
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def summary(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The summary line's counts: ``pages 3, items 7, ...`` -> {"pages": 3, "items": 7, ...}."""
    line = next(x for x in result.stdout.splitlines() if x.startswith("run "))
    return {name: int(n) for name, n in re.findall(r"([a-z][a-z ]*?) (\d+)(?=,|$| \()", line)}


def fetched(server: LocalSite, since: int = 0) -> list[str]:
    """Paths the server answered since request number ``since`` (robots.txt left out)."""
    return [p for p in server.paths()[since:] if p != "/robots.txt"]


def feed_requests(server: LocalSite, since: int = 0) -> list[str]:
    return [p for p in fetched(server, since) if p.startswith(FEED_PATH)]


def post_requests(server: LocalSite, since: int = 0) -> list[str]:
    return [p for p in fetched(server, since) if p.startswith("/posts/")]


def rows(home: Path, sql: str, *params: object) -> list[tuple]:
    return Catalog("sqlite", home).rows(sql, *params)


def test_one_crawl_catalogues_both_publishers_and_a_recrawl_reads_no_publication_page(
    tmp_path: Path, site: Site, think_tank
):
    feeds, server = think_tank
    home = tmp_path / "home"
    first = crawl(home, server, "--start-url", site.topic_url(), "--start-url", FEED)
    assert first.returncode == 0, first.stderr
    counts = dict(rows(home, "SELECT publisher, count(*) FROM publications GROUP BY publisher"))
    assert counts == {"RAND Corporation": DEMO_PUBLICATIONS, SITE_NAME: 7}
    # Every page of the feed, to WordPress's 404 past the last; every post's page once.
    assert feed_requests(server) == EVERY_PAGE
    assert sorted(post_requests(server)) == sorted(p.path for p in feeds.posts)
    assert server.paths()[0] == "/robots.txt"  # asked before anything else on the host
    [(state,)] = rows(home, "SELECT walk_state FROM topics WHERE slug = ?", SLUG)
    assert state == "complete"
    # The page's values (its abstract), read with the feed's entry (its summary).
    [(abstract, summary_text)] = rows(
        home, "SELECT abstract, summary FROM publications WHERE url = ?", feeds.posts[0].url
    )
    assert abstract.startswith("The full abstract of") and summary_text.startswith("What ")

    found = invoke(home, "search", "alliance", "--facets", "--json")
    facet = {f["value"]: f["count"] for f in json.loads(found.stdout)["facets"]["publisher"]}
    assert facet[SITE_NAME] == 7 and facet["RAND Corporation"] > 0

    seen = len(server.paths())
    again = crawl(home, server, "--start-url", site.topic_url(), "--start-url", FEED)
    assert again.returncode == 0, again.stderr
    assert post_requests(server, seen) == []  # an unchanged feed: no publication page
    assert feed_requests(server, seen) == [FEED_PATH]  # one conditional request, answered 304
    [headers] = [h for p, h in server.requests[seen:] if p == FEED_PATH]
    assert headers.get("If-None-Match")
    numbers = summary(again)
    assert numbers["new"] == 0 and numbers["updated"] == 0 and numbers["details"] == 0
    assert numbers["not modified"] == 2  # the RAND topic and the feed


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_an_incremental_crawl_stops_at_the_first_page_with_nothing_new(tmp_path, think_tank):
    feeds, server = think_tank
    home = tmp_path / "home"
    assert crawl(home, server, "--start-url", FEED).returncode == 0
    newest = replace(posts(8)[0])  # post-8, a day newer than post-7
    feeds.posts.insert(0, newest)  # every page shifts by one, as WordPress's do
    feeds.write()
    seen = len(server.paths())
    result = crawl(home, server, "--start-url", FEED)
    assert result.returncode == 0, result.stderr
    # Page 1 holds the new post; page 2 only known ones: the walk stops there.
    assert feed_requests(server, seen) == [FEED_PATH, FEED_PATH + "?paged=2"]
    assert post_requests(server, seen) == [newest.path]
    numbers = summary(result)
    assert numbers["new"] == 1 and numbers["details"] == 1
    assert rows(home, "SELECT count(*) FROM publications") == [(8,)]


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_a_full_crawl_walks_every_page_again(tmp_path, think_tank):
    _, server = think_tank
    home = tmp_path / "home"
    assert crawl(home, server, "--start-url", FEED).returncode == 0
    seen = len(server.paths())
    result = crawl(home, server, "--start-url", FEED, "--full")
    assert result.returncode == 0, result.stderr
    assert feed_requests(server, seen) == EVERY_PAGE
    assert not any(h.get("If-None-Match") for _, h in server.requests[seen:])


def test_an_html_page_linking_a_feed_is_a_topic_too(tmp_path, think_tank):
    """`catalog topics add` takes the tag page; the crawl finds its feed and walks it."""
    _, server = think_tank
    home = tmp_path / "home"
    added = invoke(home, "topics", "add", TAG_PAGE)
    assert added.exit_code == 0 and TAG_PAGE in added.stdout
    # A new home lists rand.org's security-cooperation: no test reaches the internet.
    listed = invoke(home, "topics", "remove", "security-cooperation")
    assert listed.exit_code == 0 and listed.stdout.split() == [TAG_PAGE]
    result = crawl(home, server)  # the home's topics
    assert result.returncode == 0, result.stderr
    assert fetched(server)[0] == "/tag/alliances/"
    assert rows(home, "SELECT count(*) FROM publications") == [(7,)]
    assert rows(home, "SELECT slug FROM topics WHERE url != ''") == [(SLUG,)]


def test_an_entry_whose_page_is_gone_or_says_nothing_is_a_failed_detail(tmp_path, think_tank):
    feeds, server = think_tank
    feeds.posts[1] = replace(feeds.posts[1], page="gone")
    feeds.posts[2] = replace(feeds.posts[2], page="none")
    feeds.write()
    home = tmp_path / "home"
    result = crawl(home, server, "--start-url", FEED)
    assert result.returncode == 0, result.stderr  # failed pages never fail the run
    assert summary(result)["detail pages failed"] == 2
    failed = "SELECT url, details_error FROM publications WHERE details_error IS NOT NULL"
    errors = dict(rows(home, failed))
    assert errors[feeds.posts[1].url] == "HTTP 404"
    assert errors[feeds.posts[2].url].startswith("no embedded metadata")
    # The feed's entry stands: title, date, authors, the feed's word for the publisher.
    [(title, published, publisher)] = rows(
        home,
        "SELECT title, published_on, publisher FROM publications WHERE url = ?",
        feeds.posts[1].url,
    )
    assert (title, str(published)) == (feeds.posts[1].title, feeds.posts[1].day.isoformat())
    assert publisher == SITE_NAME


@pytest.mark.parametrize("what", ["post", "robots"])
def test_a_url_that_is_not_a_feed_fails_the_crawl_in_one_line(tmp_path, think_tank, what):
    feeds, server = think_tank
    url = feeds.posts[0].url if what == "post" else f"{ORIGIN}/robots.txt"
    home = tmp_path / "home"
    result = crawl(home, server, "--start-url", url)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, lines
    assert f"{url} is not a feed" in lines[0] and lines[0].startswith("Error: crawl failed")
    assert rows(home, "SELECT count(*) FROM publications") == [(0,)]


def _delisted(home: Path) -> set[str]:
    found = rows(
        home,
        "SELECT p.url FROM publication_topics l JOIN publications p ON p.id = l.publication_id "
        "WHERE l.delisted_at IS NOT NULL",
    )
    return {url for (url,) in found}


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_an_entry_leaving_a_feed_is_delisted_only_by_a_full_walk_to_its_end(tmp_path, think_tank):
    feeds, server = think_tank
    home = tmp_path / "home"
    assert crawl(home, server, "--start-url", FEED, "--full").returncode == 0
    oldest = feeds.posts.pop()  # gone from the feed's last page
    feeds.write()

    incremental = crawl(home, server, "--start-url", FEED)
    assert incremental.returncode == 0, incremental.stderr
    assert summary(incremental)["delisted"] == 0 and _delisted(home) == set()

    short = crawl(home, server, "--start-url", FEED, "--full", "--pages", "1")
    assert short.returncode == 0, short.stderr
    assert summary(short)["delisted"] == 0 and _delisted(home) == set()

    full = crawl(home, server, "--start-url", FEED, "--full")
    assert full.returncode == 0, full.stderr
    assert summary(full)["delisted"] == 1 and _delisted(home) == {oldest.url}


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_an_entry_pushed_out_of_a_newest_n_feed_is_not_delisted(tmp_path):
    """A feed of the newest three: a new post pushes the oldest out. The crawl reads the whole
    feed to its end, but not as a full walk, so the entry that left proves nothing."""
    feeds = FeedSite(tmp_path / "newest", posts(3), per_page=3)
    feeds.write()
    home = tmp_path / "home"
    with serve(feeds.root) as server:
        assert crawl(home, server, "--start-url", FEED).returncode == 0
        pushed_out = feeds.posts.pop()
        feeds.posts.insert(0, posts(4)[0])
        feeds.write()
        seen = len(server.paths())
        result = crawl(home, server, "--start-url", FEED)
        assert result.returncode == 0, result.stderr
        assert feed_requests(server, seen) == [FEED_PATH, FEED_PATH + "?paged=2"]  # to its end
        assert summary(result)["delisted"] == 0 and _delisted(home) == set()
        assert rows(home, "SELECT count(*) FROM publications WHERE url = ?", pushed_out.url) == [
            (1,)
        ]


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_a_feed_that_suddenly_lists_nothing_delists_nothing(tmp_path):
    """An empty feed (a site's glitch) is no proof, even to a full walk: warned, not delisted."""
    feeds = FeedSite(tmp_path / "empty", posts(3))
    feeds.write()
    home = tmp_path / "home"
    with serve(feeds.root) as server:
        assert crawl(home, server, "--start-url", FEED).returncode == 0
        feeds.posts = []
        feeds.write()
        result = crawl(home, server, "--start-url", FEED, "--full")
    assert result.returncode == 0, result.stderr
    assert summary(result)["delisted"] == 0 and _delisted(home) == set()
    assert summary(result)["warnings"] == 1 and "lists no entries" in result.stderr


@pytest.mark.slow  # crawls a private site of its own, twice or more
def test_a_feed_that_says_it_is_complete_delists_without_full(tmp_path):
    feeds = FeedSite(tmp_path / "complete", posts(4), complete=True)
    feeds.write()
    home = tmp_path / "home"
    with serve(feeds.root) as server:
        assert crawl(home, server, "--start-url", FEED).returncode == 0
        assert feed_requests(server) == [FEED_PATH]  # one page: no paging to guess
        gone = feeds.posts.pop(1)
        feeds.write()
        result = crawl(home, server, "--start-url", FEED)
    assert result.returncode == 0, result.stderr
    assert summary(result)["delisted"] == 1 and _delisted(home) == {gone.url}


def test_the_feed_page_object_reads_rfc_5005_complete():
    """The page object's word the crawl trusts: complete feeds, and only those, say so."""
    listing = GenericFeedPage(FEED, feedsite.feed_xml(posts(2), complete=True)).parse()
    assert isinstance(listing, FeedListing) and listing.complete
    assert listing.next_page_url is None
    paged = GenericFeedPage(FEED, feedsite.feed_xml(posts(2), complete=False)).parse()
    assert isinstance(paged, FeedListing) and not paged.complete
    assert paged.next_page_url == FEED + "?paged=2" and paged.next_page_guessed
