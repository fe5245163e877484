"""The command line over a crawled catalog: search, sql, stats, export, runs, changes, show,
index rebuild, help.

Every read command runs against the demo's two topics crawled once per backend per session
(``crawled_backend``: ``[sqlite]`` and ``[postgresql]``).
"""

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
from tests.conftest import DEMO_PUBLICATIONS, Catalog, clean_env, run_catalog


def search_json(catalog: Catalog, *args):
    result = catalog.invoke("search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_search_by_stemmed_word(crawled_backend):
    titles = {h["title"] for h in search_json(crawled_backend, "alliances", "--limit", "50")}
    assert "Alliances Are an Asset, Not a Burden" in titles
    assert "How Japan and Australia Are Building a Quasi-Alliance" in titles  # singular form


def test_search_json_objects(crawled_backend):
    [hit] = search_json(crawled_backend, "bioweapons")
    assert set(hit) >= {"url", "title", "content_type", "published_on", "summary", "score"}
    assert hit["content_type"] == "Commentary" and hit["published_on"] == "2021-03-12"
    assert hit["url"].endswith(
        "/blog/2021/03/could-the-bioweapons-treaty-be-another-tool-for-addressing.html"
    )
    assert hit["score"] > 0


def test_search_by_phrase(crawled_backend):
    hits = search_json(crawled_backend, '"security cooperation"', "--limit", "50")
    assert hits
    for hit in hits:
        assert "security cooperation" in (hit["title"] + " " + hit["summary"]).lower()
    loose = search_json(crawled_backend, "security cooperation", "--limit", "50")
    assert len(loose) > len(hits)


def test_search_filters_and_sort(crawled_backend):
    reports = search_json(crawled_backend, "*", "--type", "report", "--limit", "50")
    assert len(reports) == 10 and {h["content_type"] for h in reports} == {"Report"}
    ranged = search_json(
        crawled_backend, "*", "--since", "2021", "--until", "2021-03", "--limit", "50"
    )
    assert ranged and all("2021-01-01" <= h["published_on"] <= "2021-03-31" for h in ranged)
    newest = search_json(crawled_backend, "*", "--sort", "newest", "--limit", "5")
    dates = [h["published_on"] for h in newest]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2022-04-28"
    oldest = search_json(crawled_backend, "japan", "--sort", "oldest")
    dates = [h["published_on"] for h in oldest]
    assert dates == sorted(dates)
    topic = search_json(
        crawled_backend, "*", "--topic", "alliances-and-partnerships", "--limit", "50"
    )
    assert len(topic) == 5
    assert len(search_json(crawled_backend, "*", "--limit", "3")) == 3
    assert search_json(crawled_backend, "japan AND NOT type:commentary") != []


def test_search_table(crawled_backend):
    result = crawled_backend.invoke("search", "yemen")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header == ["published_on", "content_type", "title", "url", "snippet"]
    assert "[Yemen]" in result.stdout


@pytest.mark.parametrize("query", ['"unclosed', "(a OR b", "nosuchfield:x", "date:[2020 to"])
def test_malformed_query_is_a_one_line_usage_error(crawled_backend, query):
    result = crawled_backend.invoke("search", query)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


def test_bad_date_option_is_a_usage_error(crawled_backend):
    result = crawled_backend.invoke("search", "x", "--since", "last week")
    assert result.exit_code == 2 and "not a date" in result.stderr


def test_sql_returns_rows(crawled_backend):
    result = crawled_backend.invoke(
        "sql",
        "SELECT content_type, count(*) AS n FROM publications GROUP BY 1 ORDER BY 2 DESC",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0] == {"content_type": "Commentary", "n": 20}
    as_csv = crawled_backend.invoke(
        "sql", "SELECT url, title FROM publications ORDER BY id", "--csv"
    )
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(parsed) == DEMO_PUBLICATIONS and set(parsed[0]) == {"url", "title"}
    joined = crawled_backend.invoke(
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
def test_sql_refuses_writes_and_leaves_the_catalog_unchanged(crawled_backend, statement):
    result = crawled_backend.invoke("sql", statement)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    count = crawled_backend.invoke("sql", "SELECT count(*) AS n FROM publications", "--json")
    assert json.loads(count.stdout) == [{"n": DEMO_PUBLICATIONS}]
    assert crawled_backend.rows("SELECT count(*) FROM topics WHERE slug = 'a'") == [(0,)]
    assert crawled_backend.rows("SELECT count(*) FROM publications WHERE title = 'x'") == [(0,)]
    if crawled_backend.backend == "sqlite":
        version = crawled_backend.invoke("sql", "PRAGMA user_version", "--json")
        assert json.loads(version.stdout) == [{"user_version": 0}]
    else:  # no table x was created
        assert crawled_backend.rows("SELECT to_regclass('x') IS NULL") == [(True,)]


def test_sql_errors_and_conflicting_flags(crawled_backend):
    bad = crawled_backend.invoke("sql", "SELECT nope FROM nowhere")
    missing = "no such table" if crawled_backend.backend == "sqlite" else "does not exist"
    assert bad.exit_code == 1 and missing in bad.stderr and "Traceback" not in bad.output
    both = crawled_backend.invoke("sql", "SELECT 1", "--csv", "--json")
    assert both.exit_code == 2


def test_stats(crawled_backend):
    result = crawled_backend.invoke("stats")
    assert result.exit_code == 0
    assert f"publications: {DEMO_PUBLICATIONS}" in result.stdout
    figures = json.loads(crawled_backend.invoke("stats", "--json").stdout)
    assert {"content_type": "Report", "count": 10} in figures["by_type"]
    assert {"year": "2021", "count": 24} in figures["by_year"]
    assert figures["last_run"]["status"] == "succeeded"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_export(crawled_backend, tmp_path, fmt):
    target = tmp_path / f"out.{fmt}"
    result = crawled_backend.invoke("export", "--format", fmt, "--output", str(target))
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


def test_runs_lists_the_crawl(crawled_backend):
    [run] = json.loads(crawled_backend.invoke("runs", "--json").stdout)
    assert run["status"] == "succeeded" and run["items_new"] == DEMO_PUBLICATIONS
    assert run["started_at"] <= run["finished_at"]
    table = crawled_backend.invoke("runs")
    assert table.exit_code == 0 and "succeeded" in table.stdout


def test_changes_of_the_last_run(crawled_backend):
    result = crawled_backend.invoke("changes", "--json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    # one line per publication and topic it is listed under (related topics included)
    assert len({c["url"] for c in changes}) == DEMO_PUBLICATIONS
    assert {c["kind"] for c in changes} == {"added"}
    by_topic = {(c["topic"], c["url"]) for c in changes}
    assert sum(1 for topic, _ in by_topic if topic == "alliances-and-partnerships") == 5


def test_show_by_url_and_id(crawled_backend):
    [(pub_id, url)] = crawled_backend.rows(
        "SELECT id, url FROM publications WHERE url LIKE ?", "%/RR3125.html"
    )
    record = json.loads(crawled_backend.invoke("show", url, "--json").stdout)
    assert record["id"] == pub_id and record["page_count"] == 454
    assert (
        record["published_on"]
        == json.loads(crawled_backend.invoke("show", str(pub_id), "--json").stdout)["published_on"]
    )
    assert {(t["slug"], t["section"]) for t in record["topics"]} >= {
        ("security-cooperation", "list"),
        ("alliances-and-partnerships", "list"),
    }
    text = crawled_backend.invoke("show", url)
    assert text.exit_code == 0 and "Document number: RR-3125-MCF" in text.stdout


def test_index_rebuild_gives_the_same_results(crawled_copy):
    queries = [
        ["alliances"],
        ['"security cooperation"'],
        ["*", "--type", "Commentary", "--sort", "newest"],
    ]
    before = [search_json(crawled_copy, *q, "--limit", "50") for q in queries]
    shutil.rmtree(crawled_copy.home / "index")
    # No index: the search builds it from the database first.
    rebuilt = search_json(crawled_copy, *queries[0], "--limit", "50")
    assert _differences([rebuilt], [before[0]], ["score"]) == []
    shutil.rmtree(crawled_copy.home / "index")
    result = crawled_copy.invoke("index", "rebuild")
    assert result.exit_code == 0 and f"indexed {DEMO_PUBLICATIONS}" in result.stdout
    after = [search_json(crawled_copy, *q, "--limit", "50") for q in queries]
    assert _differences(after, before, ["score", "score", "published_on"]) == []


def _differences(
    after: list[list[dict]], before: list[list[dict]], sorted_by: list[str]
) -> list[tuple]:
    """(query number, url or "order", before, after) for every hit that differs.

    Hits that tie on what a query sorts by may come in another order: Whoosh breaks ties by
    document number, and the crawl's index numbers documents in the order the database hands
    them back, which on PostgreSQL need not be the rebuild's (by id). The hits, every field of
    each, and the sequence of the sort values must be the same.
    """
    found: list[tuple] = []
    hits = zip(after, before, sorted_by, strict=True)
    for number, (hits_after, hits_before, key) in enumerate(hits):
        by_url_after = {h["url"]: h for h in hits_after}
        by_url_before = {h["url"]: h for h in hits_before}
        for url in by_url_before.keys() | by_url_after.keys():
            if by_url_before.get(url) != by_url_after.get(url):
                found.append((number, url, by_url_before.get(url), by_url_after.get(url)))
        order_after = [h[key] for h in hits_after]
        order_before = [h[key] for h in hits_before]
        if order_after != order_before:
            found.append((number, "order", order_before, order_after))
    return found


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


@pytest.mark.slow  # a whole demo: crawl and search
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
    commands = [line.strip() for line in tried if line.startswith("  ")]
    # ...and it ends by saying how to browse the catalog (`catalog serve`: tests/test_web_server)
    browse = tried[-1]
    assert browse.startswith("browse it: ") and browse.endswith(
        f"--home {shlex.quote(str(home.resolve()))} serve, then open http://127.0.0.1:8000/"
    )
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


def test_index_rebuild_refuses_to_race_a_crawl(crawled_copy):
    from catalog.lock import crawl_lock

    with crawl_lock(crawled_copy.home):
        result = crawled_copy.invoke("index", "rebuild")
    assert result.exit_code == 3 and "another crawl is running" in result.stderr


# --- the edges a new user reaches (issue 16) ---------------------------------------------------


def one_error_line(result, exit_code: int) -> str:
    assert result.exit_code == exit_code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["search", "x", "--limit", "0"],
        ["search", "x", "--since", "last week"],
        ["sql"],
        ["show", "x", "--format", "pdf"],
        ["export", "--output", ""],
        ["nosuchcommand"],
    ],
    ids=lambda a: " ".join(a) or "none",
)
def test_usage_errors_are_one_line(crawled_home, args):
    """As documented: errors are one line on stderr; usage errors exit 2. No usage block."""
    line = one_error_line(CliRunner().invoke(cli, ["--home", str(crawled_home), *args]), 2)
    assert "Usage:" not in line


def test_output_needs_a_file_name(crawled_home, tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(crawled_home), "export", "--output", ""])
    assert "--output" in one_error_line(result, 2) and result.stdout == ""


