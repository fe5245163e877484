"""`catalog search` at the edges a researcher reaches, on both engines and both backends.

Filters alone, empty queries, capped lists, filter values the catalog does not have, "did
you mean" inside phrases and next to correct words, and the words a policy catalog is made
of ("US"). Counts are checked against SQL over the same catalog.
"""

from __future__ import annotations

import json

import pytest


def hits(catalog, *args: str) -> list[dict]:
    result = catalog.invoke("search", *args, "--limit", "1000", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def usage_error(catalog, *args: str) -> str:
    result = catalog.invoke("search", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_filters_alone_list_what_they_let_through_newest_first(searched_backend):
    found = hits(searched_backend, "--author", "Grossman")
    expected = searched_backend.rows(
        "SELECT DISTINCT p.url FROM publications p "
        "JOIN publication_authors pa ON pa.publication_id = p.id "
        "JOIN authors a ON a.id = pa.author_id WHERE a.name LIKE '%Grossman%'"
    )
    assert sorted(h["url"] for h in found) == sorted(url for (url,) in expected)
    dates = [h["published_on"] for h in found if h["published_on"]]
    assert dates == sorted(dates, reverse=True)
    assert hits(searched_backend, "*", "--author", "Grossman") == found


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a query (words, or * for everything) or a filter such as --author"),
        (("",), "the query is empty"),
        (("   ",), "the query is empty"),
    ],
)
def test_no_query_and_no_filter_is_a_usage_error(searched_backend, args, message):
    assert message in usage_error(searched_backend, *args)


def test_a_capped_list_says_so_on_stderr(searched_backend):
    [(total,)] = searched_backend.rows(
        "SELECT count(*) FROM publications WHERE content_type = 'Report'"
    )
    result = searched_backend.invoke("search", "*", "--type", "report", "--limit", "3")
    assert result.exit_code == 0
    assert result.stderr == f"3 of {total} matches; --limit to see more\n"
    whole = searched_backend.invoke("search", "*", "--type", "report", "--limit", str(total))
    assert whole.stderr == ""


def test_types_match_in_any_case_and_none_means_untyped(searched_backend):
    reports = hits(searched_backend, "*", "--type", "REPORT")
    assert reports == hits(searched_backend, "*", "--type", "Report")
    assert {h["content_type"] for h in reports} == {"Report"}
    untyped = hits(searched_backend, "*", "--type", "none")
    [(count,)] = searched_backend.rows(
        "SELECT count(*) FROM publications WHERE content_type = '' OR content_type IS NULL"
    )
    assert len(untyped) == count > 0 and {h["content_type"] for h in untyped} == {""}


def test_an_unknown_type_lists_the_known_ones(searched_backend):
    line = usage_error(searched_backend, "*", "--type", "Podcast")
    assert line.startswith("Error: no publication has the type 'Podcast' (types: Commentary, ")
    assert line.endswith("; or none)") and "Report" in line


def test_a_topic_by_slug_name_or_url(searched_backend):
    by_slug = hits(searched_backend, "*", "--topic", "alliances-and-partnerships")
    assert by_slug
    assert hits(searched_backend, "*", "--topic", "Alliances and Partnerships") == by_slug
    [(url,)] = searched_backend.rows(
        "SELECT url FROM topics WHERE slug = 'alliances-and-partnerships'"
    )
    pasted = url + "?utm_source=feed#main"
    assert hits(searched_backend, "*", "--topic", pasted) == by_slug
    line = usage_error(searched_backend, "*", "--topic", "space-lasers")
    assert line.startswith("Error: no topic 'space-lasers' in the catalog")


def test_dates_the_wrong_way_round(searched_backend):
    line = usage_error(searched_backend, "japan", "--since", "2022", "--until", "2021")
    assert line == "Error: --since 2022-01-01 is after --until 2021-12-31: nothing can match"


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("cooperaton", "cooperation"),
        ('"securty cooperaton"', '"security cooperation"'),
        ("japan cooperaton", "japan cooperation"),
        ('title:"quasi aliance"', 'title:"quasi alliance"'),
    ],
)
def test_did_you_mean_corrects_words_in_phrases_and_beside_correct_ones(
    searched_backend, typed, offered
):
    result = searched_backend.invoke("search", typed)
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == f"no matches; did you mean: {offered}\n"
    assert hits(searched_backend, offered)


def test_us_is_a_word_and_u_s_is_us(searched_backend):
    found = {h["url"] for h in hits(searched_backend, "US")}
    assert found == {h["url"] for h in hits(searched_backend, "U.S.")}
    [(count,)] = searched_backend.rows(
        "SELECT count(*) FROM publications WHERE title LIKE '%U.S.%' OR summary LIKE '%U.S.%' "
        "OR abstract LIKE '%U.S.%' OR key_findings LIKE '%U.S.%' OR body_text LIKE '%U.S.%'"
        " OR research_questions LIKE '%U.S.%' OR recommendations LIKE '%U.S.%'"
    )
    assert len(found) >= count > 0
    short = searched_backend.invoke("search", "xq")
    assert short.stderr == "no matches\n"  # too short to correct
