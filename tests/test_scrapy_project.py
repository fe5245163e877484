"""`scrapy crawl rand_topic` from the project root writes into the same catalog, under the lock."""

from __future__ import annotations

import ast
import configparser
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from catalog.config import resolve
from catalog.lock import crawl_lock
from crawler.middlewares import retry_delay
from crawler.run import crawl_settings
from tests.conftest import REPO, Site, clean_env, invoke

# No -s DOWNLOAD_DELAY=0: `scrapy crawl` of 127.0.0.1 drops the delay as `catalog crawl` does.
LOG_INFO = ["-s", "LOG_LEVEL=INFO"]
# What the local-site rule sets that Scrapy logs (its own RETRY_BACKOFF_BASE it does not).
LOCAL_SITE_SETTINGS = ("DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED", "CONCURRENT_REQUESTS_PER_DOMAIN")


def scrapy_crawl(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "rand_topic", *args, *LOG_INFO],
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


@pytest.mark.slow  # scrapy crawl in a process
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
    assert result.returncode == 3  # as catalog crawl's: another crawl holds the lock
    assert "another crawl is running" in result.stderr
    assert "catalog_locked" in result.stderr
    assert not (home / "catalog.db").exists()


def test_polite_defaults_for_rand_and_none_for_local_pages(tmp_path):
    config = resolve(tmp_path)
    rand = crawl_settings(config, start_urls=["https://www.rand.org/topics/x.html"], environ={})
    assert rand.getbool("ROBOTSTXT_OBEY") and rand.getbool("AUTOTHROTTLE_ENABLED")
    assert rand.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert rand.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert rand.getint("DOWNLOAD_MAXSIZE") > 0 and 429 in rand.getlist("RETRY_HTTP_CODES")
    assert "thinktank-catalog" in rand["USER_AGENT"] and "+http" in rand["USER_AGENT"]
    (tmp_path / "catalog.toml").write_text(
        'topics = []\n[crawl]\ndelay = 0.1\ncontact = "mailto:a@b.org"\n'
    )
    hurried = crawl_settings(config, start_urls=["https://www.rand.org/topics/x.html"], environ={})
    assert hurried.getfloat("DOWNLOAD_DELAY") == 1.0  # never under a second for rand.org
    assert "mailto:a@b.org" in hurried["USER_AGENT"]
    local = crawl_settings(config, start_urls=["http://127.0.0.1:8000/topics/x.html"], environ={})
    assert local.getfloat("DOWNLOAD_DELAY") == 0.1  # catalog.toml's own delay wins the rule
    (tmp_path / "catalog.toml").write_text("topics = []\n")
    local = crawl_settings(config, start_urls=["http://127.0.0.1:8000/topics/x.html"], environ={})
    assert local.getfloat("DOWNLOAD_DELAY") == 0 and not local.getbool("AUTOTHROTTLE_ENABLED")


def overridden_settings(log: str) -> dict:
    """The settings Scrapy logs as differing from its defaults, with the defaults filled in."""
    from scrapy.settings import default_settings

    found = re.search(r"Overridden settings:\n(\{.*?\})\n", log, re.S)
    assert found, log[-2000:]
    overridden = ast.literal_eval(found.group(1))
    return {
        name: overridden.get(name, getattr(default_settings, name, None))
        for name in (*LOCAL_SITE_SETTINGS,)
    }


@pytest.mark.slow  # two crawls
def test_scrapy_crawl_of_a_local_site_has_the_delay_catalog_crawl_has(demo_site: Site, tmp_path):
    """`scrapy crawl` of 127.0.0.1 kept rand.org's politeness (a second between requests,
    AutoThrottle): 16 times slower than `catalog crawl` of the same site."""
    url = demo_site.topic_url()
    result = scrapy_crawl(tmp_path / "home", "-a", f"start_url={url}")
    assert result.returncode == 0, result.stderr[-2000:]
    catalog = crawl_settings(resolve(tmp_path / "other"), start_urls=[url])
    expected = {name: catalog[name] for name in LOCAL_SITE_SETTINGS}
    assert expected["DOWNLOAD_DELAY"] == 0 and not expected["AUTOTHROTTLE_ENABLED"]
    assert overridden_settings(result.stderr) == expected
    # -s still wins over the rule, as it wins over every project setting.
    slow = scrapy_crawl(
        tmp_path / "home",
        "-a",
        f"start_url={url}",
        "-s",
        "DOWNLOAD_DELAY=0.01",
        "-s",
        "CLOSESPIDER_PAGECOUNT=1",
    )
    assert float(overridden_settings(slow.stderr)["DOWNLOAD_DELAY"]) == 0.01


def test_the_add_on_applies_the_rule_only_to_local_sites(tmp_path, monkeypatch):
    """`scrapy crawl` gets the local-site rule from the add-on, when the crawler is configured
    (after the spider is made, before anything reads the settings): the same as catalog crawl."""
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from crawler.settings_builder import CatalogSettings
    from crawler.spiders.rand_topic import RandTopicSpider

    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "home"))
    for url, delay in (
        ("http://127.0.0.1:8000/topics/x.html", 0),
        ("http://localhost/topics/x.html", 0),
        ("https://www.rand.org/topics/x.html", 1.0),
    ):
        settings = Settings()
        settings.setmodule("crawler.settings", priority="project")
        crawler = Crawler(RandTopicSpider, settings)
        crawler.spider = RandTopicSpider.from_crawler(crawler, start_url=url)
        CatalogSettings.from_crawler(crawler).update_settings(crawler.settings)
        catalog = crawl_settings(resolve(tmp_path / "home"), start_urls=[url])
        for name in (*LOCAL_SITE_SETTINGS, "RETRY_BACKOFF_BASE"):
            assert crawler.settings[name] == catalog[name], (url, name)
        assert crawler.settings.getfloat("DOWNLOAD_DELAY") == delay, url


def test_retry_delay():
    assert [retry_delay(n, base=2.0, cap=60.0) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(0, "7") == 7.0
    assert retry_delay(3, "0") == 0.0
    assert retry_delay(0, "Sun, 22 Nov 2026 10:00:30 GMT", now=1795341600.0) == 30.0
    assert retry_delay(0, "86400") is None  # come back tomorrow: give up instead of waiting


@pytest.mark.slow  # builds an egg
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
        "catalog/store/writer.py",
        "catalog/index/tantivy_engine.py",
        "migrations/env.py",
        "migrations/versions/0001_initial_schema.py",
    ):
        assert needed in names, f"the egg lacks {needed}"
    entry_points = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "settings = crawler.settings" in entry_points
