"""The `catalog` group: global options, one-line errors, and what every command shares.

Exit codes: 0 success; 1 the operation failed (crawl failed or was interrupted, statement
refused, database error); 2 usage error (bad option, malformed query, date or catalog.toml);
3 another crawl holds the home's lock.
"""

from __future__ import annotations

import calendar
import logging
import math
import os
import re
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from catalog import config as catalog_config
from catalog.config import CatalogConfig
from catalog.db import check_schema, make_engine
from catalog.errors import CatalogError


class CliError(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Option values the library checks again (``index.SORTS``, ``index.MAX_LIMIT``,
# ``sql.DEFAULT_TIMEOUT``; a test keeps them equal). Spelled out here so that the command line
# can declare its options without importing Whoosh or the SQL runner: each command imports
# what it uses when it runs, and `catalog --help` or `catalog sql` start fast.
SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 100_000
SQL_TIMEOUT = 30.0
MAX_SQL_TIMEOUT = 86_400.0  # a day; 0 means no limit at all

# Commands whose unexpected errors belong in the crawl log (they run a crawl).
CRAWL_COMMANDS = ("crawl", "demo")
# Unexpected errors are written here only: never to a terminal, whatever else is configured.
error_logger = logging.getLogger("catalog.unexpected")
error_logger.propagate = False


class CatalogGroup(click.Group):
    """Turns library errors into one-line messages instead of tracebacks.

    An error nobody anticipated is a bug; its traceback goes to the home's log (the crawl
    log for crawls, else ``catalog.log``) and the terminal gets one line saying where.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:  # a bad --home or --db
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            # Data still buffered is written here, where a reader that left (`| head -1`) is
            # handled below, rather than at interpreter exit, where Python would complain.
            sys.stdout.flush()
            return result
        except click.UsageError as exc:  # a bad option, argument or command, at any level
            raise _one_line(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except CatalogError as exc:
            raise CliError(str(exc), exc.exit_code) from exc
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise CliError(f"database error: {first}") from exc
        except BrokenPipeError:
            # `catalog search x | head -1`: the reader took what it wanted and left. That is
            # normal for a command-line tool (as SIGPIPE is): exit 0 and say nothing. Output
            # still buffered goes nowhere (the recipe of Python's signal docs).
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except OSError as exc:
            raise CliError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from exc
        except Exception as exc:
            path = _log_unexpected(ctx, exc)
            first = (str(exc).splitlines() or [""])[0]
            raise CliError(f"unexpected {type(exc).__name__}: {first} (details in {path})") from exc


def _one_line(exc: click.UsageError) -> click.ClickException:
    """A usage error as the one line (exit code 2) every other error is.

    click would print the command's usage and a hint above it; scripts and cron mails read
    the first line. A command run without its subcommand still gets its help.
    """
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return exc
    return CliError(exc.format_message(), exit_code=2)


def _log_unexpected(ctx: click.Context, exc: Exception) -> Path:
    """Write ``exc``'s traceback to the home's log (or a temporary file); return the file."""
    config = ctx.find_object(CatalogConfig)
    if config is None:
        try:
            config = catalog_config.resolve()
        except Exception:  # the home itself is the problem: fall back to a temporary file
            config = None
    candidates = []
    if config is not None:
        crawling = ctx.invoked_subcommand in CRAWL_COMMANDS
        candidates.append(config.log_file if crawling else config.home / "catalog.log")
    candidates.append(Path(tempfile.gettempdir()) / "thinktank-catalog.log")
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            continue
        handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
        error_logger.addHandler(handler)
        try:
            command = " ".join(sys.argv[1:]) or ctx.info_name or "catalog"
            error_logger.error("unexpected error in `catalog %s`", command, exc_info=exc)
        finally:
            error_logger.removeHandler(handler)
            handler.close()
        return path
    return candidates[-1]


_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")
# Bounds for numeric options: far beyond any real use, far below what overflows a C long
# (SQLite's LIMIT, Whoosh's result arrays), so a typo is a usage error, not a traceback.
MAX_PAGES = 10_000
MAX_ROWS = 100_000
MAX_ID = 2**63 - 1  # SQLite's INTEGER PRIMARY KEY is a signed 64-bit number


class Count(click.IntRange):
    """A whole number from 1 to ``max``; a long digit string is refused before int() reads it.

    Python refuses to convert integers of more than 4,300 digits, and click would echo the
    whole argument back: both are avoided by looking at the text's length first.
    """

    def __init__(self, max_value: int) -> None:
        super().__init__(min=1, max=max_value)

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, str) and len(value.strip()) > len(str(self.max)) + 2:
            self.fail(f"{value.strip()[:20]}... is not in the range 1<=x<={self.max}", param, ctx)
        return super().convert(value, param, ctx)


class DateBound(click.ParamType):
    """YYYY, YYYY-MM or YYYY-MM-DD; a start bound takes the first day, an end bound the last.

    Parsed strictly: `2019-25` or `2019-02-30` is a usage error, never rolled over into
    another month or year that would quietly filter the wrong publications.
    """

    name = "date"

    def __init__(self, end: bool = False) -> None:
        self.end = end

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        match = _DATE.fullmatch(text)
        if match is None:
            self._fail(text, "use YYYY, YYYY-MM or YYYY-MM-DD", param, ctx)
        year, month, day = (int(g) if g else None for g in match.groups())
        if not 1 <= year <= 9999:
            self._fail(text, "the year must be 0001 to 9999", param, ctx)
        if month is not None and not 1 <= month <= 12:
            self._fail(text, f"month {month} is not 1 to 12", param, ctx)
        last_day = calendar.monthrange(year, month or 12)[1]
        if day is not None and not 1 <= day <= last_day:
            self._fail(text, f"day {day} is not 1 to {last_day} in {year}-{month:02d}", param, ctx)
        if day is not None:
            return date(year, month, day)
        if month is None:
            return date(year, 12, 31) if self.end else date(year, 1, 1)
        return date(year, month, last_day if self.end else 1)

    def _fail(self, text: str, why: str, param: Any, ctx: Any) -> NoReturn:
        self.fail(f"{text[:40]!r} is not a date ({why})", param, ctx)


class PublicationKey(click.ParamType):
    """A publication id (digits) or URL, as `catalog show` takes it.

    An id beyond SQLite's 64-bit integers would overflow the driver, and digits that are
    not ASCII ('²') would not convert at all; both are usage errors here instead.
    """

    name = "id_or_url"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value).strip()
        if text.isdigit() and not text.isascii():
            self.fail(f"{text[:40]!r} is neither a publication id nor a URL", param, ctx)
        if text.isdigit() and (len(text) > 19 or int(text) > MAX_ID):
            self.fail(f"{text[:40]!r} is not a publication id (ids are 1 to {MAX_ID})", param, ctx)
        return text


class DatabaseURL(click.ParamType):
    """``--db``: a SQLAlchemy URL of a catalog that outlives the command.

    An in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``, ``mode=memory``) is
    empty when each command starts and gone when it ends: a crawl into it would store
    nothing anyone could read, and a read finds no catalog. It is refused up front, for every
    command, rather than failing later with a message about something else.
    """

    name = "url"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        text = str(value).strip()
        try:
            url = make_url(text)
        except ArgumentError:
            self.fail(
                f"{text[:80]!r} is not a database URL (e.g. sqlite:///path/catalog.db)", param, ctx
            )
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if (
                database in ("", ":memory:")
                or database.startswith("file::memory:")
                or url.query.get("mode") == "memory"
            ):
                self.fail(
                    f"{text} is an in-memory database, empty for every command: give a file "
                    "(sqlite:///path/catalog.db) or a PostgreSQL URL",
                    param,
                    ctx,
                )
        return text


class Seconds(click.ParamType):
    """A finite number of seconds from 0 to ``max``: ``nan`` and ``inf`` are usage errors.

    click's FloatRange lets both through (``nan`` compares false with every bound), and a
    timer cannot be set to either.
    """

    name = "seconds"

    def __init__(self, max_value: float) -> None:
        self.max = max_value

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float) and math.isfinite(value) and 0 <= value <= self.max:
            return value
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and 0 <= seconds <= self.max):
            self.fail(
                f"{text[:40]!r} is not a number of seconds from 0 to {self.max:g}", param, ctx
            )
        return seconds


class OutputFile(click.Path):
    """``--output FILE``: an empty name is a usage error, not the current folder."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("needs a file name (or leave --output out to write to stdout)", param, ctx)
        return super().convert(value, param, ctx)


def text_argument(value: str, what: str) -> str:
    """``value`` as text SQL can carry: bytes that are not UTF-8 are a usage error.

    Python hands undecodable bytes of a command line over as lone surrogates, which no
    database driver can encode.
    """
    for position, char in enumerate(value):
        if "\udc80" <= char <= "\udcff":
            raise click.UsageError(
                f"{what} is not UTF-8 text (byte 0x{ord(char) - 0xDC00:02x} at character "
                f"{position + 1})"
            )
    return value


def reading_engine(config: CatalogConfig) -> Engine:
    """The catalog opened for reading, as every command that only reads it opens it.

    Reading never creates or migrates anything: a home without a catalog, or one whose schema
    is behind, is a one-line error (run `catalog crawl` / `catalog db upgrade`), and a catalog
    on a read-only filesystem or owned by someone else is read as it is.
    """
    engine = make_engine(config.db_url, read_only=True)
    check_schema(engine)
    return engine


pass_config = click.make_pass_decorator(CatalogConfig)
# The one --json flag every command that prints data shares (documented JSON, stable keys).
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of text (keys are stable)."
)
# CSV and TSV for spreadsheets: Excel on Windows reads UTF-8 only after a byte order mark.
bom_option = click.option(
    "--bom", is_flag=True, help="Start CSV or TSV with a UTF-8 byte order mark (for Excel)."
)


