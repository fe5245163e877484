"""`catalog serve`'s app in-process (Starlette's TestClient): the API answers with the command
line's JSON, pages and feeds say what the catalog holds, and bad requests get one sentence.

Every test that reads the shared demo catalog runs on both backends and both search engines
(``searched_backend``); tests that need hostile content or a broken library work on a copy.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from catalog import queries
from catalog.config import resolve
from catalog.web.app import CSP, create_app
from tests.conftest import Catalog

HOSTILE_TITLE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> [x] Alliances'
HOSTILE_SUMMARY = 'Alliances <img src=x onerror="alert(2)"> & <b>bold</b> [sic]'


def app_for(catalog: Catalog, **kwargs):
    return create_app(resolve(catalog.home, catalog.db), **kwargs)


@pytest.fixture
def client(searched_backend: Catalog):
    with TestClient(app_for(searched_backend)) as test_client:
        yield test_client


def cli_json(catalog: Catalog, *args: str):
    result = catalog.invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def page(response) -> lxml_html.HtmlElement:
    assert response.headers["content-type"].startswith("text/html")
    return lxml_html.fromstring(response.text)


def text_of(element) -> str:
    return " ".join(element.text_content().split())


# --- the API is the command line's --json ---------------------------------------------------


def test_api_search_answers_what_search_facets_json_prints(client, searched_backend):
    expected = cli_json(searched_backend, "search", "alliances", "--facets", "--json")
    answer = client.get("/api/search", params={"q": "alliances"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert [{k: v for k, v in h.items() if k != "id"} for h in found["hits"]] == expected["hits"]
    assert (found["total"], found["facets"], found["suggestion"]) == (
        expected["total"],
        expected["facets"],
        expected["suggestion"],
    )
    assert found["total"] > 20 and len(found["hits"]) == 20
    # ids are what /api/publications takes
    first = client.get(f"/api/publications/{found['hits'][0]['id']}").json()
    assert first["url"] == found["hits"][0]["url"]
    # filters and pages as the command line has them
    filtered = cli_json(
        searched_backend, "search", "alliances", "--type", "commentary", "--since", "2020",
        "--sort", "newest", "--limit", "100", "--json",
    )  # fmt: skip
    page_two = client.get(
        "/api/search",
        params={"q": "alliances", "type": "commentary", "since": "2020", "sort": "newest",
                "limit": "3", "page": "2"},
    ).json()  # fmt: skip
    assert [h["url"] for h in page_two["hits"]] == [h["url"] for h in filtered[3:6]]
    assert page_two["total"] == len(filtered) and page_two["page"] == 2


def test_api_publication_changes_runs_and_stats_are_the_cli_json(client, searched_backend):
    show = cli_json(searched_backend, "show", "3", "--json")
    assert client.get("/api/publications/3").json() == show
    assert client.get("/api/runs").json() == cli_json(
        searched_backend, "runs", "--limit", "50", "--json"
    )
    assert client.get("/api/changes").json() == cli_json(searched_backend, "changes", "--json")
    assert client.get("/api/stats").json() == cli_json(searched_backend, "stats", "--json")
    similar = cli_json(searched_backend, "similar", "3", "--limit", "5", "--json")
    assert [
        {k: v for k, v in h.items() if k != "id"}
        for h in client.get("/api/publications/3/similar").json()
    ] == similar


def test_the_api_is_described_by_openapi(client):
    schema = client.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/search", "/api/publications/{id}", "/api/changes", "/api/runs", "/api/stats"}
    assert paths >= {
        "/api/search",
        "/api/publications/{id}",
        "/api/publications/{id}/similar",
        "/api/changes",
        "/api/runs",
        "/api/stats",
    }
    assert all(set(methods) == {"get"} for methods in schema["paths"].values())
    params = {p["name"] for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {
        "q",
        "type",
        "since",
        "until",
        "topic",
        "author",
        "publisher",
        "sort",
        "page",
        "limit",
    }
    listed = page(client.get("/api"))
    assert "GET /api/search" in text_of(listed)


# --- pages --------------------------------------------------------------------------------


def test_search_page_shows_hits_facets_pages_and_marks(client, searched_backend):
    expected = cli_json(searched_backend, "search", "alliances", "--facets", "--json")
    doc = page(client.get("/search", params={"q": "alliances"}))
    assert f"{expected['total']} publications match" in text_of(doc.cssselect(".total")[0])
    titles = [text_of(a) for a in doc.cssselect("ol.hits h3 a")]
    assert titles == [h["title"] for h in expected["hits"]]
    assert doc.cssselect("ol.hits .snippet mark")  # matched words marked
    marks = {text_of(m).lower() for m in doc.cssselect("ol.hits .snippet mark")}
    assert all(m.startswith("allian") for m in marks)
    facet_groups = [text_of(h) for h in doc.cssselect("aside.facets h3")]
    assert facet_groups == ["Type", "Year", "Topic", "Author", "Publisher"]
    # the publisher facet counts what the CLI counts and its link filters by it
    publishers = {f["value"]: f["count"] for f in expected["facets"]["publisher"]}
    publisher = next(a for a in doc.cssselect("aside.facets a") if text_of(a) in publishers)
    by_publisher = page(client.get(publisher.get("href")))
    total = publishers[text_of(publisher)]
    assert f"{total} publications match" in text_of(by_publisher.cssselect(".total")[0])
    chips = [c.get("aria-label") for c in by_publisher.cssselect(".chips a")]
    assert chips == [f"Remove the filter Publisher: {text_of(publisher)}"]
    # a facet's link narrows the search to its count
    report = next(a for a in doc.cssselect("aside.facets a") if text_of(a) == "Report")
    count = int(text_of(report.getnext()).strip("()"))
    narrowed = page(client.get(report.get("href")))
    assert f"{count} publications match" in text_of(narrowed.cssselect(".total")[0])
    chip = narrowed.cssselect(".chips a")[0]
    assert parse_qs(urlsplit(chip.get("href")).query) == {"q": ["alliances"]}
    # pages
    following = doc.cssselect('nav.pages a[rel="next"]')[0].get("href")
    second = page(client.get(following))
    assert [text_of(a) for a in second.cssselect("ol.hits h3 a")][0] != titles[0]
    assert second.cssselect("ol.hits")[0].get("start") == "21"
    headings = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4")]
    assert headings[0] == 1 and all(
        b - a <= 1 for a, b in zip(headings, headings[1:], strict=False)
    )


def test_did_you_mean_is_a_link(client):
    doc = page(client.get("/search", params={"q": "allainces"}))
    link = doc.cssselect(".suggestion a")[0]
    assert text_of(link) == "alliances"
    assert "0 publications match" in text_of(doc.cssselect(".total")[0])
    assert page(client.get(link.get("href"))).cssselect("ol.hits li")


def test_home_publication_changes_and_runs_pages(client, searched_backend):
    home = page(client.get("/"))
    topics = [text_of(a) for a in home.cssselect("ul.topics li > a:first-child")]
    assert "Security Cooperation" in topics
    assert home.cssselect('label[for="q"]') and home.cssselect("input#q")
    assert len(home.cssselect("section ol.hits li")) == 10
    record = cli_json(searched_backend, "show", "3", "--json")
    doc = page(client.get("/publications/3"))
    assert text_of(doc.cssselect("h1")[0]) == record["title"]
    assert record["authors"] and all(a in text_of(doc) for a in record["authors"])
    original = doc.cssselect(".original a")[0]
    assert original.get("href") == record["url"]
    cites = [a.get("href") for a in doc.cssselect(".cite a")]
    assert cites == [f"/publications/3/cite.{s}" for s in ("bib", "ris", "json")]
    assert doc.cssselect("#similar-heading")
    changes = page(client.get("/changes"))
    assert "changes" in text_of(changes.cssselect(".lead")[0])
    runs = page(client.get("/runs"))
    assert runs.cssselect("table.runs tbody tr")


@pytest.mark.parametrize("suffix,fmt", [("bib", "bibtex"), ("ris", "ris"), ("json", "csl-json")])
def test_citations_are_the_cli_citations(client, searched_backend, suffix, fmt):
    expected = searched_backend.invoke("show", "3", "--format", fmt).stdout
    answer = client.get(f"/publications/3/cite.{suffix}")
    assert answer.status_code == 200 and answer.text == expected
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith(f'.{suffix}"')


# --- feeds ----------------------------------------------------------------------------------


def test_feeds_read_back_with_feedparser(client, searched_backend):
    topic = client.get("/topics/alliances-and-partnerships/feed.atom")
    assert topic.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(topic.content)
    assert not feed.bozo, feed.bozo_exception
    members = searched_backend.rows(
        "SELECT p.id, p.url, p.title, p.first_seen_at FROM publications p "
        "JOIN publication_topics l ON l.publication_id = p.id JOIN topics t ON t.id = l.topic_id "
        "WHERE t.slug = 'alliances-and-partnerships' AND l.delisted_at IS NULL"
    )
    by_url = {url: (pub_id, title, seen) for pub_id, url, title, seen in members}
    assert len(feed.entries) == len(by_url) > 0  # a publication listed twice is one entry
    for entry in feed.entries:
        pub_id, title, seen = by_url[entry.id]
        assert entry.title == title
        assert entry.link == f"http://testserver/publications/{pub_id}"
        assert any(link.href == entry.id and link.rel == "related" for link in entry.links)
        first_seen = datetime.fromisoformat(str(seen)).replace(tzinfo=timezone.utc)
        assert datetime(*entry.published_parsed[:6], tzinfo=timezone.utc) == first_seen.replace(
            microsecond=0
        )
        assert entry.updated_parsed >= entry.published_parsed
    assert feed.feed.id.startswith("tag:thinktank-catalog,2026:catalog-")
    assert feed.feed.updated_parsed == max(e.updated_parsed for e in feed.entries)
    # the same feed again: the same ids, and the same document
    assert client.get("/topics/alliances-and-partnerships/feed.atom").content == topic.content

    query = '"security cooperation" AND japan'
    expected = cli_json(searched_backend, "search", query, "--limit", "500", "--json")
    searched = feedparser.parse(client.get("/search.atom", params={"q": query}).content)
    assert not searched.bozo
    assert {e.id for e in searched.entries} == {h["url"] for h in expected}
    assert {e.title for e in searched.entries} == {h["title"] for h in expected}
    again = feedparser.parse(client.get("/search.atom", params={"q": f"  {query} "}).content)
    assert again.feed.id == searched.feed.id


# --- bad requests, errors and headers --------------------------------------------------------

BAD_REQUESTS = [
    ("/search?q=(((", "parenthes"),
    ("/search?q=*ation", "wildcard"),
    ("/search?q=" + "a%20" * 200, "words"),
    ("/search?q=x&since=2019-25", "since"),
    ("/search?q=x&since=2021&until=2020", "after until"),
    ("/search?q=x&sort=best", "sort must be one of"),
    ("/search?q=x&page=0", "page must be a whole number"),
    ("/search?q=x&page=abc", "page must be a whole number"),
    ("/search?q=x&page=9999", "pages go as deep"),
    ("/search?q=x&type=Nonsense", "no publication has the type"),
    ("/search?q=x&topic=nowhere", "no topic"),
    ("/api/search?q=x&limit=1000", "limit must be a whole number"),
    ("/api/search", "give a query"),
    ("/api/search?q=%00", "NUL"),
    ("/search.atom?q=(((", "parenthes"),
    ("/publications/abc", "not a publication id"),
    ("/publications/99999999999999999999", "not a publication id"),
    ("/api/publications/-1", "not a publication id"),
    ("/changes?since=yesterday", "since"),
    ("/runs?limit=0", "limit must be"),
]


@pytest.mark.parametrize("path,words", BAD_REQUESTS, ids=[p for p, _ in BAD_REQUESTS])
def test_malformed_parameters_are_400_with_one_sentence(client, path, words):
    answer = client.get(path)
    assert answer.status_code == 400
    if path.startswith("/api/"):
        message = answer.json()["error"]
    else:
        message = text_of(page(answer).cssselect("[role=alert]")[0])
    assert words in message and "\n" not in message and "Traceback" not in answer.text
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/publications/999999",
        "/publications/999999/cite.bib",
        "/publications/3/cite.pdf",
        "/api/publications/999999",
        "/api/publications/999999/similar",
        "/topics/nowhere/feed.atom",
        "/changes?run=999999",
        "/no/such/page",
        "/api/nothing",
    ],
)
def test_unknown_ids_and_paths_are_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/search", "/api/search", "/api/publications/1", "/sql"])
def test_nothing_can_be_written(client, method, path):
    answer = client.request(method, path, content=b"q=x")
    assert answer.status_code in (404, 405)
    assert answer.status_code == 405 or path == "/sql"


@pytest.mark.parametrize(
    "path",
    ["/", "/search?q=japan", "/api/search?q=japan", "/static/style.css", "/nope", "/search?q=((",
     "/topics/security-cooperation/feed.atom", "/publications/3/cite.bib"],
)  # fmt: skip
def test_every_answer_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_etags_follow_the_catalog_revision(client):
    first = client.get("/api/search", params={"q": "japan"})
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = client.get("/api/search", params={"q": "japan"}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    head = client.head("/search", params={"q": "japan"})
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]


def test_an_unexpected_error_is_one_sentence_and_no_traceback(searched_backend, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail at /srv/catalog")

    monkeypatch.setattr(queries, "publication", broken)
    with TestClient(app_for(searched_backend), raise_server_exceptions=False) as test_client:
        for path in ("/publications/3", "/api/publications/3"):
            answer = test_client.get(path)
            assert answer.status_code == 500
            assert "secret detail" not in answer.text and "Traceback" not in answer.text
            assert "the details are in its log" in answer.text


def test_a_request_past_its_time_limit_is_503(searched_backend, monkeypatch):
    release = threading.Event()
    real = queries.search_catalog

    def stuck(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "search_catalog", stuck)
    try:
        with TestClient(app_for(searched_backend, time_limit=0.5)) as test_client:
            answer = test_client.get("/api/search", params={"q": "japan"})
            assert answer.status_code == 503
            assert "longer than 0.5 seconds" in answer.json()["error"]
            assert answer.headers["retry-after"]
    finally:
        release.set()


# --- hostile content --------------------------------------------------------------------------


@pytest.fixture
def hostile_home(home_copy: Path) -> tuple[Catalog, int]:
    """The demo catalog with the text, PDF link and downloads of a publication that matches
    "alliances" made hostile (the index still finds it by its old title)."""
    with sqlite3.connect(home_copy / "catalog.db") as conn:
        [pub_id] = conn.execute(
            "SELECT min(id) FROM publications WHERE title LIKE '%Alliances%'"
        ).fetchone()
        conn.execute(
            "UPDATE publications SET title = ?, summary = ?, pdf_url = ?, subtitle = ? "
            "WHERE id = ?",
            (HOSTILE_TITLE, HOSTILE_SUMMARY, "javascript:alert(3)", "</title><script>x", pub_id),
        )
        conn.execute("UPDATE downloads SET url = 'javascript:alert(4)' WHERE publication_id = ?",
                     (pub_id,))  # fmt: skip
    return Catalog("sqlite", home_copy), pub_id


def test_hostile_text_and_urls_are_escaped_and_never_links(hostile_home):
    catalog, pub_id = hostile_home
    with TestClient(app_for(catalog)) as test_client:
        for path in (f"/publications/{pub_id}", "/search?q=alliances", "/"):
            body = test_client.get(path).text
            assert "<script>" not in body and "<img src=x" not in body
            assert "javascript:" not in re.sub(r">[^<]*<", "><", body)  # never in markup
        # The API hands the text over as data, never as HTML a browser would render.
        api = test_client.get("/api/search", params={"q": "alliances"})
        assert api.headers["content-type"] == "application/json"
        assert api.headers["x-content-type-options"] == "nosniff"
        assert HOSTILE_TITLE in [h["title"] for h in api.json()["hits"]]
        doc = page(test_client.get(f"/publications/{pub_id}"))
        assert text_of(doc.cssselect("h1")[0]) == HOSTILE_TITLE
        hrefs = [a.get("href") for a in doc.iter("a")]
        assert all(not h.lower().startswith("javascript:") for h in hrefs)
        results = page(test_client.get("/search", params={"q": "alliances"}))
        hit = next(li for li in results.cssselect("ol.hits li") if "pwned" in text_of(li))
        assert [m.text for m in hit.cssselect(".snippet mark")] == ["Alliances"]
        feed = feedparser.parse(test_client.get("/search.atom", params={"q": "alliances"}).content)
        assert not feed.bozo
        assert HOSTILE_TITLE in [e.title for e in feed.entries]


def test_the_index_follows_a_write_without_a_restart(home_copy: Path, search_engine: str):
    """A new revision in the catalog (what a crawl writes) is searched on the next request,
    and every answer's ETag moves with it."""
    from catalog.db import make_engine
    from tests.test_store import Store, entry

    catalog = Catalog("sqlite", home_copy)
    with TestClient(app_for(catalog)) as test_client:
        assert test_client.get("/api/search", params={"q": "zanzibar"}).json()["total"] == 0
        before = test_client.get("/api/stats").headers["etag"]
        engine = make_engine(f"sqlite:///{home_copy / 'catalog.db'}")
        Store(engine).upsert([entry(9001, title="The Zanzibar Accord")])
        engine.dispose()
        found = test_client.get("/api/search", params={"q": "zanzibar"}).json()
        assert [h["title"] for h in found["hits"]] == ["The Zanzibar Accord"]
        assert test_client.get("/api/stats").headers["etag"] != before
        status = test_client.get("/api/stats").json()["search_index"]
        assert status["up_to_date"] and status["engine"] == search_engine
