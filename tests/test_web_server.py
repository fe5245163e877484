"""`catalog serve` as people run it: a real process on 127.0.0.1, found by its readiness line.

It serves a catalog it may not write, follows a crawl that changes the catalog under it (on
SQLite and on PostgreSQL, with several workers and several servers on one database), serves
under a proxy's root path, warns before it goes public, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from datetime import datetime

import feedparser
import httpx2 as httpx
import pytest
from lxml import html as lxml_html

from tests.conftest import Catalog, Site, catalog_command, invoke, served
from tests.test_deploy import DEPLOY, fake_home, unit
from tests.test_readonly import _drop_permission_overrides, _snapshot, locked_home, open_home

# Real `catalog serve` processes, crawled into while they serve.
pytestmark = pytest.mark.slow

__all__ = ["locked_home", "open_home"]  # fixtures, used by name
TOPIC = "regional-security"  # the long site's ten-page topic


def hits(server, query: str) -> list[str]:
    answer = server.get("/api/search", params={"q": query, "limit": "100"})
    assert answer.status_code == 200, answer.text
    return [hit["title"] for hit in answer.json()["hits"]]


def test_serve_answers_on_loopback_and_stops_on_sigterm(crawled_home):
    with served(catalog_command(crawled_home, "serve", "--port", "0")) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.get("/").status_code == 200
        assert "alliances" in server.get("/search", params={"q": "alliances"}).text.lower()
        server.process.send_signal(signal.SIGTERM)
        # uvicorn finishes what is in flight, then ends by the signal it was sent (as
        # systemd expects of a service stopped with SIGTERM).
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    log = "".join(server.log)
    assert "Traceback" not in log and "warning" not in log.lower()


def test_the_demos_browse_command_serves(crawled_home):
    """What `catalog demo` ends by printing runs as printed (on a free port here)."""
    from catalog.config import resolve
    from catalog.demo import serve_command

    command = shlex.split(serve_command(resolve(crawled_home)))
    assert command[-1] == "serve"
    with served([*command, "--port", "0"]) as server:
        assert "Think-tank publications" in server.get("/").text


def test_a_public_host_is_warned_of_and_a_bad_address_is_one_line(crawled_home):
    # 192.0.2.1 (TEST-NET-1) is on no machine: the warning comes, then binding fails.
    result = invoke(crawled_home, "serve", "--host", "192.0.2.1", "--port", "0")
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "warning: --host 192.0.2.1 makes the catalog public: anyone who can reach this "
        "machine can read it"
    )
    assert result.exit_code == 1 and len(lines) == 2
    assert lines[1].startswith("Error: cannot listen on 192.0.2.1:0: ")


def test_a_home_without_a_catalog_is_one_line(tmp_path):
    result = invoke(tmp_path / "nothing", "serve", "--port", "0")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"Error: no catalog at {tmp_path / 'nothing' / 'catalog.db'}; run `catalog crawl` first"
    )
    assert not (tmp_path / "nothing").exists()


def test_a_read_only_home_serves_and_nothing_is_written(locked_home, open_home):
    """A home this user cannot write (another user's, a read-only mount) is served as it is."""
    before = _snapshot(locked_home)
    expected = invoke(open_home, "search", "alliances", "--facets", "--json")
    assert expected.exit_code == 0
    preexec = _drop_permission_overrides if os.geteuid() == 0 else None
    command = catalog_command(locked_home, "serve", "--port", "0")
    with served(command, env={"PYTHONDONTWRITEBYTECODE": "1"}, preexec_fn=preexec) as server:
        answer = server.get("/api/search", params={"q": "alliances"}).json()
        wanted = json.loads(expected.stdout)
        assert [h["url"] for h in answer["hits"]] == [h["url"] for h in wanted["hits"]]
        assert answer["facets"] == wanted["facets"]
        assert server.get("/publications/1").status_code == 200
        assert server.get("/publications/1/cite.bib").status_code == 200
        assert server.get("/topics/security-cooperation/feed.atom").status_code == 200
    assert _snapshot(locked_home) == before
    assert "Traceback" not in "".join(server.log)


def rename_a_title(site: Site) -> None:
    """The listing's second teaser is retitled: the next crawl records a change."""
    page = site.root / "topics" / f"{TOPIC}.html"
    text = page.read_text()
    assert "Part 2\n" in text
    page.write_text(text.replace("Part 2\n", "Part 2 Zanzibar\n"))


def test_a_crawl_is_served_without_a_restart(
    backend: Catalog, long_site: Site, tmp_path, search_engine: str
):
    """Servers notice the catalog's new revision and search the caught-up index. On
    PostgreSQL two servers with homes of their own, one with two workers, see the same."""
    url = long_site.topic_url(TOPIC)
    first = backend.run("crawl", "--start-url", url)
    assert first.returncode == 0, first.stderr
    commands = [backend.command("serve", "--port", "0")]
    if backend.db is not None:
        other = backend.with_home(tmp_path / "second-server")
        commands.append(other.command("serve", "--port", "0", "--workers", "2"))
    with served(commands[0]) as one, served(commands[-1]) as two:
        servers = [one, two]
        for server in servers:
            assert hits(server, "zanzibar") == []
            assert len(hits(server, "*")) == 50
        etag = one.get("/api/stats").headers["etag"]
        feed_before = feedparser.parse(one.get(f"/topics/{TOPIC}/feed.atom").content)
        rename_a_title(long_site)
        again = backend.run("crawl", "--start-url", url)
        assert again.returncode == 0, again.stderr
        assert "updated 1" in again.stdout
        for server in servers:
            for _ in range(4):  # new connections: both workers of a two-worker server answer
                assert hits(server, "zanzibar") == [
                    "Partners and Security in the Sahel, Part 2 Zanzibar"
                ]
        assert one.get("/api/stats").headers["etag"] != etag
        feed = feedparser.parse(one.get(f"/topics/{TOPIC}/feed.atom").content)
        assert not feed.bozo and len(feed.entries) == 50
        # ids stay put across runs; the retitled entry says so by its title and update time
        assert feed.feed.id == feed_before.feed.id
        assert {e.id for e in feed.entries} == {e.id for e in feed_before.entries}
        [retitled] = [e for e in feed.entries if e.title.endswith("Zanzibar")]
        [was] = [e for e in feed_before.entries if e.id == retitled.id]
        assert datetime.fromisoformat(retitled.updated) > datetime.fromisoformat(was.updated)
        assert retitled.published == was.published
    assert not [line for line in one.log + two.log if "Traceback" in line]


def test_the_systemd_unit_serves_under_its_root_path(long_site: Site, tmp_path):
    """The unit's ExecStart, as written (but on a free port), behind a proxy's /catalog."""
    service = unit(DEPLOY / "systemd" / "catalog-web.service")
    home = fake_home(tmp_path, long_site)
    exec_start = service["Service"]["ExecStart"].replace("%h", str(home))
    argv = shlex.split(exec_start)
    assert argv[argv.index("--port") + 1] == "8000" and "--host" not in argv  # 127.0.0.1
    argv[argv.index("--port") + 1] = "0"
    crawled = Catalog("sqlite", home / "catalog").run(
        "crawl", "--start-url", long_site.topic_url(TOPIC)
    )
    assert crawled.returncode == 0, crawled.stderr
    with served(argv, env={"HOME": str(home)}) as server:
        assert server.url.endswith("/catalog/")
        base = server.url.removesuffix("catalog/")
        # The proxy strips /catalog before passing the request on, and says how it was asked.
        answer = httpx.get(
            base + "search",
            params={"q": "security"},
            headers={"Host": "catalog.example.org", "X-Forwarded-Proto": "https"},
        )
        assert answer.status_code == 200
        doc = lxml_html.fromstring(answer.text)
        links = [a.get("href") for a in doc.iter("a")]
        assert all(h.startswith(("/catalog/", "#")) for h in links), links
        assert doc.cssselect('link[rel="stylesheet"]')[0].get("href") == "/catalog/static/style.css"
        assert httpx.get(base + "static/style.css").status_code == 200
        feed = feedparser.parse(
            httpx.get(
                base + "search.atom",
                params={"q": "security"},
                headers={"Host": "catalog.example.org", "X-Forwarded-Proto": "https"},
            ).content
        )
        assert feed.entries[0].link.startswith("https://catalog.example.org/catalog/publications/")
