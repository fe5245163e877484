"""Every failure is loud, short and counted: exit 1, a `failed` run with a one-line reason,
at most a few lines on stderr and never a traceback there.

Each test runs the real command line (or `scrapy crawl`) in a subprocess against a local site
on 127.0.0.1 whose `_status.json` makes it misbehave in one way.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog import cli as cli_module
from catalog import queries as catalog_queries
from catalog.config import resolve
from crawler.middlewares import retry_delay
from crawler.run import Progress, crawl_settings, progress_line, stderr_handler
from crawler.spiders.rand_topic import RandTopicSpider
from tests.conftest import REPO, Site, catalog_command, clean_env, db_rows

TOPIC = "regional-security"
PAGE_2 = f"/topics/{TOPIC}.html?page=2"


def crawl(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`catalog crawl ARGS` in its own process, with extra environment variables."""
    return subprocess.run(
        catalog_command(home, "crawl", *args),
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(**env),
        cwd=REPO,
    )


def no_retries(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "catalog.toml").write_text("topics = []\n[crawl]\nretries = 0\n")
    return home


def assert_failed(result: subprocess.CompletedProcess, home: Path, *reasons: str) -> str:
    """The run failed, said so in one short block, and journalled a one-line reason."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "succeeded" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3, result.stderr
    [(status, error)] = db_rows(
        home, "SELECT status, error FROM crawl_runs ORDER BY id DESC LIMIT 1"
    )
    assert status == "failed"
    assert error and "\n" not in error
    for reason in reasons:
        assert reason in error, error
    assert str(home / "crawl.log") in result.stderr
    return error


def write_rules(site: Site, rules: dict) -> None:
    (site.root / "_status.json").write_text(json.dumps(rules))


# --- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules",
    [
        {PAGE_2: {"status": 302, "headers": {"Location": PAGE_2}}},
        {
            PAGE_2: {"status": 301, "headers": {"Location": PAGE_2 + "&x=1"}},
            PAGE_2 + "&x=1": {"status": 302, "headers": {"Location": PAGE_2}},
        },
    ],
    ids=["to-itself", "two-step"],
)
def test_redirect_loop_fails_the_run(long_site: Site, tmp_path, rules):
    write_rules(long_site, rules)
    home = tmp_path / "home"
    result = crawl(home, "--start-url", long_site.topic_url(TOPIC))
    assert_failed(result, home, "redirect loop", "page=2")
    assert db_rows(home, "SELECT count(*) FROM publications") == [(5,)]  # page 1 kept
    assert db_rows(home, "SELECT walk_state FROM topics") == [("partial",)]


def test_endless_redirects_fail_the_run(long_site: Site, tmp_path):
    write_rules(
        long_site,
        {
            f"{PAGE_2}&hop={n}": {"status": 302, "headers": {"Location": f"{PAGE_2}&hop={n + 1}"}}
            for n in range(30)
        }
        | {PAGE_2: {"status": 302, "headers": {"Location": f"{PAGE_2}&hop=0"}}},
    )
    home = tmp_path / "home"
    assert_failed(crawl(home, "--start-url", long_site.topic_url(TOPIC)), home, "redirect")


@pytest.mark.parametrize("path", [f"/topics/{TOPIC}.html", PAGE_2], ids=["page-1", "page-2"])
def test_redirect_off_the_site_fails_the_run(long_site: Site, tmp_path, path):
    elsewhere = long_site.base.replace("127.0.0.1", "localhost") + PAGE_2
    write_rules(long_site, {path: {"status": 302, "headers": {"Location": elsewhere}}})
    home = tmp_path / "home"
    result = crawl(home, "--start-url", long_site.topic_url(TOPIC))
    assert_failed(result, home, "off the site", "localhost")
    assert long_site.server.paths().count(PAGE_2) == (1 if path == PAGE_2 else 0)


def test_a_walk_that_ends_without_reaching_its_end_fails_the_run():
    """Whatever dropped its last request (here: nothing answered), an open walk is a failure."""
    spider = RandTopicSpider(start_url="http://127.0.0.1:9/topics/x.html")
    spider.open_walks.add(spider.start_urls[0])
    spider.spider_idle()
    assert spider.failures == [
        "the walk of http://127.0.0.1:9/topics/x.html ended before its listing did "
        "(a request was dropped; see the log)"
    ]
    spider.spider_idle()
    assert len(spider.failures) == 1


# --- pagination ----------------------------------------------------------------------------


def endless_topic(site: Site) -> None:
    """Pages 2, 3, ... of the topic, each with a "next" link one page further, forever."""
    topics = site.root / "topics"
    html = (topics / f"{TOPIC}--page-9.html").read_text()
    html = html.replace('?page=10" rel="next"', '?page=@NEXT@" rel="next"')
    html = html.replace("/pubs/research_reports/", "/pubs/research_reports/p@PAGE@-")
    for number in range(2, 11):
        (topics / f"{TOPIC}--page-{number}.html").unlink()
    (topics / f"{TOPIC}--page-any.html").write_text(html)


def test_pagination_that_never_ends_stops_at_the_cap_and_fails(long_site: Site, tmp_path):
    endless_topic(long_site)
    home = tmp_path / "home"
    result = crawl(
        home,
        "--no-details",
        "--start-url",
        long_site.topic_url(TOPIC),
        CATALOG_MAX_LISTING_PAGES="6",
    )
    error = assert_failed(result, home)
    assert error == f"stopped after 6 listing pages of {TOPIC}: pagination never ended"
    assert len([p for p in long_site.server.paths() if p.startswith("/topics/")]) == 6
    assert db_rows(home, "SELECT walk_state FROM topics") == [("partial",)]


def test_page_cap_from_catalog_toml(long_site: Site, tmp_path):
    endless_topic(long_site)
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.toml").write_text("topics = []\n[crawl]\nmax_listing_pages = 4\n")
    result = crawl(home, "--no-details", "--start-url", long_site.topic_url(TOPIC))
    error = assert_failed(result, home)
    assert error == f"stopped after 4 listing pages of {TOPIC}: pagination never ended"


def test_pages_is_a_deliberate_short_walk(long_site: Site, tmp_path):
    endless_topic(long_site)
    home = tmp_path / "home"
    result = crawl(home, "--no-details", "--pages", "3", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout and "pages 3," in result.stdout
    assert db_rows(home, "SELECT walk_state FROM topics") == [("partial",)]


@pytest.mark.parametrize("variable", ["CATALOG_MAX_LISTING_PAGES", "CATALOG_MAX_PAGES"])
def test_bad_page_cap_is_a_usage_error(long_site: Site, tmp_path, variable):
    result = crawl(
        tmp_path / "home", "--start-url", long_site.topic_url(TOPIC), **{variable: "lots"}
    )
    assert result.returncode == 2
    assert variable in result.stderr and len(result.stderr.splitlines()) == 1


# --- odd answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_that_is_no_date_uses_the_default_backoff(long_site: Site, tmp_path, status):
    write_rules(
        long_site, {PAGE_2: {"status": status, "times": 1, "headers": {"Retry-After": "soon"}}}
    )
    home = tmp_path / "home"
    result = crawl(home, "--no-details", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 0, result.stderr
    assert "new 50" in result.stdout and "Traceback" not in result.stderr
    assert long_site.server.paths().count(PAGE_2) == 2
    assert "Traceback" not in (home / "crawl.log").read_text()


def test_retry_delay_of_garbage_is_the_default_backoff():
    for garbage in ("soon", "", "  ", "-5", "Sun, 99 Foo", "1e999", "nan", "\x00"):
        assert retry_delay(2, garbage, base=2.0, cap=60.0) == 8.0, garbage
    assert retry_delay(0, "1.5") == 1.5


def test_304_to_a_request_without_validators_is_an_error(long_site: Site, tmp_path):
    write_rules(long_site, {PAGE_2: 304})
    home = tmp_path / "home"
    result = crawl(home, "--start-url", long_site.topic_url(TOPIC))
    assert_failed(result, home, "HTTP 304 to a request without validators", "page=2")
    assert "not modified 0" in result.stdout


# --- unreachable sites ---------------------------------------------------------------------


@pytest.mark.slow  # crawls through retries
@pytest.mark.parametrize(
    ("url", "retries"),
    [
        # 127.0.0.1 retries without backoff: Scrapy's "Gave up retrying" stays in the log
        ("http://127.0.0.1:1/topics/x.html", True),
        ("http://catalog-test.invalid/topics/x.html", False),  # a real host would back off
    ],
    ids=["refused", "dns"],
)
def test_unreachable_site_is_three_lines_at_most(tmp_path, url, retries):
    home = tmp_path / "home" if retries else no_retries(tmp_path / "home")
    result = crawl(home, "--start-url", url)
    assert_failed(result, home, url)
    assert url in result.stderr
    log = (home / "crawl.log").read_text()
    assert url in log
    if retries:
        assert "Gave up retrying" in log and "Gave up retrying" not in result.stderr


@pytest.mark.slow  # crawls through retries
def test_unreachable_site_under_quiet_is_as_short(tmp_path):
    home = no_retries(tmp_path / "home")
    result = crawl(home, "--quiet", "--start-url", "http://127.0.0.1:1/topics/x.html")
    assert_failed(result, home, "127.0.0.1:1")
    assert result.stdout == ""


# --- one cause ------------------------------------------------------------------------------

# The store's second write fails; Scrapy then closes the spider ("catalog_error"), which was
# journalled as a second cause after the real one, and later batches failed again.
FAILING_STORE = (
    "import sys\n"
    "from catalog import store\n"
    "write_batch, calls = store.CatalogStore.write_batch, []\n"
    "def fail_after_one(self, records, run_id):\n"
    "    calls.append(run_id)\n"
    "    if len(calls) >= 2: raise RuntimeError('the table is made of cheese')\n"
    "    return write_batch(self, records, run_id)\n"
    "store.CatalogStore.write_batch = fail_after_one\n"
    "from catalog.cli import cli\n"
    "sys.exit(cli.main(sys.argv[1:], prog_name='catalog'))\n"
)


def test_a_failed_crawl_has_one_cause(long_site: Site, tmp_path):
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-c", FAILING_STORE, "--home", str(home), "crawl"]
        + ["--start-url", long_site.topic_url(TOPIC)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(CATALOG_BATCH_SIZE="5"),
        cwd=REPO,
    )
    cause = "RuntimeError: the table is made of cheese"
    error = assert_failed(result, home, cause)
    assert error == f"storing a batch of 5 records failed: {cause}"
    assert result.stderr.count(cause) == 1  # once: in the closing line
    assert cause in (home / "crawl.log").read_text()  # the log keeps it as it happened


@pytest.mark.slow  # crawls
def test_a_failed_listing_is_said_once_on_stderr(tmp_path):
    home = tmp_path / "home"
    result = subprocess.run(
        catalog_command(home, "crawl", "--start-url", "http://127.0.0.1:9/topics/x.html"),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=REPO,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "Connection refused" in line]
    assert len(lines) == 1 and lines[0].startswith("Error: crawl failed: listing page ")


# --- unexpected errors ---------------------------------------------------------------------


def test_unexpected_error_is_one_line_and_the_traceback_goes_to_the_log(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("the disk is made of cheese")

    monkeypatch.setattr(catalog_queries, "recent_runs", explode, raising=False)
    monkeypatch.setattr(catalog_queries, "crawl_runs", explode, raising=False)
    home = tmp_path / "home"
    assert invoke_catching(home, "db", "upgrade").exit_code == 0  # a catalog to read
    result = invoke_catching(home, "runs")
    log = home / "catalog.log"
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: unexpected RuntimeError: the disk is made of cheese (details in {log})"
    )
    assert "Traceback" in log.read_text() and "cheese" in log.read_text()


def invoke_catching(home: Path, *args: str):
    from click.testing import CliRunner

    return CliRunner().invoke(cli_module.cli, ["--home", str(home), *args])


def test_unexpected_error_in_a_crawl_goes_to_the_crawl_log(long_site: Site, tmp_path):
    """A crash outside Scrapy's callbacks (here: Scrapy itself cannot be set up)."""
    home = tmp_path / "home"
    script = (
        "import sys, crawler.run as c\n"
        "def boom(*a, **k): raise KeyError('no such thing')\n"
        "c.CrawlerProcess = boom\n"
        "from catalog.cli import cli\n"
        "sys.exit(cli.main(sys.argv[1:], prog_name='catalog'))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--home",
            str(home),
            "crawl",
            "--start-url",
            long_site.topic_url(TOPIC),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=REPO,
    )
    assert result.returncode == 1
    log = home / "crawl.log"
    assert result.stderr.strip() == (
        f"Error: unexpected KeyError: 'no such thing' (details in {log})"
    )
    assert "Traceback" in log.read_text()


