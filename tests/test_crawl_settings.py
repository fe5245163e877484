"""One settings path: `catalog crawl` and `scrapy crawl` (Scrapyd's way in) read the same
catalog.toml and CATALOG_* variables, through one builder, and refuse the same bad values.

The end-to-end tests run both entry points in subprocesses against a local site and compare
what the site's server saw (User-Agent, retries, listing pages) and what Scrapy logged (its
overridden settings); the rest call the builder in-process.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from scrapy.settings import Settings

from catalog.errors import ConfigError
from crawler.environment import (
    DEFAULT_CONTACT,
    ENVIRONMENT,
    environment_table,
    read_environment,
    user_agent,
)
from crawler.run import crawl_settings
from crawler.settings_builder import PRIORITY_COMMAND_LINE, build_settings
from tests.conftest import REPO, Site, catalog_command, clean_env, db_rows, run_catalog

TOPIC = "regional-security"  # the long site's ten-page topic
FAILING_PAGE = "/pubs/research_reports/RRA2000-1.html"  # a publication on its first page
SHARED_TOML = """\
topics = []

[crawl]
contact = "mailto:same@example.org"
delay = 0.05
retries = 1
max_listing_pages = 3
"""
COMPARED = ("USER_AGENT", "DOWNLOAD_DELAY", "RETRY_TIMES", "CATALOG_MAX_LISTING_PAGES")


def home_with(tmp_path: Path, name: str, toml: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "catalog.toml").write_text(toml)
    return home


def catalog_crawl(home: Path, site: Site, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        catalog_command(home, "crawl", "--start-url", site.topic_url(TOPIC), *args),
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(**env),
        cwd=REPO,
    )


def scrapy_crawl(home: Path, site: Site, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "rand_topic"]
        + ["-a", f"start_url={site.topic_url(TOPIC)}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(CATALOG_HOME=str(home), **env),
        cwd=REPO,
    )


# Each way in, as a user runs it: (home, site, *args, **env) -> the finished process.
ENTRY_POINTS: dict[str, Callable[..., subprocess.CompletedProcess]] = {
    "catalog-crawl": catalog_crawl,
    "scrapy-crawl": scrapy_crawl,
}


def logged_settings(text: str) -> dict:
    """The settings a crawl logged: Scrapy's overridden ones and the catalog's own."""
    found = {}
    for title in ("Overridden settings", "Catalog settings"):
        block = re.search(rf"{title}:\n(\{{.*?\}})\n", text, re.S)
        assert block, (title, text[-2000:])
        found.update(ast.literal_eval(block.group(1)))
    return found


def what_the_server_saw(site: Site) -> dict:
    requests = [(path, headers) for path, headers in site.server.requests if path != "/robots.txt"]
    return {
        "user_agents": {headers.get("User-Agent") for _, headers in requests},
        "listing_pages": len([p for p, _ in requests if p.startswith(f"/topics/{TOPIC}")]),
        "attempts_at_the_failing_page": [p for p, _ in requests].count(FAILING_PAGE),
    }


def test_both_entry_points_crawl_with_the_same_settings(long_site: Site, tmp_path):
    """The same catalog.toml gives `catalog crawl` and `scrapy crawl` the same User-Agent,
    delay, retries and listing-page cap: as the server saw them and as Scrapy logged them."""
    (long_site.root / "_status.json").write_text(json.dumps({FAILING_PAGE: 503}))
    seen, logged = {}, {}
    for name, crawl in ENTRY_POINTS.items():
        home = home_with(tmp_path, name, SHARED_TOML)
        long_site.server.requests.clear()
        result = crawl(home, long_site)
        # The ten-page listing reaches the cap of three: the run fails, and says why.
        assert result.returncode == 1, (name, result.stderr[-2000:])
        [(status, error)] = db_rows(home, "SELECT status, error FROM crawl_runs")
        assert status == "failed"
        assert f"stopped after 3 listing pages of {TOPIC}" in error, (name, error)
        seen[name] = what_the_server_saw(long_site)
        log = (home / "crawl.log").read_text() if name == "catalog-crawl" else result.stderr
        logged[name] = {key: logged_settings(log).get(key) for key in COMPARED}
    assert (
        seen["catalog-crawl"]
        == seen["scrapy-crawl"]
        == {
            "user_agents": {user_agent("mailto:same@example.org")},
            "listing_pages": 3,
            "attempts_at_the_failing_page": 2,  # the first try and one retry
        }
    )
    assert (
        logged["catalog-crawl"]
        == logged["scrapy-crawl"]
        == {
            "USER_AGENT": user_agent("mailto:same@example.org"),
            "DOWNLOAD_DELAY": 0.05,
            "RETRY_TIMES": 1,
            "CATALOG_MAX_LISTING_PAGES": 3,
        }
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_details_per_run_from_the_environment_is_honoured(long_site: Site, tmp_path, entry):
    """CATALOG_DETAILS_PER_RUN=7 was ignored; now both ways in read at most 7 unread pages."""
    home = home_with(tmp_path, "home", "topics = []\n")
    crawl = ENTRY_POINTS[entry]
    no_details = ["--no-details"] if entry == "catalog-crawl" else ["-a", "details=0"]
    listings = crawl(home, long_site, *no_details)
    assert listings.returncode == 0, listings.stderr[-2000:]
    assert db_rows(home, "SELECT count(*) FROM publications WHERE details_fetched_at IS NULL") == [
        (50,)
    ]
    long_site.server.requests.clear()
    result = crawl(home, long_site, CATALOG_DETAILS_PER_RUN="7")
    assert result.returncode == 0, result.stderr[-2000:]
    publication_pages = [p for p in long_site.server.paths() if not p.startswith("/topics/")]
    assert len([p for p in publication_pages if p != "/robots.txt"]) == 7
    assert db_rows(home, "SELECT details_fetched FROM crawl_runs ORDER BY id DESC LIMIT 1") == [
        (7,)
    ]


# --- refusals ---------------------------------------------------------------------------------

UNKNOWN = [
    ('topics = []\n[serch]\nengine = "tantivy"\n', "catalog.toml:2: unknown table 'serch'"),
    ("topics = []\n[crawl]\ntimout = 5\n", "catalog.toml:3: unknown [crawl] setting 'timout'"),
    (
        "topics = []\n[crawl]\nmax_pages = 4\nmax_listing_pages = 4\n",
        "[crawl] sets both max_pages and max_listing_pages",
    ),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("toml", "message"), UNKNOWN, ids=["table", "key", "both-names"])
def test_unknown_tables_and_keys_are_refused_by_every_entry_point(
    long_site: Site, tmp_path, entry, toml, message
):
    home = home_with(tmp_path, "home", toml)
    result = ENTRY_POINTS[entry](home, long_site)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    if entry == "catalog-crawl":
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert long_site.server.paths() == []  # nothing was fetched
    assert sorted(p.name for p in home.iterdir()) == ["catalog.toml"]  # nor created


def test_search_refuses_an_unknown_table_too(tmp_path):
    """`[serch]` was read as nothing by `catalog search`: the engine chosen there was ignored."""
    home = home_with(tmp_path, "home", 'topics = []\n[serch]\nengine = "tantivy"\n')
    assert run_catalog(home, "db", "upgrade").returncode == 0  # a catalog to search
    result = run_catalog(home, "search", "alliances")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {home / 'catalog.toml'}:2: unknown table 'serch' (did you mean 'search'?)"
    ]


BAD_VALUES = [
    ({"CATALOG_BATCH_SIZE": "0"}, "CATALOG_BATCH_SIZE='0' is out of range"),
    ({"CATALOG_DETAILS_PER_RUN": "many"}, "CATALOG_DETAILS_PER_RUN='many' is not a whole number"),
    ({"CATALOG_BATCH_SECONDS": "nan"}, "CATALOG_BATCH_SECONDS='nan' is not a finite number"),
    ({"CATALOG_HOST_MAP": "localhost"}, "CATALOG_HOST_MAP='localhost' is not a JSON object"),
    ({"CATALOG_CONTACT": "me\x7fyou"}, "CATALOG_CONTACT='me\\x7fyou' has control characters"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("env", "message"), BAD_VALUES, ids=[next(iter(env)) for env, _ in BAD_VALUES]
)
def test_a_bad_variable_is_one_line_and_exit_2(long_site: Site, tmp_path, entry, env, message):
    home = home_with(tmp_path, "home", "topics = []\n")
    result = ENTRY_POINTS[entry](home, long_site, **env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    if entry == "catalog-crawl":
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert long_site.server.paths() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "CATALOG_BATCH_SIZE=lots"], "setting CATALOG_BATCH_SIZE='lots' is not a whole"),
        (["-s", "CATALOG_MAX_LISTING_PAGES=0"], "CATALOG_MAX_LISTING_PAGES='0' is out of range"),
        (["-a", "pages=0"], "-a pages must be a whole number of listing pages, not '0'"),
    ],
)
def test_scrapy_crawl_checks_its_own_command_line_too(long_site: Site, tmp_path, args, message):
    result = scrapy_crawl(tmp_path / "home", long_site, *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert long_site.server.paths() == []


# --- old names ----------------------------------------------------------------------------------


def endless(site: Site) -> None:
    """Pages 2, 3, ... of the topic, each linking one page further, forever."""
    topics = site.root / "topics"
    html = (topics / f"{TOPIC}--page-9.html").read_text()
    html = html.replace('?page=10" rel="next"', '?page=@NEXT@" rel="next"')
    html = html.replace("/pubs/research_reports/", "/pubs/research_reports/p@PAGE@-")
    for number in range(2, 11):
        (topics / f"{TOPIC}--page-{number}.html").unlink()
    (topics / f"{TOPIC}--page-any.html").write_text(html)


@pytest.mark.parametrize(
    ("toml", "args", "env", "warning"),
    [
        (
            "topics = []\n[crawl]\nmax_pages = 4\n",
            [],
            {},
            "catalog.toml:3: max_pages is deprecated: use max_listing_pages",
        ),
        (
            "topics = []\n",
            [],
            {"CATALOG_MAX_PAGES": "4"},
            "CATALOG_MAX_PAGES is deprecated: use CATALOG_MAX_LISTING_PAGES",
        ),
    ],
    ids=["catalog.toml", "environment"],
)
def test_the_old_name_of_the_page_cap_still_works_with_a_warning(
    long_site: Site, tmp_path, toml, args, env, warning
):
    endless(long_site)
    home = home_with(tmp_path, "home", toml)
    result = catalog_crawl(home, long_site, "--no-details", *args, **env)
    assert result.returncode == 1, result.stderr
    [(error,)] = db_rows(home, "SELECT error FROM crawl_runs")
    assert error == f"stopped after 4 listing pages of {TOPIC}: pagination never ended"
    [line] = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert line.endswith(f"{warning} (the old name still works for now)")
    quiet = catalog_crawl(
        home_with(tmp_path, "quiet", toml), long_site, "--no-details", "--quiet", *args, **env
    )
    assert quiet.returncode == 1 and "deprecated" not in quiet.stderr  # cron mails failures only
    assert "deprecated" in (tmp_path / "quiet" / "crawl.log").read_text()


def test_max_pages_option_and_argument_still_make_a_short_walk(long_site: Site, tmp_path):
    old = catalog_crawl(tmp_path / "a", long_site, "--no-details", "--max-pages", "2")
    assert old.returncode == 0, old.stderr
    assert "pages 2, items 10" in old.stdout
    assert old.stderr.splitlines()[0] == (
        "--max-pages is deprecated: use --pages (the old name still works for now)"
    )
    both = catalog_crawl(tmp_path / "b", long_site, "--pages", "2", "--max-pages", "2")
    assert both.returncode == 2 and "choose one of --pages and --max-pages" in both.stderr
    scrapy = scrapy_crawl(tmp_path / "c", long_site, "-a", "details=0", "-a", "max_pages=2")
    assert scrapy.returncode == 0, scrapy.stderr[-2000:]
    assert "spider argument max_pages is deprecated: use pages" in scrapy.stderr
    assert db_rows(tmp_path / "c", "SELECT pages_fetched, items_seen FROM crawl_runs") == [(2, 10)]


# --- the builder ------------------------------------------------------------------------------


def built(home: Path, environ: dict[str, str], **command_line) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update({"CATALOG_HOME": str(home), **command_line}, priority=PRIORITY_COMMAND_LINE)
    build_settings(settings, environ=environ)
    return settings


def test_each_layer_wins_over_the_one_before(tmp_path):
    """Defaults, then catalog.toml, then the environment, then the command line."""
    home = home_with(tmp_path, "home", "topics = []\n[crawl]\nretries = 5\ncontact = 'file'\n")
    assert built(tmp_path / "none", {}).getint("RETRY_TIMES") == 3  # the default
    assert built(home, {}).getint("RETRY_TIMES") == 5
    environ = {"CATALOG_CONTACT": "env", "CATALOG_BATCH_SIZE": "7"}
    settings = built(home, environ)
    assert settings["USER_AGENT"] == user_agent("env")
    assert settings.getint("CATALOG_BATCH_SIZE") == 7
    settings = built(home, environ, CATALOG_BATCH_SIZE="9", USER_AGENT="mine")
    assert settings.getint("CATALOG_BATCH_SIZE") == 9 and settings["USER_AGENT"] == "mine"


def test_the_environment_is_read_from_the_table_only():
    """Every CATALOG_* variable a crawl reads is a row of the one table; no module of the
    crawler reads the environment but the builder."""
    names = {variable.name for variable in ENVIRONMENT}
    assert {
        "CATALOG_HOME",
        "CATALOG_DB",
        "CATALOG_BATCH_SIZE",
        "CATALOG_BATCH_SECONDS",
        "CATALOG_INDEX_EVERY",
        "CATALOG_DETAILS_PER_RUN",
        "CATALOG_CONTACT",
        "CATALOG_MAX_LISTING_PAGES",
        "CATALOG_MAX_PAGES",
        "CATALOG_HOST_MAP",
    } == names
    for path in (REPO / "crawler").rglob("*.py"):
        if path.name == "environment.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path
    environment = read_environment({"CATALOG_DETAILS_PER_RUN": " 7 ", "CATALOG_DB": ""})
    assert environment.settings() == {"CATALOG_DETAILS_PER_RUN": 7}  # empty is unset


def test_the_settings_docs_print_the_environment_table():
    assert environment_table() in (REPO / "docs" / "settings.md").read_text()


def test_the_table_states_the_defaults_crawler_settings_has():
    from crawler import settings as defaults

    for variable in ENVIRONMENT:
        value = getattr(defaults, variable.setting, None)
        if isinstance(value, (int, float)) and variable.replaced_by is None:
            assert float(variable.default) == value, variable.name
    assert user_agent(DEFAULT_CONTACT) == defaults.USER_AGENT


def test_a_bad_variable_raises_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"CATALOG_INDEX_EVERY='-1' is out of range") as bad:
        read_environment({"CATALOG_INDEX_EVERY": "-1"})
    assert bad.value.exit_code == 2


def test_catalog_crawl_settings_are_the_builders(tmp_path):
    """crawl_settings is the builder with catalog crawl's command line on top: the host map
    of the demo, the home, and no logging of Scrapy's own (run_crawl logs)."""
    from catalog.config import resolve

    settings = crawl_settings(
        resolve(tmp_path),
        start_urls=["http://catalog-demo.invalid/topics/x.html"],
        host_map={"catalog-demo.invalid": "http://127.0.0.1:9"},
        environ={"CATALOG_DETAILS_PER_RUN": "3"},
    )
    assert settings.getint("CATALOG_DETAILS_PER_RUN") == 3
    assert settings.getfloat("DOWNLOAD_DELAY") == 0  # the mapped host is this machine
    assert settings["CATALOG_HOME"] == str(tmp_path.resolve())
