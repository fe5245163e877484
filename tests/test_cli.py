"""The command line over a crawled catalog: search, sql, stats, export, index rebuild, help."""

from __future__ import annotations

import csv
import io
import json
import shlex
import shutil
import subprocess

import click
import pytest
from click.testing import CliRunner

from catalog.cli import cli
from tests.conftest import DEMO_PUBLICATIONS, clean_env, invoke, run_catalog


def search_json(home, *args):
    result = invoke(home, "search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_by_stemmed_word(crawled_home):
    titles = {h["title"] for h in search_json(crawled_home, "alliances", "--limit", "50")}
    assert "Alliances Are an Asset, Not a Burden" in titles
    assert "How Japan and Australia Are Building a Quasi-Alliance" in titles  # singular form


def test_search_json_objects(crawled_home):
    [hit] = search_json(crawled_home, "bioweapons")
    assert set(hit) >= {"url", "title", "content_type", "published_on", "summary", "score"}
    assert hit["content_type"] == "Commentary" and hit["published_on"] == "2021-03-12"
    assert hit["url"].endswith(
        "/blog/2021/03/could-the-bioweapons-treaty-be-another-tool-for-addressing.html"
    )
    assert hit["score"] > 0


def test_search_by_phrase(crawled_home):
    hits = search_json(crawled_home, '"security cooperation"', "--limit", "50")
    assert hits
    for hit in hits:
        assert "security cooperation" in (hit["title"] + " " + hit["summary"]).lower()
    loose = search_json(crawled_home, "security cooperation", "--limit", "50")
    assert len(loose) > len(hits)


def test_search_filters_and_sort(crawled_home):
    reports = search_json(crawled_home, "*", "--type", "report", "--limit", "50")
    assert len(reports) == 10 and {h["content_type"] for h in reports} == {"Report"}
    ranged = search_json(
        crawled_home, "*", "--since", "2021", "--until", "2021-03", "--limit", "50"
    )
    assert ranged and all("2021-01-01" <= h["published_on"] <= "2021-03-31" for h in ranged)
    newest = search_json(crawled_home, "*", "--sort", "newest", "--limit", "5")
    dates = [h["published_on"] for h in newest]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2022-04-28"
    oldest = search_json(crawled_home, "japan", "--sort", "oldest")
    dates = [h["published_on"] for h in oldest]
    assert dates == sorted(dates)
    topic = search_json(crawled_home, "*", "--topic", "alliances-and-partnerships", "--limit", "50")
    assert len(topic) == 5
    assert len(search_json(crawled_home, "*", "--limit", "3")) == 3
    assert search_json(crawled_home, "japan AND NOT type:commentary") != []


def test_search_table(crawled_home):
    result = invoke(crawled_home, "search", "yemen")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header == ["published_on", "content_type", "title", "url", "snippet"]
    assert "[Yemen]" in result.stdout


@pytest.mark.parametrize("query", ['"unclosed', "(a OR b", "nosuchfield:x", "date:[2020 to"])
def test_malformed_query_is_a_one_line_usage_error(crawled_home, query):
    result = invoke(crawled_home, "search", query)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


def test_bad_date_option_is_a_usage_error(crawled_home):
    result = invoke(crawled_home, "search", "x", "--since", "last week")
    assert result.exit_code == 2 and "not a date" in result.stderr


def test_sql_returns_rows(crawled_home):
    result = invoke(
        crawled_home,
        "sql",
        "SELECT content_type, count(*) AS n FROM publications GROUP BY 1 ORDER BY 2 DESC",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0] == {"content_type": "Commentary", "n": 20}
    as_csv = invoke(crawled_home, "sql", "SELECT url, title FROM publications ORDER BY id", "--csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(parsed) == DEMO_PUBLICATIONS and set(parsed[0]) == {"url", "title"}
    joined = invoke(
        crawled_home,
        "sql",
        "SELECT t.slug, count(*) AS n FROM publication_topics l JOIN topics t "
        "ON t.id = l.topic_id GROUP BY t.slug ORDER BY t.slug",
    )
    assert "alliances-and-partnerships" in joined.stdout and "security-cooperation" in joined.stdout


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM publications",
        "UPDATE publications SET title = 'x'",
        "INSERT INTO topics (slug, name, url) VALUES ('a', 'b', 'c')",
        "DROP TABLE publications",
        "CREATE TABLE x (a int)",
        "PRAGMA user_version = 7",
        "SELECT 1; DELETE FROM publications",
    ],
)
def test_sql_refuses_writes_and_leaves_the_catalog_unchanged(crawled_home, statement):
    result = invoke(crawled_home, "sql", statement)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    count = invoke(crawled_home, "sql", "SELECT count(*) AS n FROM publications", "--json")
    assert json.loads(count.stdout) == [{"n": DEMO_PUBLICATIONS}]
    version = invoke(crawled_home, "sql", "PRAGMA user_version", "--json")
    assert json.loads(version.stdout) == [{"user_version": 0}]


