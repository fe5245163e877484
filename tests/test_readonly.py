"""Read commands never create or migrate anything, and work on catalogs they cannot write:
a missing catalog, an old schema, a read-only (or someone else's) catalog, odd home paths."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from catalog.config import resolve
from catalog.db import HEAD_REVISION
from tests.conftest import DEMO_PUBLICATIONS, REPO, catalog_command, clean_env, invoke

READ_COMMANDS = [
    ["search", "alliances"],
    ["show", "1"],
    ["stats"],
    ["sql", "SELECT 1 AS one"],
    ["export"],
    ["runs"],
    ["changes"],
]


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- no catalog: say so, create nothing ------------------------------------------------------


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_without_a_catalog_create_nothing(tmp_path, command):
    home = tmp_path / "nowhere" / "home"
    result = invoke(home, *command)
    assert result.exit_code == 1
    expected = f"Error: no catalog at {home / 'catalog.db'}; run `catalog crawl` first"
    assert _one_error_line(result.stderr) == expected
    assert not (tmp_path / "nowhere").exists()

    home.mkdir(parents=True)  # an empty home folder stays empty
    assert invoke(home, *command).exit_code == 1
    assert list(home.iterdir()) == []


# --- an old schema: say so, do not migrate ---------------------------------------------------


def _set_revision(home: Path, revision: str) -> None:
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def _revision(home: Path) -> str:
    with sqlite3.connect(home / "catalog.db") as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_do_not_migrate_an_old_schema(home_copy, command):
    _set_revision(home_copy, "0002")
    result = invoke(home_copy, *command)
    assert result.exit_code == 1
    assert _one_error_line(result.stderr) == (
        f"Error: catalog schema is at revision 0002, this version needs {HEAD_REVISION}: "
        "run `catalog db upgrade`"
    )
    assert _revision(home_copy) == "0002"


def test_a_newer_schema_asks_for_a_newer_version(home_copy):
    _set_revision(home_copy, "9999")
    result = invoke(home_copy, "stats")
    assert result.exit_code == 1 and "newer than this version reads" in result.stderr
    assert _revision(home_copy) == "9999"


# --- a catalog we may not write ----------------------------------------------------------------

NOBODY = 65534
# Linux capabilities that let root ignore file permissions: DAC_OVERRIDE, DAC_READ_SEARCH,
# FOWNER. Dropped from the bounding set, a root process is held to the permission bits.
PERMISSION_CAPABILITIES = (1, 2, 3)
PR_CAPBSET_DROP = 24


def _drop_permission_overrides() -> None:
    """preexec_fn: the child (and what it execs) obeys file permissions even as root.

    Setting the uid to nobody would do, but the interpreter may live where nobody cannot
    read it (a pyenv under /root); losing these capabilities has the same effect on files
    owned by someone else or marked read-only.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in PERMISSION_CAPABILITIES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _as_reader(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(PYTHONDONTWRITEBYTECODE="1"),
        cwd=REPO,
        preexec_fn=_drop_permission_overrides if os.geteuid() == 0 else None,
    )


def _chmod_tree(root: Path, remove_write: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222 if remove_write else mode | 0o200)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in [root, *root.rglob("*")]
    }


@pytest.fixture
def open_home(crawled_home: Path, tmp_path: Path, search_engine: str) -> Path:
    """A copy of the crawled catalog, indexed by the test's search engine."""
    home = tmp_path / "open"
    shutil.copytree(crawled_home, home)
    assert invoke(home, "index", "sync").exit_code == 0
    return home


