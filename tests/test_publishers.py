"""The publisher as a first-class field: schema, store, show, stats, citations and search.

Search tests run on both engines (``search_engine``); facet counts are checked against SQL.
The parsers' side (which page objects read which host, and what they say of the publisher)
is at the end.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
from datetime import date

import pytest
from alembic import command
from sqlalchemy import select

from catalog import citations
from catalog.db import alembic_config, make_engine, upgrade
from catalog.index import Filters
from catalog.queries import resolve_filters
from catalog.records import ListingEntry, PublicationDetails, TopicRef
from catalog.store import CatalogStore
from catalog.tables import PUBLICATIONS
from crawler.pages import registry
from tests.conftest import build_index, hits_of, invoke
from tests.models import PublicationChange

TOPIC = TopicRef("defense", "Defense", "https://www.example.org/topics/defense/feed/")


def entry(n: int, publisher: str = "", **changes) -> ListingEntry:
    base = ListingEntry(
        url=f"https://www.example.org/analysis/{n}/",
        title=f"Analysis {n}",
        content_type="",
        published_on=date(2024, 3, n),
        date_text=f"2024-03-{n:02d}",
        summary=f"Summary {n}",
        image_url=None,
        image_caption=None,
        topic=TOPIC,
        section="list",
        listing_url=TOPIC.url,
        position=n,
        publisher=publisher,
    )
    return dataclasses.replace(base, **changes)


def details(n: int, publisher: str | None) -> PublicationDetails:
    return PublicationDetails(
        url=f"https://www.example.org/analysis/{n}/",
        title=f"Analysis {n}",
        subtitle=None,
        product_type=None,
        content_category=None,
        published_on=None,
        date_text="",
        authors=["Jane Doe"],
        abstract="An abstract.",
        research_questions=[],
        key_findings=[],
        recommendations=[],
        body_text=None,
        related_topics=[],
        document_number=None,
        doi=None,
        isbn=None,
        series=None,
        page_count=None,
        pdf_url=None,
        pdf_size=None,
        print_format=None,
        print_price=None,
        publisher=publisher,
    )


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    return CatalogStore(engine)


def publishers(store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(PUBLICATIONS.c.url, PUBLICATIONS.c.publisher)).all())


def publisher_history(store) -> list[tuple[str | None, str | None]]:
    table = PublicationChange.__table__
    query = select(table.c.old_value, table.c.new_value).where(table.c.field == "publisher")
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(table.c.id)).all()]


# --- the schema ------------------------------------------------------------------------------


def test_migration_names_every_row_catalogued_before_it_rand(tmp_path):
    """Only the RAND spider ever wrote a catalog before 0007: its rows are RAND's."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    command.upgrade(alembic_config(url), "0006")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.executemany(
            "INSERT INTO publications (id, url, title, content_type, date_text, summary, "
            "first_seen_at, last_seen_at, revision) VALUES (?, ?, ?, '', '', '', "
            "'2024-01-01', '2024-01-01', 1)",
            [(1, "https://www.rand.org/pubs/a.html", "A"), (2, "http://127.0.0.1:8/b", "B")],
        )
    upgrade(make_engine(url))
    with sqlite3.connect(tmp_path / "c.db") as conn:
        rows = conn.execute("SELECT id, publisher FROM publications ORDER BY id").fetchall()
        assert rows == [(1, "RAND Corporation"), (2, "RAND Corporation")]
        conn.execute(
            "INSERT INTO publications (url, title, content_type, date_text, summary, "
            "first_seen_at, last_seen_at, revision) VALUES ('u', 'C', '', '', '', "
            "'2024-01-01', '2024-01-01', 2)"
        )
        # a row written without one has none: "" (unknown), never NULL
        assert conn.execute("SELECT publisher FROM publications WHERE url = 'u'").fetchone() == (
            "",
        )
    command.downgrade(alembic_config(url), "0006")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(publications)")}
        assert "publisher" not in columns
        assert conn.execute("SELECT count(*) FROM publications").fetchone() == (3,)


# --- the store -------------------------------------------------------------------------------


