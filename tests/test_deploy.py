"""The scheduling files the docs show are the ones in deploy/, and they work as written."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Site, clean_env

DEPLOY = REPO / "deploy"
# The pages that show the files: cron and the crawl timer, and the web service.
DOCS = "\n".join(
    (REPO / "docs" / name).read_text(encoding="utf-8") for name in ("scheduling.md", "web.md")
)
TOPIC = "regional-security"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def cron_entry() -> tuple[list[str], str]:
    lines = [
        line
        for line in (DEPLOY / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    return fields[:5], fields[5]


def fake_home(tmp_path: Path, site: Site) -> Path:
    """A $HOME laid out as docs/scheduling.md says: the checkout's venv and a catalog home."""
    home = tmp_path / "user"
    bin_dir = home / "thinktank-catalog" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    catalog = shutil.which("catalog", path=str(Path(sys.executable).parent))
    assert catalog, "the catalog command is not installed beside this Python"
    (bin_dir / "catalog").symlink_to(catalog)
    (home / "catalog").mkdir()
    (home / "catalog" / "catalog.toml").write_text(f'topics = ["{site.topic_url(TOPIC)}"]\n')
    return home


def publications(home: Path) -> int:
    with sqlite3.connect(home / "catalog" / "catalog.db") as conn:
        return conn.execute("SELECT count(*) FROM publications").fetchone()[0]


def test_docs_show_the_deploy_files_verbatim():
    for path in (DEPLOY / "crontab", *sorted((DEPLOY / "systemd").iterdir())):
        assert path.read_text().strip() in DOCS, f"docs do not show {path.name} as written"


def test_cron_schedule_is_valid():
    schedule, _ = cron_entry()
    minute, hour, dom, month, dow = schedule
    assert minute.isdigit() and 0 <= int(minute) < 60
    assert hour == "*/6" and (dom, month, dow) == ("*", "*", "*")


def test_cron_command_runs_as_written_against_a_local_site(long_site: Site, tmp_path):
    _, command = cron_entry()
    home = fake_home(tmp_path, long_site)
    env = clean_env(HOME=str(home), PATH=os.defpath)  # cron's spare environment
    first = subprocess.run(
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=180
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == ""  # --quiet: cron mails nothing
    assert publications(home) == 50
    again = subprocess.run(
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0 and publications(home) == 50


def test_systemd_units(long_site: Site, tmp_path):
    timer = unit(DEPLOY / "systemd" / "catalog-crawl.timer")
    service = unit(DEPLOY / "systemd" / "catalog-crawl.service")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 00/6:17:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["SuccessExitStatus"] == "3"
    analyze = shutil.which("systemd-analyze")
    if analyze:
        check = subprocess.run(
            [analyze, "calendar", timer["Timer"]["OnCalendar"]], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr

    home = fake_home(tmp_path, long_site)
    argv = shlex.split(service["Service"]["ExecStart"].replace("%h", str(home)))
    result = subprocess.run(
        argv, env=clean_env(HOME=str(home)), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert publications(home) == 50


@pytest.mark.parametrize(
    "name", ["catalog-crawl.service", "catalog-crawl.timer", "catalog-web.service"]
)
def test_unit_files_parse(name):
    assert unit(DEPLOY / "systemd" / name).sections()