def test_stderr_handler_never_prints_tracebacks(tmp_path):
    handler = stderr_handler("WARNING")
    try:
        raise ValueError("deep inside")
    except ValueError:
        record = logging.getLogger("crawler.test").makeRecord(
            "crawler.test", logging.ERROR, __file__, 1, "it broke", (), sys.exc_info()
        )
    text = handler.format(record)
    assert "it broke" in text and "Traceback" not in text and "deep inside" not in text
    assert record.exc_info is not None  # the file handler still gets the traceback


# --- scrapy crawl --------------------------------------------------------------------------


def scrapy_crawl(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "rand_topic",
            *args,
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-s",
            "RETRY_BACKOFF_BASE=0",
        ],
        cwd=REPO,
        env=clean_env(CATALOG_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_scrapy_crawl_exits_non_zero_when_the_run_failed(long_site: Site, tmp_path):
    write_rules(long_site, {PAGE_2: 500})
    home = tmp_path / "home"
    result = scrapy_crawl(home, "-a", f"start_url={long_site.topic_url(TOPIC)}")
    assert result.returncode == 1, result.stderr[-2000:]
    assert db_rows(home, "SELECT status FROM crawl_runs") == [("failed",)]
    assert "run failed" in result.stderr


def test_scrapy_feed_holds_only_publication_records(long_site: Site, tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "out.jsonl"
    result = scrapy_crawl(home, "-a", f"start_url={long_site.topic_url(TOPIC)}", "-O", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) >= 50
    assert all(r.get("url") and r.get("title") for r in records)
    assert not [r for r in records if "event" in r or "reason" in r or "etag" in r]
    [(seen,)] = db_rows(home, "SELECT items_seen FROM crawl_runs")
    assert seen == 50  # the catalog still got every record, control items included


def test_remote_control_and_telnet_are_off(tmp_path):
    from scrapy.utils.project import get_project_settings

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        project = get_project_settings()
    finally:
        os.chdir(cwd)
    for settings in (project, crawl_settings(resolve(tmp_path), start_urls=["http://x/y"])):
        assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
        assert settings.getbool("TELNETCONSOLE_ENABLED") is False


# --- encodings -----------------------------------------------------------------------------


def test_undeclared_cp1252_page_is_read_without_mojibake(long_site: Site, tmp_path):
    page = long_site.root / "topics" / f"{TOPIC}.html"
    html = page.read_text(encoding="utf-8").replace('<meta charset="utf-8">\n', "")
    assert "charset" not in html
    title = "Partners and Security in the Baltic, Part 1"
    curly = "\u201cPartners\u201d and the Baltic\u2019s Security \u2014 Part 1"
    assert title in html
    page.write_bytes(html.replace(title, curly).encode("cp1252"))
    write_rules(long_site, {f"/topics/{TOPIC}.html": {"content_type": "text/html"}})
    home = tmp_path / "home"
    result = crawl(home, "--no-details", "--pages", "1", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 0, result.stderr
    assert db_rows(home, "SELECT count(*) FROM publications WHERE title = ?", curly) == [(1,)]


# --- progress ------------------------------------------------------------------------------


def test_progress_line():
    line = progress_line(
        Progress(listing_pages=3, found=42, new=40, changed=1, detail_pages=7, elapsed=65.2)
    )
    assert line == (
        "listing pages 3 | publications 42 found, 40 new, 1 changed | detail pages 7 | 1:05"
    )


def test_progress_shows_on_a_terminal_and_not_under_quiet(long_site: Site, tmp_path):
    pty = pytest.importorskip("pty")
    home = tmp_path / "home"
    output = run_in_pty(
        pty,
        catalog_command(home, "crawl", "--no-details", "--start-url", long_site.topic_url(TOPIC)),
    )
    assert "listing pages " in output and "| detail pages" in output
    assert "succeeded" in output
    quiet = run_in_pty(
        pty,
        catalog_command(
            tmp_path / "quiet",
            "crawl",
            "--quiet",
            "--no-details",
            "--start-url",
            long_site.topic_url(TOPIC),
        ),
    )
    assert quiet.strip() == ""


def run_in_pty(pty, command: list[str]) -> str:
    """Run a command with stdout and stderr on a pseudo-terminal; return what it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.chdir(REPO)
        os.execve(command[0], command, clean_env())
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, b"".join(chunks)[-2000:]
    return b"".join(chunks).decode("utf-8", "replace")


def test_crawl_through_a_pipe_prints_no_progress(long_site: Site, tmp_path):
    result = crawl(tmp_path / "home", "--no-details", "--start-url", long_site.topic_url(TOPIC))
    assert result.returncode == 0
    assert "listing pages" not in result.stderr and "\r" not in result.stderr + result.stdout