def test_a_new_publication_takes_the_listings_publisher(store):
    run = store.start_run("test")
    store.write_batch([entry(1, "Atlantic Council"), entry(2)], run)
    assert publishers(store) == {
        "https://www.example.org/analysis/1/": "Atlantic Council",
        "https://www.example.org/analysis/2/": "",
    }


def test_the_listing_fills_an_unknown_publisher_but_never_changes_a_known_one(store):
    run = store.start_run("test")
    store.write_batch([entry(1, "Atlantic Council"), entry(2)], run)
    result = store.write_batch([entry(1, "Atlantic Council Feed"), entry(2, "example.org")], run)
    assert publishers(store) == {
        "https://www.example.org/analysis/1/": "Atlantic Council",
        "https://www.example.org/analysis/2/": "example.org",
    }
    assert result.unchanged == 2  # the publisher is no listing field: nothing was "updated"
    assert publisher_history(store) == [("", "example.org")]
    again = store.write_batch([entry(1, "Atlantic Council"), entry(2, "example.org")], run)
    assert again.unchanged == 2 and not again.reindex_ids


def test_the_pages_publisher_replaces_the_listings_and_the_change_is_kept(store):
    run = store.start_run("test")
    first = store.write_batch([entry(1, "example.org"), entry(2, "Atlantic Council")], run)
    result = store.write_batch([details(1, "Atlantic Council"), details(2, None)], run)
    assert publishers(store) == {
        "https://www.example.org/analysis/1/": "Atlantic Council",
        "https://www.example.org/analysis/2/": "Atlantic Council",  # the page said nothing
    }
    assert publisher_history(store) == [("example.org", "Atlantic Council")]
    assert len(result.reindex_ids) == 2 and first.new == 2
    # a re-crawl whose listing still says example.org changes nothing back
    store.write_batch([entry(1, "example.org")], run)
    store.write_batch([details(1, "Atlantic Council")], run)
    assert publishers(store)["https://www.example.org/analysis/1/"] == "Atlantic Council"
    assert publisher_history(store) == [("example.org", "Atlantic Council")]


# --- show, stats, export ---------------------------------------------------------------------


def test_show_stats_and_export_name_the_publisher(home_copy):
    shown = invoke(home_copy, "show", "1")
    assert shown.exit_code == 0, shown.output
    assert "Publisher: RAND Corporation" in shown.stdout.splitlines()
    as_json = json.loads(invoke(home_copy, "show", "1", "--json").stdout)
    assert as_json["publisher"] == "RAND Corporation"
    figures = json.loads(invoke(home_copy, "stats", "--json").stdout)
    assert figures["by_publisher"] == [
        {"publisher": "RAND Corporation", "count": figures["publications"]}
    ]
    table = invoke(home_copy, "stats").stdout
    assert "publisher" in table.splitlines()[2] and "RAND Corporation" in table
    exported = invoke(home_copy, "export", "--format", "csv").stdout.splitlines()
    assert "publisher" in exported[0].split(",")


def test_stats_count_unknown_publishers_apart(home_copy):
    db = home_copy / "catalog.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE publications SET publisher = '' WHERE id = 1")
        conn.execute("UPDATE publications SET publisher = 'Atlantic Council' WHERE id IN (2, 3)")
    figures = json.loads(invoke(home_copy, "stats", "--json").stdout)
    total = figures["publications"]
    assert figures["by_publisher"] == [
        {"publisher": "RAND Corporation", "count": total - 3},
        {"publisher": "Atlantic Council", "count": 2},
        {"publisher": None, "count": 1},
    ]
    assert "(unknown)" in invoke(home_copy, "stats").stdout


# --- citations -------------------------------------------------------------------------------

REPORT = {
    "id": 7,
    "url": "https://www.atlanticcouncil.org/in-depth-research-reports/report/eastern-flank/",
    "title": "NATO's eastern flank needs more than rotations",
    "content_type": "Report",
    "published_on": "2024-03-14",
    "date_text": "2024-03-14",
    "authors": ["Anna Kowalczyk"],
    "publisher": "Atlantic Council",
}
POST = {**REPORT, "id": 8, "content_type": "Commentary", "title": "Japan and the Philippines"}


