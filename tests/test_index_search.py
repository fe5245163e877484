"""Searching an index, on both engines: the query language, filters, order and snippets.

Every test runs on Whoosh and on tantivy (``search_engine``) over the same hand-made records,
and asserts the same answer: which documents match, in which order where the order is fixed
by the catalog's rules (ties, dates), and which words the snippets mark.
"""

from __future__ import annotations

from datetime import date

import pytest

from catalog.errors import CatalogError, QueryError
from catalog.index import Filters, open_index
from tests.conftest import build_index, hits_of, texts_of, write_documents

DOCS = [
    {
        "id": 1,
        "url": "u1",
        "title": "Alliance Burden-Sharing in the Indo-Pacific",
        "summary": "Allies weigh costs.",
        "content_type": "Report",
        "published_on": date(2021, 1, 14),
        "topic_slugs": ["security-cooperation"],
        "topic_names": ["Security Cooperation"],
        "authors": ["Derek Grossman"],
        "abstract": "Burden sharing among the U.S. and its allies in Asia.",
    },
    {
        "id": 2,
        "url": "u2",
        "title": "Japan and Korea",
        "summary": "Security cooperation between Seoul and Tokyo.",
        "content_type": "Commentary",
        "published_on": date(2021, 4, 6),
        "topic_slugs": ["security-cooperation", "alliances"],
        "topic_names": ["Security Cooperation", "Alliances"],
        "authors": ["Derek Grossman", "Jane Doe"],
        "key_findings": "What US forces in Korea do for the war of words with the North.",
    },
    {
        "id": 3,
        "url": "u3",
        "title": "Measuring Effectiveness",
        "summary": "Cooperation on security is measured.",
        "content_type": "Research Brief",
        "published_on": None,
        "topic_slugs": ["alliances"],
        "topic_names": ["Alliances"],
        "authors": ["Smith, Jr., John"],
    },
    {
        "id": 4,
        "url": "u4",
        "title": "Alliances Are an Asset",
        "summary": "Evidence on alliances.",
        "content_type": "Commentary",
        "published_on": date(2020, 8, 27),
        "topic_slugs": ["alliances"],
        "topic_names": ["Alliances"],
        "authors": ["Jane Doe"],
    },
    {
        "id": 5,
        "url": "https://www.rand.org/pubs/tools/TL100.html?x=1",
        "title": "A Tool Without a Type",
        "summary": "Deterrence in space.",
        "content_type": "",
        "published_on": date(2019, 12, 31),
        "topic_slugs": [],
        "topic_names": [],
        "authors": [],
    },
]


@pytest.fixture
def index(tmp_path, search_engine):
    return build_index(tmp_path / "index", DOCS, search_engine)


def ids(hits):
    return [h.id for h in hits]


def found(index, text, **kwargs):
    return set(ids(hits_of(index, text, limit=100, **kwargs)))


def test_stemming_finds_singular_from_plural(index):
    assert found(index, "alliances") == {1, 4}
    assert found(index, "alliance") == {1, 4}


def test_phrase_needs_adjacent_words_unless_slop_allows(index):
    assert found(index, '"security cooperation"') == {2}
    assert found(index, "security cooperation") == {2, 3}
    assert found(index, '"cooperation security"') == set()
    assert found(index, '"cooperation security"~1') == {3}  # "on" between
    assert found(index, '"cooperation measured"~3') == {3}  # "on security is" between
    assert found(index, '"cooperation measured"~2') == set()
    # Words may swap places within the slop: "Seoul and Tokyo" holds "tokyo seoul"~3.
    assert found(index, '"tokyo seoul"~3') == {2}
    assert found(index, '"tokyo seoul"~2') == set()


def test_no_stop_words(index):
    # "US" and "the" are words: a policy catalog cannot drop them. "U.S." is "us" too.
    assert found(index, "us") == {1, 2}
    assert found(index, "U.S.") == found(index, "US") == {1, 2}
    assert found(index, '"war of words"') == {2}
    assert found(index, "the") == {1, 2}


def test_operators_bind_before_words_are_joined(index):
    assert found(index, "japan OR deterrence") == {2, 5}
    assert found(index, "security cooperation OR deterrence") == {2, 3}
    assert found(index, "alliances AND NOT asset") == {1}
    assert found(index, "alliances ANDNOT asset") == {1}
    assert found(index, "NOT alliances") == {2, 3, 5}
    assert found(index, "japan OR NOT security") == {1, 2, 4, 5}
    assert found(index, "(japan OR evidence) korea") == {2}


