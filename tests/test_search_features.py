"""Search people expect: facets over every match, "did you mean", and similar publications.

Library tests run on a small index of hand-made documents whose counts are known; command
line tests run on the demo catalog (``searched_backend``) and check facet counts against SQL
counts over the same matched set.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from catalog.errors import QueryError
from catalog.index import FACET_TOP, FacetCount, Facets, Filters, NotIndexed
from tests.conftest import Catalog, build_index, write_documents

DOCS = [
    {
        "id": 1,
        "url": "u1",
        "title": "Alliance Burden-Sharing in the Indo-Pacific",
        "summary": "Allies weigh the costs of alliances.",
        "content_type": "Report",
        "published_on": date(2021, 1, 14),
        "topic_slugs": ["security-cooperation"],
        "authors": ["Derek Grossman", "Jane Doe"],
        "publisher": "RAND Corporation",
        "abstract": "Burden sharing among allies in Asia: Japan, Korea and Australia.",
    },
    {
        "id": 2,
        "url": "u2",
        "title": "Japan and Korea",
        "summary": "Security cooperation between Seoul and Tokyo.",
        "content_type": "Commentary",
        "published_on": date(2021, 4, 6),
        "topic_slugs": ["security-cooperation", "alliances"],
        "authors": ["Derek Grossman"],
        "publisher": "Atlantic Council",
        "abstract": "Japan and Korea share alliances with the United States in Asia.",
    },
    {
        "id": 3,
        "url": "u3",
        "title": "Measuring Effectiveness",
        "summary": "Cooperation on security is measured.",
        "content_type": "Research Brief",
        "published_on": None,
        "topic_slugs": ["alliances"],
        "authors": ["Smith, Jr., John"],
        "abstract": "Metrics for training programmes and their effectiveness.",
    },
    {
        "id": 4,
        "url": "u4",
        "title": "Alliances Are an Asset",
        "summary": "Evidence on alliances.",
        "content_type": "Commentary",
        "published_on": date(2020, 8, 27),
        "topic_slugs": ["alliances"],
        "authors": ["Jane Doe"],
        "publisher": "RAND Corporation",
        "abstract": "Allies in Asia, Japan and Korea, are an asset: burden sharing works.",
    },
]


@pytest.fixture
def index(tmp_path, search_engine):
    return build_index(tmp_path / "index", DOCS, search_engine)


def facet_dict(facets: Facets) -> dict[str, dict[str, int]]:
    return {name: {c.value: c.count for c in counts} for name, counts in facets.counts.items()}


# --- facets ----------------------------------------------------------------------------------


def test_facets_count_every_match_not_just_the_hits_shown(index):
    with index.open_reader() as reader:
        assert len(reader.search("*", limit=1).hits) == 1
        facets = reader.facets("*")
    assert facets.total == 4
    assert facet_dict(facets) == {
        "type": {"Commentary": 2, "Report": 1, "Research Brief": 1},
        "year": {"2021": 2, "2020": 1},  # u3 has no date: counted in no year
        "topic": {"alliances": 3, "security-cooperation": 2},
        "author": {"Derek Grossman": 2, "Jane Doe": 2, "Smith, Jr., John": 1},
        # u3 has no publisher: counted under none
        "publisher": {"RAND Corporation": 2, "Atlantic Council": 1},
    }


def test_facets_follow_the_query_and_its_filters(index):
    with index.open_reader() as reader:
        alliances = reader.facets("alliances")  # stemmed: u1 (alliance), u2, u4
        commentary = reader.facets("alliances", filters=Filters(content_type="commentary"))
        nothing = reader.facets("zanzibar")
    assert alliances.total == 3
    assert facet_dict(alliances)["author"] == {"Derek Grossman": 2, "Jane Doe": 2}
    assert facet_dict(commentary) == {
        "type": {"Commentary": 2},
        "year": {"2021": 1, "2020": 1},
        "topic": {"alliances": 2, "security-cooperation": 1},
        "author": {"Derek Grossman": 1, "Jane Doe": 1},
        "publisher": {"Atlantic Council": 1, "RAND Corporation": 1},
    }
    assert nothing.total == 0 and all(not counts for counts in nothing.counts.values())


def test_facets_keep_the_top_values_by_count(index):
    with index.open_reader() as reader:
        facets = reader.facets("*", top=1)
    assert facets.counts["type"] == [FacetCount("Commentary", 2)]
    assert facets.counts["topic"] == [FacetCount("alliances", 3)]
    # A tie is broken by the value, so the same query always shows the same values.
    assert facets.counts["author"] == [FacetCount("Derek Grossman", 2)]


def test_facets_follow_updates_and_deletions(index):
    write_documents(index, [{**DOCS[0], "content_type": "Commentary"}])
    with index.open_reader() as reader:
        assert facet_dict(reader.facets("*"))["type"] == {"Commentary": 3, "Research Brief": 1}


# --- did you mean ----------------------------------------------------------------------------


def test_misspelt_word_gets_a_suggestion_that_finds_hits(index):
    with index.open_reader() as reader:
        assert reader.search("alliences").hits == []
        assert reader.suggest("alliences") == "alliances"
        assert reader.suggest("seoull") == "seoul"
        assert reader.suggest("tokio") == "tokyo"  # a short word: one edit allowed
        assert reader.suggest("Effectivness") == "effectiveness"
        assert reader.suggest("alliences OR tokyo") == "alliances OR tokyo"
        assert reader.search(reader.suggest("alliences")).hits != []


def test_no_suggestion_for_gibberish_or_corrections_that_find_nothing(index):
    with index.open_reader() as reader:
        assert reader.suggest("xqzvvkw") is None
        assert reader.suggest("joppn") is None  # two edits from "japan": too far for 5 letters
        assert reader.suggest("alliances") is None  # nothing to correct
        # "alliances" exists, but no Research Brief holds it: the correction would find nothing.
        assert reader.suggest("alliences", filters=Filters(content_type="Research Brief")) is None
        # Each word is spelt right; together they match nothing. Not a spelling problem.
        assert reader.suggest("seoul AND effectiveness") is None


# --- similar ---------------------------------------------------------------------------------


def test_similar_finds_related_publications_never_itself(index):
    text = f"{DOCS[3]['title']}\n\n{DOCS[3]['summary']}\n\n{DOCS[3]['abstract']}"
    with index.open_reader() as reader:
        hits = reader.similar(4, text, limit=3)
    ids = [h.id for h in hits]
    assert 4 not in ids
    assert ids and set(ids) <= {1, 2}  # the ones about allies in Asia, not u3's metrics
    assert all(h.score and h.score > 0 for h in hits)


def test_similar_of_a_publication_not_in_the_index(index):
    with index.open_reader() as reader:
        with pytest.raises(NotIndexed, match="publication 99 is not in the search index"):
            reader.similar(99, "anything")
        with pytest.raises(QueryError):
            reader.similar(4, "anything", limit=0)


# --- command line ----------------------------------------------------------------------------


def run_json(catalog: Catalog, *args: str):
    result = catalog.invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sql_facets(catalog: Catalog, urls: list[str]) -> dict[str, dict[str, int]]:
    """The five facets counted by SQL over the publications with these URLs."""
    marks = ",".join("?" * len(urls))
    types = catalog.rows(
        f"SELECT content_type, count(*) FROM publications WHERE url IN ({marks}) "
        "AND content_type IS NOT NULL AND content_type <> '' GROUP BY content_type",
        *urls,
    )
    dates = catalog.rows(
        f"SELECT published_on FROM publications WHERE url IN ({marks}) "
        "AND published_on IS NOT NULL",
        *urls,
    )
    topics = catalog.rows(
        "SELECT t.slug, count(DISTINCT p.id) FROM publications p "
        "JOIN publication_topics pt ON pt.publication_id = p.id "
        "JOIN topics t ON t.id = pt.topic_id "
        f"WHERE p.url IN ({marks}) AND pt.delisted_at IS NULL GROUP BY t.slug",
        *urls,
    )
    authors = catalog.rows(
        "SELECT a.name, count(DISTINCT p.id) FROM publications p "
        "JOIN publication_authors pa ON pa.publication_id = p.id "
        "JOIN authors a ON a.id = pa.author_id "
        f"WHERE p.url IN ({marks}) GROUP BY a.name",
        *urls,
    )
    publishers = catalog.rows(
        f"SELECT publisher, count(*) FROM publications WHERE url IN ({marks}) "
        "AND publisher <> '' GROUP BY publisher",
        *urls,
    )
    years = Counter(str(d)[:4] for (d,) in dates)
    return {
        "type": dict(types),
        "year": dict(years),
        "topic": dict(topics),
        "author": dict(authors),
        "publisher": dict(publishers),
    }


def top(counts: dict[str, int], n: int = FACET_TOP) -> list[dict[str, object]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
    return [{"value": value, "count": count} for value, count in ranked]


@pytest.mark.parametrize(
    "args",
    [("japan",), ("*",), ("security", "--since", "2021"), ("*", "--type", "commentary")],
)
def test_cli_facets_match_sql_counts_over_the_matched_set(searched_backend, args):
    everything = run_json(searched_backend, "search", *args, "--limit", "1000", "--json")
    shown = run_json(searched_backend, "search", *args, "--limit", "3", "--facets", "--json")
    assert set(shown) == {"hits", "total", "facets", "suggestion"}
    plain = run_json(searched_backend, "search", *args, "--limit", "3", "--json")
    assert shown["hits"] == plain  # the same hits as without --facets
    assert shown["total"] == len(everything) and shown["suggestion"] is None
    expected = sql_facets(searched_backend, [h["url"] for h in everything])
    assert shown["facets"] == {name: top(counts) for name, counts in expected.items()}
    assert shown["facets"]["type"] and shown["facets"]["author"] and shown["facets"]["publisher"]


def test_cli_facets_in_the_table(searched_backend):
    result = searched_backend.invoke("search", "japan", "--facets", "--limit", "2")
    assert result.exit_code == 0, result.output
    facets = run_json(searched_backend, "search", "japan", "--facets", "--json")
    lines = result.stdout.splitlines()
    assert f"{facets['total']:,} matches" in lines
    first_type = facets["facets"]["type"][0]
    type_line = next(line for line in lines if line.startswith("type: "))
    assert f"{first_type['value']} ({first_type['count']})" in type_line
    assert any(line.startswith("author: ") for line in lines)


def test_cli_facets_refuse_formats_they_cannot_join(searched_backend):
    result = searched_backend.invoke("search", "japan", "--facets", "--format", "csv")
    assert result.exit_code == 2 and "--facets goes with the table or json" in result.stderr


def test_cli_did_you_mean(searched_backend):
    result = searched_backend.invoke("search", "alliences")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "no matches; did you mean: alliances\n"
    faceted = run_json(searched_backend, "search", "alliences", "--facets", "--json")
    assert faceted["hits"] == [] and faceted["total"] == 0
    assert faceted["suggestion"] == "alliances"
    gibberish = searched_backend.invoke("search", "xqzvvkwj", "--json")
    assert gibberish.exit_code == 0 and json.loads(gibberish.stdout) == []
    assert gibberish.stderr == "no matches\n"


def test_cli_similar(searched_backend):
    [target] = run_json(searched_backend, "search", 'title:"quasi alliance"', "--json")
    [(pub_id,)] = searched_backend.rows("SELECT id FROM publications WHERE url = ?", target["url"])
    by_url = run_json(searched_backend, "similar", target["url"], "--limit", "5", "--json")
    by_id = run_json(searched_backend, "similar", str(pub_id), "--limit", "5", "--json")
    assert by_url == by_id and len(by_url) == 5
    assert target["url"] not in {h["url"] for h in by_url}
    scores = [h["score"] for h in by_url]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert set(by_url[0]) >= {"url", "title", "content_type", "published_on", "score"}
    # Japan and Australia's quasi-alliance: the Quad and Asian defence ties are its neighbours.
    titles = [h["title"] for h in by_url]
    assert "The Quad Is Not an Alliance — Yet" in titles
    assert any(t.startswith("The Thickening Web of Asian Security Cooperation") for t in titles)
    table = searched_backend.invoke("similar", str(pub_id), "--limit", "2")
    assert table.exit_code == 0 and by_url[0]["url"] in table.stdout


@pytest.mark.parametrize("key", ["999999", "https://www.rand.org/pubs/nothing.html"])
def test_cli_similar_unknown_publication(searched_backend, key):
    result = searched_backend.invoke("similar", key)
    assert result.exit_code == 1
    assert result.stderr == f"Error: no publication {key!r} in the catalog (try `catalog search`)\n"


def test_facets_agree_with_a_plain_count_across_segments_and_deletions(tmp_path, search_engine):
    """Many commits (segments the engines merge as they go), updates and deletions: the counts
    (Whoosh: read from columns, or from term frequencies for a whole-index match; tantivy:
    aggregations over its fast fields) stay exact."""
    index = build_index(tmp_path / "index", [], search_engine)
    topics = ["alliances", "deterrence", "china", "japan", "space"]
    names = [f"Author {n}" for n in range(15)] + ["Smith, Jr., John"]
    docs = [
        {
            "id": n,
            "url": f"p{n}",
            "title": f"Paper {n} on {'alliances' if n % 3 else 'deterrence'}",
            "summary": "",
            "content_type": ["Report", "Commentary", "Research Brief"][n % 3],
            "published_on": date(2000 + n % 7, 1, 1) if n % 5 else None,
            "topic_slugs": topics[: 1 + n % 4] if n % 2 else topics[n % 5 :][:2],
            "authors": [names[n % 16], names[(n * 7) % 16]] if n % 4 else [names[n % 16]],
            "publisher": ["RAND Corporation", "Atlantic Council", "", "CSIS"][n % 4],
        }
        for n in range(1, 121)
    ]
    for start in range(0, len(docs), 10):
        write_documents(index, docs[start : start + 10])
    live = {d["id"]: d for d in docs}
    changed = [
        {**d, "content_type": "Tool", "authors": ["Ann Other"], "publisher": "IISS"}
        for d in docs[::9]
    ]
    write_documents(index, changed)
    live.update({d["id"]: d for d in changed})

    def expected(selected):
        plain = {
            "type": Counter(d["content_type"] for d in selected if d["content_type"]),
            "year": Counter(str(d["published_on"].year) for d in selected if d["published_on"]),
            "topic": Counter(t for d in selected for t in d["topic_slugs"]),
            "author": Counter(a for d in selected for a in set(d["authors"])),
            "publisher": Counter(d["publisher"] for d in selected if d["publisher"]),
        }
        return {name: dict(top_pairs(counts, 4)) for name, counts in plain.items()}

    def check():
        with index.open_reader() as reader:
            for text, keep in (
                ("*", lambda d: True),
                ("deterrence", lambda d: "deterrence" in d["title"]),
                ("type:commentary", lambda d: d["content_type"] == "Commentary"),
            ):
                facets = reader.facets(text, top=4)
                selected = [d for d in live.values() if keep(d)]
                assert facets.total == len(selected)
                assert facet_dict(facets) == expected(selected), text

    check()  # with deleted (replaced) documents still in the segments
    # a commit of one document without a type or a publisher (a segment whose columns hold no
    # value: Whoosh once wrote such a column short, and the next count failed)
    bare = {**docs[0], "id": 500, "url": "p500", "content_type": None, "publisher": ""}
    write_documents(index, [bare])
    live[500] = bare
    check()
    if search_engine == "whoosh":
        with index.open_reader() as reader:
            assert reader.searcher.reader.has_deletions()
    build_index(index.folder, list(live.values()), search_engine)
    check()  # a fresh index: a whole-index match is counted from term frequencies


def top_pairs(counts: Counter, n: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
