"""A full disk during a crawl: one line naming the disk, the run closed `failed`, nothing lost.

The real thing where the machine allows it: the home on a small tmpfs (mounting needs root),
filled to a few hundred kilobytes before a crawl that writes more. Everywhere, a crawl whose
second batch fails with ENOSPC (injected at the store's write) must say the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Site, catalog_command, clean_env, db_rows, run_catalog

# Crawls onto a disk that fills up.
pytestmark = pytest.mark.slow

TOPIC = "regional-security"
TOPIC_ITEMS = 50
SMALL_WRITES = {"CATALOG_BATCH_SIZE": "5", "CATALOG_INDEX_EVERY": "5"}  # the disk fills mid-crawl


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of this test's own; skips where mounting is not allowed (not root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; test_injected_enospc covers the rest")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave_kib: int) -> Path:
    """Write a filler file so that only ``leave_kib`` KiB stay free on ``disk``."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave_kib * 1024))
    return filler


def crawl(home: Path, site: Site, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        catalog_command(home, "crawl", "--start-url", site.topic_url(TOPIC), *args),
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(**env),
        cwd=REPO,
    )


def assert_one_line_naming_the_disk(result: subprocess.CompletedProcess, disk: Path) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr  # --quiet: the summary, then the one cause
    assert lines[-1].count(f"no space left on the disk mounted at {disk} ") == 1, lines[-1]
    return lines[-1]


@pytest.mark.parametrize("leave_kib", [128, 512])
def test_disk_full_mid_crawl_is_one_line_and_the_run_is_closed(
    long_site: Site, small_disk: Path, leave_kib: int
):
    home = small_disk / "home"
    first = crawl(home, long_site, "--quiet", "--pages", "2")
    assert first.returncode == 0, first.stderr
    filler = fill(small_disk, leave_kib)

    result = crawl(home, long_site, "--quiet", **SMALL_WRITES)
    assert_one_line_naming_the_disk(result, small_disk)
    filler.unlink()  # room for our own reading (SQLite's shared-memory file)
    [(status, error)] = db_rows(home, "SELECT status, error FROM crawl_runs WHERE id = 2")
    assert status == "failed"  # closed, not left running for the next command to guess at
    assert error.count("no space left on the disk mounted at") == 1 and "\n" not in error
    # Nothing stored is lost: every publication a run reported as new is there.
    [(stored,)] = db_rows(home, "SELECT count(*) FROM publications")
    assert stored == db_rows(home, "SELECT sum(items_new) FROM crawl_runs")[0][0] >= 10

    again = crawl(home, long_site, "--quiet")
    assert again.returncode == 0, again.stderr
    assert db_rows(home, "SELECT count(*) FROM publications") == [(TOPIC_ITEMS,)]
    check = run_catalog(home, "index", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_disk_full_before_a_crawl_starts_is_one_line(long_site: Site, small_disk: Path):
    home = small_disk / "home"
    assert crawl(home, long_site, "--quiet", "--pages", "2").returncode == 0
    filler = fill(small_disk, 0)
    result = crawl(home, long_site, "--quiet")
    line = assert_one_line_naming_the_disk(result, small_disk)
    assert "the crawl cannot start" in line
    filler.unlink()  # room for our own reading (SQLite's shared-memory file)
    assert db_rows(home, "SELECT count(*), min(status) FROM crawl_runs") == [(1, "succeeded")]


# Runs the command line in its own process with the store's second write failing as a full
# disk makes it fail: the write path, not the filesystem, is what is simulated.
INJECT_ENOSPC = """
import errno, sys
from catalog import store
from catalog.cli import cli

write_batch = store.CatalogStore.write_batch
calls = []

def full_on_the_second_batch(self, records, run_id):
    calls.append(run_id)
    if len(calls) >= 2:
        raise OSError(errno.ENOSPC, "No space left on device")
    return write_batch(self, records, run_id)

store.CatalogStore.write_batch = full_on_the_second_batch
sys.argv[0] = "catalog"
cli()
"""


def test_injected_enospc_at_the_write_path(long_site: Site, tmp_path: Path):
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-c", INJECT_ENOSPC, "--home", str(home), "crawl", "--quiet"]
        + ["--start-url", long_site.topic_url(TOPIC)],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(**SMALL_WRITES),
        cwd=REPO,
    )
    from catalog.diskspace import mount_point

    assert_one_line_naming_the_disk(result, mount_point(home))
    [(status, stored)] = db_rows(home, "SELECT status, items_new FROM crawl_runs")
    assert status == "failed" and stored > 0  # the first batch
    assert db_rows(home, "SELECT count(*) FROM publications") == [(stored,)]
