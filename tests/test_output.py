"""The shared renderers: tables that fit a terminal, plain output for pipes, CSV/TSV, and
exports that never destroy the file they replace."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog import output
from catalog.cli import cli
from catalog.errors import OutputError
from tests.conftest import DEMO_PUBLICATIONS, invoke

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\s")


def in_terminal(home: Path, *args: str, columns: int = 80):
    """Run a command as if stdout were a terminal COLUMNS wide (rich honours TTY_COMPATIBLE)."""
    result = CliRunner().invoke(
        cli,
        ["--home", str(home), *args],
        env={"TTY_COMPATIBLE": "1", "COLUMNS": str(columns), "NO_COLOR": "1"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.stdout)


def search_rows(home: Path, *args: str) -> list[dict]:
    return json.loads(invoke(home, "search", *args, "--format", "json").stdout)


def test_table_fits_80_columns_and_shows_every_title():
    rows = [
        {
            "published_on": "2021-03-0" + str(i),
            "content_type": "Conference Proceedings",
            "title": f"Title {i} " + "a very long title that goes on and on " * 3,
            "url": f"https://www.rand.org/pubs/conf_proceedings/CFA{i}/a-long-path-{i}.html",
            "snippet": "words [around] the hit " * 10,
        }
        for i in range(1, 6)
    ]
    text = io.StringIO()
    count = output.render_table(rows, list(rows[0]), text, 80)
    lines = text.getvalue().splitlines()
    assert count == 5
    assert max(len(line) for line in lines) <= 80
    assert sum(bool(DATE.match(line)) for line in lines) == 5  # one row each, dates whole
    words = " ".join(lines).split()
    for i in range(1, 6):
        assert f"{i}" in words and "Title" in words  # wrapped, never cut off
    flat = " ".join(line[30:] for line in lines)
    assert flat.count("goes on and on") >= 5  # the wrapped titles' words are all there


def test_long_unknown_columns_wrap_instead_of_losing_text():
    """`catalog sql` can select anything: a long column wraps like a title, never cut."""
    abstract = " ".join(f"word{i}" for i in range(60))
    rows = [{"id": 1, "name": "Scott W. Harold", "abstract": abstract}]
    text = io.StringIO()
    output.render(rows, ["id", "name", "abstract"], "table", out=text, width=60)
    lines = text.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 60 and len(lines) > 4
    assert [w for w in " ".join(lines).split() if w.startswith("word")] == abstract.split()


HIT_START = re.compile(r"^\s*(\d+)\s+(\d{4}-\d{2}-\d{2})\s")


def hit_blocks(text: str) -> tuple[list[str], list[list[str]]]:
    """A terminal search table: its header line and each hit's lines (from its id line)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if HIT_START.match(line)]
    return lines[0], [lines[a:b] for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]


@pytest.mark.parametrize("columns", [80, 60, 200])
def test_search_hits_in_a_terminal_take_at_most_three_lines(crawled_home, columns):
    """Each hit: id, date, type and title, then its snippet, in at most three lines."""
    hits = search_rows(crawled_home, "japan", "--limit", "20", "--sort", "newest")
    ids = {
        h["url"]: h["id"]
        for h in json.loads(invoke(crawled_home, "export", "--format", "json").stdout)
    }
    text = in_terminal(
        crawled_home, "search", "japan", "--limit", "20", "--sort", "newest", columns=columns
    )
    assert max(len(line) for line in text.splitlines()) <= columns
    header, blocks = hit_blocks(text)
    assert header.split()[:2] == ["id", "date"] and "title" in header.split()
    assert len(blocks) == len(hits) >= 10
    title_at = header.index("title")
    for hit, block in zip(hits, blocks, strict=True):
        assert 1 <= len(block) <= 3, block
        number, day = HIT_START.match(block[0]).groups()
        assert int(number) == ids[hit["url"]] and day == hit["published_on"]
        if columns >= 80:
            assert hit["content_type"][:10] in block[0]
        shown = " ".join(line[title_at:].split("  ")[0].strip() for line in block[:2])
        words = hit["title"].split()
        assert shown.startswith(" ".join(words[:3])), (shown, hit["title"])
    if columns == 200:  # wide enough for whole URLs beside the titles
        assert all(hit["url"] in "\n".join(block) for hit, block in zip(hits, blocks, strict=True))


