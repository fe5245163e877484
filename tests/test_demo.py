"""`catalog demo` never touches a real catalog, keeps its URLs whatever its port, and never
prints a password. Each runs the command line in its own process, as a new user would."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from catalog.config import resolve
from catalog.demo import DEMO_INSTITUTE_ORIGIN, DEMO_ORIGIN, DEMO_PORT, next_commands
from tests.conftest import DEMO_PUBLICATIONS, Catalog, Site

INSTITUTE_POSTS = 10  # the second publisher's tag feed, over three pages
# The RAND-shaped site's second topic lists only shared ones; the institute is another publisher.
ALL_DEMO_PUBLICATIONS = DEMO_PUBLICATIONS + INSTITUTE_POSTS
REFUSED = "catalog demo writes only into an empty catalog or one of its own"


@contextmanager
def port_taken(port: int) -> Iterator[None]:
    """Hold ``port`` on 127.0.0.1 for the block (someone else may hold it already: fine too)."""
    sock = socket.socket()
    try:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
        yield
    finally:
        sock.close()


def publications(catalog: Catalog) -> list[tuple]:
    return catalog.rows("SELECT id, url, title, revision FROM publications ORDER BY id")


@pytest.mark.slow  # two demos
def test_a_second_demo_on_another_port_adds_nothing(tmp_path):
    """With its port busy the demo served on another one, and catalogued every record again
    under new URLs. Records live under a fixed demo origin now, whatever the port."""
    demo = Catalog("sqlite", tmp_path / "home")
    first = demo.run("demo")
    assert first.returncode == 0, first.stderr
    before = publications(demo)
    assert len(before) == ALL_DEMO_PUBLICATIONS
    rand = [url for _, url, _, _ in before if url.startswith(DEMO_ORIGIN + "/")]
    institute = [url for _, url, _, _ in before if url.startswith(DEMO_INSTITUTE_ORIGIN + "/")]
    assert (len(rand), len(institute)) == (DEMO_PUBLICATIONS, INSTITUTE_POSTS)
    with port_taken(DEMO_PORT):
        second = demo.run("demo")
    assert second.returncode == 0, second.stderr
    assert "new 0, updated 0" in second.stdout
    assert publications(demo) == before  # the same rows, URLs and revisions


def test_the_demo_catalogues_both_publishers_and_facets_them(tmp_path):
    """One crawl reads the RAND-shaped site with RAND's page objects and the institute's tag
    feed with the generic reader; the publisher facet counts both."""
    demo = Catalog("sqlite", tmp_path / "home")
    result = demo.run("demo")
    assert result.returncode == 0, result.stderr
    counts = dict(demo.rows("SELECT publisher, count(*) FROM publications GROUP BY publisher"))
    assert counts["RAND Corporation"] == DEMO_PUBLICATIONS
    assert counts["Meridian Institute for Security Studies"] == INSTITUTE_POSTS - 1
    # The post whose page is gone keeps the feed's word for its publisher.
    assert counts["Meridian Institute"] == 1
    [run] = demo.rows("SELECT details_failed FROM crawl_runs")
    assert run == (1,)  # that post: its page answers 404
    found = demo.invoke("search", "security", "--facets", "--json")
    assert found.exit_code == 0, found.output
    facet = {f["value"]: f["count"] for f in json.loads(found.stdout)["facets"]["publisher"]}
    assert facet["RAND Corporation"] > 0 and facet["Meridian Institute for Security Studies"] > 0
    stats = demo.invoke("stats")
    assert "Meridian Institute for Security Studies" in stats.output
    assert "RAND Corporation" in stats.output


def crawl_a_real_topic(catalog: Catalog, site: Site) -> list[tuple]:
    result = catalog.run("crawl", "--start-url", site.topic_url())
    assert result.returncode == 0, result.stderr
    return publications(catalog)


def test_the_demo_refuses_a_catalog_with_other_data(backend: Catalog, site: Site):
    """On a shared PostgreSQL the demo added 41 rows and rewrote a real row; nothing could
    undo it. Now it refuses before writing anything: exit 2, one line."""
    before = crawl_a_real_topic(backend, site)
    assert len(before) == DEMO_PUBLICATIONS
    runs = backend.rows("SELECT count(*) FROM crawl_runs")
    result = backend.run("demo")
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {REFUSED}") and site.base in line
    assert "--home" in line and result.stdout == ""
    assert publications(backend) == before
    assert backend.rows("SELECT count(*) FROM crawl_runs") == runs


def test_the_demo_refuses_a_database_that_is_not_a_catalog(pg_url: str, tmp_path):
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id integer primary key)"))
    engine.dispose()
    result = Catalog("postgresql", tmp_path / "home", pg_url).run("demo")
    assert result.returncode == 2, result.stderr
    assert REFUSED in result.stderr and "invoices" in result.stderr


@pytest.mark.slow  # two demos
def test_the_demo_on_postgresql_runs_twice_and_never_prints_the_password(pg_url: str, tmp_path):
    secret = "s3cret-demo-pw"  # the local server trusts every login, so any password works
    url = make_url(pg_url).set(password=secret).render_as_string(hide_password=False)
    demo = Catalog("postgresql", tmp_path / "home", url)
    for _ in range(2):  # the second run finds a catalog of the demo's own: not refused
        result = demo.run("demo")
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
    assert "new 0, updated 0" in result.stdout
    assert "postgresql+psycopg://postgres:***@127.0.0.1" in result.stdout.split("try next:")[1]
    assert len(publications(demo)) == ALL_DEMO_PUBLICATIONS


def test_next_commands_mask_the_password(tmp_path):
    config = resolve(tmp_path, "postgresql+psycopg://crawler:hunter2@db.example.org/catalog")
    commands = next_commands(config, "alliances", [], argv0="catalog")
    assert all("hunter2" not in c for c in commands)
    assert all("crawler:***@db.example.org/catalog" in c for c in commands)