def test_sql_errors_and_conflicting_flags(crawled_home):
    bad = invoke(crawled_home, "sql", "SELECT nope FROM nowhere")
    assert bad.exit_code == 1 and "no such table" in bad.stderr
    both = invoke(crawled_home, "sql", "SELECT 1", "--csv", "--json")
    assert both.exit_code == 2


def test_stats(crawled_home):
    result = invoke(crawled_home, "stats")
    assert result.exit_code == 0
    assert f"publications: {DEMO_PUBLICATIONS}" in result.stdout
    figures = json.loads(invoke(crawled_home, "stats", "--json").stdout)
    assert {"content_type": "Report", "count": 10} in figures["by_type"]
    assert {"year": "2021", "count": 24} in figures["by_year"]
    assert figures["last_run"]["status"] == "succeeded"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_export(crawled_home, tmp_path, fmt):
    target = tmp_path / f"out.{fmt}"
    result = invoke(crawled_home, "export", "--format", fmt, "--output", str(target))
    assert result.exit_code == 0 and f"exported {DEMO_PUBLICATIONS}" in result.stderr
    text = target.read_text(encoding="utf-8")
    if fmt in ("csv", "tsv"):
        rows = list(csv.DictReader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == DEMO_PUBLICATIONS
    assert {"url", "title", "content_type", "published_on", "topics"} <= set(rows[0])


def test_index_rebuild_gives_the_same_results(home_copy):
    queries = [
        ["alliances"],
        ['"security cooperation"'],
        ["*", "--type", "Commentary", "--sort", "newest"],
    ]
    before = [search_json(home_copy, *q, "--limit", "50") for q in queries]
    shutil.rmtree(home_copy / "index")
    # No index: the search builds it from the database first.
    assert search_json(home_copy, *queries[0], "--limit", "50") == before[0]
    shutil.rmtree(home_copy / "index")
    result = invoke(home_copy, "index", "rebuild")
    assert result.exit_code == 0 and f"indexed {DEMO_PUBLICATIONS}" in result.stdout
    after = [search_json(home_copy, *q, "--limit", "50") for q in queries]
    assert after == before


def _commands(group: click.Group, prefix: str = ""):
    """Every command and every group (the top level included), by its full name."""
    if not prefix:
        yield "(top level)", group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield f"{prefix}{name}", command
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


@pytest.mark.parametrize("name,command", list(_commands(cli)))
def test_every_command_has_help_with_an_example(name, command):
    assert command.help and "Example" in command.help, f"`catalog {name}` lacks an example"


def test_demo_runs_offline(tmp_path):
    home = tmp_path / "demo home"  # a space: the printed commands must quote it
    result = run_catalog(home, "demo")
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout and "sample search" in result.stdout
    assert "Alliances Are an Asset" in result.stdout
    again = run_catalog(home, "demo")
    assert "new 0, updated 0" in again.stdout
    # The closing hint's commands work as printed, from another folder, in a shell.
    tried = result.stdout.split("try next:\n", 1)[1].splitlines()
    commands = [line.strip() for line in tried if line.strip()]
    assert any(" search " in c for c in commands)
    assert shlex.quote(str(home.resolve())) in commands[0]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in commands:
        ran = subprocess.run(
            command, shell=True, cwd=elsewhere, capture_output=True, text=True, env=clean_env()
        )
        assert ran.returncode == 0, (command, ran.stderr)
        assert ran.stdout.strip() or (elsewhere / "demo.bib").read_text().startswith("@")


def test_shell_completion_script_and_choices():
    runner = CliRunner()
    script = runner.invoke(cli, [], prog_name="catalog", env={"_CATALOG_COMPLETE": "bash_source"})
    assert "_catalog_completion" in script.output and "complete " in script.output
    choices = runner.invoke(
        cli,
        [],
        prog_name="catalog",
        env={
            "_CATALOG_COMPLETE": "bash_complete",
            "COMP_WORDS": "catalog export --format b",
            "COMP_CWORD": "3",
        },
    )
    assert "plain,bibtex" in choices.output


def test_index_rebuild_refuses_to_race_a_crawl(home_copy):
    from catalog.lock import crawl_lock

    with crawl_lock(home_copy):
        result = invoke(home_copy, "index", "rebuild")
    assert result.exit_code == 3 and "another crawl is running" in result.stderr
