"""`catalog sql`: the only module that runs users' SQL, and the guards that make it harmless.

Analysts type whatever they like, so nothing here trusts the statement:

- It runs in a transaction that is always rolled back. SQLite engines are opened read-only
  (``make_engine(read_only=True)``: ``mode=ro`` plus ``query_only``), and an authorizer
  refuses, at prepare time, everything that is not a read: writes, DDL, ``ATTACH`` (which
  would create a file even next to a read-only catalog), ``VACUUM [INTO]``, pragmas that set
  something, extension loading. PostgreSQL gets ``SET TRANSACTION READ ONLY`` and only
  ``SELECT``-like statements, ``EXPLAIN`` and ``SHOW`` are sent.
- It has a time limit. SQLite checks the clock from a progress handler every few thousand
  virtual-machine steps; PostgreSQL gets ``SET LOCAL statement_timeout``; both also check
  between fetches, so a statement that streams rows forever stops too.
- Ctrl-C stops it at once: SQLite's progress handler sees the interrupt (a running
  ``sqlite3_step`` never returns to Python otherwise); psycopg cancels the query on the
  server when ``KeyboardInterrupt`` reaches it.
- Rows are streamed, ``FETCH_ROWS`` at a time (a server-side cursor on PostgreSQL), so a
  million-row result never sits in memory.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from catalog.errors import Interrupted, ReadOnlyError, SQLError, SQLTimeout, UsageError

DEFAULT_TIMEOUT = 30.0
FETCH_ROWS = 1000  # rows read from the driver at a time
PROGRESS_STEPS = 10_000  # SQLite VM instructions between looks at the clock and at Ctrl-C

# Statements sent to servers other than SQLite (where the authorizer decides instead).
SERVER_STATEMENTS = ("select", "with", "values", "table", "explain", "show")
# Of those, the ones a server-side cursor (DECLARE ... CURSOR FOR) cannot take; their output
# is small, so they run on an ordinary cursor.
UNSTREAMABLE = ("explain", "show")

_READ_ONLY_MESSAGES = re.compile(
    r"read-?only|read only|query_only|not authorized|data-modifying", re.I
)
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.S)
# What is not SQL code, where a ``:name`` is text and never a placeholder: string literals,
# quoted identifiers, comments and PostgreSQL's dollar-quoted strings (each may run to the end
# of an unfinished statement, which the database then refuses).
_NOT_CODE = re.compile(
    r"'(?:[^']|'')*'?"
    r'|"(?:[^"]|"")*"?'
    r"|`[^`]*`?"
    r"|--[^\n]*"
    r"|/\*.*?(?:\*/|\Z)"
    r"|(?P<tag>\$(?:[A-Za-z_]\w*)?\$).*?(?:(?P=tag)|\Z)",
    re.S,
)
# A ``:name`` placeholder, as SQLAlchemy's ``text()`` finds one (``::integer`` is a cast).
_PLACEHOLDER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")

# --- SQLite's authorizer ---------------------------------------------------------------------

_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_PRAGMA,  # narrowed to READ_PRAGMAS below
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),  # WITH RECURSIVE
}
# Pragmas that only report. With no argument they are read (``PRAGMA user_version``); one
# with ``=`` sets (``PRAGMA user_version = 7``), and SQLite hands us the value either way.
READ_PRAGMAS = frozenset(
    [
        "application_id",
        "auto_vacuum",
        "automatic_index",
        "busy_timeout",
        "cache_size",
        "cache_spill",
        "cell_size_check",
        "collation_list",
        "compile_options",
        "data_version",
        "database_list",
        "defer_foreign_keys",
        "encoding",
        "foreign_key_check",
        "foreign_key_list",
        "foreign_keys",
        "freelist_count",
        "fullfsync",
        "function_list",
        "index_info",
        "index_list",
        "index_xinfo",
        "integrity_check",
        "journal_mode",
        "journal_size_limit",
        "legacy_alter_table",
        "locking_mode",
        "max_page_count",
        "mmap_size",
        "module_list",
        "page_count",
        "page_size",
        "pragma_list",
        "query_only",
        "quick_check",
        "read_uncommitted",
        "recursive_triggers",
        "reverse_unordered_selects",
        "schema_version",
        "secure_delete",
        "synchronous",
        "table_info",
        "table_list",
        "table_xinfo",
        "temp_store",
        "threads",
        "trusted_schema",
        "user_version",
        "wal_autocheckpoint",
    ]
)
# Of those, the ones whose argument names a table or index (or limits a check), not a value.
ARGUMENT_PRAGMAS = frozenset(
    [
        "foreign_key_check",
        "foreign_key_list",
        "index_info",
        "index_list",
        "index_xinfo",
        "integrity_check",
        "quick_check",
        "table_info",
        "table_list",
        "table_xinfo",
    ]
)
SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_temp_master", "sqlite_schema"})
# Functions that reach outside the database file.
REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})

_ACTION_NAMES = {
    getattr(sqlite3, name): words
    for name, words in (
        ("SQLITE_INSERT", "INSERT"),
        ("SQLITE_UPDATE", "UPDATE"),
        ("SQLITE_DELETE", "DELETE"),
        ("SQLITE_CREATE_INDEX", "CREATE INDEX"),
        ("SQLITE_CREATE_TABLE", "CREATE TABLE"),
        ("SQLITE_CREATE_TEMP_INDEX", "CREATE INDEX"),
        ("SQLITE_CREATE_TEMP_TABLE", "CREATE TABLE"),
        ("SQLITE_CREATE_TEMP_TRIGGER", "CREATE TRIGGER"),
        ("SQLITE_CREATE_TEMP_VIEW", "CREATE VIEW"),
        ("SQLITE_CREATE_TRIGGER", "CREATE TRIGGER"),
        ("SQLITE_CREATE_VIEW", "CREATE VIEW"),
        ("SQLITE_CREATE_VTABLE", "CREATE VIRTUAL TABLE"),
        ("SQLITE_DROP_INDEX", "DROP INDEX"),
        ("SQLITE_DROP_TABLE", "DROP TABLE"),
        ("SQLITE_DROP_TEMP_INDEX", "DROP INDEX"),
        ("SQLITE_DROP_TEMP_TABLE", "DROP TABLE"),
        ("SQLITE_DROP_TEMP_TRIGGER", "DROP TRIGGER"),
        ("SQLITE_DROP_TEMP_VIEW", "DROP VIEW"),
        ("SQLITE_DROP_TRIGGER", "DROP TRIGGER"),
        ("SQLITE_DROP_VIEW", "DROP VIEW"),
        ("SQLITE_DROP_VTABLE", "DROP VIRTUAL TABLE"),
        ("SQLITE_ALTER_TABLE", "ALTER TABLE"),
        ("SQLITE_ATTACH", "ATTACH"),
        ("SQLITE_DETACH", "DETACH"),
        ("SQLITE_REINDEX", "REINDEX"),
        ("SQLITE_ANALYZE", "ANALYZE"),
        ("SQLITE_SAVEPOINT", "SAVEPOINT"),
    )
    if hasattr(sqlite3, name)
}


def refusal(
    action: int, arg1: str | None, arg2: str | None, statement_keyword: str = ""
) -> str | None:
    """What a statement asks SQLite to do, named for the user, when it is not a plain read.

    Called by the authorizer with SQLite's action code and its two arguments; ``None``
    means allowed. ``VACUUM`` shows up as an ``ATTACH`` of its output (which is how it would
    create a file), so the statement's first keyword names it instead.
    """
    if action == sqlite3.SQLITE_UPDATE and arg1 in SCHEMA_TABLES:
        # Not a write: SQLite reports reading the schema (e.g. for pragma_table_info) this
        # way. Writing the schema needs PRAGMA writable_schema, refused below, and query_only.
        return None
    if action in _ALLOWED_ACTIONS:
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in REFUSED_FUNCTIONS:
            return f"{arg2}()"
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name not in READ_PRAGMAS:
                return f"PRAGMA {name}"
            if arg2 is not None and name not in ARGUMENT_PRAGMAS:
                return f"PRAGMA {name} = {arg2}"
        return None
    if statement_keyword == "vacuum":
        return "VACUUM"
    if action == sqlite3.SQLITE_TRANSACTION:
        return (arg1 or "BEGIN").upper()
    return _ACTION_NAMES.get(action, "this kind of statement")


# --- running one statement ---------------------------------------------------------------


@dataclass
class QueryResult:
    """A running statement: its column names, and its rows as they are read."""

    columns: list[str]
    rows: Iterator[tuple[Any, ...]]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self.rows


class _Watch:
    """The statement's deadline and whether the user asked it to stop."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout else None
        self.cancelled = False
        self.refused: str | None = None  # what the SQLite authorizer refused, for the message

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def check(self) -> None:
        """Between fetches: stop a statement that keeps producing rows past its time."""
        if self.cancelled:
            raise KeyboardInterrupt
        if self.expired():
            raise self.timeout_error()

    def timeout_error(self) -> SQLTimeout:
        return SQLTimeout(
            f"catalog sql: the statement ran longer than {self.timeout:g} s and was stopped "
            "(--timeout SECONDS; 0 for no limit)"
        )