def test_fields(index):
    assert found(index, "title:japan") == {2}
    assert found(index, "summary:seoul") == {2}
    assert found(index, "text:asia") == {1}
    assert found(index, "abstract:asia") == {1}  # the old name of the page text
    assert found(index, 'author:"derek grossman"') == {1, 2}
    assert found(index, "author:grossman") == {1, 2}
    assert found(index, "author:grossmans") == set()  # names are never stemmed
    assert found(index, "type:commentary") == {2, 4}
    assert found(index, "type:brief") == {3}
    assert found(index, "topic:alliances") == {2, 3, 4}
    assert found(index, "topic:security-cooperation") == {1, 2}  # a slug
    assert found(index, 'topic:"Security Cooperation"') == {1, 2}  # a name's words
    assert found(index, "topics:alliance") == {2, 3, 4}  # the old name of name searches
    assert found(index, "url:u3") == {3}
    assert found(index, "url:https://www.rand.org/pubs/tools/TL100.html?x=1") == {5}
    assert found(index, "url:https://www.rand.org/pubs/tools/*") == {5}
    assert found(index, "title:(japan korea)") == {2}
    assert found(index, "title:*") == {1, 2, 3, 4, 5}
    assert found(index, "text:*") == {1, 2}


def test_dates_and_years_in_queries(index):
    assert found(index, "date:2021") == {1, 2}
    assert found(index, "date:2021-04") == {2}
    assert found(index, "date:2021-04-06") == {2}
    assert found(index, "year:2020") == {4}
    assert found(index, "date:[2020 to 2021]") == {1, 2, 4}
    assert found(index, "date:[2020-09 to]") == {1, 2}
    assert found(index, "date:[to 2019]") == {5}
    assert found(index, "year:[2019 to 2020]") == {4, 5}
    assert found(index, "date:*") == {1, 2, 4, 5}
    assert found(index, "alliances date:2021") == {1}


def test_prefixes_and_wildcards(index):
    assert found(index, "allian*") == {1, 4}
    assert found(index, "coop*") == {2, 3}
    assert found(index, "se?ul") == {2}
    assert found(index, "title:al*") == {1, 4}


def test_boosts_change_order_not_matches(index):
    plain = hits_of(index, "asset OR burden")
    assert {h.id for h in plain} == {1, 4}
    boosted = hits_of(index, "asset^20 OR burden")
    assert ids(boosted)[0] == 4


def test_title_is_boosted(index):
    hits = hits_of(index, "alliance OR evidence")
    assert hits[0].id == 4


def test_filters_narrow_and_never_change_scores(index):
    everything = {h.id: h.score for h in hits_of(index, "alliances OR cooperation")}
    commentary = hits_of(index, "alliances OR cooperation", content_type="commentary")
    assert {h.id for h in commentary} == {2, 4}
    assert {h.id: h.score for h in commentary} == {i: everything[i] for i in (2, 4)}
    assert found(index, "*", content_type="Research Brief") == {3}
    assert found(index, "*", content_type="RESEARCH BRIEF") == {3}
    assert found(index, "*", content_type="(none)") == {5}  # untyped publications
    assert found(index, "*", topic="alliances") == {2, 3, 4}
    assert found(index, "*", author="Grossman") == {1, 2}
    assert found(index, "*", author="derek grossman") == {1, 2}
    assert found(index, "*", author="Grossman Derek") == set()
    assert found(index, "*", since=date(2021, 1, 1)) == {1, 2}
    assert found(index, "*", until=date(2020, 12, 31)) == {4, 5}
    assert found(index, "*", since=date(2020, 8, 27), until=date(2021, 1, 14)) == {1, 4}
    assert found(index, "*", since=date(2019, 12, 31), until=date(2019, 12, 31)) == {5}
    assert found(index, "*", since=date(2030, 1, 1)) == set()


def test_order_by_date_and_ties(index):
    newest = hits_of(index, "*", sort="newest")
    assert ids(newest) == [2, 1, 4, 5, 3]  # undated last
    assert all(h.score is None for h in newest)
    assert ids(hits_of(index, "*", sort="oldest")) == [5, 4, 1, 2, 3]  # undated last too
    # Every match of "*" ties on score: by the catalog's order they are newest first.
    everything = hits_of(index, "*")
    assert ids(everything) == [2, 1, 4, 5, 3] and {h.score for h in everything} == {1.0}


