"""`catalog sql`: parameters, stdin, formats and `%` on both backends; what it refuses; time
limits, Ctrl-C and memory, against real `python -m catalog` processes where it matters."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text

from catalog import sql as catalog_sql
from catalog.cli import cli
from tests.conftest import REPO, Site, catalog_command, clean_env, pg_database, run_catalog

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
RUNAWAY_COUNT = ENDLESS + "SELECT count(*) FROM c"  # runs forever without a row
RUNAWAY_ROWS = ENDLESS + "SELECT x FROM c"  # streams rows forever
MILLION = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
    "SELECT x, 'some text ' || x AS t FROM c"
)


@pytest.fixture(scope="module")
def pg_catalog(pg_admin: Engine, demo_site: Site, tmp_path_factory) -> Iterator[list[str]]:
    """The demo's security-cooperation topic crawled into a PostgreSQL database."""
    home = tmp_path_factory.mktemp("pg") / "home"
    with pg_database(pg_admin) as url:
        result = run_catalog(home, "--db", url, "crawl", "--start-url", demo_site.topic_url())
        assert result.returncode == 0, result.stderr
        yield ["--home", str(home), "--db", url]


@pytest.fixture(params=["sqlite", "postgres"])
def catalog_args(request, crawled_home: Path) -> list[str]:
    """The global options that point `catalog` at a crawled catalog on each backend."""
    if request.param == "sqlite":
        return ["--home", str(crawled_home)]
    return request.getfixturevalue("pg_catalog")


def sql(args: list[str], *more: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "sql", *more], input=input, catch_exceptions=False)