def test_similar_in_a_terminal_takes_at_most_three_lines(crawled_home):
    text = in_terminal(crawled_home, "similar", "1", "--limit", "8")
    header, blocks = hit_blocks(text)
    assert len(blocks) == 8 and all(1 <= len(b) <= 3 for b in blocks)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_piped_table_is_plain_and_unwrapped(crawled_home):
    hits = search_rows(crawled_home, "japan", "--limit", "10")
    lines = invoke(crawled_home, "search", "japan", "--limit", "10").stdout.splitlines()
    assert lines[0].split() == ["published_on", "content_type", "title", "url", "snippet"]
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 2 + len(hits)  # one line per row, whatever its length
    assert "\x1b" not in "\n".join(lines)


def test_piped_tables_are_never_cut(home_copy):
    """Piped, every title, URL, snippet and changed value is printed whole."""
    import sqlite3

    long_old = "An old summary that goes on " + "and on " * 40 + "to its end."
    long_new = "A new summary, just as long: " + "more words " * 40 + "the very end."
    with sqlite3.connect(home_copy / "catalog.db") as conn:
        conn.execute(
            "INSERT INTO publication_changes (crawl_run_id, publication_id, kind, field, "
            "old_value, new_value, changed_at) VALUES (1, 1, 'changed', 'summary', ?, ?, "
            "'2026-11-23')",
            (long_old, long_new),
        )
    hits = search_rows(home_copy, "*", "--limit", "50")
    plain = invoke(home_copy, "search", "*", "--limit", "50").stdout
    assert "…" not in plain
    for hit in hits:
        assert hit["title"] in plain and hit["url"] in plain
        assert " ".join(hit["snippet"].split()) in plain
    changes = invoke(home_copy, "changes", "--since", "2000").stdout
    assert long_old in changes and long_new in changes and "…" not in changes
    assert len(changes.splitlines()) > 3


def test_runs_headers_are_distinguishable_in_80_columns(home_copy):
    import sqlite3

    with sqlite3.connect(home_copy / "catalog.db") as conn:  # a failed run with a long error
        conn.execute(
            'INSERT INTO crawl_runs (started_at, finished_at, status, spider, "full", '
            "pages_fetched, pages_not_modified, items_seen, items_new, items_updated, "
            "items_unchanged, items_skipped, items_delisted, details_fetched, details_failed, "
            "warnings, error) VALUES ('2026-11-23 06:17:03', '2026-11-23 06:18:00', 'failed', "
            "'rand_topic', 0, 3, 0, 10, 1, 2, 7, 0, 4, 1, 0, 0, 'listing page "
            "https://www.rand.org/topics/security-cooperation.html?page=3 timed out')"
        )
    text = in_terminal(home_copy, "runs")
    header = text.splitlines()[0]
    names = [n.rstrip("…") for n in re.split(r"\s{2,}", header.strip())]
    assert len(names) == 9 and len(set(names)) == 9, header
    assert not any(a != b and b.startswith(a) for a in names for b in names), header
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("columns", [80, 50])
def test_facets_never_break_inside_a_word(crawled_home, columns):
    text = in_terminal(crawled_home, "search", "*", "--facets", columns=columns)
    facets = text.split(" matches\n", 1)[1]
    assert max(len(line) for line in facets.splitlines()) <= columns
    counted = json.loads(invoke(crawled_home, "search", "*", "--facets", "--json").stdout)["facets"]
    lines = facets.splitlines()
    for name, values in counted.items():
        for value in values:  # each "value (count)" whole, on one line
            whole = f"{value['value']} ({value['count']})"
            assert any(whole in line for line in lines), (name, whole)
    plain = invoke(crawled_home, "search", "*", "--facets").stdout  # piped: one line a facet
    assert len([line for line in plain.splitlines() if line.startswith("author: ")]) == 1


