"""Publication pages end to end: a local RAND-shaped site with listing and product pages.

The fields a page gives, a re-crawl that fetches no page, and a failed page run on both
backends (``[sqlite]``, ``[postgresql]``); the rest on SQLite (``SQLITE_ONLY``), where the
read commands they use are already covered on both by test_cli.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

import pytest

from catalog.db import make_engine, upgrade
from catalog.records import PublicationDetails, TopicRef
from catalog.store import CatalogStore
from tests.conftest import FIXTURES, Catalog, Site, db_rows, invoke, run_catalog
from tests.test_store import SC, entry

CASES = FIXTURES / "pages" / "rand"
RR3125 = "/pubs/research_reports/RR3125.html"
COMMENTARY = "/blog/2021/04/biden-puts-japan-at-the-center-of-us-policy-in-asia.html"
NEWS = "/news/press/2021/02/23.html"
JOURNAL = "/pubs/external_publications/EP68456.html"
BRIEF = "/pubs/research_reports/RRA958-2.html"
# Overrides the ``backend_name`` fixture's parameters: this test runs on SQLite alone.
SQLITE_ONLY = pytest.mark.parametrize("backend_name", ["sqlite"])


def publication_pages(site: Site) -> list[str]:
    return [p for p in site.server.paths() if not p.startswith(("/topics/", "/robots.txt"))]


@pytest.fixture
def detailed(site: Site, backend: Catalog) -> tuple[Site, Catalog]:
    """The demo site with the older-layout journal page, crawled once with details."""
    shutil.copy(
        CASES / "product-citation-meta-only" / "input.html", site.root / JOURNAL.lstrip("/")
    )
    result = backend.run("crawl", "--start-url", site.topic_url())
    assert result.returncode == 0, result.stderr
    assert "details 41" in result.stdout  # every publication on this host (one links offsite)
    return site, backend


def test_report_fields_from_its_page(detailed):
    site, catalog = detailed
    [row] = catalog.rows(
        "SELECT title, subtitle, document_number, doi, isbn, series, page_count, pdf_url, "
        "pdf_size, print_format, print_price, abstract, research_questions, key_findings, "
        "recommendations, details_fetched_at IS NOT NULL FROM publications WHERE url = ?",
        site.base + RR3125,
    )
    (
        title,
        subtitle,
        number,
        doi,
        isbn,
        series,
        pages,
        pdf,
        size,
        fmt,
        price,
        abstract,
        questions,
        findings,
        recommendations,
        fetched,
    ) = row
    assert title.startswith("The Thickening Web of Asian Security Cooperation")  # the listing's
    assert subtitle == "Deepening Defense Ties Among U.S. Allies and Partners in the Indo-Pacific"
    assert (number, doi, isbn, pages) == ("RR-3125-MCF", "10.7249/RR3125", "978-1-9774-0334-4", 454)
    assert series == "research report" and (fmt, price) == ("Paperback", "$49.95")
    assert (
        pdf == site.base + "/content/dam/rand/pubs/research_reports/RR3100/RR3125/RAND_RR3125.pdf"
    )
    assert size == "2.4 MB" and fetched
    assert abstract.startswith("Key U.S. allies, security partners, and diplomatic interlocutors")
    assert len(questions.splitlines()) == 4
    assert findings.splitlines()[0] == "History, identity, and norms shape defense cooperation"
    assert "- Prior experience with colonization" in findings
    assert recommendations.startswith("U.S. policymakers should recognize")

    authors = catalog.rows(
        "SELECT a.name FROM publication_authors pa JOIN authors a ON a.id = pa.author_id "
        "JOIN publications p ON p.id = pa.publication_id WHERE p.url = ? ORDER BY pa.position",
        site.base + RR3125,
    )
    assert [a for (a,) in authors] == [
        "Scott W. Harold",
        "Derek Grossman",
        "Brian Harding",
        "Jeffrey W. Hornung",
        "Gregory Poling",
        "Jeffrey Smith",
        "Meagan L. Smith",
    ]
    related = catalog.rows(
        "SELECT t.slug, t.name FROM publication_topics l JOIN topics t ON t.id = l.topic_id "
        "JOIN publications p ON p.id = l.publication_id WHERE p.url = ? AND l.section = 'related' "
        "ORDER BY l.position",
        site.base + RR3125,
    )
    assert related == [
        ("asia-pacific-region", "Asia-Pacific Region"),
        ("china", "China"),
        ("security-cooperation", "Security Cooperation"),
        ("alliances-and-partnerships", "Alliances and Partnerships"),
    ]


@SQLITE_ONLY
def test_commentary_news_and_citation_only_pages(detailed):
    site, catalog = detailed
    [(body, abstract)] = catalog.rows(
        "SELECT body_text, abstract FROM publications WHERE url = ?", site.base + COMMENTARY
    )
    assert body.startswith("Addressing the Chinese threat") and "the “2+2”" in body
    assert abstract is None
    [(news_body,)] = catalog.rows(
        "SELECT body_text FROM publications WHERE url = ?", site.base + NEWS
    )
    assert "legacy" in news_body
    assert catalog.rows(
        "SELECT count(*) FROM publication_authors pa JOIN publications p "
        "ON p.id = pa.publication_id WHERE p.url = ?",
        site.base + NEWS,
    ) == [(0,)]
    [(doi, pdf, journal_abstract)] = catalog.rows(
        "SELECT doi, pdf_url, abstract FROM publications WHERE url = ?", site.base + JOURNAL
    )
    assert doi == "10.1080/01402390.2020.1841632" and pdf.endswith("RAND_EP68456.pdf")
    assert journal_abstract.startswith("This article examines why states seek reassurance")
    show = json.loads(catalog.invoke("show", site.base + JOURNAL, "--json").stdout)
    assert show["authors"] == ["Bonny Lin", "Angela O'Mahony"]


@SQLITE_ONLY
def test_sql_everything_by_an_author(detailed):
    _, catalog = detailed
    result = catalog.invoke(
        "sql",
        "SELECT p.title FROM publications p "
        "JOIN publication_authors pa ON pa.publication_id = p.id "
        "JOIN authors a ON a.id = pa.author_id WHERE a.name = 'Derek Grossman' ORDER BY p.id",
        "--json",
    )
    titles = [r["title"] for r in json.loads(result.stdout)]
    assert any(t.startswith("The Thickening Web") for t in titles) and len(titles) >= 2


@SQLITE_ONLY
def test_search_by_author_and_inside_page_text(detailed):
    site, catalog = detailed
    by_phrase = json.loads(
        catalog.invoke("search", 'author:"Derek Grossman"', "--json", "--limit", "50").stdout
    )
    by_option = json.loads(
        catalog.invoke("search", "*", "--author", "Grossman", "--json", "--limit", "50").stdout
    )
    assert {h["url"] for h in by_phrase} == {h["url"] for h in by_option}
    assert site.base + RR3125 in {h["url"] for h in by_phrase}
    assert all("Derek Grossman" in h["authors"] for h in by_phrase)
    # words only in the key findings and in the abstract
    [finding] = json.loads(catalog.invoke("search", "colonization", "--json").stdout)
    assert finding["url"] == site.base + RR3125 and "[colonization]" in finding["snippet"]
    [abstract] = json.loads(catalog.invoke("search", "interlocutors", "--json").stdout)
    assert abstract["url"] == site.base + RR3125
    assert (
        json.loads(catalog.invoke("search", "*", "--author", "Nobody Here", "--json").stdout) == []
    )


@SQLITE_ONLY
def test_show_prints_a_publication_whole(detailed):
    site, catalog = detailed
    text = catalog.invoke("show", site.base + RR3125)
    assert text.exit_code == 0
    for expected in (
        "Deepening Defense Ties",
        "by Scott W. Harold, Derek Grossman",
        "Document number: RR-3125-MCF",
        "DOI: 10.7249/RR3125",
        "Key findings:",
        "Research questions:",
        "china (related)",
        "security-cooperation (list)",
    ):
        assert expected in text.stdout
    record = json.loads(catalog.invoke("show", site.base + RR3125, "--json").stdout)
    assert record["page_count"] == 454 and record["authors"][0] == "Scott W. Harold"
    assert {t["section"] for t in record["topics"]} == {"list", "related"}
    assert record["history"][0]["kind"] == "added"
    by_id = json.loads(catalog.invoke("show", str(record["id"]), "--json").stdout)
    assert by_id["url"] == record["url"]
    missing = catalog.invoke("show", "https://example.org/nothing.html")
    assert missing.exit_code == 1 and "no publication" in missing.stderr


def test_recrawl_fetches_no_page_of_an_unchanged_publication(detailed):
    site, catalog = detailed
    site.server.requests.clear()
    full = catalog.run("crawl", "--full", "--start-url", site.topic_url())
    assert full.returncode == 0 and "details 0" in full.stdout
    assert publication_pages(site) == []

    listing = site.root / "topics" / "security-cooperation.html"
    listing.write_text(
        listing.read_text().replace(
            "Congressional Options to Advance Peace in Yemen",
            "Congressional Options for Peace in Yemen",
        )
    )
    site.server.requests.clear()
    changed = catalog.run("crawl", "--start-url", site.topic_url())
    assert (
        changed.returncode == 0 and "updated 1" in changed.stdout and "details 1" in changed.stdout
    )
    assert publication_pages(site) == [
        "/blog/2021/03/congressional-options-to-advance-peace-in-yemen.html"
    ]


def test_failed_page_keeps_the_listing_and_is_retried(site: Site, backend: Catalog):
    page = site.root / BRIEF.lstrip("/")
    good = page.read_text()
    shutil.copy(CASES / "product-broken" / "input.html", page)
    (site.root / "_status.json").write_text(json.dumps({COMMENTARY: 500}))
    first = backend.run("crawl", "--start-url", site.topic_url())
    assert first.returncode == 0, first.stderr  # the listing crawl itself succeeded
    assert "details 39, detail pages failed 2 (retried next run)" in first.stdout
    assert "unknown layout" in first.stderr and "HTTP 500" in first.stderr
    rows = dict(
        backend.rows("SELECT url, details_error FROM publications WHERE details_error IS NOT NULL")
    )
    assert set(rows) == {site.base + BRIEF, site.base + COMMENTARY}
    assert backend.rows("SELECT details_failed FROM crawl_runs") == [(2,)]
    assert backend.rows("SELECT count(*) FROM publications") == [(42,)]  # listings intact

    page.write_text(good)
    (site.root / "_status.json").unlink()
    site.server.requests.clear()
    second = backend.run("crawl", "--start-url", site.topic_url())
    assert second.returncode == 0 and "details 2" in second.stdout
    assert sorted(publication_pages(site)) == sorted([BRIEF, COMMENTARY])
    assert backend.rows("SELECT count(*) FROM publications WHERE details_error IS NOT NULL") == [
        (0,)
    ]


@SQLITE_ONLY
def test_page_date_fills_a_listing_without_one(site: Site, backend: Catalog):
    listing = site.root / "topics" / "security-cooperation--page-2.html"
    listing.write_text(listing.read_text().replace("Feb&nbsp;22, 2021", "Winter&nbsp;2021", 1))
    assert backend.run("crawl", "--start-url", site.topic_url()).returncode == 0
    assert backend.rows(
        "SELECT published_on, date_text FROM publications WHERE url = ?", site.base + BRIEF
    ) == [("2021-02-22", "Published Feb 22, 2021")]


@SQLITE_ONLY
def test_no_details_keeps_listing_only_runs(site: Site, backend: Catalog):
    result = backend.run("crawl", "--no-details", "--start-url", site.topic_url())
    assert result.returncode == 0 and "details 0" in result.stdout
    assert publication_pages(site) == []
    assert backend.rows("SELECT count(*) FROM publications WHERE details_fetched_at IS NULL") == [
        (42,)
    ]


def test_store_replaces_authors_and_related_topics(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    store = CatalogStore(engine)
    run = store.start_run("test")
    store.write_batch([entry(1, published_on=None, date_text="")], run)

    def details(authors, topics):
        return PublicationDetails(
            url=entry(1).url,
            title="T",
            subtitle=None,
            product_type=None,
            content_category=None,
            published_on=date(2020, 5, 1),
            date_text="May 1, 2020",
            authors=authors,
            abstract="A",
            research_questions=["Q1", "Q2"],
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

    china = TopicRef("china", "China", "https://www.rand.org/topics/china.html")
    first = store.write_batch([details(["B One", "A Two"], [china, SC])], run)
    assert first.details_fetched == 1 and first.reindex_ids == {1}
    store.write_batch([details(["A Two"], [china])], run)
    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute(
            "SELECT a.name, pa.position FROM publication_authors pa JOIN authors a "
            "ON a.id = pa.author_id"
        ).fetchall() == [("A Two", 1)]
        assert conn.execute("SELECT count(*) FROM authors").fetchone() == (2,)
        assert conn.execute(
            "SELECT topic_id, section FROM publication_topics ORDER BY section"
        ).fetchall() == [(1, "list"), (2, "related")]
        assert conn.execute(
            "SELECT published_on, research_questions FROM publications"
        ).fetchone() == ("2020-05-01", "Q1\nQ2")


def test_a_teaser_on_another_host_is_counted_and_named(long_site: Site, tmp_path):
    """A teaser linking to another host never had its page read, and nothing counted it."""
    listing = long_site.root / "topics" / "regional-security.html"
    path = "/blog/2022/12/regional-security-2.html"
    elsewhere = long_site.base.replace("127.0.0.1", "localhost") + path
    listing.write_text(listing.read_text().replace(f'href="{path}"', f'href="{elsewhere}"'))
    home = tmp_path / "home"
    result = run_catalog(
        home, "crawl", "--pages", "1", "--start-url", long_site.topic_url("regional-security")
    )
    assert result.returncode == 0, result.stderr
    assert "detail pages skipped 1 (on other hosts; see the log)" in result.stdout
    [line] = [line for line in result.stderr.splitlines() if "not read" in line]
    assert f"publication page {elsewhere} not read: localhost is not a host" in line
    assert db_rows(home, "SELECT details_fetched, details_skipped FROM crawl_runs") == [(4, 1)]
    assert path not in long_site.server.paths()
    runs = json.loads(invoke(home, "runs", "--json").stdout)
    assert runs[0]["details_skipped"] == 1