def test_equal_scores_break_by_date_then_id(tmp_path, search_engine):
    twin = {"title": "Deterrence", "summary": "", "content_type": "Report", "topic_slugs": []}
    dates = {7: date(2020, 1, 1), 3: date(2021, 1, 1), 9: date(2021, 1, 1), 5: None, 1: None}
    docs = [{**twin, "id": n, "url": f"t{n}", "published_on": d} for n, d in dates.items()]
    index = build_index(tmp_path / "index", docs, search_engine)
    hits = hits_of(index, "deterrence")
    assert len({h.score for h in hits}) == 1
    assert ids(hits) == [3, 9, 7, 1, 5]
    assert ids(hits_of(index, "deterrence", limit=2)) == [3, 9]
    assert ids(hits_of(index, "deterrence", sort="oldest")) == [7, 3, 9, 1, 5]


def test_limit_and_offset(index):
    with index.open_reader() as reader:
        first = reader.search("*", sort="newest", limit=2)
        second = reader.search("*", sort="newest", limit=2, offset=2)
        assert first.total == second.total == 5
        assert ids(first.hits) + ids(second.hits) == [2, 1, 4, 5]
        assert reader.search("*", limit=10, offset=10).hits == []


def test_update_replaces_by_id(index):
    write_documents(index, [{**DOCS[2], "title": "Measuring Deterrence"}])
    assert index.doc_count() == 5
    assert found(index, "deterrence") == {3, 5}
    assert found(index, "effectiveness") == set()
    write_documents(index, [], delete=(3, 5))
    assert index.doc_count() == 3 and found(index, "deterrence") == set()


def test_snippets_mark_the_query_words(index):
    texts = texts_of(DOCS)
    [hit] = hits_of(index, "seoul", texts=texts)
    assert hit.snippet == "Security cooperation between [Seoul] and Tokyo."
    [hit] = hits_of(index, '"security cooperation"', texts=texts)
    assert "[Security] [cooperation]" in hit.snippet
    # The page text, read from the catalog; dotted acronyms are one word.
    snippets = {h.id: h.snippet for h in hits_of(index, "U.S.", texts=texts)}
    assert snippets == {
        1: "Burden sharing among the [U.S.] and its allies in Asia.",
        2: "What [US] forces in Korea do for the war of words with the North.",
    }
    # A summary without the words: the title's words are marked instead.
    snippets = {h.id: h.snippet for h in hits_of(index, "allian*", texts=texts)}
    assert snippets == {
        1: "[Alliance] Burden-Sharing in the Indo-Pacific",
        4: "Evidence on [alliances].",
    }
    # Words the query excludes are not marked.
    [hit] = hits_of(index, "cooperation NOT seoul", texts=texts)
    assert hit.snippet == "[Cooperation] on security is measured."


def test_snippets_come_from_the_catalog_not_the_index(index):
    with index.open_reader() as reader:
        [hit] = reader.search("asia", texts=texts_of(DOCS)).hits
        assert hit.snippet == "Burden sharing among the U.S. and its allies in [Asia]."
        [bare] = reader.search("asia").hits
        assert bare.snippet == "" and bare.id == 1


def test_rebuild_swaps_in_a_fresh_index(tmp_path, search_engine):
    index = build_index(tmp_path / "index", DOCS, search_engine)
    build_index(tmp_path / "index", DOCS[:2], search_engine)
    assert index.doc_count() == 2
    assert not (tmp_path / "index.rebuild").exists()


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "(japan OR korea",
        "japan)",
        "date:[2020 to",
        "foo:bar",
        "AND",
        "japan AND",
        "NOT",
        "date:notadate",
        "year:2020-06",
        "title:[a to b]",
        "date:20*",
        "",
        "   ",
        "---",
        "()",
    ],
)
def test_malformed_queries_raise_query_error(index, query):
    with pytest.raises(QueryError, match="^[^\n]{1,200}$"):
        hits_of(index, query)


def test_missing_index_is_a_clear_error(tmp_path, search_engine):
    with pytest.raises(CatalogError, match="catalog index rebuild"):
        hits_of(open_index(tmp_path / "nothing", search_engine), "x")


def test_filters_are_one_value(index):
    filters = Filters(content_type="Report", since=date(2021, 1, 1))
    assert filters and not Filters()
    assert filters.type_key == "report" and Filters(content_type="").type_key == "(none)"