def test_citations_name_the_records_publisher():
    ris = io.StringIO()
    citations.write_ris([REPORT, POST], ris)
    assert "PB  - Atlantic Council" in ris.getvalue() and "RAND" not in ris.getvalue()
    bib = io.StringIO()
    citations.write_bibtex([REPORT, POST], bib)
    assert "institution = {Atlantic Council}" in bib.getvalue()
    assert "organization = {Atlantic Council}" in bib.getvalue()
    report, post = (citations.csl_item(r, "k") for r in (REPORT, POST))
    assert report["publisher"] == "Atlantic Council"
    assert post["container-title"] == "Atlantic Council" and "publisher" not in post


def test_a_record_without_a_publisher_is_cited_without_one():
    unknown = {**REPORT, "publisher": ""}
    ris = io.StringIO()
    citations.write_ris([unknown], ris)
    assert "PB  -" not in ris.getvalue()
    bib = io.StringIO()
    citations.write_bibtex([unknown], bib)
    assert "institution" not in bib.getvalue()
    assert "publisher" not in citations.csl_item(unknown, "k")


def test_citation_keys_do_not_depend_on_the_publisher(home_copy):
    """Keys already cited stay put when publishers are filled in or change."""
    before = invoke(home_copy, "export", "--format", "bibtex").stdout
    with sqlite3.connect(home_copy / "catalog.db") as conn:
        conn.execute("UPDATE publications SET publisher = 'Atlantic Council' WHERE id % 2 = 0")
        conn.execute("UPDATE publications SET publisher = '' WHERE id % 3 = 0")
    after = invoke(home_copy, "export", "--format", "bibtex").stdout

    def keys(text: str) -> list[str]:
        return [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line[:1] == "@"]

    assert keys(before) == keys(after) and len(keys(before)) > 10
    assert before != after


# --- search ----------------------------------------------------------------------------------

DOCS = [
    {"id": 1, "url": "u1", "title": "Alliances in Asia", "summary": "",
     "content_type": "Report", "publisher": "RAND Corporation", "authors": []},
    {"id": 2, "url": "u2", "title": "Alliances in Europe", "summary": "",
     "content_type": "Report", "publisher": "Atlantic Council", "authors": []},
    {"id": 3, "url": "u3", "title": "Alliances at sea", "summary": "",
     "content_type": "Commentary", "publisher": "Atlantic  council", "authors": []},
    {"id": 4, "url": "u4", "title": "Alliances unknown", "summary": "",
     "content_type": "Commentary", "publisher": "", "authors": []},
]  # fmt: skip


def test_the_publisher_filter_facet_and_field(tmp_path, search_engine):
    index = build_index(tmp_path / "index", DOCS, search_engine)
    assert {h.url for h in hits_of(index, "alliances", publisher="atlantic council")} == {
        "u2",
        "u3",
    }
    assert {h.url for h in hits_of(index, "*", publisher="RAND Corporation")} == {"u1"}
    assert hits_of(index, "*", publisher="Atlantic") == []  # the filter takes whole names
    assert {h.url for h in hits_of(index, "publisher:atlantic")} == {"u2", "u3"}
    assert {h.url for h in hits_of(index, 'publisher:"rand corporation"')} == {"u1"}
    with index.open_reader() as reader:
        facets = reader.facets("*")
        narrowed = reader.facets("*", filters=Filters(content_type="report"))
    counts = {c.value: c.count for c in facets.counts["publisher"]}
    # values as written: "Atlantic  council" is its own value (the catalog keeps one spelling
    # per page), u4 has none
    assert counts == {"RAND Corporation": 1, "Atlantic Council": 1, "Atlantic council": 1}
    assert {c.value for c in narrowed.counts["publisher"]} == {
        "RAND Corporation",
        "Atlantic Council",
    }