def test_progress_line_fits_the_terminal(monkeypatch):
    from catalog.cli.crawling import TerminalProgress
    from crawler.run import Progress

    progress = Progress(
        listing_pages=123, found=12345, new=12000, changed=345, detail_pages=9876, elapsed=3725
    )
    for columns in (120, 80, 60, 40, 12):
        monkeypatch.setenv("COLUMNS", str(columns))
        stream = io.StringIO()
        display = TerminalProgress(stream)
        display(progress)
        drawn = stream.getvalue()
        assert drawn.startswith("\r") and drawn.endswith("\x1b[K")
        line = drawn[1:-3]
        assert len(line) < columns, (columns, line)
        if columns >= 60:
            assert "12345 found" in line and "62:05" in line


def test_progress_counts_publications_still_waiting_for_their_batch():
    """Publications read from listing pages count as found before their batch is stored."""
    from datetime import date
    from types import SimpleNamespace

    from catalog.records import ListingEntry, TopicRef
    from catalog.store import BatchResult, RunCounts
    from crawler.run import read_progress

    topic = TopicRef("security-cooperation", "Security Cooperation", "https://x/t.html")

    def entry(n: int) -> ListingEntry:
        return ListingEntry(
            f"https://x/pubs/{n}.html",
            f"T{n}",
            "Report",
            date(2021, 1, 1),
            "2021",
            "",
            None,
            None,
            topic,
            "list",
            "https://x/t.html",
            n,
        )

    counts = RunCounts()
    counts.add(BatchResult(outcomes={"https://x/pubs/1.html": "new"}))
    run = SimpleNamespace(counts=counts)
    pipeline = SimpleNamespace(run=run, buffer=[entry(1), entry(2), entry(3), entry(3)])
    crawler = SimpleNamespace(stats=None, get_item_pipeline=lambda cls: pipeline)
    progress = read_progress(crawler, 0.0)
    assert progress.found == 3 and progress.new == 1


def test_tsv_keeps_paragraph_breaks_escaped(crawled_home):
    """TSV escapes tabs, line breaks and backslashes: one line a row, nothing lost."""
    records = json.loads(invoke(crawled_home, "export", "--format", "json").stdout)
    with_paragraphs = [r for r in records if "\n\n" in (r["abstract"] or "")]
    assert with_paragraphs
    tsv = invoke(crawled_home, "export", "--format", "tsv").stdout
    lines = tsv.splitlines()
    assert len(lines) == 1 + len(records)
    header = lines[0].split("\t")
    unescape = re.compile(r"\\(.)")
    back = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    rows = [
        dict(
            zip(
                header,
                (unescape.sub(lambda m: back[m.group(1)], f) for f in line.split("\t")),
                strict=True,
            )
        )
        for line in lines[1:]
    ]
    by_id = {int(r["id"]): r for r in rows}
    for record in with_paragraphs:
        assert by_id[record["id"]]["abstract"] == record["abstract"]
    assert output.tsv_escape("a\tb\\n\nc\r") == "a\\tb\\\\n\\nc\\r"


@pytest.mark.parametrize("command", [["runs"], ["stats"], ["changes"]])
def test_other_tables_fit_the_terminal(crawled_home, command):
    text = in_terminal(crawled_home, *command, columns=60)
    assert text.strip() and max(len(line) for line in text.splitlines()) <= 60


