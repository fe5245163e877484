"""The demo's second publisher: a WordPress-like site the generic reader reads whole.

The site (catalog/demo_institute_site/, written by scripts/make_demo_institute.py) is served
on 127.0.0.1 as the demo serves its sites, and read page by page the way a crawl will: the
tag page names its feed, the feed is walked with WordPress's ?paged=N to its end (a 404),
and every entry's page gives its details, but the one whose page is gone.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from sqlalchemy import insert

from catalog.config import CatalogConfig
from catalog.db import make_engine, upgrade
from catalog.demo import (
    DEMO_INSTITUTE_FEEDS,
    DEMO_INSTITUTE_ORIGIN,
    DEMO_INSTITUTE_SITE,
    DEMO_ORIGIN,
    check_demo_catalog,
)
from catalog.errors import UsageError
from catalog.localsite import serve
from catalog.records import DetailFailure, PublicationDetails
from catalog.tables import PUBLICATIONS
from crawler.pages import registry
from crawler.pages.generic import FeedLinks, FeedListing

FEED = DEMO_INSTITUTE_FEEDS[0]
POSTS = 10
NAME = "Meridian Institute for Security Studies"


@pytest.fixture(scope="module")
def institute():
    with serve(DEMO_INSTITUTE_SITE) as site:
        yield site


def fetch(site, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    """GET a page of the demo's origin from the local server, as the crawl's host map does."""
    parts = urlsplit(url)
    local = site.url + parts.path + (f"?{parts.query}" if parts.query else "")
    request = urllib.request.Request(local, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def walk(site) -> list[FeedListing]:
    """Every page of the feed, as a crawl walks it: next pages until one answers 404."""
    pages: list[FeedListing] = []
    url: str | None = FEED
    while url is not None and len(pages) < 10:
        status, body, _ = fetch(site, url)
        if status == 404 and pages and pages[-1].next_page_guessed:
            break  # WordPress's way of saying there is no such page: the end of the feed
        assert status == 200, (url, status)
        page = registry.publisher_for(url).listing_page(url, body)
        listing = page.parse()
        assert isinstance(listing, FeedListing), listing
        pages.append(listing)
        url = listing.next_page_url
    return pages


def test_the_generic_reader_reads_the_institute(institute):
    assert registry.publisher_for(FEED) is registry.GENERIC
    assert registry.publisher_for(DEMO_ORIGIN + "/topics/x.html") is registry.RAND
    status, tag_page, _ = fetch(institute, f"{DEMO_INSTITUTE_ORIGIN}/tag/security-cooperation/")
    links = registry.GENERIC.listing_page(
        f"{DEMO_INSTITUTE_ORIGIN}/tag/security-cooperation/", tag_page
    ).parse()
    assert status == 200 and isinstance(links, FeedLinks) and links.feed_urls[0] == FEED

    pages = walk(institute)
    assert [p.page for p in pages] == [1, 2, 3]
    entries = [e for p in pages for e in p.entries]
    assert len(entries) == POSTS and len({e.url for e in entries}) == POSTS
    assert {p.topic.slug for p in pages} == {"meridian-institute.invalid/tag/security-cooperation"}
    assert {e.publisher for e in entries} == {"Meridian Institute"}  # the feed's word for it
    assert all(e.authors and e.published_on and e.summary for e in entries)
    assert not any("appeared first on" in e.summary for e in entries)
    assert entries == sorted(entries, key=lambda e: e.published_on, reverse=True)

    read, gone = [], []
    for entry in entries:
        status, body, _ = fetch(institute, entry.url)
        if status == 404:
            gone.append(entry.url)
            continue
        page = registry.publisher_for(entry.url).publication_page
        details = page(entry.url, body, listing=entry).parse()
        assert isinstance(details, PublicationDetails), details
        read.append((entry, details))
    assert gone == [f"{DEMO_INSTITUTE_ORIGIN}/analysis/2024/02/a-post-that-was-taken-down/"]
    for entry, details in read:
        assert details.title == entry.title  # entities decoded alike in the feed and the page
        assert details.authors == entry.authors
        assert details.published_on == entry.published_on
        assert details.publisher == NAME  # the page's word is the fuller name
        assert {t.name for t in details.related_topics} >= {"Security Cooperation"}
    reports = [d for _, d in read if d.document_number]
    assert [d.product_type for d in reports] == [
        "Report", "Issue Brief", "Report", "Issue Brief", "Report"
    ]  # fmt: skip
    assert all(d.pdf_url.endswith(f"{d.document_number}.pdf") for d in reports)


def test_the_institutes_feed_answers_conditional_requests(institute):
    status, _, headers = fetch(institute, FEED)
    assert status == 200 and headers.get("ETag")
    again, body, _ = fetch(institute, FEED, {"If-None-Match": headers["ETag"]})
    assert again == 304 and body == b""
    past_the_end, _, _ = fetch(institute, FEED + "?paged=4")
    assert past_the_end == 404


def test_the_demo_accepts_a_catalog_holding_both_publishers_records(tmp_path):
    config = CatalogConfig(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    engine = make_engine(config.db_url)
    upgrade(engine)
    row = {
        "title": "t",
        "content_type": "",
        "date_text": "",
        "summary": "",
        "first_seen_at": "2024-01-01",
        "last_seen_at": "2024-01-01",
        "revision": 1,
    }
    from datetime import datetime

    row.update(first_seen_at=datetime(2024, 1, 1), last_seen_at=datetime(2024, 1, 1))
    with engine.begin() as conn:
        conn.execute(insert(PUBLICATIONS), [{**row, "url": DEMO_ORIGIN + "/a.html"}])
        conn.execute(insert(PUBLICATIONS), [{**row, "url": DEMO_INSTITUTE_ORIGIN + "/b/"}])
    check_demo_catalog(config)  # nothing but the demo's own
    with engine.begin() as conn:
        conn.execute(insert(PUBLICATIONS), [{**row, "url": "https://www.example.org/c/"}])
    with pytest.raises(UsageError, match="https://www.example.org/c/"):
        check_demo_catalog(config)


def test_every_page_of_the_institute_is_read_without_failure():
    """Every stored page parses: the feed's pages to entries, the posts to details."""
    feeds = sorted((DEMO_INSTITUTE_SITE / "tag").rglob("*.xml"))
    posts = sorted((DEMO_INSTITUTE_SITE / "analysis").rglob("index.html"))
    assert len(feeds) == 3 and len(posts) == POSTS - 1
    for path in feeds:
        listing = registry.GENERIC.listing_page(FEED, path.read_bytes()).parse()
        assert isinstance(listing, FeedListing) and listing.entries and not listing.skipped
    for path in posts:
        url = DEMO_INSTITUTE_ORIGIN + "/" + str(path.parent.relative_to(DEMO_INSTITUTE_SITE)) + "/"
        details = registry.GENERIC.publication_page(url, path.read_text(encoding="utf-8")).parse()
        assert not isinstance(details, DetailFailure), details
        assert details.authors and details.abstract and details.published_on
