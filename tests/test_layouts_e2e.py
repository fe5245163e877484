"""End to end over a 2024-layout topic whose featured pair repeats on every listing page.

The first crawl counts publications, not sightings; an unchanged re-crawl fetches only the
first listing page, changes nothing and reads no publication page again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.localsite import serve
from tests.conftest import FIXTURES, Site, db_rows, run_catalog

# Two crawls of a copy of the 2024 layout.
pytestmark = pytest.mark.slow

TOPIC = "maritime-security"
PUBLICATIONS = 18  # distinct publications over three pages (the featured pair on each)


@pytest.fixture
def site_2024(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "site-2024"
    shutil.copytree(FIXTURES / "site-2024", root)
    with serve(root) as server:
        yield Site(root, server.url, server)


def publication_pages(site: Site) -> list[str]:
    return [p for p in site.server.paths() if not p.startswith(("/topics/", "/robots.txt"))]


def test_2024_topic_first_crawl_then_unchanged_recrawl(site_2024: Site, tmp_path):
    home = tmp_path / "home"
    first = run_catalog(home, "crawl", "--start-url", site_2024.topic_url(TOPIC))
    assert first.returncode == 0, first.stderr
    assert (
        f"pages 3, items {PUBLICATIONS}, new {PUBLICATIONS}, updated 0, unchanged 0" in first.stdout
    )
    assert db_rows(home, "SELECT count(*) FROM publications") == [(PUBLICATIONS,)]
    assert db_rows(home, "SELECT items_seen, items_new, items_unchanged FROM crawl_runs") == [
        (PUBLICATIONS, PUBLICATIONS, 0)
    ]
    # the featured pair: one row each, in the featured section, with the list occurrence's photo
    featured = db_rows(
        home,
        "SELECT p.url, p.image_url IS NOT NULL, l.listing_url FROM publications p "
        "JOIN publication_topics l ON l.publication_id = p.id WHERE l.section = 'featured'",
    )
    assert len(featured) == 2 and all(has_image for _, has_image, _ in featured)
    # every publication page was read once, in the 2024 layout
    pages = publication_pages(site_2024)
    assert len(pages) == len(set(pages)) == PUBLICATIONS
    assert db_rows(home, "SELECT count(*) FROM publications WHERE details_fetched_at IS NULL") == [
        (0,)
    ]
    two_pdfs = db_rows(
        home,
        "SELECT p.url, group_concat(d.label, '|'), count(*) FROM downloads d "
        "JOIN publications p ON p.id = d.publication_id GROUP BY p.id HAVING count(*) = 2",
    )
    assert two_pdfs and all(labels == "Full Document|Research Summary" for _, labels, _ in two_pdfs)
    assert db_rows(
        home,
        "SELECT count(*) FROM publications p JOIN downloads d ON d.publication_id = p.id "
        "WHERE d.position = 1 AND p.pdf_url = d.url AND d.url NOT LIKE '%.summary.pdf'",
    ) == [(db_rows(home, "SELECT count(*) FROM publications WHERE pdf_url IS NOT NULL")[0][0],)]
    discounted = db_rows(
        home,
        "SELECT list_price, print_price FROM publications "
        "WHERE list_price IS NOT NULL AND list_price != print_price",
    )
    assert discounted and all(float(paid[1:]) < float(listed[1:]) for listed, paid in discounted)
    before = db_rows(home, "SELECT * FROM publications ORDER BY id")

    site_2024.server.requests.clear()
    again = run_catalog(home, "crawl", "--start-url", site_2024.topic_url(TOPIC))
    assert again.returncode == 0, again.stderr
    assert "new 0, updated 0" in again.stdout and "details 0" in again.stdout
    assert "nothing new or changed" in again.stdout
    listing = [p for p in site_2024.server.paths() if p.startswith("/topics/")]
    assert listing == [f"/topics/{TOPIC}.html"]  # only the first listing page
    assert publication_pages(site_2024) == []
    assert db_rows(home, "SELECT * FROM publications ORDER BY id") == before
    assert db_rows(home, "SELECT count(*) FROM publication_changes WHERE crawl_run_id = 2") == [
        (0,)
    ]

    # --full walks every page (the repeats included) and still sees nothing changed
    site_2024.server.requests.clear()
    full = run_catalog(home, "crawl", "--full", "--start-url", site_2024.topic_url(TOPIC))
    assert full.returncode == 0, full.stderr
    assert (
        f"(full): pages 3, items {PUBLICATIONS}, new 0, updated 0, unchanged {PUBLICATIONS}"
        in full.stdout
    )
    assert publication_pages(site_2024) == []
    # a full walk only notes that it saw them again
    content = "SELECT * FROM publications ORDER BY id"
    assert [r[:10] + r[11:] for r in db_rows(home, content)] == [r[:10] + r[11:] for r in before]
    assert db_rows(home, "SELECT count(*) FROM publication_changes WHERE crawl_run_id = 3") == [
        (0,)
    ]
