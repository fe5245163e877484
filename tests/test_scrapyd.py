"""Many crawlers, one catalog: a real Scrapyd daemon crawling into a real PostgreSQL catalog.

What docs/scale-out.md tells an operator to do is done here as
written: the schema is created with ``catalog --db URL db upgrade``, the project is deployed
with ``deploy/scrapyd/deploy.py`` (scrapyd-deploy on a copy of the checkout, which must stay
clean), and crawls are scheduled through ``schedule.json`` with the catalog's location in
Scrapyd's own environment, which it hands to every job. Outcomes are read from the catalog's
run journal and the job's log, not from Scrapyd's job list: Scrapyd lists a job that failed as
"finished" like any other.

The topic locks that keep two machines from crawling one topic at once are tested here too,
against the same server.

Needs a PostgreSQL server (CATALOG_TEST_POSTGRES, default the local one, user postgres) and
the ``scrapyd`` executable (the test extra). Without them the tests skip, except under
``CI=true``, where a missing prerequisite is a failure: CI must not pass by testing nothing.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import runpy
import select
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from catalog.demo import DEMO_SITE
from catalog.errors import CrawlLocked
from catalog.localsite import serve
from catalog.lock import topic_locks
from tests.conftest import DEMO_PUBLICATIONS, REPO, TOPIC, clean_env

# A real Scrapyd daemon and PostgreSQL: minutes.
pytestmark = pytest.mark.scrapyd

SERVER = os.environ.get(
    "CATALOG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PROJECT = "thinktank_catalog"
SPIDER = "rand_topic"
IN_CI = os.environ.get("CI", "").lower() == "true"
JOB_TIMEOUT = 180.0  # seconds for one demo crawl under Scrapyd (a few seconds on 2 cores)
# The demo site is local: no politeness delay, no retries of the broken site's 500.
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "0", "RETRY_TIMES": "0"}


def missing(reason: str) -> None:
    """Skip for a developer without the service; fail in CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A database of this module's own on the test server, dropped afterwards."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed (pip install -e '.[test]')")
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    name = f"catalog_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        missing(f"no PostgreSQL server at {SERVER}: {type(exc).__name__}")
    try:
        yield make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def pg_rows(url: str, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


# --- Scrapyd ----------------------------------------------------------------------------------


@dataclass
class Scrapyd:
    url: str
    folder: Path
    process: subprocess.Popen

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/{endpoint}{query}", timeout=30) as response:
            return json.load(response)

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        body = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(f"{self.url}/{endpoint}", body, timeout=30) as response:
            return json.load(response)

    def schedule(self, settings: dict[str, str] | None = None, **args: str) -> str:
        """``curl host:port/schedule.json -d project=... -d spider=... -d setting=K=V -d k=v``."""
        fields = [("project", PROJECT), ("spider", SPIDER)]
        fields += [("setting", f"{k}={v}") for k, v in {**FAST, **(settings or {})}.items()]
        fields += list(args.items())
        answer = self.post("schedule.json", fields)
        assert answer["status"] == "ok", answer
        return answer["jobid"]

    def wait_finished(self, job: str) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            jobs = self.get("listjobs.json", project=PROJECT)["finished"]
            return next((entry for entry in jobs if entry["id"] == job), None)

        return wait_for(finished, JOB_TIMEOUT, f"Scrapyd job {job} to finish", interval=0.25)

    def job_log(self, job: str) -> str:
        return (self.folder / "logs" / PROJECT / SPIDER / f"{job}.log").read_text()

    def daemon_log(self) -> str:
        return (self.folder / "scrapyd.out").read_text(errors="replace")


EXAMPLES = REPO / "deploy" / "scrapyd"


def scrapyd_conf(port: int) -> str:
    """The example scrapyd.conf as shipped, on a free port and polling its queue often.

    Its folders are relative: Scrapyd runs in a temporary folder, so they land there.
    """
    config = configparser.ConfigParser(interpolation=None)
    config.read_string((EXAMPLES / "scrapyd.conf").read_text())
    section = config["scrapyd"]
    assert section["bind_address"] == "127.0.0.1" and section["items_dir"] == ""
    assert int(section["max_proc"]) == 1 and int(section["jobs_to_keep"]) > 0
    section["http_port"] = str(port)
    section["poll_interval"] = "0.2"
    written = io.StringIO()
    config.write(written)
    return written.getvalue()


def scrapyd_executable() -> str:
    found = shutil.which("scrapyd", path=str(Path(sys.executable).parent))
    if found is None:
        missing("the scrapyd executable is not installed (pip install -e '.[test]')")
    return found


def dependencies_only_venv(folder: Path) -> Path:
    """A Python for Scrapyd that has the project's dependencies but not the project.

    As docs/scale-out.md sets Scrapyd up: the code comes from the deployed egg alone. The new venv
    sees this venv's site-packages through a .pth line; the .pth files in there (this
    checkout's editable install among them) are not processed that way, so ``catalog`` and
    ``crawler`` can only come from the egg.
    """
    venv = folder / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    probe = subprocess.run(
        [python, "-c", "import scrapyd, sqlalchemy, psycopg; import catalog"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert "No module named 'catalog'" in probe.stderr, probe.stderr
    return python


@pytest.fixture(scope="module")
def scrapyd(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """A Scrapyd daemon whose jobs crawl into ``pg_url``, as docs/scale-out.md sets one up."""
    scrapyd_executable()
    folder = tmp_path_factory.mktemp("scrapyd")
    python = dependencies_only_venv(folder)
    port = free_port()
    (folder / "scrapyd.conf").write_text(scrapyd_conf(port))
    # Scrapyd hands its own environment to every job: this is where the catalog is named.
    env = clean_env(CATALOG_DB=pg_url, CATALOG_HOME=str(folder / "home"))
    env.pop("VIRTUAL_ENV", None)
    with open(folder / "scrapyd.out", "wb") as out:
        # `python -m scrapyd` is the `scrapyd` command, run by the venv without the project.
        # It reads scrapyd.conf from its working folder; nothing of the checkout is there.
        process = subprocess.Popen(
            [python, "-m", "scrapyd"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    daemon = Scrapyd(f"http://127.0.0.1:{port}", folder, process)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"scrapyd exited ({process.returncode}):\n{daemon.daemon_log()}")
            try:
                return daemon.get("daemonstatus.json")["status"] == "ok"
            except OSError:
                return False

        wait_for(ready, 60, "scrapyd to answer daemonstatus.json")
        yield daemon
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def work_tree_state() -> set[str]:
    """Untracked files in the checkout, ignored ones included (build/, *.egg-info, setup.py).

    Caches Python and the tools write while tests run are left out: they say nothing about
    what a deploy leaves behind.
    """
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entries = {entry[3:] for entry in listed.split("\0") if entry[:2] in ("??", "!!")}
    noise = ("__pycache__/", ".pytest_cache/", ".ruff_cache/", ".venv/")
    return {entry for entry in entries if not any(part in entry for part in noise)}


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Scrapyd:
    """Schema created, project deployed: the steps of docs/scale-out.md, from the checkout."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        missing("deploy.py and this test need a git checkout (git ls-files, git status)")
    upgraded = subprocess.run(
        [sys.executable, "-m", "catalog", "--db", pg_url, "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=REPO,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    # The deploy target lives in the user's own scrapy.cfg, not in the checkout's.
    config_home = tmp_path_factory.mktemp("xdg")
    (config_home / "scrapy.cfg").write_text(
        f"[deploy:test]\nurl = {scrapyd.url}/\nproject = {PROJECT}\n"
    )
    before = work_tree_state()
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "scrapyd" / "deploy.py"), "test"],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(XDG_CONFIG_HOME=str(config_home)),
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["status"] == "ok", result.stdout
    assert work_tree_state() - before == set(), "the deploy left files in the checkout"
    return scrapyd


def new_runs(pg_url: str, after: int) -> list[tuple]:
    return pg_rows(
        pg_url,
        "SELECT status, spider, items_seen, error FROM crawl_runs WHERE id > :after ORDER BY id",
        after=after,
    )


def last_run_id(pg_url: str) -> int:
    return pg_rows(pg_url, "SELECT coalesce(max(id), 0) FROM crawl_runs")[0][0]


# --- the tests --------------------------------------------------------------------------------


def test_deployed_project_lists_its_spider(deployed: Scrapyd):
    """listspiders runs the egg in a Scrapy process: every import a crawl needs resolves."""
    assert deployed.get("listprojects.json")["projects"] == [PROJECT]
    assert deployed.get("listspiders.json", project=PROJECT)["spiders"] == [SPIDER]


def test_scrapyd_job_crawls_into_postgres(deployed: Scrapyd, pg_url: str):
    before = last_run_id(pg_url)
    with serve(DEMO_SITE) as site:
        job = deployed.schedule(start_url=f"{site.url}/topics/{TOPIC}.html")
        finished = deployed.wait_finished(job)
    log = deployed.job_log(job)
    assert finished["spider"] == SPIDER
    assert new_runs(pg_url, before) == [("succeeded", SPIDER, DEMO_PUBLICATIONS, None)], log[-3000:]
    assert pg_rows(pg_url, "SELECT count(*) FROM publications") == [(DEMO_PUBLICATIONS,)]
    linked = pg_rows(
        pg_url,
        "SELECT count(DISTINCT l.publication_id) FROM publication_topics l "
        "JOIN topics t ON t.id = l.topic_id WHERE t.slug = :slug AND l.section <> 'related'",
        slug=TOPIC,
    )
    assert linked == [(DEMO_PUBLICATIONS,)]
    assert "ERROR" not in log and "Traceback" not in log


def test_failed_scrapyd_job_is_failed_in_the_journal_and_the_log(
    deployed: Scrapyd, pg_url: str, tmp_path: Path
):
    root = tmp_path / "broken-site"
    shutil.copytree(DEMO_SITE, root)
    listing = f"/topics/{TOPIC}.html"
    (root / "_status.json").write_text(json.dumps({listing: 500}))
    before = last_run_id(pg_url)
    with serve(root) as site:
        job = deployed.schedule(start_url=f"{site.url}{listing}")
        deployed.wait_finished(job)  # Scrapyd says "finished" either way; the journal knows
    runs = new_runs(pg_url, before)
    log = deployed.job_log(job)
    assert [run[:2] for run in runs] == [("failed", SPIDER)], log[-3000:]
    assert f"listing page {site.url}{listing} failed: HTTP 500" in runs[0][3]
    assert f"listing page {site.url}{listing} failed: HTTP 500" in log


def test_scrapyd_job_reads_the_homes_catalog_toml(deployed: Scrapyd, pg_url: str):
    """A Scrapyd job ignored catalog.toml; now it builds its settings as catalog crawl does."""
    toml = deployed.folder / "home" / "catalog.toml"
    before = toml.read_text() if toml.exists() else None
    toml.parent.mkdir(parents=True, exist_ok=True)
    toml.write_text(
        'topics = []\n[crawl]\ncontact = "mailto:ops@example.org"\nmax_listing_pages = 2\n'
    )
    try:
        first = last_run_id(pg_url)
        with serve(DEMO_SITE) as site:  # the topic has three listing pages: over the cap
            job = deployed.schedule(start_url=f"{site.url}/topics/{TOPIC}.html")
            deployed.wait_finished(job)
            agents = {headers.get("User-Agent") for _, headers in site.requests}
    finally:
        if before is None:
            toml.unlink()
        else:
            toml.write_text(before)
    [(status, _, _, error)] = new_runs(pg_url, first)
    assert status == "failed", deployed.job_log(job)[-3000:]
    assert error == f"stopped after 2 listing pages of {TOPIC}: pagination never ended"
    assert len(agents) == 1 and "mailto:ops@example.org" in agents.pop()


# --- topic locks across machines --------------------------------------------------------------

HOLDER = """\
import sys
from sqlalchemy import create_engine
from catalog.lock import topic_locks

with topic_locks(create_engine(sys.argv[1]), sys.argv[2:]):
    print("held", flush=True)
    sys.stdin.read()  # hold until the test closes stdin (or kills this process)
"""


@pytest.fixture
def holder(pg_url: str) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start another crawler (a process of its own) holding topic locks until it is stopped."""
    started: list[subprocess.Popen] = []

    def start(*slugs: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, pg_url, *slugs],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        started.append(process)
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the other crawler did not take its locks within 30s"
        line = process.stdout.readline()
        assert line.strip() == "held", process.communicate(timeout=30)[1]
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for pipe in (process.stdin, process.stdout, process.stderr):
            pipe.close()


def unique(name: str) -> str:
    """A topic slug no other test (or concurrent run) locks."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_a_topic_crawled_elsewhere_is_locked_naming_the_holder(pg_url: str, holder):
    topic = unique("security-cooperation")
    free = unique("alliances")  # sorts first, so it is taken before the attempt on `topic`
    other = holder(topic)
    engine = create_engine(pg_url)
    try:
        with pytest.raises(CrawlLocked) as locked, topic_locks(engine, [topic, free]):
            pytest.fail("took a topic another crawler holds")
        assert locked.value.exit_code == 3
        message = str(locked.value)
        host = socket.gethostname()
        assert f"topic {topic} is being crawled by {host}/{other.pid} since 20" in message
        assert message.endswith(" UTC; this crawl did not start")
        # The topics it did take before failing were let go.
        with topic_locks(engine, [free]):
            pass
    finally:
        engine.dispose()


def test_different_topics_lock_side_by_side_and_release_on_exit(pg_url: str, holder):
    first, second = unique("alliances"), unique("security-cooperation")
    holder(first)
    engine = create_engine(pg_url)
    try:
        with (
            topic_locks(engine, [second]),
            pytest.raises(CrawlLocked),  # held by the line above
            topic_locks(engine, [second]),
        ):
            pass
        with topic_locks(engine, [second]):  # released when the block ended
            pass
        with pytest.raises(CrawlLocked), topic_locks(engine, [first]):
            pass
    finally:
        engine.dispose()


def test_a_killed_crawler_releases_its_topics(pg_url: str, holder):
    topic = unique("security-cooperation")
    other = holder(topic)
    engine = create_engine(pg_url)
    try:
        other.stdin.close()  # a clean exit releases...
        other.wait(timeout=30)
        with topic_locks(engine, [topic]):
            pass
        killed = holder(topic)
        killed.kill()  # ...and so does a crash: the server ends the session with the socket
        killed.wait(timeout=30)

        def acquired() -> bool:
            try:
                with topic_locks(engine, [topic]):
                    return True
            except CrawlLocked:
                return False

        wait_for(acquired, 30, "the killed crawler's topic lock to be released")
    finally:
        engine.dispose()


def test_topic_locks_are_a_no_op_on_sqlite(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    with topic_locks(engine, [TOPIC]), topic_locks(engine, [TOPIC]):
        pass
    engine.dispose()


# --- what the docs tell an operator --------------------------------------------------------


def test_scrapyd_requirements_are_the_projects_dependencies():
    """Scrapyd hosts install deploy/scrapyd/requirements.txt: it must not fall behind."""
    project = tomlkit.parse((REPO / "pyproject.toml").read_text())["project"]
    wanted = {*project["dependencies"], *project["optional-dependencies"]["postgres"]}
    lines = (EXAMPLES / "requirements.txt").read_text().splitlines()
    listed = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert listed - {"scrapyd>=1.5"} == {str(req) for req in wanted}
    assert "thinktank-catalog" not in " ".join(listed)  # the code comes from the egg


def test_docs_show_the_scrapyd_files_verbatim():
    page = (REPO / "docs" / "scale-out.md").read_text()
    for name in ("scrapyd.conf", "crontab", "scrapyd.service"):
        assert (EXAMPLES / name).read_text().strip() in page, f"docs/scale-out.md lacks {name}"


def test_deploy_script_writes_eggs_where_the_caller_asked(tmp_path: Path, monkeypatch):
    """deploy.py runs scrapyd-deploy elsewhere: egg paths are made absolute first."""
    script = runpy.run_path(str(EXAMPLES / "deploy.py"))  # defines, does not deploy
    monkeypatch.chdir(tmp_path)
    here = tmp_path.resolve()
    args = ["crawler1", "--build-egg=out.egg", "--egg", "in.egg", "-v", "7"]
    assert script["absolute_paths"](args) == [
        "crawler1",
        f"--build-egg={here / 'out.egg'}",
        "--egg",
        str(here / "in.egg"),
        "-v",
        "7",
    ]