def format_option(choices: tuple[str, ...], default: str) -> Any:
    """The one --format option: the same name, choices and help wherever data is printed."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        help=f"Output format (default {default}).",
    )


def pick_format(fmt: str | None, as_json: bool, default: str, bom: bool = False) -> str:
    """--json is an alias of --format json, kept for the scripts that use it."""
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json means --format json; it cannot go with --format {fmt}")
    chosen = "json" if as_json else fmt or default
    if bom and chosen not in ("csv", "tsv"):
        raise click.UsageError("--bom applies to --format csv and tsv only")
    return chosen


def citation_keys_for(engine, fmt: str) -> dict[int, str] | None:
    """BibTeX/CSL keys from the whole catalog, so a subset gets the keys a full export gives."""
    from catalog import queries

    if fmt not in ("bibtex", "csl-json"):
        return None
    return queries.citation_keys(engine)


@click.group(cls=CatalogGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CATALOG_HOME",
    help="Catalog folder (database, index, log). Env: CATALOG_HOME.",
)
@click.option(
    "--db",
    "db_url",
    type=DatabaseURL(),
    metavar="URL",
    envvar="CATALOG_DB",
    help="SQLAlchemy database URL instead of <home>/catalog.db. Env: CATALOG_DB.",
)
@click.version_option(package_name="thinktank-catalog")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, db_url: str | None) -> None:
    """A searchable catalog of think-tank publications.

    Shell completion (bash): eval "$(_CATALOG_COMPLETE=bash_source catalog)"

    \b
    Example:
        catalog crawl --topic security-cooperation
        catalog search 'alliance AND japan' --since 2021
        catalog search '"security cooperation"' --format bibtex > refs.bib
    """
    ctx.obj = catalog_config.resolve(home, db_url)


def closing_abandoned_runs(config: CatalogConfig, engine: Engine) -> Engine:
    """The engine, after marking runs whose process died as interrupted (never left running).

    A catalog this user may only read is shown as it is.
    """
    from catalog.store import CatalogStore

    try:
        writer = make_engine(config.db_url)
        try:
            CatalogStore(writer).close_abandoned_runs()
        finally:
            writer.dispose()
    except (CatalogError, SQLAlchemyError, OSError):
        pass
    return engine


# Seconds a search waits for another process writing the index before searching it as it is.
SEARCH_SYNC_WAIT = 10.0


def index_up_to_date(config: CatalogConfig, engine: Engine):
    """Before a search: catch the index up with the catalog (a no-op when it is level).

    Returns the home's :class:`~catalog.index.SearchIndex`. An index built by the other
    engine, or one that cannot be read, is rebuilt, with one line on stderr saying so. When
    the index cannot be written (a read-only home, another process writing it for long) the
    search goes on over what it holds, with one warning on stderr.
    """
    from catalog import queries
    from catalog.index import IndexUnavailable

    index = config.search_index()
    try:
        report = index.sync(queries.CatalogIndexSource(engine), wait=SEARCH_SYNC_WAIT)
    except IndexUnavailable as exc:
        click.echo(f"warning: searching an index that may be behind the catalog: {exc}", err=True)
    else:
        if report.rebuilt and report.why:
            click.echo(
                f"notice: rebuilt the search index for {index.engine_name} ({report.why}): "
                f"{report.updated} publications",
                err=True,
            )
    return index