MEMORY_URLS = ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
EVERY_COMMAND = [
    ["crawl", "--start-url", "http://127.0.0.1:1/topics/nothing.html", "--no-details"],
    ["search", "x"],
    ["similar", "1"],
    ["show", "1"],
    ["sql", "SELECT 1"],
    ["stats"],
    ["export"],
    ["runs"],
    ["changes"],
    ["db", "upgrade"],
    ["index", "check"],
    ["index", "sync"],
    ["index", "rebuild"],
]


@pytest.mark.parametrize("url", MEMORY_URLS)
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c[:2]))
def test_an_in_memory_database_is_refused_by_every_command(tmp_path, url, command):
    """An in-memory catalog is empty for every command: refused, not "did not start"."""
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "--db", url, *command])
    assert "is an in-memory database" in one_error_line(result, 2)
    assert not home.exists()


def test_an_in_memory_database_from_the_environment_is_refused_too(tmp_path):
    """As a user runs it: CATALOG_DB in the environment, a real crawl process."""
    result = subprocess.run(
        ["catalog", "--home", str(tmp_path / "home"), "crawl", "--no-details"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(CATALOG_DB="sqlite://", PATH=_venv_path()),
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert "sqlite:// is an in-memory database" in result.stderr
    assert not (tmp_path / "home").exists()


def _venv_path() -> str:
    import os
    import sys
    from pathlib import Path

    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def browser_forms(url: str) -> list[str]:
    """How a browser's address bar, a link in an e-mail or a person gives a stored URL."""
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    return [
        url + "#key-findings",
        url + "?utm_source=newsletter&utm_medium=email&fbclid=abc",
        f"{scheme.upper()}://{host.upper()}/{path}",
        url + "/",
        f"  {url}  ",
    ]


def test_show_and_similar_take_a_url_as_a_browser_gives_it(crawled_backend):
    [(pub_id, url)] = crawled_backend.rows(
        "SELECT id, url FROM publications WHERE url LIKE ?", "%/RR3125.html"
    )
    expected = json.loads(crawled_backend.invoke("similar", str(pub_id), "--json").stdout)
    for given in browser_forms(url):
        shown = crawled_backend.invoke("show", given, "--json")
        assert shown.exit_code == 0, (given, shown.output)
        assert json.loads(shown.stdout)["id"] == pub_id, given
        similar = crawled_backend.invoke("similar", given, "--json")
        assert similar.exit_code == 0, (given, similar.output)
        assert json.loads(similar.stdout) == expected, given
    unknown = crawled_backend.invoke("show", url.replace("RR3125", "RR9999"))
    assert "no publication" in one_error_line(unknown, 1)


def test_a_trailing_slash_is_tried_as_given_first(home_copy):
    """Both forms stored (two pages): the URL as given wins; without it, the bare one."""
    import sqlite3

    with sqlite3.connect(home_copy / "catalog.db") as conn:
        [(url,)] = conn.execute("SELECT url FROM publications WHERE url LIKE '%/RR3125.html'")
        conn.execute("UPDATE publications SET url = url || '/' WHERE id = 1")
        [(slashed,)] = conn.execute("SELECT url FROM publications WHERE id = 1")
    bare_id = json.loads(invoke_home(home_copy, "show", url + "/", "--json"))["id"]
    assert bare_id != 1  # RR3125.html/ is not stored: the stored RR3125.html is found
    assert json.loads(invoke_home(home_copy, "show", slashed, "--json"))["id"] == 1
    assert json.loads(invoke_home(home_copy, "show", slashed + "#x", "--json"))["id"] == 1


def invoke_home(home, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_show_prints_its_history(home_copy):
    """`show` promises the history: every addition, change and delisting, as text too."""
    import sqlite3

    with sqlite3.connect(home_copy / "catalog.db") as conn:
        [(pub_id,)] = conn.execute("SELECT id FROM publications WHERE url LIKE '%/RR3125.html'")
        [(topic_id,)] = conn.execute("SELECT id FROM topics WHERE slug = 'security-cooperation'")
        conn.executemany(
            "INSERT INTO publication_changes (crawl_run_id, publication_id, topic_id, kind, "
            "field, old_value, new_value, changed_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            [
                (pub_id, None, "changed", "title", "Thickening", "Thickening Web", "2026-11-23"),
                (pub_id, topic_id, "delisted", None, None, None, "2026-11-24 06:17:03"),
            ],
        )
    text = invoke_home(home_copy, "show", str(pub_id))
    history = text.split("\nHistory:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(history) == 3 and all(line.startswith("  20") for line in history)
    assert history[0].endswith(", run 1: added")
    assert history[1].endswith('run 1: title changed: "Thickening" → "Thickening Web"')
    assert history[2] == "  2026-11-24 06:17 UTC, run 1: delisted from security-cooperation"
    record = json.loads(invoke_home(home_copy, "show", str(pub_id), "--json"))
    assert [h["kind"] for h in record["history"]] == ["added", "changed", "delisted"]
    assert record["history"][2]["topic"] == "security-cooperation"


def test_stats_json_uses_null_for_no_type_and_no_date(home_copy):
    import sqlite3

    with sqlite3.connect(home_copy / "catalog.db") as conn:
        conn.execute("UPDATE publications SET published_on = NULL WHERE id = 1")
    figures = json.loads(invoke_home(home_copy, "stats", "--json"))
    assert {"content_type": None, "count": 1} in figures["by_type"]
    assert {"year": None, "count": 1} in figures["by_year"]
    assert "(none)" not in json.dumps(figures) and "(undated)" not in json.dumps(figures)
    text = invoke_home(home_copy, "stats")
    assert "(none)" in text and "(undated)" in text  # a table still names them


def test_runs_json_has_host_and_pid(crawled_backend):
    import socket

    [run] = json.loads(crawled_backend.invoke("runs", "--json").stdout)
    assert run["host"] == socket.gethostname() and isinstance(run["pid"], int) and run["pid"] > 0
    header = crawled_backend.invoke("runs", "--format", "csv").stdout.splitlines()[0]
    assert header.split(",")[-2:] == ["host", "pid"]


def test_docs_show_and_similar_examples_exist_in_the_demo_catalog(crawled_home):
    """Copied from the docs into a demo home, `show` and `similar` find what they name.

    The examples name the demo's origin; the suite's crawl of the same site stored its pages
    under the local server's address, so the origin is swapped for it.
    """
    import re
    from pathlib import Path

    from catalog.demo import DEMO_ORIGIN

    repo = Path(__file__).resolve().parent.parent
    pages = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)
    examples = re.findall(r"catalog (show|similar) (\S+)", text)
    urls = [(command, url) for command, url in examples if "://" in url]
    assert len(urls) >= 3
    [(stored,)] = Catalog("sqlite", crawled_home).rows(
        "SELECT url FROM publications WHERE url LIKE ?", "%/RR3125.html"
    )
    base = stored.split("/pubs/", 1)[0]
    for command, url in urls:
        assert url.startswith(f"{DEMO_ORIGIN}/"), url
        result = invoke_home(crawled_home, command, base + url[len(DEMO_ORIGIN) :])
        assert result.strip(), (command, url)


# --- `| head -1` ---------------------------------------------------------------------------

DATA_COMMANDS = [
    ["search", "*", "--limit", "50"],
    ["search", "*", "--limit", "50", "--format", "bibtex"],
    ["sql", "SELECT * FROM publications"],
    ["export"],
    ["export", "--format", "csl-json"],
    ["runs"],
    ["changes"],
    ["show", "1"],
    ["stats"],
]


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=lambda c: " ".join(c[:4]))
def test_piped_into_head_exits_0_quietly(crawled_home, command):
    """`catalog ... | head -1` in a real shell, with pipefail: exit 0, nothing on stderr."""
    words = shlex.join(["catalog", "--home", str(crawled_home), *command])
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{words} | head -1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(PATH=_venv_path()),
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    # A reader that left stops the command at once and silently. Only when everything fitted
    # in the pipe before `head` left does `export` still say what it wrote.
    assert result.stderr in ("", "exported 42 publications\n"), result.stderr
    assert command[0] == "export" or result.stderr == ""


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=lambda c: " ".join(c[:4]))
def test_a_reader_gone_before_the_first_write_is_quiet_too(crawled_home, command):
    """The pipe's reader has already left (deterministic: its end is closed before start)."""
    import os

    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            ["catalog", "--home", str(crawled_home), *command],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=clean_env(PATH=_venv_path()),
        )
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (0, "")