@pytest.fixture
def locked_home(open_home: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the crawled catalog that belongs to nobody and has no write bit anywhere.

    Its WAL database is closed cleanly first, so no ``-shm`` is there to lean on: exactly
    what makes ``mode=ro`` fail and ``immutable=1`` necessary. (tantivy takes a lock file even
    to read an index: it must read one it cannot lock.)
    """
    home = tmp_path / "locked"
    shutil.copytree(open_home, home)
    with closing(sqlite3.connect(home / "catalog.db")) as conn:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    # closing the last connection checkpointed the WAL and removed -wal and -shm
    assert not (home / "catalog.db-shm").exists()
    if os.geteuid() == 0:
        for path in [home, *home.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    _chmod_tree(home, remove_write=True)
    probe = _as_reader([sys.executable, "-c", f"open({str(home / 'probe')!r}, 'w')"])
    if probe.returncode == 0:
        message = "cannot take write access away from a test process here"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield home
    _chmod_tree(home, remove_write=False)


@pytest.mark.slow  # every read command in a process
def test_read_commands_work_on_a_catalog_they_cannot_write(locked_home, open_home):
    before = _snapshot(locked_home)

    def read(*args: str):
        result = _as_reader(catalog_command(locked_home, *args))
        assert result.returncode == 0, result.stderr
        return result.stdout

    def expected(*args: str):
        result = invoke(open_home, *args)
        assert result.exit_code == 0, result.output
        return result.stdout

    for args in (
        ["stats", "--json"],
        ["search", "alliances", "--json"],
        ["search", "*", "--type", "Report", "--sort", "newest", "--json"],
        ["show", "1", "--json"],
        ["runs", "--json"],
        ["changes", "--json"],
        ["sql", "SELECT id, url, title FROM publications ORDER BY id", "--format", "jsonl"],
    ):
        assert json.loads(read(*args)) if args[-1] == "--json" else read(*args)
        assert read(*args) == expected(*args), args
    exported = read("export", "--format", "jsonl").splitlines()
    assert len(exported) == DEMO_PUBLICATIONS
    assert _snapshot(locked_home) == before  # not a file created, changed or touched


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["index", "rebuild"], ["crawl", "--start-url", "http://127.0.0.1:9/t"]],
    ids=lambda c: c[0],
)
def test_writing_commands_refuse_in_one_line(locked_home, command):
    before = _snapshot(locked_home)
    result = _as_reader(catalog_command(locked_home, *command))
    assert result.returncode == 1, result.stderr
    assert _one_error_line(result.stderr).startswith("Error: ")
    assert _snapshot(locked_home) == before


# --- home paths that are not URL-safe ----------------------------------------------------------


def test_a_home_path_with_space_hash_question_mark_and_percent(tmp_path):
    home = tmp_path / "my cat #1 ?x %20"
    assert make_url(resolve(home).db_url).database == str(home / "catalog.db")
    assert invoke(home, "db", "upgrade").exit_code == 0
    assert list(tmp_path.iterdir()) == [home] and (home / "catalog.db").is_file()
    assert "indexed 0 publications" in invoke(home, "index", "rebuild").stdout
    assert "publications: 0" in invoke(home, "stats").stdout
    count = invoke(home, "sql", "SELECT count(*) AS n FROM publications", "--json")
    assert json.loads(count.stdout) == [{"n": 0}]
    assert "exported 0 publications" in invoke(home, "export").stderr
    assert json.loads(invoke(home, "runs", "--json").stdout) == []
    assert json.loads(invoke(home, "changes", "--json").stdout) == []
    search = invoke(home, "search", "alliances")
    assert search.exit_code == 0 and search.stderr == "no matches\n"
    missing = invoke(home, "show", "1")
    assert missing.exit_code == 1 and "no publication '1'" in missing.stderr
    assert list(tmp_path.iterdir()) == [home]


def test_a_file_that_is_not_a_catalog_is_one_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.db").write_text("not a database\n")
    result = invoke(home, "stats")
    assert result.exit_code == 1
    assert _one_error_line(result.stderr) == (
        f"Error: cannot read the catalog at {home / 'catalog.db'}: file is not a database"
    )
    assert sorted(p.name for p in home.iterdir()) == ["catalog.db"]
