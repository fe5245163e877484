"""`scrapy crawl rand_topic` from the project root writes into the same catalog, under the lock."""

from __future__ import annotations

import configparser
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from catalog.config import CrawlOptions, resolve
from catalog.crawl import crawl_settings
from catalog.lock import crawl_lock
from crawler.middlewares import retry_delay
from tests.conftest import REPO, Site, clean_env, invoke

LOCAL_FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=INFO"]


def scrapy_crawl(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "rand_topic", *args, *LOCAL_FAST],
        cwd=REPO,
        env=clean_env(CATALOG_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_scrapy_cfg_points_at_the_project_and_a_deploy_target():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "scrapy.cfg")
    assert cfg["settings"]["default"] == "crawler.settings"
    assert cfg["deploy"]["project"] and cfg["deploy"]["url"].startswith("http")


def test_scrapy_crawl_writes_the_same_catalog(demo_site: Site, tmp_path):
    home = tmp_path / "home"
    result = scrapy_crawl(home, "-a", f"start_url={demo_site.topic_url()}")
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(home / "catalog.db") as conn:
        assert conn.execute("SELECT count(*) FROM publications").fetchone() == (42,)
        assert conn.execute("SELECT status, spider FROM crawl_runs").fetchall() == [
            ("succeeded", "rand_topic")
        ]
    found = invoke(home, "search", "bioweapons", "--json")
    assert "Bioweapons" in found.stdout
    full = scrapy_crawl(home, "-a", f"start_url={demo_site.topic_url()}", "-a", "full=1")
    assert full.returncode == 0
    runs = invoke(home, "runs", "--json").stdout
    assert '"full": true' in runs


def test_scrapy_crawl_respects_the_lock(demo_site: Site, tmp_path):
    home = tmp_path / "home"
    with crawl_lock(home):
        result = scrapy_crawl(home, "-a", f"start_url={demo_site.topic_url()}")
    assert "another crawl is running" in result.stderr
    assert "catalog_locked" in result.stderr
    assert not (home / "catalog.db").exists()


def test_polite_defaults_for_rand_and_none_for_local_pages(tmp_path):
    config = resolve(tmp_path)
    rand = crawl_settings(config, start_urls=["https://www.rand.org/topics/x.html"])
    assert rand.getbool("ROBOTSTXT_OBEY") and rand.getbool("AUTOTHROTTLE_ENABLED")
    assert rand.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert rand.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert rand.getint("DOWNLOAD_MAXSIZE") > 0 and 429 in rand.getlist("RETRY_HTTP_CODES")
    assert "thinktank-catalog" in rand["USER_AGENT"] and "+http" in rand["USER_AGENT"]
    hurried = crawl_settings(
        config,
        start_urls=["https://www.rand.org/topics/x.html"],
        options=CrawlOptions(delay=0.1, contact="mailto:a@b.org"),
    )
    assert hurried.getfloat("DOWNLOAD_DELAY") == 1.0  # never under a second for rand.org
    assert "mailto:a@b.org" in hurried["USER_AGENT"]
    local = crawl_settings(config, start_urls=["http://127.0.0.1:8000/topics/x.html"])
    assert local.getfloat("DOWNLOAD_DELAY") == 0 and not local.getbool("AUTOTHROTTLE_ENABLED")


def test_retry_delay():
    assert [retry_delay(n, base=2.0, cap=60.0) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(0, "7") == 7.0
    assert retry_delay(3, "0") == 0.0
    assert retry_delay(0, "Sun, 22 Nov 2026 10:00:30 GMT", now=1795341600.0) == 30.0
    assert retry_delay(0, "86400") is None  # come back tomorrow: give up instead of waiting


def test_scrapyd_deploy_builds_an_egg_with_everything_a_crawl_needs(tmp_path):
    deploy = shutil.which("scrapyd-deploy", path=str(Path(sys.executable).parent))
    if deploy is None:
        pytest.skip("scrapyd-client is not installed (pip install -e '.[test]')")
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "build", "__pycache__", ".pytest_cache", ".ruff_cache"
        ),
    )
    egg = tmp_path / "project.egg"
    result = subprocess.run(
        [deploy, f"--build-egg={egg}"], cwd=checkout, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = set(zipfile.ZipFile(egg).namelist())
    for needed in (
        "crawler/settings.py",
        "crawler/spiders/rand_topic.py",
        "catalog/store.py",
        "migrations/env.py",
        "migrations/versions/0001_initial_schema.py",
    ):
        assert needed in names, f"the egg lacks {needed}"
    entry_points = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "settings = crawler.settings" in entry_points
