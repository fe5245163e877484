"""Settings, options and queries are checked before any work: exit 2 and one line, no traceback.

Tables of bad catalog.toml files, bad options and costly queries, each with what the one-line
message must name; and the good values next to them, so the checks cannot simply refuse all.
"""

from __future__ import annotations

import os
import random
import string
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from catalog.cli import MAX_ID, DateBound, cli
from catalog.config import CrawlOptions, check_topic, load_home_config
from catalog.errors import ConfigError, QueryError
from catalog.index import MAX_LIMIT
from catalog.index.query import parse
from tests.conftest import build_index, hits_of, run_catalog

BOM = b"\xef\xbb\xbf"


def run(home: Path, *args: str) -> Result:
    """Invoke in-process, keeping exceptions as results so a traceback fails the assertion."""
    return CliRunner().invoke(cli, ["--home", str(home), *args])


def write_config(tmp_path: Path, content: bytes | str) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    raw = content.encode("utf-8") if isinstance(content, str) else content
    (home / "catalog.toml").write_bytes(raw)
    return home


def one_error_line(result: Result) -> str:
    """The single line a usage error prints; fails when there is a traceback or more lines."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- catalog.toml ----------------------------------------------------------------------------

T = 'topics = ["security-cooperation"]\n\n[crawl]\n'  # a bad [crawl] value then sits on line 4

BAD_CONFIGS = [
    # (file content, the line's prefix, what else the message must name)
    (T + "timeout = -1\n", "catalog.toml:4:", ["timeout = -1", "0 < timeout <= 600 seconds"]),
    (T + "timeout = 0\n", "catalog.toml:4:", ["timeout = 0", "out of range"]),
    (T + "timeout = 601\n", "catalog.toml:4:", ["timeout = 601", "<= 600"]),
    (T + "timeout = inf\n", "catalog.toml:4:", ["timeout", "inf", "finite"]),
    (T + "timeout = nan\n", "catalog.toml:4:", ["timeout", "nan", "finite"]),
    (T + "delay = -0.5\n", "catalog.toml:4:", ["delay = -0.5", "0 <= delay <= 3600 seconds"]),
    (T + "delay = 3601\n", "catalog.toml:4:", ["delay = 3601", "out of range"]),
    (T + "delay = -inf\n", "catalog.toml:4:", ["delay", "-inf", "finite"]),
    (T + "delay = 1e999\n", "catalog.toml:4:", ["delay", "inf"]),
    (T + 'delay = "fast"\n', "catalog.toml:4:", ["delay has a bad value 'fast'", "not a number"]),
    (T + "delay = true\n", "catalog.toml:4:", ["delay", "true", "not a number"]),
    (T + "delay = 1979-05-27\n", "catalog.toml:4:", ["delay", "1979-05-27", "not a number"]),
    (T + "delay = [1]\n", "catalog.toml:4:", ["delay", "[1]", "not a number"]),
    (T + "retries = -1\n", "catalog.toml:4:", ["retries = -1", "0 <= retries <= 10"]),
    (T + "retries = 11\n", "catalog.toml:4:", ["retries = 11", "0 <= retries <= 10"]),
    (T + "retries = 2.5\n", "catalog.toml:4:", ["retries", "2.5", "not a whole number"]),
    (T + "retries = false\n", "catalog.toml:4:", ["retries", "false", "not a whole number"]),
    (T + "retries = 99999999999999999999999\n", "catalog.toml:4:", ["retries", "out of range"]),
    (T + "retries = 9223372036854775808\n", "catalog.toml:4:", ["retries", "<= 10"]),
    (T + 'contact = ""\n', "catalog.toml:4:", ["contact", "''", "empty"]),
    (T + 'contact = "   "\n', "catalog.toml:4:", ["contact", "'   '", "empty"]),
    (T + 'contact = "me\\r\\nX-Evil: 1"\n', "catalog.toml:4:", ["contact", "control characters"]),
    (T + 'contact = "a\\u0000b"\n', "catalog.toml:4:", ["contact", "control characters"]),
    (T + "contact = 42\n", "catalog.toml:4:", ["contact", "42", "not a text"]),
    (T + f'contact = "{"x" * 201}"\n', "catalog.toml:4:", ["contact", "longer than 200"]),
    (T + "timout = 5\n", "catalog.toml:4:", ["unknown [crawl] setting 'timout'", "'timeout'?"]),
    (T + "retry = 5\n", "catalog.toml:4:", ["'retry'", "did you mean 'retries'?"]),
    (T + "speed = 1\n", "catalog.toml:4:", ["'speed'", "known: contact, delay"]),
    ("crawl.timeout = 700\n", "catalog.toml:1:", ["timeout = 700", "out of range"]),
    ('topic = ["a"]\n', "catalog.toml:1:", ["unknown setting 'topic'", "did you mean 'topics'?"]),
    ("crawl = 3\n", "catalog.toml:1:", ["[crawl] must be a table"]),
    (
        "topics = []\n[crawll]\ndelay = 1\n",
        "catalog.toml:2:",
        ["'crawll'", "did you mean 'crawl'?"],
    ),
    ("topics = []\n[Crawl]\ndelay = 1\n", "catalog.toml:2:", ["'Crawl'", "did you mean 'crawl'?"]),
    ('topics = "security-cooperation"\n', "catalog.toml:1:", ["topics", "'security-coop"]),
    ("topics = [1]\n", "catalog.toml:1:", ["topics", "1", "list of strings"]),
    ('topics = [\n  "a",\n  "",\n]\n', "catalog.toml:3:", ["topics", "''", "neither"]),
    ('topics = [\n  "a",\n  "  ",\n]\n', "catalog.toml:3:", ["topics", "neither"]),
    ('topics = ["Not A Slug!"]\n', "catalog.toml:1:", ["topics", "'Not A Slug!'"]),
    ('topics = ["ftp://x.org/t"]\n', "catalog.toml:1:", ["topics", "'ftp://x.org/t'"]),
    ('topics = ["https://x y.org/t"]\n', "catalog.toml:1:", ["'https://x y.org/t'", "not an"]),
    ('topics = ["https://x.org:port/"]\n', "catalog.toml:1:", ["'https://x.org:port/'"]),
    ('topics = ["https:///t.html"]\n', "catalog.toml:1:", ["'https:///t.html'", "not an"]),
    ('topics = [\n  "a",\n  "b",\n  "a",\n]\n', "catalog.toml:4:", ["topics lists 'a' twice"]),
    ('topics = ["a", "b"]\ntopics = ["c"]\n', "catalog.toml:2:", ["not valid TOML"]),
    ('topics = ["a"\n', "catalog.toml:1:", ["not valid TOML"]),
    ("topics = " + "[" * 200 + "]" * 200 + "\n", "catalog.toml:1:", ["not valid TOML"]),
    (b'topics = ["a"]\n# caf\xe9\n', "catalog.toml:", ["not UTF-8 text (byte 0xe9 at offset 20)"]),
    (b"\xff\xfe" + "topics = []\n".encode("utf-16-le"), "catalog.toml:", ["byte 0xff at offset 0"]),
    (BOM + b"topics = [\xc0]\n", "catalog.toml:", ["byte 0xc0 at offset 13"]),
]


@pytest.mark.parametrize(("content", "where", "names"), BAD_CONFIGS)
def test_bad_catalog_toml_is_one_line_naming_line_key_and_value(tmp_path, content, where, names):
    home = write_config(tmp_path, content)
    line = one_error_line(run(home, "topics", "list"))
    assert f"{home / 'catalog.toml'}" in line
    assert where in line
    for name in names:
        assert name in line
    assert len(line) < 300


def test_bad_catalog_toml_is_a_config_error_from_the_library(tmp_path):
    home = write_config(tmp_path, T + "timeout = -1\n")
    with pytest.raises(ConfigError, match="timeout = -1 is out of range") as caught:
        load_home_config(home)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("content", "topics", "options"),
    [
        (T, ["security-cooperation"], CrawlOptions()),
        (
            T + "delay = 0\ntimeout = 0.5\nretries = 0\n",
            ["security-cooperation"],
            CrawlOptions(delay=0, timeout=0.5, retries=0),
        ),
        (
            T + "delay = 3600\ntimeout = 600\nretries = 10\n",
            ["security-cooperation"],
            CrawlOptions(delay=3600, timeout=600, retries=10),
        ),
        (
            T + 'contact = " mailto:ana@example.org "\ndelay = 1.5\n',
            ["security-cooperation"],
            CrawlOptions(contact="mailto:ana@example.org", delay=1.5),
        ),
        (
            T + 'contact = "Ana Müller <ana@example.org>"\n',
            ["security-cooperation"],
            CrawlOptions(contact="Ana Müller <ana@example.org>"),
        ),
        ("topics = []\n", [], CrawlOptions()),
        ("", [], CrawlOptions()),
        ("[crawl]\ntimeout = 5\n", [], CrawlOptions(timeout=5)),
        ("crawl.timeout = 5\n", [], CrawlOptions(timeout=5)),
        (
            'topics = [" a-b ", "https://example.org/t.html"]\n',
            ["a-b", "https://example.org/t.html"],
            CrawlOptions(),
        ),
        (BOM + b'topics = ["a"]\n[crawl]\ndelay = 2\n', ["a"], CrawlOptions(delay=2)),
        ('# café ☕\ntopics = ["a"]  # ünïcode comments are fine\n', ["a"], CrawlOptions()),
    ],
)
def test_good_catalog_toml_is_accepted(tmp_path, content, topics, options):
    home = write_config(tmp_path, content)
    config = load_home_config(home)
    assert config.topics == topics
    assert config.crawl == options
    result = run(home, "topics", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == topics


def test_topics_add_keeps_working_on_a_bom_file(tmp_path):
    home = write_config(tmp_path, BOM + b'topics = ["a"]\n')
    assert run(home, "topics", "add", "b").exit_code == 0
    assert load_home_config(home).topics == ["a", "b"]
    duplicate = run(home, "topics", "add", "b")
    assert duplicate.exit_code == 0 and duplicate.stdout.split() == ["a", "b"]


SLUG_URL = "https://www.rand.org/topics/security-cooperation.html"
# Other spellings of the listing `security-cooperation` names.
SPELLINGS = [
    SLUG_URL,
    SLUG_URL + "?utm_source=newsletter&utm_medium=email",
    SLUG_URL + "#featured",
    SLUG_URL + "?page=1",
    "HTTPS://WWW.RAND.ORG/topics/security-cooperation.html",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_two_spellings_of_one_listing_in_catalog_toml_are_one_line_naming_both(tmp_path, spelling):
    """Accepted, they failed every crawl later as a pagination loop (two walks, one listing)."""
    home = write_config(tmp_path, f'topics = [\n  "security-cooperation",\n  "{spelling}",\n]\n')
    line = one_error_line(run(home, "topics", "list"))
    assert "catalog.toml:3:" in line and "on line 2, 'security-cooperation'" in line
    assert f"topics lists {spelling[:40]!r}"[:-1] in line and SLUG_URL in line


def test_two_spellings_of_one_url_topic_are_refused_by_crawl_before_any_work(tmp_path):
    url = "http://127.0.0.1:9/topics/x.html"  # nothing listens: a crawl would fail otherwise
    home = write_config(tmp_path, f'topics = ["{url}", "{url}?utm_source=x#top"]\n')
    result = run_catalog(home, "crawl", timeout=120)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "catalog.toml:1:" in line and "on line 1" in line and "remove one" in line
    assert not (home / "catalog.db").exists()


def test_good_spellings_are_read_in_canonical_form(tmp_path):
    home = write_config(
        tmp_path,
        'topics = ["https://Example.org/topics/a.html?utm_source=x&page=1#top",\n'
        '  "https://example.org/topics/a.html?page=2"]\n',
    )
    assert load_home_config(home).topics == [
        "https://example.org/topics/a.html",
        "https://example.org/topics/a.html?page=2",  # another start page: another walk
    ]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_topics_add_of_another_spelling_says_it_is_already_listed(tmp_path, spelling):
    home = write_config(tmp_path, 'topics = ["security-cooperation"]  # the one we watch\n')
    before = (home / "catalog.toml").read_text()
    result = run(home, "topics", "add", spelling)
    assert result.exit_code == 0, result.output
    assert "already listed (as security-cooperation)" in result.stderr
    assert result.stdout.split() == ["security-cooperation"]
    assert (home / "catalog.toml").read_text() == before


def test_topics_add_writes_the_canonical_form_and_remove_takes_any_spelling(tmp_path):
    home = write_config(tmp_path, 'topics = ["security-cooperation"]\n')
    added = run(home, "topics", "add", "https://Example.org/t.html?utm_source=x#top")
    assert added.exit_code == 0, added.output
    assert load_home_config(home).topics == ["security-cooperation", "https://example.org/t.html"]
    assert run(home, "topics", "remove", SPELLINGS[1]).exit_code == 0
    assert run(home, "topics", "remove", "https://example.org/t.html#x").exit_code == 0
    assert load_home_config(home).topics == []


@pytest.mark.parametrize(
    "content",
    [
        T + "timeout = -1\n",
        T + "timout = 5\n",
        b'topics = ["a"]\n\xff\n',
        'topics = ["a", "a"]\n',
    ],
    ids=["range", "unknown-key", "not-utf8", "duplicate"],
)
def test_crawl_with_a_bad_config_does_nothing(tmp_path, content):
    """A subprocess, as cron runs it: no site is needed since nothing may be fetched."""
    home = write_config(tmp_path, content)
    before = (home / "catalog.toml").read_bytes()
    result = run_catalog(home, "crawl", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ") and "catalog.toml" in result.stderr
    assert sorted(p.name for p in home.iterdir()) == ["catalog.toml"]  # no db, log, lock, index
    assert (home / "catalog.toml").read_bytes() == before


def test_crawl_with_a_bad_option_creates_no_home(tmp_path):
    home = tmp_path / "home"
    result = run_catalog(home, "crawl", "--max-pages", "99999999999999999999999", timeout=120)
    assert result.returncode == 2 and "--max-pages" in result.stderr
    assert "Traceback" not in result.stderr
    assert not home.exists()


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir], ids=["fifo", "folder"])
def test_catalog_toml_that_is_not_a_file_is_an_error_not_a_hang(tmp_path, make):
    home = tmp_path / "home"
    home.mkdir()
    make(home / "catalog.toml")
    result = run_catalog(home, "topics", "list", timeout=60)
    assert result.returncode == 2 and "not a regular file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_catalog_toml_over_a_megabyte_is_refused_unread(tmp_path):
    home = write_config(tmp_path, "# padding\n" * 120_000)
    assert "larger than 1,000,000 bytes" in one_error_line(run(home, "topics", "list"))


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "Not A Slug!",
        "-leading-dash",
        "UPPER",
        "a/b",
        "x" * 2001,
        "http://",
        "https://[x/t.html",
        "https://a b/t.html",
        "https://a.org/t\x00.html",
        "https://a.org/t\n.html",
        "https://a.org:99x/t.html",
        "ftp://a.org/t.html",
        "//a.org/t.html",
    ],
)
def test_check_topic_refuses(value):
    with pytest.raises(ConfigError):
        check_topic(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("security-cooperation", "security-cooperation"),
        (" a1-b ", "a1-b"),
        ("https://www.rand.org/topics/x.html?page=2", "https://www.rand.org/topics/x.html?page=2"),
        ("http://127.0.0.1:8000/topics/x.html", "http://127.0.0.1:8000/topics/x.html"),
        ("http://[::1]:8000/t.html", "http://[::1]:8000/t.html"),
    ],
)
def test_check_topic_accepts(value, expected):
    assert check_topic(value) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--topic", ""],
        ["--topic", "Not A Slug!"],
        ["--start-url", "https://[x/t.html"],
        ["--start-url", "https://a.org/\x7f"],
    ],
)
def test_crawl_with_a_bad_topic_or_url_does_nothing(tmp_path, args):
    home = write_config(tmp_path, "topics = []\n")
    result = run_catalog(home, "crawl", *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in home.iterdir()) == ["catalog.toml"]


# --- options ---------------------------------------------------------------------------------

HUGE = "99999999999999999999999"

BAD_OPTIONS = [
    (["search", "x", "--since", "2019-25"], ["'2019-25' is not a date", "month 25"]),
    (["search", "x", "--since", "2019-13-01"], ["'2019-13-01'", "month 13"]),
    (["search", "x", "--until", "2019-02-30"], ["'2019-02-30'", "day 30 is not 1 to 28"]),
    (["search", "x", "--until", "2019-04-31"], ["'2019-04-31'", "day 31"]),
    (["search", "x", "--since", "2019-00"], ["'2019-00'", "month 0"]),
    (["search", "x", "--since", "2019-01-00"], ["'2019-01-00'", "day 0"]),
    (["search", "x", "--since", "0000"], ["'0000'", "year"]),
    (["search", "x", "--since", "10000"], ["'10000'", "not a date"]),
    (["search", "x", "--since", "99"], ["'99'", "not a date"]),
    (["search", "x", "--since", "2019-01-01x"], ["'2019-01-01x'", "not a date"]),
    (["search", "x", "--since", "2019-01-01T00:00"], ["'2019-01-01T00:00'", "not a date"]),
    (["search", "x", "--since", "2019-"], ["'2019-'", "not a date"]),
    (["search", "x", "--since", "-2019"], ["'-2019'", "not a date"]),
    (["search", "x", "--since", "2019-1-1-1"], ["'2019-1-1-1'", "not a date"]),
    (["search", "x", "--since", "２０１９"], ["not a date"]),  # full-width digits
    (["search", "x", "--since", ""], ["'' is not a date"]),
    (["search", "x", "--since", "last week"], ["'last week' is not a date"]),
    (["changes", "--since", "2021-02-29"], ["'2021-02-29'", "day 29"]),
    (["search", "x", "--limit", HUGE], ["--limit", "1<=x<=100000"]),
    (["search", "x", "--limit", "9" * 5000], ["--limit", "1<=x<=100000"]),
    (["search", "x", "--limit", "100001"], ["--limit", "100001"]),
    (["search", "x", "--limit", "0"], ["--limit", "0"]),
    (["search", "x", "--limit", "-5"], ["--limit"]),
    (["search", "x", "--limit", "1e3"], ["--limit", "1e3"]),
    (["search", "x", "--limit", "nan"], ["--limit", "nan"]),
    (["runs", "--limit", HUGE], ["--limit", "1<=x<=100000"]),
    (["runs", "--limit", "0"], ["--limit"]),
    (["runs", "--limit", "inf"], ["--limit", "inf"]),
    (["crawl", "--max-pages", HUGE], ["--max-pages", "1<=x<=10000"]),
    (["crawl", "--max-pages", "0"], ["--max-pages"]),
    (["crawl", "--max-pages", "2.5"], ["--max-pages"]),
    (["crawl", "--pages", HUGE], ["--pages", "1<=x<=10000"]),
    (["crawl", "--pages", "0"], ["--pages"]),
    (["show", HUGE], [HUGE, "not a publication id"]),
    (["show", str(MAX_ID + 1)], [str(MAX_ID + 1), "not a publication id"]),
    (["show", "1" * 5000], ["not a publication id"]),
    (["show", "²"], ["'²'", "neither a publication id nor a URL"]),
]


@pytest.mark.parametrize(("args", "names"), BAD_OPTIONS)
def test_bad_option_is_a_usage_error(tmp_path, args, names):
    """Click checks these before any command runs, so the home stays untouched."""
    home = tmp_path / "home"
    line = one_error_line(run(home, *args))
    for name in names:
        assert name in line
    assert len(line) < 300
    assert not home.exists()


@pytest.mark.parametrize("key", ["1", "007", str(MAX_ID), " 42 "])
def test_show_accepts_any_id_sqlite_can_hold(tmp_path, key):
    assert run(tmp_path / "home", "db", "upgrade").exit_code == 0  # an empty catalog
    result = run(tmp_path / "home", "show", key)
    assert result.exit_code == 1 and "no publication" in result.stderr, result.output


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2019", False, date(2019, 1, 1)),
        ("2019", True, date(2019, 12, 31)),
        ("2019-02", False, date(2019, 2, 1)),
        ("2019-02", True, date(2019, 2, 28)),
        ("2020-02", True, date(2020, 2, 29)),
        ("2019-2", True, date(2019, 2, 28)),
        ("2019-12", True, date(2019, 12, 31)),
        ("9999-12", True, date(9999, 12, 31)),
        ("9999", True, date(9999, 12, 31)),
        ("0001", False, date(1, 1, 1)),
        ("2020-02-29", False, date(2020, 2, 29)),
        ("2019-6-5", True, date(2019, 6, 5)),
        (" 2019-06-05 ", False, date(2019, 6, 5)),
    ],
)
def test_good_dates(text, end, expected):
    assert DateBound(end=end).convert(text, None, None) == expected


@pytest.mark.parametrize("text", ["2019-25", "2019-02-30", "0000", "2019-06-05\x00", "2019/06"])
def test_bad_dates_raise_bad_parameter(text):
    with pytest.raises(click.BadParameter, match="is not a date"):
        DateBound().convert(text, None, None)


# --- queries ---------------------------------------------------------------------------------

DOCS = [
    {"id": 1, "url": "u1", "title": "Alliance burden-sharing", "summary": "Allies and partners."},
    {"id": 2, "url": "u2", "title": "Japan and Korea", "summary": "Security cooperation."},
]


@pytest.fixture
def index(tmp_path, search_engine):
    return build_index(tmp_path / "home" / "index", DOCS, search_engine)


@pytest.fixture
def index_dir(index):
    return index.folder


COSTLY_QUERIES = [
    ("x" * 1001, "1,001 characters"),
    ("alliance " * 120, "characters"),  # 1,080 characters: the length check comes first
    (" ".join(["japan"] * 101), "101 words"),
    (" OR ".join(["w"] * 51), "101 words"),
    ("*foo", "a wildcard cannot start a word ('*foo')"),
    ("?foo", "a wildcard cannot start a word ('?foo')"),
    ("japan OR *ance", "cannot start a word"),
    ("title:*ance", "cannot start a word"),
    ("(korea AND ?apan)", "cannot start a word"),
    ("**", "cannot start a word"),
    ("a*b*c*d*e*f*g", "6 wildcards"),
    ("al* ja* ko* se* co* pa*", "6 wildcards"),
    ("a?b?c d?e?f g?h?i", "6 wildcards; at most 5"),
    ("(" * 11 + "japan" + ")" * 11, "nested more than 10 deep"),
    ("[" * 11 + "]" * 11, "nested more than 10 deep"),
]


@pytest.mark.parametrize(("query", "message"), COSTLY_QUERIES)
def test_costly_queries_raise_query_error(index, query, message):
    with pytest.raises(QueryError, match="^.{0,200}$") as caught:
        hits_of(index, query)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        "*",
        "  *  ",
        "title:*",
        "* AND japan",
        "allian*",
        "allian* OR jap?n",
        "(((japan)))",
        "x" * 999,
    ],
)
def test_ordinary_wildcards_and_nesting_still_work(index, query):
    hits_of(index, query)  # no error; what matches is test_index_search.py's business


def test_plain_star_matches_everything(index):
    assert {h.url for h in hits_of(index, "*")} == {"u1", "u2"}
    assert [h.url for h in hits_of(index, "allian*")] == ["u1"]


def test_a_10000_character_random_query_is_refused(index_dir):
    rng = random.Random(20261123)
    query = "".join(rng.choices(string.printable + "*?()[]{}\"'", k=10_000))
    with pytest.raises(QueryError, match="10,000 characters"):
        parse(query)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, 10**30, True, 2.5, "20"])
def test_search_refuses_a_limit_out_of_range(index, limit):
    with pytest.raises(QueryError, match="limit must be a whole number from 1 to 100,000"):
        hits_of(index, "japan", limit=limit)


@pytest.mark.parametrize(
    "query", ["*foo", "x" * 5000, "(" * 11 + "a" + ")" * 11, "a*b*c*d*e*f*g", "\x00" * 2000]
)
def test_costly_query_on_the_command_line_is_one_line_exit_2(index_dir, query):
    result = run(index_dir.parent, "search", query)
    line = one_error_line(result)
    assert len(line) < 300