def first_keyword(statement: str) -> str:
    """The statement's first word, lower-cased, past comments and opening parentheses."""
    rest = statement[_LEADING_NOISE.match(statement).end() :]
    word = re.match(r"\w+", rest)
    return word.group(0).lower() if word else ""


@contextmanager
def readonly_query(
    engine: Engine,
    statement: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Iterator[QueryResult]:
    """Run one statement that cannot write, and stream its rows inside the ``with`` block.

    ``params`` binds ``:name`` placeholders (SQLAlchemy ``text()``; ``::`` casts and ``%``
    are left alone). Without them the statement goes to the driver untouched, so ``%`` needs
    no escaping on PostgreSQL. ``timeout`` (seconds, None or 0 for none) covers the whole
    run, fetching included. Raises ReadOnlyError, SQLTimeout, Interrupted, UsageError (a
    parameter missing or unused) or SQLError; the transaction is always rolled back.
    """
    statement = statement.strip().rstrip(";").strip()
    if not statement:
        raise UsageError("empty SQL statement")
    keyword = first_keyword(statement)
    if not params and placeholders(statement):
        name = placeholders(statement)[0]
        raise UsageError(f"the statement uses :{name} but no value was given (-p {name} VALUE)")
    bound = _bind(statement, params) if params else None
    watch = _Watch(timeout)
    with engine.connect() as conn, _translated_errors(watch, conn.dialect.name):
        sqlite = conn.dialect.name == "sqlite"
        if not sqlite and keyword not in SERVER_STATEMENTS:
            raise ReadOnlyError(
                f"catalog sql is read-only: {keyword.upper() or 'this statement'} is not "
                f"allowed (only {', '.join(k.upper() for k in SERVER_STATEMENTS)})"
            )
        # Only the user's statement streams (DECLARE ... CURSOR cannot take the guards' SETs).
        options = {
            "stream_results": keyword not in UNSTREAMABLE,
            "max_row_buffer": FETCH_ROWS,
            "no_parameters": bound is None,
        }
        transaction = conn.begin()
        try:
            with _guards(conn, watch, keyword):
                result: CursorResult[Any]
                if bound is None:
                    result = conn.exec_driver_sql(statement, execution_options=options)
                else:
                    result = conn.execute(bound, dict(params or {}), execution_options=options)
                if not result.returns_rows:
                    raise ReadOnlyError(
                        "catalog sql is read-only: only statements that return rows are run"
                    )
                yield QueryResult(list(result.keys()), _stream(result, watch))
        finally:
            transaction.rollback()


def _code_and_text(statement: str) -> Iterator[tuple[bool, str]]:
    """The statement in pieces: (True, SQL code) and (False, a literal, identifier or comment)."""
    end = 0
    for match in _NOT_CODE.finditer(statement):
        if match.start() > end:
            yield True, statement[end : match.start()]
        yield False, match.group()
        end = match.end()
    if end < len(statement):
        yield True, statement[end:]


def placeholders(statement: str) -> list[str]:
    """The ``:name`` placeholders of a statement, in order; none inside quotes or comments."""
    names: list[str] = []
    for code, piece in _code_and_text(statement):
        if code:
            names += [n for n in _PLACEHOLDER.findall(piece) if n not in names]
    return names


def _bindable(statement: str) -> str:
    """The statement with every colon in quotes or comments escaped for ``text()``.

    ``text()`` does not know SQL's quoting: it would take the ``:30`` of ``'12:30'`` or a
    ``:name`` in a comment for a placeholder. A backslash before the colon is its escape
    (and is removed again when the statement is compiled).
    """
    return "".join(
        piece if code else re.sub(r":(?=[\w$])", r"\\:", piece)
        for code, piece in _code_and_text(statement)
    )


def _bind(statement: str, params: Mapping[str, Any]):
    """``text()`` with ``:name`` binds, refusing names the statement lacks or leaves unset."""
    clause = text(_bindable(statement))
    wanted = set(clause.compile().params)
    given = set(params)
    if given - wanted:
        name = sorted(given - wanted)[0]
        raise UsageError(f"parameter {name!r} is not used in the statement (write :{name})")
    if wanted - given:
        name = sorted(wanted - given)[0]
        raise UsageError(f"the statement uses :{name} but no value was given (-p {name} VALUE)")
    return clause


def _stream(result: CursorResult[Any], watch: _Watch) -> Iterator[tuple[Any, ...]]:
    while True:
        watch.check()
        rows = result.fetchmany(FETCH_ROWS)
        if not rows:
            return
        yield from rows


@contextmanager
def _guards(conn: Connection, watch: _Watch, keyword: str) -> Iterator[None]:
    """Install the backend's read-only guard, time limit and Ctrl-C handling for one run."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        if conn.dialect.name == "postgresql":
            milliseconds = int((watch.timeout or 0) * 1000)
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        yield  # psycopg cancels a running query on the server when Ctrl-C reaches it
        return
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)

    def authorize(action: int, arg1: Any, arg2: Any, _db: Any, _source: Any) -> int:
        what = refusal(action, arg1, arg2, keyword)
        if what is None:
            return sqlite3.SQLITE_OK
        if str(arg1 or "") in SCHEMA_TABLES and keyword:
            what = keyword.upper()  # CREATE and DROP first ask to write sqlite_master
        watch.refused = watch.refused or what
        return sqlite3.SQLITE_DENY

    def progress() -> int:
        return 1 if watch.cancelled or watch.expired() else 0

    raw.set_authorizer(authorize)
    raw.set_progress_handler(progress, PROGRESS_STEPS)
    try:
        with _sigint_interrupts(raw, watch, progress):
            yield
    finally:
        # The rollback that follows must not be refused, nor the connection's next user.
        raw.set_authorizer(None)
        raw.set_progress_handler(None, 0)


@contextmanager
def _sigint_interrupts(
    raw: sqlite3.Connection, watch: _Watch, progress: Callable[[], int]
) -> Iterator[None]:
    """Ctrl-C interrupts SQLite instead of waiting for ``sqlite3_step`` to return.

    Python runs signal handlers only between bytecodes; during a query that is inside the
    progress handler, where an exception would be swallowed. So the handler marks the run
    cancelled (the progress handler then aborts the statement) and raises
    ``KeyboardInterrupt`` itself only when it lands anywhere else (e.g. writing output).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(_signum: int, frame: FrameType | None) -> None:
        watch.cancelled = True
        raw.interrupt()
        while frame is not None:
            if frame.f_code is progress.__code__:
                return  # inside SQLite: the progress handler aborts the statement
            frame = frame.f_back
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _translated_errors(watch: _Watch, dialect: str) -> Iterator[None]:
    """Driver errors, timeouts and Ctrl-C as the library's typed, one-line errors."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted("catalog sql: interrupted; the statement was cancelled") from None
    except (DBAPIError, StatementError) as exc:
        message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        if message.startswith("Incorrect number of bindings"):  # SQLite's ?, ?1, @x, $x
            raise UsageError(
                "the statement has a placeholder without a value: catalog sql binds :NAME "
                "with -p NAME VALUE"
            ) from exc
        if watch.refused:
            raise ReadOnlyError(
                f"catalog sql is read-only: {watch.refused} is not allowed"
            ) from exc
        if dialect == "sqlite" and message == "interrupted":
            if watch.cancelled:
                raise Interrupted("catalog sql: interrupted; the statement was cancelled") from exc
            raise watch.timeout_error() from exc
        if "statement timeout" in message:
            raise watch.timeout_error() from exc
        if "canceling statement due to user request" in message:
            raise Interrupted("catalog sql: interrupted; the statement was cancelled") from exc
        if _READ_ONLY_MESSAGES.search(message):
            raise ReadOnlyError(f"catalog sql is read-only; statement refused ({message})") from exc
        raise SQLError(f"SQL error: {message}") from exc
    except SQLAlchemyError as exc:
        raise SQLError(f"SQL error: {str(exc).splitlines()[0]}") from exc