def sql_json(args: list[str], *more: str, input: str | None = None) -> list[dict]:
    result = sql(args, *more, "--format", "json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- from scripts: parameters, stdin, formats, % --------------------------------------------


def test_percent_in_like_needs_no_escaping(catalog_args):
    titles = [r["title"] for r in sql_json(catalog_args, "SELECT title FROM publications")]
    rows = sql_json(
        catalog_args, "SELECT title FROM publications WHERE title LIKE '%Japan%' ORDER BY title"
    )
    assert [r["title"] for r in rows] == sorted(t for t in titles if "Japan" in t)
    assert len(rows) >= 3


def test_parameters_bind_values_not_sql(catalog_args):
    rows = sql_json(
        catalog_args,
        "SELECT title FROM publications WHERE title LIKE :words AND content_type = :type",
        "-p",
        "words",
        "%Japan%",
        "-p",
        "type",
        "Commentary",
    )
    assert rows and all("Japan" in r["title"] for r in rows)
    injected = sql_json(
        catalog_args,
        "SELECT count(*) AS n FROM publications WHERE title = :t",
        "-p",
        "t",
        "x' OR '1'='1",
    )
    assert injected == [{"n": 0}]


def test_parameters_leave_percent_signs_and_casts_alone(catalog_args):
    is_pg = "--db" in catalog_args
    cast = ", '7'::integer AS z" if is_pg else ""
    [row] = sql_json(
        catalog_args,
        f"SELECT CAST(:n AS integer) + 1 AS m, '100%' AS pct, '%' || :s || '%' AS s{cast}",
        "-p",
        "n",
        "41",
        "-p",
        "s",
        "a%b",
    )
    assert row["m"] == 42 and row["pct"] == "100%" and row["s"] == "%a%b%"
    if is_pg:
        assert row["z"] == 7


def test_parameter_mistakes_are_usage_errors(catalog_args):
    unused = sql(catalog_args, "SELECT 1 AS one", "-p", "x", "1")
    assert unused.exit_code == 2 and "'x' is not used" in unused.stderr
    missing = sql(catalog_args, "SELECT :a AS a, :b AS b", "-p", "a", "1")
    assert missing.exit_code == 2 and "-p b VALUE" in missing.stderr
    twice = sql(catalog_args, "SELECT :a AS a", "-p", "a", "1", "-p", "a", "2")
    assert twice.exit_code == 2


def test_query_from_stdin(catalog_args):
    query = "SELECT count(*) AS n\nFROM publications\nWHERE url LIKE '%/blog/%';\n"
    from_stdin = sql_json(catalog_args, "-", input=query)
    assert from_stdin == sql_json(catalog_args, query) and from_stdin[0]["n"] > 0


def one_line_usage_error(result) -> str:
    """The error of a usage mistake: exit code 2 and one line on stderr, as the docs say."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_a_placeholder_without_its_value_is_a_usage_error(catalog_args):
    """`:NAME` with no -p never reaches the database (SQLite: a binding error, exit 1;
    PostgreSQL: a syntax error at ':')."""
    missing = sql(catalog_args, "SELECT title FROM publications WHERE title = :title")
    assert "uses :title but no value was given (-p title VALUE)" in one_line_usage_error(missing)
    # A colon in a string literal or a comment is text, with or without -p.
    rows = sql_json(catalog_args, "SELECT '12:30 :a' AS t -- :not_a_placeholder")
    assert rows == [{"t": "12:30 :a"}]
    rows = sql_json(catalog_args, "SELECT ':a' AS lit, :b AS b /* :c */", "-p", "b", "x")
    assert rows == [{"lit": ":a", "b": "x"}]


def test_a_sqlite_placeholder_of_another_style_is_a_usage_error(crawled_home):
    for placeholder in ("?", "?1", "@name", "$name"):
        result = sql(["--home", str(crawled_home)], f"SELECT {placeholder} AS x")
        assert "catalog sql binds :NAME with -p NAME VALUE" in one_line_usage_error(result)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e9", "soon", ""])
def test_timeout_must_be_a_finite_number_of_seconds(crawled_home, value):
    result = sql(["--home", str(crawled_home)], "SELECT 1 AS one", "--timeout", value)
    assert "--timeout" in one_line_usage_error(result)


def test_a_statement_that_is_not_utf8_is_a_usage_error(crawled_home):
    """From stdin (a file saved in Latin-1) or as an argument: one line, exit 2."""
    for args, stdin in (
        (["-"], b"SELECT 'caf\xe9' AS word"),
        ([b"SELECT 'caf\xe9' AS word".decode("utf-8", "surrogateescape")], b""),
    ):
        result = subprocess.run(
            catalog_command(crawled_home, "sql", *args),
            input=stdin,
            capture_output=True,
            timeout=60,
            env=clean_env(),
            cwd=REPO,
        )
        stderr = result.stderr.decode()
        assert result.returncode == 2, stderr
        assert stderr.splitlines() == [stderr.strip()] and "not UTF-8 text (byte 0xe9" in stderr
        assert result.stdout == b""
    with_bom = subprocess.run(
        catalog_command(crawled_home, "sql", "-", "--format", "json"),
        input="\ufeffSELECT 'café' AS word".encode(),
        capture_output=True,
        timeout=60,
        env=clean_env(),
        cwd=REPO,
    )
    assert with_bom.returncode == 0 and json.loads(with_bom.stdout) == [{"word": "café"}]


def test_formats_agree(catalog_args):
    query = "SELECT id, title, published_on FROM publications ORDER BY id"
    as_json = sql_json(catalog_args, query)
    assert len(as_json) >= 40
    jsonl = sql(catalog_args, query, "--format", "jsonl")
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == as_json
    for flags in (["--format", "csv"], ["--csv"]):
        parsed = list(csv.DictReader(io.StringIO(sql(catalog_args, query, *flags).stdout)))
        assert [r["title"] for r in parsed] == [r["title"] for r in as_json]
        assert parsed[0]["published_on"] == (as_json[0]["published_on"] or "")
    assert json.loads(sql(catalog_args, query, "--json").stdout) == as_json
    table = sql(catalog_args, query, "--format", "table").stdout.splitlines()
    assert table[0].split() == ["id", "title", "published_on"]
    assert len(table) == 2 + len(as_json)
    both = sql(catalog_args, query, "--csv", "--format", "json")
    assert both.exit_code == 2


def test_a_long_table_prints_every_row_page_by_page(crawled_home):
    args = ["--home", str(crawled_home)]
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2500) "
        "SELECT x FROM c"
    )
    lines = sql(args, query).stdout.splitlines()
    numbers = [int(line) for line in lines if line.strip().isdigit()]
    assert numbers == list(range(1, 2501))
    assert lines.count("x") == 3  # one header per page of catalog.cli.sql.TABLE_PAGE rows


# --- read-only: nothing is written, no file appears ------------------------------------------


@pytest.mark.parametrize(
    "statement,refused",
    [
        ("ATTACH DATABASE '{target}' AS other", "ATTACH"),
        ("VACUUM INTO '{target}'", "VACUUM"),
        ("VACUUM", "VACUUM"),
        ("DETACH DATABASE main", "DETACH"),
        ("PRAGMA user_version = 7", "PRAGMA user_version = 7"),
        ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode = DELETE"),
        ("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint"),
        ("PRAGMA optimize", "PRAGMA optimize"),
        ("SELECT load_extension('{target}')", "load_extension()"),
        ("CREATE TEMP TABLE t AS SELECT 1", "CREATE"),
        ("DROP TABLE publications", "DROP"),
        ("ALTER TABLE topics ADD COLUMN x", "ALTER TABLE"),
        ("INSERT INTO topics (slug, name, url) VALUES ('a', 'b', 'c')", "INSERT"),
        ("UPDATE publications SET title = 'x'", "UPDATE"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("REINDEX", "REINDEX"),
        ("ANALYZE", "ANALYZE"),
    ],
)
def test_sqlite_refuses_by_name_and_creates_no_file(home_copy, tmp_path, statement, refused):
    target = tmp_path / "elsewhere" / "new.db"
    target.parent.mkdir()
    before = (home_copy / "catalog.db").read_bytes()
    result = CliRunner().invoke(
        cli, ["--home", str(home_copy), "sql", statement.format(target=target)]
    )
    assert result.exit_code == 1
    assert result.stderr == f"Error: catalog sql is read-only: {refused} is not allowed\n"
    assert list(target.parent.iterdir()) == []
    assert (home_copy / "catalog.db").read_bytes() == before


def test_sqlite_read_pragmas_are_allowed(crawled_home):
    args = ["--home", str(crawled_home)]
    assert sql_json(args, "PRAGMA user_version") == [{"user_version": 0}]
    columns = {r["name"] for r in sql_json(args, "PRAGMA table_info(publications)")}
    assert {"id", "url", "title"} <= columns
    listed = sql_json(args, "SELECT name FROM pragma_table_info('topics') ORDER BY cid")
    assert listed[0] == {"name": "id"}
    assert sql_json(args, "PRAGMA integrity_check") == [{"integrity_check": "ok"}]


def test_refusal_names_what_sqlite_was_asked():
    assert catalog_sql.refusal(catalog_sql.sqlite3.SQLITE_READ, "t", "c") is None
    assert catalog_sql.refusal(catalog_sql.sqlite3.SQLITE_PRAGMA, "table_info", "t") is None
    assert catalog_sql.refusal(catalog_sql.sqlite3.SQLITE_ATTACH, "", None, "vacuum") == "VACUUM"
    assert catalog_sql.first_keyword("  -- why\n/* not */ (select 1)") == "select"


def test_postgres_runs_only_reads(pg_catalog, tmp_path):
    for statement, expected in [
        ("DELETE FROM publications", "read-only: DELETE is not allowed"),
        (f"COPY publications TO '{tmp_path / 'out.csv'}'", "read-only: COPY is not allowed"),
        ("SET default_transaction_read_only = off", "read-only: SET is not allowed"),
        ("WITH gone AS (DELETE FROM topics RETURNING id) SELECT * FROM gone", "read-only"),
    ]:
        result = sql(pg_catalog, statement)
        assert result.exit_code == 1, statement
        assert expected in result.stderr, result.stderr
    assert not (tmp_path / "out.csv").exists()
    # What PostgreSQL lets a read-only transaction do anyway is rolled back.
    assert sql(pg_catalog, "SELECT lo_import('/etc/hostname') AS oid").exit_code == 0
    assert sql_json(pg_catalog, "SELECT count(*) AS n FROM pg_largeobject_metadata") == [{"n": 0}]
    assert sql_json(pg_catalog, "SELECT count(*) AS n FROM topics")[0]["n"] > 0
    shown = sql(pg_catalog, "SHOW transaction_read_only")
    assert shown.exit_code == 0 and "on" in shown.stdout.split()
    assert "Seq Scan" in sql(pg_catalog, "EXPLAIN SELECT * FROM publications").stdout


# --- cannot hang: time limit and Ctrl-C --------------------------------------------------------


@pytest.mark.slow  # waits out the time limit
@pytest.mark.parametrize("statement", [RUNAWAY_COUNT, RUNAWAY_ROWS])
def test_time_limit_stops_a_runaway_statement(catalog_args, statement):
    started = time.monotonic()
    result = sql(catalog_args, statement, "--timeout", "1", "--format", "csv")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: catalog sql: the statement ran longer than 1 s and was stopped "
        "(--timeout SECONDS; 0 for no limit)"
    ]
    assert elapsed < 8


@pytest.mark.slow  # waits out the time limit
def test_pg_sleep_is_cut_by_statement_timeout(pg_catalog):
    started = time.monotonic()
    result = sql(pg_catalog, "SELECT pg_sleep(30)", "--timeout", "1")
    assert result.exit_code == 1 and "ran longer than 1 s" in result.stderr
    assert time.monotonic() - started < 8


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _has_open(pid: int, path: Path) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:  # closed while we looked
            continue
    return False


def _wait_until(proc: subprocess.Popen, ready, what: str, tries: int = 3000) -> None:
    """Poll ``ready()`` between short waits on the process itself (at most ~60 s)."""
    for _ in range(tries):
        if ready():
            return
        try:
            proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"catalog sql exited before {what}: {proc.stderr.read()}")
    pytest.fail(f"catalog sql never reached {what}")


def _interrupt(proc: subprocess.Popen) -> tuple[str, str, float]:
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    return stdout, stderr, time.monotonic() - started


@pytest.mark.slow  # waits for a statement to run
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc to see it run")
def test_ctrl_c_stops_a_runaway_sqlite_statement(crawled_home):
    proc = subprocess.Popen(
        catalog_command(crawled_home, "sql", RUNAWAY_COUNT, "--timeout", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    try:
        database = (crawled_home / "catalog.db").resolve()
        _wait_until(proc, lambda: _has_open(proc.pid, database), "opening the catalog")
        opened_at = _cpu_seconds(proc.pid)
        # Then it runs the statement: two CPU seconds is far more than what is left of
        # starting up once the catalog is open (and a process that only waits burns none).
        _wait_until(proc, lambda: _cpu_seconds(proc.pid) - opened_at > 2, "running it")
        stdout, stderr, elapsed = _interrupt(proc)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 1
    assert stdout == ""
    assert stderr == "Error: catalog sql: interrupted; the statement was cancelled\n"
    assert elapsed < 5


@pytest.mark.slow  # waits for a statement to run
def test_ctrl_c_cancels_the_statement_on_postgres(pg_catalog):
    url = pg_catalog[pg_catalog.index("--db") + 1]
    home = Path(pg_catalog[1])
    probe = create_engine(url)
    running = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state = 'active' "
        "AND now() - query_start > interval '0.5 seconds'"  # the runaway, not a quick check
    )

    def active() -> int:
        with probe.connect() as conn:
            return conn.execute(running).scalar_one()

    proc = subprocess.Popen(
        catalog_command(home, "--db", url, "sql", RUNAWAY_COUNT, "--timeout", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )
    try:
        _wait_until(proc, lambda: active() > 0, "running on the server", tries=1500)
        stdout, stderr, elapsed = _interrupt(proc)
    finally:
        proc.kill()
        proc.wait()
    try:
        assert proc.returncode == 1
        assert stderr == "Error: catalog sql: interrupted; the statement was cancelled\n"
        assert stdout == "" and elapsed < 5
        assert active() == 0  # cancelled on the server, not left running there
    finally:
        probe.dispose()


# --- cannot exhaust memory: rows stream --------------------------------------------------------


# Runs the command line, then reports the process's own peak RSS (VmHWM) on stderr's last line.
# ru_maxrss of a child cannot be used: Linux carries the parent's high-water mark across fork
# and exec, so a child of a large pytest process reports pytest's size, not its own.
_MEASURED = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('VmHWM ' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = ['catalog', *sys.argv[1:]]\n"
    "runpy.run_module('catalog', run_name='__main__')\n"
)


def _run_measured(command: list[str], out: Path) -> tuple[int, int, str]:
    """Exit code, peak RSS in bytes and stderr of one child process (stdout to ``out``)."""
    assert command[1:3] == ["-m", "catalog"]
    measured = [command[0], "-c", _MEASURED, *command[3:]]
    with out.open("wb") as handle:
        proc = subprocess.run(
            measured, stdout=handle, stderr=subprocess.PIPE, env=clean_env(), cwd=REPO
        )
    stderr = proc.stderr.decode()
    lines = stderr.splitlines()
    assert lines and lines[-1].startswith("VmHWM "), stderr
    return proc.returncode, int(lines[-1].split()[1]) * 1024, "\n".join(lines[:-1])


@pytest.mark.slow
def test_a_million_rows_stream_in_bounded_memory(catalog_args, tmp_path):
    out = tmp_path / "million.csv"
    home = Path(catalog_args[1])
    command = catalog_command(home, *catalog_args[2:], "sql", MILLION, "--format", "csv")
    code, peak, stderr = _run_measured([*command, "--timeout", "0"], out)
    assert code == 0, stderr
    with out.open(encoding="utf-8") as handle:
        assert next(handle) == "x,t\n"
        count = 0
        for count, line in enumerate(handle, start=1):  # noqa: B007 - the last count is the total
            pass
    assert count == 1_000_000 and line == "1000000,some text 1000000\n"
    assert peak < 250 * 2**20, f"peak RSS {peak / 2**20:.0f} MB"
