"""Choosing the search engine, switching it, and an index whose files are damaged.

The engine is named in catalog.toml (``[search] engine``) or ``CATALOG_SEARCH_ENGINE``; an
unknown one is a one-line usage error. An index built by the other engine is rebuilt by the
next command that needs it, with a one-line notice; `stats` and `index check` name the
engine. An index whose files are damaged (cut short, overwritten) is rebuilt by the next
command that reads or writes it, a crawl included; where it cannot be rebuilt, the error
says which command does it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SEARCH_ENGINES, Site, db_rows, invoke, run_catalog

OTHER = {"whoosh": "tantivy", "tantivy": "whoosh"}


@pytest.fixture
def home(crawled_home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(crawled_home, target)
    return target


def set_engine(home: Path, engine: str, extra: str = "") -> None:
    (home / "catalog.toml").write_text(
        f'topics = ["security-cooperation"]\n\n[search]\nengine = "{engine}"\n{extra}',
        encoding="utf-8",
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_engine_comes_from_catalog_toml_and_the_environment_wins(home, monkeypatch):
    monkeypatch.delenv("CATALOG_SEARCH_ENGINE", raising=False)
    assert json.loads(invoke(home, "stats", "--json").stdout)["search_index"]["engine"] == (
        "whoosh"
    )
    set_engine(home, "tantivy")
    first = invoke(home, "search", "alliances", "--limit", "100", "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)
    assert one_line(first.stderr) == (
        "notice: rebuilt the search index for tantivy (it was built by whoosh): 42 publications"
    )
    again = invoke(home, "search", "alliances", "--limit", "100", "--json")
    assert again.stderr == "" and again.stdout == first.stdout
    status = json.loads(invoke(home, "stats", "--json").stdout)["search_index"]
    assert status == {
        "engine": "tantivy",
        "built_by": "tantivy",
        "revision": status["catalog_revision"],
        "catalog_revision": status["catalog_revision"],
        "up_to_date": True,
    }
    monkeypatch.setenv("CATALOG_SEARCH_ENGINE", "whoosh")
    assert "search index: whoosh (the index there was built by tantivy" in (
        invoke(home, "stats").stdout
    )
    check = invoke(home, "index", "check")
    assert check.exit_code == 1
    assert one_line(check.stderr) == (
        "Error: the search index was built by tantivy, not whoosh (run `catalog index rebuild`)"
    )
    rebuilt = invoke(home, "index", "rebuild")
    assert rebuilt.exit_code == 0 and rebuilt.stdout.strip().endswith("(whoosh)")
    ok = invoke(home, "index", "check")
    assert ok.exit_code == 0 and "the search index (whoosh) matches the catalog" in ok.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            'engine = "lucene"',
            "engine = 'lucene' is not a search engine (engines: whoosh, tantivy)",
        ),
        ("engine = 3", "engine = 3 is not a search engine"),
        ('engien = "tantivy"', "unknown [search] setting 'engien' (did you mean 'engine'?)"),
    ],
)
def test_an_unknown_engine_in_catalog_toml_is_one_line_exit_2(home, monkeypatch, setting, message):
    monkeypatch.delenv("CATALOG_SEARCH_ENGINE", raising=False)
    (home / "catalog.toml").write_text(f'topics = ["x"]\n\n[search]\n{setting}\n')
    for command in (["search", "x"], ["index", "rebuild"], ["stats"], ["similar", "1"]):
        result = invoke(home, *command)
        assert result.exit_code == 2, (command, result.output)
        line = one_line(result.stderr)
        assert line.startswith(f"Error: {home / 'catalog.toml'}:4: ") and message in line


def test_an_unknown_engine_in_the_environment_is_one_line_exit_2(home, monkeypatch):
    monkeypatch.setenv("CATALOG_SEARCH_ENGINE", "elastic")
    result = invoke(home, "search", "x")
    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "Error: CATALOG_SEARCH_ENGINE='elastic' is not a search engine (engines: whoosh, tantivy)"
    )


def test_a_crawl_refuses_an_unknown_engine_before_any_work(tmp_path, monkeypatch):
    monkeypatch.delenv("CATALOG_SEARCH_ENGINE", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text('topics = ["x"]\n[search]\nengine = "solr"\n')
    result = run_catalog(home, "crawl", "--start-url", "http://127.0.0.1:9/topics/x.html")
    assert result.returncode == 2
    assert "engine = 'solr' is not a search engine" in one_line(result.stderr)
    assert not (home / "catalog.db").exists()


# --- damaged indexes ------------------------------------------------------------------------


def damage(index: Path) -> None:
    """Overwrite the index's data files (not its state file) with garbage."""
    for path in index.iterdir():
        if path.is_file() and path.name != "revision.json" and path.stat().st_size > 64:
            path.write_bytes(b"\x00garbage" * 16)


@pytest.fixture(params=SEARCH_ENGINES)
def damaged(request, home, monkeypatch) -> Path:
    monkeypatch.setenv("CATALOG_SEARCH_ENGINE", request.param)
    assert invoke(home, "index", "sync").exit_code == 0
    damage(home / "index")
    return home


def test_a_search_rebuilds_a_damaged_index_and_says_so(damaged):
    result = invoke(damaged, "search", "alliances", "--limit", "100", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)
    line = one_line(result.stderr)
    assert line.startswith("notice: the search index could not be read (")
    assert line.endswith("); rebuilt it: 42 publications")
    assert invoke(damaged, "index", "check").exit_code == 0


def test_index_check_says_which_command_repairs_a_damaged_index(damaged):
    result = invoke(damaged, "index", "check")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith("Error: the search index cannot be read: ")
    assert line.endswith("(run `catalog index rebuild`)")
    synced = invoke(damaged, "index", "sync")
    assert synced.exit_code == 0 and "it could not be read" in synced.stderr
    assert invoke(damaged, "index", "check").exit_code == 0


@pytest.mark.slow  # crawls
def test_a_crawl_goes_on_over_a_damaged_index(damaged, demo_site: Site):
    before = db_rows(damaged, "SELECT count(*) FROM crawl_runs")[0][0]
    result = run_catalog(damaged, "crawl", "--start-url", demo_site.topic_url())
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert db_rows(damaged, "SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1") == [
        ("succeeded",)
    ]
    assert db_rows(damaged, "SELECT count(*) FROM crawl_runs")[0][0] == before + 1
    assert invoke(damaged, "index", "check").exit_code == 0