def test_show_wraps_on_a_terminal_and_not_in_a_pipe(crawled_home):
    [hit] = search_rows(crawled_home, "'Thickening Web'")
    wrapped = in_terminal(crawled_home, "show", hit["url"], columns=72)
    lines = wrapped.splitlines()
    long_lines = [line for line in lines if len(line) > 72]
    assert all(line.startswith(("PDF: ", "http")) for line in long_lines)  # only unbreakable
    plain = invoke(crawled_home, "show", hit["url"]).stdout
    abstract = plain.split("Abstract:\n", 1)[1].split("\n\n", 1)[0]
    assert len(abstract) > 300 and "\n" not in abstract  # a paragraph is one line in a pipe
    assert " ".join(abstract.split()) in " ".join(wrapped.split())


def test_tsv_and_csv_with_bom(crawled_home, tmp_path):
    tsv = invoke(crawled_home, "export", "--format", "tsv").stdout
    lines = tsv.splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["id", "url", "title"] and len(lines) == 1 + DEMO_PUBLICATIONS
    assert all(len(line.split("\t")) == len(header) for line in lines)  # no tab inside a cell
    target = tmp_path / "excel.csv"
    result = invoke(crawled_home, "export", "--format", "csv", "--bom", "--output", str(target))
    assert result.exit_code == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,url,")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == DEMO_PUBLICATIONS and "id" in rows[0]
    assert invoke(crawled_home, "export", "--format", "json", "--bom").exit_code == 2


# --- exports never destroy -----------------------------------------------------------------


def test_atomic_output_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "catalog.bib"
    target.write_text("old contents\n")
    with pytest.raises(RuntimeError), output.atomic_output(target) as handle:
        handle.write("half of the new ")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.bib"]


def test_atomic_output_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "shared.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    with output.atomic_output(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n" and (target.stat().st_mode & 0o777) == 0o640


def test_export_failing_midway_leaves_no_partial_file(home_copy, tmp_path, monkeypatch):
    from catalog import queries

    real = queries.export_rows

    def broken(engine):
        for n, row in enumerate(real(engine)):
            if n == 5:
                raise RuntimeError("database went away")
            yield row

    monkeypatch.setattr(queries, "export_rows", broken)
    target = tmp_path / "out" / "refs.bib"
    target.parent.mkdir()
    target.write_text("my precious bibliography\n")
    for fmt in ("bibtex", "csv"):
        result = CliRunner().invoke(
            cli, ["--home", str(home_copy), "export", "--format", fmt, "--output", str(target)]
        )
        assert result.exit_code == 1  # one line; the traceback goes to the home's log
        assert "unexpected RuntimeError: database went away" in result.stderr
        assert target.read_text() == "my precious bibliography\n"
        assert [p.name for p in target.parent.iterdir()] == ["refs.bib"]


@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_export_refuses_to_replace_special_files(crawled_home, tmp_path, kind):
    if kind == "symlink":
        real = tmp_path / "real.csv"
        real.write_text("keep me\n")
        target = tmp_path / "link.csv"
        target.symlink_to(real)
    elif kind == "fifo":
        target = tmp_path / "pipe.csv"
        os.mkfifo(target)
    else:
        target = Path(os.devnull)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(crawled_home, "export", "--format", "csv", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: refusing to replace {target}: it is ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if kind == "symlink":
        assert target.is_symlink() and (tmp_path / "real.csv").read_text() == "keep me\n"
    with pytest.raises(OutputError, match="refusing"), output.atomic_output(target):
        pass


def test_export_into_a_folder_it_cannot_write(crawled_home, tmp_path):
    # /proc refuses new files even to root, so this runs wherever the suite does.
    result = invoke(crawled_home, "export", "--format", "csv", "--output", "/proc/refs.csv")
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not Path("/proc/refs.csv").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_into_a_read_only_folder(crawled_home, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "refs.csv").write_text("old\n")
    folder.chmod(0o555)
    try:
        result = invoke(crawled_home, "export", "--output", str(folder / "refs.csv"))
        assert result.exit_code == 1 and "Permission denied" in result.stderr
        assert [p.name for p in folder.iterdir()] == ["refs.csv"]
        assert (folder / "refs.csv").read_text() == "old\n"
    finally:
        folder.chmod(0o755)
