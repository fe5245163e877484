"""The Whoosh index: stemming, phrases, filters, sorting, incremental updates, bad queries."""

from __future__ import annotations

from datetime import date

import pytest

from catalog import search
from catalog.errors import QueryError

DOCS = [
    {
        "url": "u1",
        "title": "Alliance Burden-Sharing in the Indo-Pacific",
        "summary": "Allies weigh costs.",
        "content_type": "Report",
        "published_on": date(2021, 1, 14),
        "topic_slugs": ["security-cooperation"],
        "topic_names": ["Security Cooperation"],
    },
    {
        "url": "u2",
        "title": "Japan and Korea",
        "summary": "Security cooperation between Seoul and Tokyo.",
        "content_type": "Commentary",
        "published_on": date(2021, 4, 6),
        "topic_slugs": ["security-cooperation", "alliances"],
        "topic_names": ["Security Cooperation", "Alliances"],
    },
    {
        "url": "u3",
        "title": "Measuring Effectiveness",
        "summary": "Cooperation on security is measured.",
        "content_type": "Research Brief",
        "published_on": None,
        "topic_slugs": ["alliances"],
        "topic_names": ["Alliances"],
    },
    {
        "url": "u4",
        "title": "Alliances Are an Asset",
        "summary": "Evidence on alliances.",
        "content_type": "Commentary",
        "published_on": date(2020, 8, 27),
        "topic_slugs": ["alliances"],
        "topic_names": ["Alliances"],
    },
]


@pytest.fixture
def index_dir(tmp_path):
    path = tmp_path / "index"
    assert search.update_documents(path, DOCS) == 4
    return path


def urls(hits):
    return [h.url for h in hits]


def test_stemming_finds_singular_from_plural(index_dir):
    assert set(urls(search.search(index_dir, "alliances"))) == {"u1", "u4"}


def test_phrase_needs_adjacent_words(index_dir):
    assert urls(search.search(index_dir, '"security cooperation"')) == ["u2"]
    assert set(urls(search.search(index_dir, "security cooperation"))) == {"u2", "u3"}


def test_title_is_boosted(index_dir):
    hits = search.search(index_dir, "alliance OR evidence")
    assert hits[0].url == "u4"


def test_filters_and_sorts(index_dir):
    assert urls(search.search(index_dir, "*", content_type="commentary", sort="newest")) == [
        "u2",
        "u4",
    ]
    assert urls(search.search(index_dir, "*", content_type="Research Brief")) == ["u3"]
    assert set(urls(search.search(index_dir, "*", topic="alliances"))) == {"u2", "u3", "u4"}
    assert urls(search.search(index_dir, "*", since=date(2021, 1, 1), sort="oldest")) == [
        "u1",
        "u2",
    ]
    assert urls(search.search(index_dir, "*", until=date(2020, 12, 31))) == ["u4"]
    assert urls(search.search(index_dir, "type:commentary AND date:2021")) == ["u2"]
    assert search.search(index_dir, "*", sort="newest")[0].score is None


def test_update_replaces_by_url(index_dir):
    search.update_documents(index_dir, [{**DOCS[2], "title": "Measuring Deterrence"}])
    assert search.doc_count(index_dir) == 4
    assert urls(search.search(index_dir, "deterrence")) == ["u3"]
    assert urls(search.search(index_dir, "effectiveness")) == []


def test_snippet_marks_matches(index_dir):
    [hit] = search.search(index_dir, "seoul")
    assert "[Seoul]" in hit.snippet


def test_rebuild_swaps_in_a_fresh_index(index_dir):
    assert search.rebuild(index_dir, DOCS[:2]) == 2
    assert search.doc_count(index_dir) == 2
    assert not index_dir.with_name("index.rebuild").exists()


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "(japan OR korea",
        "japan)",
        "date:[2020 to",
        "foo:bar",
        "AND",
        "date:notadate",
        "the",
    ],
)
def test_malformed_queries_raise_query_error(index_dir, query):
    with pytest.raises(QueryError):
        search.search(index_dir, query)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="catalog index rebuild"):
        search.search(tmp_path / "nothing", "x")