def test_resolve_filters_checks_the_publisher_against_the_catalog(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    store = CatalogStore(engine)
    run = store.start_run("test")
    store.write_batch(
        [
            entry(1, "Atlantic Council"),
            entry(2, "RAND Corporation"),
            entry(3, "Council on Foreign Relations"),
        ],
        run,
    )

    def resolved(name: str) -> str | None:
        return resolve_filters(engine, Filters(publisher=name)).publisher

    assert resolved("atlantic council") == "Atlantic Council"
    assert resolved("  RAND   corporation ") == "RAND Corporation"
    assert resolved("rand") == "RAND Corporation"  # words of one publisher's name
    assert resolved("foreign relations") == "Council on Foreign Relations"
    from catalog.errors import UsageError

    with pytest.raises(UsageError, match="names several publishers"):
        resolved("council")
    with pytest.raises(UsageError, match="no publisher 'csis' in the catalog"):
        resolved("csis")


def test_cli_publisher_filter_and_facet_match_sql(home_copy, search_engine):
    with sqlite3.connect(home_copy / "catalog.db") as conn:
        conn.execute("UPDATE publications SET publisher = 'Atlantic Council' WHERE id % 3 = 0")
        conn.execute("UPDATE publications SET publisher = '' WHERE id = 1")
        expected = dict(
            conn.execute(
                "SELECT publisher, count(*) FROM publications WHERE publisher <> '' "
                "GROUP BY publisher"
            ).fetchall()
        )
        atlantic = {
            url
            for (url,) in conn.execute(
                "SELECT url FROM publications WHERE publisher = 'Atlantic Council'"
            )
        }
    assert invoke(home_copy, "index", "rebuild").exit_code == 0
    result = invoke(home_copy, "search", "*", "--facets", "--json", "--limit", "1000")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    shown = {f["value"]: f["count"] for f in found["facets"]["publisher"]}
    assert shown == expected
    assert {h["publisher"] for h in found["hits"]} == {"RAND Corporation", "Atlantic Council", ""}
    only = invoke(home_copy, "search", "--publisher", "atlantic", "--json", "--limit", "1000")
    assert only.exit_code == 0, only.output
    assert {h["url"] for h in json.loads(only.stdout)} == atlantic
    table = invoke(home_copy, "search", "*", "--facets")
    assert any(
        line.startswith("publisher: RAND Corporation (") for line in table.stdout.splitlines()
    )
    unknown = invoke(home_copy, "search", "alliances", "--publisher", "Brookings")
    assert unknown.exit_code == 2
    assert "no publisher 'Brookings' in the catalog (publishers: Atlantic Council; RAND" in (
        unknown.stderr
    )


# --- page objects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.rand.org/topics/security-cooperation.html", "rand"),
        ("https://RAND.org/pubs/research_reports/RR3125.html", "rand"),
        ("http://catalog-demo.invalid/topics/security-cooperation.html", "rand"),
        ("http://127.0.0.1:8765/topics/x.html", "rand"),
        ("https://www.atlanticcouncil.org/tag/security-cooperation/feed/", "generic"),
        ("https://notrand.org/feed/", "generic"),  # a suffix of the name is not the site
        ("http://meridian-institute.invalid/tag/alliances/feed/", "generic"),
    ],
)
def test_the_registry_picks_page_objects_by_host(url, key):
    assert registry.publisher_for(url).key == key


def test_a_crawl_may_read_a_local_server_with_another_publishers_page_objects():
    hosts = {"127.0.0.1:9000": "generic"}
    assert registry.publisher_for("http://127.0.0.1:9000/feed/", hosts) is registry.GENERIC
    assert registry.publisher_for("http://127.0.0.1:9001/feed/", hosts) is registry.RAND
    assert registry.publisher_for("http://localhost/x", {"localhost": "generic"}).key == "generic"


def test_the_demos_rand_host_is_registered_as_rands():
    from catalog.demo import DEMO_HOST

    assert DEMO_HOST in registry.RAND.hosts


def test_rand_page_objects_name_rand_as_the_publisher(tmp_path):
    from tests.conftest import FIXTURES

    case = FIXTURES / "pages" / "rand" / "topic-first-page"
    page = registry.RAND.listing_page(
        "https://www.rand.org/topics/security-cooperation.html",
        (case / "input.html").read_text(encoding="utf-8"),
    )
    assert {e.publisher for e in page.parse().entries} == {"RAND Corporation"}
    case = FIXTURES / "pages" / "rand" / "product-report"
    product = registry.RAND.publication_page(
        "https://www.rand.org/pubs/research_reports/RR3125.html",
        (case / "input.html").read_text(encoding="utf-8"),
    )
    assert product.parse().publisher == "RAND Corporation"
