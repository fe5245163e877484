"""The `catalog` command line: thin commands over the library, one renderer for output.

Exit codes: 0 success; 1 the operation failed (crawl failed or was interrupted, statement
refused, database error); 2 usage error (bad option, malformed query, date or catalog.toml);
3 another crawl holds the home's lock.
"""

from __future__ import annotations

import calendar
import collections
import itertools
import logging
import math
import os
import re
import sys
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from catalog import config as catalog_config
from catalog import output
from catalog.config import CatalogConfig
from catalog.db import check_schema, make_engine, upgrade
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


def _text_argument(value: str, what: str) -> str:
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


def _engine(config: CatalogConfig) -> Engine:
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


def _pick_format(fmt: str | None, as_json: bool, default: str, bom: bool = False) -> str:
    """--json is an alias of --format json, kept for the scripts that use it."""
    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json means --format json; it cannot go with --format {fmt}")
    chosen = "json" if as_json else fmt or default
    if bom and chosen not in ("csv", "tsv"):
        raise click.UsageError("--bom applies to --format csv and tsv only")
    return chosen


def _citation_keys(engine, fmt: str) -> dict[int, str] | None:
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


# --- db ------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema commands.

    \b
    Example:
        catalog db upgrade
    """


@db.command("upgrade")
@pass_config
def db_upgrade(config: CatalogConfig) -> None:
    """Create or upgrade the catalog schema to the newest migration.

    \b
    Example:
        catalog --db postgresql+psycopg://localhost/catalog db upgrade
    """
    from catalog.db import HEAD_REVISION, where

    engine = make_engine(config.db_url)
    before = upgrade(engine)
    if not before:
        message = f"created the catalog schema (revision {HEAD_REVISION}) in {where(engine)}"
    elif before != {HEAD_REVISION}:
        message = (
            f"upgraded the catalog schema from revision {', '.join(sorted(before))} "
            f"to {HEAD_REVISION} in {where(engine)}"
        )
    else:
        message = f"catalog schema is up to date (revision {HEAD_REVISION}) in {where(engine)}"
    click.echo(message, err=True)


# --- crawl ---------------------------------------------------------------------------------


def _summary_line(summary) -> str:
    mode = "full" if summary.full else "incremental"
    line = (
        f"run {summary.run_id} {summary.status} ({mode}): pages {summary.pages_fetched}, "
        f"items {summary.items_seen}, new {summary.items_new}, "
        f"updated {summary.items_updated}, unchanged {summary.items_unchanged}, "
        f"skipped {summary.items_skipped}, delisted {summary.items_delisted}, "
        f"not modified {summary.pages_not_modified}, details {summary.details_fetched}"
    )
    if summary.details_failed:
        line += f", detail pages failed {summary.details_failed} (retried next run)"
    if summary.details_skipped:
        line += f", detail pages skipped {summary.details_skipped} (on other hosts; see the log)"
    if summary.warnings:
        line += f", warnings {summary.warnings} (see the log)"
    if summary.status == "succeeded" and summary.changed_nothing:
        line += "\nnothing new or changed"
    return line


@cli.command()
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="SLUG",
    help="RAND topic slug, e.g. security-cooperation (repeatable).",
)
@click.option(
    "--start-url",
    "start_urls",
    multiple=True,
    metavar="URL",
    help="Listing page URL on any host (repeatable).",
)
@click.option(
    "--max-pages",
    type=Count(MAX_PAGES),
    help="Listing pages per topic, at most.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Walk every listing page (default: stop at the first page with nothing new) "
    "and mark publications no longer listed as delisted.",
)
@click.option(
    "--no-details",
    is_flag=True,
    help="Listings only: do not fetch new or changed publications' own pages.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless the run fails (for cron).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress (INFO) to stderr.")
@pass_config
def crawl(
    config: CatalogConfig,
    topics: tuple[str, ...],
    start_urls: tuple[str, ...],
    max_pages: int | None,
    full: bool,
    no_details: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Crawl topic listings into the catalog and print what changed.

    With neither --topic nor --start-url, crawls the topics listed in <home>/catalog.toml
    (created with security-cooperation). New or changed publications' own pages are read
    for authors, abstracts and identifiers. Everything is logged to <home>/crawl.log.
    Exit codes: 0 success, 1 the run failed or was interrupted (what it stored stays
    stored), 2 usage error, 3 another crawl is running on this home.

    \b
    Example:
        catalog crawl --topic security-cooperation --max-pages 2
        catalog --home ~/catalog crawl --quiet     # from cron
    """
    from catalog.crawl import run_crawl

    if quiet and verbose:
        raise click.UsageError("choose one of --quiet and --verbose")
    level = None if quiet else "INFO" if verbose else "WARNING"
    display = TerminalProgress() if not quiet and sys.stderr.isatty() else None
    try:
        summary = run_crawl(
            config,
            topics=list(topics),
            start_urls=list(start_urls),
            max_pages=max_pages,
            full=full,
            details=not no_details,
            stderr_level=level,
            progress=display,
        )
    finally:
        if display is not None:
            display.clear()
    if summary.status != "succeeded":
        click.echo(_summary_line(summary), err=quiet)
        raise CliError(
            f"crawl {summary.status}: {summary.error or 'stopped before the end'} "
            f"(details in {config.log_file})"
        )
    if not quiet:
        click.echo(_summary_line(summary))


class TerminalProgress:
    """Redraws one progress line on stderr (a terminal); cleared before the summary.

    The line fits the terminal's width: a line that wrapped would leave a trail of copies
    behind, since ``\\r`` returns to the start of the last screen line only. A narrow
    terminal gets the short form, and one narrower still the short form cut.
    """

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.drawn = False

    def width(self) -> int | None:
        """The terminal's columns; None when it does not say (a pty of size 0 included)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 0
        return columns or None

    def __call__(self, progress) -> None:
        from catalog.crawl import progress_line

        width = self.width()
        room = max(10, width - 1) if width else 10_000  # the last column would wrap
        minutes, seconds = divmod(int(progress.elapsed), 60)
        found = f"{progress.found} found, {progress.new} new, {progress.changed} changed"
        forms = (
            progress_line(progress),
            f"pages {progress.listing_pages} | {found} | details {progress.detail_pages} | "
            f"{minutes}:{seconds:02d}",
            f"{found} | {minutes}:{seconds:02d}",
        )
        line = next((form for form in forms if len(form) <= room), forms[-1])
        if len(line) > room:
            line = line[: room - 1] + "…"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# --- topics --------------------------------------------------------------------------------


@cli.group()
def topics() -> None:
    """The topics `catalog crawl` visits by default (kept in <home>/catalog.toml).

    \b
    Example:
        catalog topics add national-security-and-terrorism
        catalog topics list
    """


@topics.command("list")
@pass_config
def topics_list(config: CatalogConfig) -> None:
    """List the configured topics.

    \b
    Example:
        catalog topics list
    """
    for topic in catalog_config.load_home_config(config.home).topics:
        click.echo(topic)


@topics.command("add")
@click.argument("topic")
@pass_config
def topics_add(config: CatalogConfig, topic: str) -> None:
    """Add a RAND topic slug or a listing URL.

    \b
    Example:
        catalog topics add national-security-and-terrorism
    """
    edit = catalog_config.edit_topics(config.home, add=topic)
    where = catalog_config.config_path(config.home)
    if edit.already_listed is not None:
        same = "" if edit.already_listed == topic.strip() else f" (as {edit.already_listed})"
        click.echo(f"{topic.strip()} is already listed{same} in {where}", err=True)
    else:
        click.echo(f"topics in {where}:", err=True)
    click.echo("\n".join(edit.topics))


@topics.command("remove")
@click.argument("topic")
@pass_config
def topics_remove(config: CatalogConfig, topic: str) -> None:
    """Remove a topic (its publications stay in the catalog).

    \b
    Example:
        catalog topics remove national-security-and-terrorism
    """
    click.echo("\n".join(catalog_config.edit_topics(config.home, remove=topic).topics))


# --- runs and changes ----------------------------------------------------------------------


# Terminal headers of `runs`: the column names cut to fit read "items…" four times over.
RUN_LABELS = {
    "started_at": "started (UTC)",
    "pages_fetched": "pages",
    "items_new": "new",
    "items_updated": "changed",
    "items_delisted": "delisted",
}


@cli.command()
@click.option("--limit", type=Count(MAX_ROWS), default=20, show_default=True)
@json_option
@format_option(output.DATA_FORMATS, "table")
@pass_config
def runs(config: CatalogConfig, limit: int, as_json: bool, fmt: str | None) -> None:
    """List recent crawl runs, newest first, with their counts and errors.

    \b
    Example:
        catalog runs --limit 5
        catalog runs --format csv > runs.csv
    """
    from catalog import queries

    fmt = _pick_format(fmt, as_json, "table")
    rows = queries.recent_runs(_closing_abandoned_runs(config, _engine(config)), limit)
    if fmt != "table":
        output.render(rows, queries.RUN_COLUMNS, fmt)
        return
    columns = (
        "id",
        "started_at",
        "status",
        "full",
        "pages_fetched",
        "items_new",
        "items_updated",
        "items_delisted",
        "error",
    )
    for row in rows:  # to the second: microseconds only widen the table
        row["started_at"] = f"{row['started_at']:%Y-%m-%d %H:%M:%S}"
    output.render(rows, columns, "table", labels=RUN_LABELS)


@cli.command()
@click.option("--since", type=DateBound(), help="Changes recorded on or after this date (UTC).")
@click.option("--since-last-run", is_flag=True, help="Changes made by the latest run (default).")
@format_option(output.DATA_FORMATS, "table")
@json_option
@pass_config
def changes(
    config: CatalogConfig,
    since: date | None,
    since_last_run: bool,
    fmt: str | None,
    as_json: bool,
) -> None:
    """What crawls added, changed or delisted, per topic.

    \b
    Example:
        catalog changes --since-last-run
        catalog changes --since 2026-11-01 --json
    """
    from catalog import queries

    fmt = _pick_format(fmt, as_json, "table")
    if since and since_last_run:
        raise click.UsageError("choose one of --since and --since-last-run")
    engine = _engine(config)
    if since is not None:
        rows = queries.changes(engine, since=datetime.combine(since, time()))
    else:
        last = queries.last_run(engine)
        rows = queries.changes(engine, run_id=last["id"]) if last else []
    if fmt != "table":
        output.render(rows, queries.CHANGE_COLUMNS, fmt)
        return
    if not rows:
        click.echo("no changes", err=True)
        return
    columns = ("kind", "title", "field", "old_value", "new_value", "url")
    for topic, group in itertools.groupby(rows, key=lambda r: r["topic"]):
        group = list(group)
        counts = collections.Counter(r["kind"] for r in group)
        tally = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        click.echo(f"\n{topic or '(no topic)'}: {tally}")
        output.render(group, columns, "table")


# --- search --------------------------------------------------------------------------------

SEARCH_COLUMNS = ("published_on", "content_type", "title", "url", "snippet")
SEARCH_JSON_COLUMNS = (
    "url",
    "title",
    "content_type",
    "published_on",
    "summary",
    "topics",
    "authors",
    "subtitle",
    "document_number",
    "pdf_url",
    "score",
    "snippet",
)


@cli.command("search")
@click.argument("query", required=False)
@click.option(
    "--type",
    "content_type",
    metavar="TYPE",
    help="Only this content type, e.g. Report (any case); none: untyped publications.",
)
@click.option("--since", type=DateBound(), help="Published on or after (YYYY[-MM[-DD]]).")
@click.option("--until", type=DateBound(end=True), help="Published on or before (YYYY[-MM[-DD]]).")
@click.option(
    "--topic",
    metavar="TOPIC",
    help="Only publications listed under this topic: its slug, its name or its URL.",
)
@click.option("--author", metavar="NAME", help="Only publications by this author (or surname).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--limit", type=Count(MAX_LIMIT), default=20, show_default=True)
@click.option(
    "--facets",
    "with_facets",
    is_flag=True,
    help="Also count all matches by type, year, topic and author (table and json only).",
)
@json_option
@format_option(output.FORMATS, "table")
@bom_option
@pass_config
def search_command(
    config: CatalogConfig,
    query: str,
    content_type: str | None,
    since: date | None,
    until: date | None,
    topic: str | None,
    author: str | None,
    sort: str,
    limit: int,
    with_facets: bool,
    as_json: bool,
    fmt: str | None,
    bom: bool,
) -> None:
    """Full-text search: words, "phrases", AND/OR/NOT, field:word, prefix*.

    Bare words search title, summary and the publication page's text (abstract, research
    questions, key findings, recommendations, body), stemmed. Fields: title, summary, text
    (the page text; abstract: works too), author, type, topic (slug), topics (names), date,
    year, url. The same query language whichever search engine the home uses. Without a
    query, the filters alone choose (newest first); a capped list says so on stderr.

    --facets counts every match (not only the hits shown) by type, year, topic and author,
    the top 10 values of each: printed after the table, or with --json an object
    {"hits": [...], "total": N, "facets": {"type": [{"value": ..., "count": ...}], "year",
    "topic", "author"}, "suggestion": ...} instead of the list of hits. When nothing
    matches, a corrected query that does match is suggested on stderr ("did you mean").

    \b
    Example:
        catalog search '"security cooperation" AND japan' --type Report --sort newest
        catalog search 'author:"Derek Grossman"'
        catalog search japan --type Report --format ris > japan.ris
        catalog search alliances --since 2020 --facets
        catalog search --author Grossman --type report
    """
    from catalog import queries
    from catalog.index import Filters
    from catalog.index.query import compile_query

    fmt = _pick_format(fmt, as_json, "table", bom)
    if with_facets and fmt not in ("table", "json"):
        raise click.UsageError("--facets goes with the table or json output only")
    if query is None:
        if not (content_type or topic or author or since or until):
            raise click.UsageError(
                "give a query (words, or * for everything) or a filter such as --author"
            )
        query = "*"  # a search by filters alone lists what they let through
    compile_query(query)  # a malformed or costly query is a usage error before any work
    engine = _engine(config)  # no catalog, or an old schema: one line, before the index
    filters = queries.resolve_filters(engine, Filters(content_type, topic, author, since, until))
    index = _index_up_to_date(config, engine)
    found = queries.search_catalog(
        engine, index, query, filters=filters, facets=with_facets, sort=sort, limit=limit
    )
    if found.notice:
        click.echo(f"notice: {found.notice}", err=True)
    rows = found.rows
    if with_facets and fmt == "json":
        output.render_search_json(
            rows, SEARCH_JSON_COLUMNS, found.facets.as_dict(), found.facets.total, found.suggestion
        )
    elif fmt != "table":
        output.render(rows, SEARCH_JSON_COLUMNS, fmt, keys=_citation_keys(engine, fmt), bom=bom)
    elif rows:
        output.render_hits(rows, SEARCH_COLUMNS)
    if fmt == "table" and found.facets is not None:
        facets = output.render_facets(
            found.facets.as_dict(), found.facets.total, output.terminal_width()
        )
        click.echo(facets, nl=False)
    if not rows:
        hint = f"; did you mean: {found.suggestion}" if found.suggestion else ""
        click.echo(f"no matches{hint}", err=True)
    elif found.total > len(rows):
        click.echo(f"{len(rows)} of {found.total:,} matches; --limit to see more", err=True)


SIMILAR_COLUMNS = ("published_on", "content_type", "title", "url", "score")
SIMILAR_JSON_COLUMNS = tuple(c for c in SEARCH_JSON_COLUMNS if c != "snippet")


@cli.command()
@click.argument("publication", type=PublicationKey())
@click.option("--limit", type=Count(MAX_LIMIT), default=10, show_default=True)
@json_option
@format_option(output.FORMATS, "table")
@bom_option
@pass_config
def similar(
    config: CatalogConfig,
    publication: str,
    limit: int,
    as_json: bool,
    fmt: str | None,
    bom: bool,
) -> None:
    """Publications most like one publication (by URL or id), best first; never itself.

    Likeness is judged on the key words of its title, summary and page text, searched for in
    the others' page text.

    \b
    Example:
        catalog similar https://www.rand.org/pubs/research_reports/RR3125.html
        catalog similar 17 --limit 5 --json
    """
    from catalog import queries

    fmt = _pick_format(fmt, as_json, "table", bom)
    engine = _engine(config)
    index = _index_up_to_date(config, engine)
    rows = queries.similar_publications(engine, index, publication, limit)
    if rows is None:
        raise CliError(f"no publication {publication!r} in the catalog (try `catalog search`)")
    if fmt != "table":
        output.render(rows, SIMILAR_JSON_COLUMNS, fmt, keys=_citation_keys(engine, fmt), bom=bom)
    elif rows:
        output.render_hits(rows, SIMILAR_COLUMNS)
    if not rows:
        click.echo("no similar publications", err=True)


# --- sql -----------------------------------------------------------------------------------


TABLE_PAGE = 1000  # rows a table is sized on; longer results print page by page


@cli.command()
@click.argument("statement", metavar="QUERY")
@click.option(
    "-p",
    "--param",
    "params",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="Bind :NAME in the query to VALUE, safely (repeatable). Values are text.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(output.FORMATS),
    help="Output format (default table). ris, bibtex and csl-json cite the publications "
    "whose ids the query's `id` column holds.",
)
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--timeout",
    type=Seconds(MAX_SQL_TIMEOUT),
    default=SQL_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Stop the statement after this long (0: no limit).",
)
@pass_config
def sql(
    config: CatalogConfig,
    statement: str,
    params: tuple[tuple[str, str], ...],
    fmt: str | None,
    as_csv: bool,
    as_json: bool,
    timeout: float,
) -> None:
    """Run one read-only SQL statement against the catalog; QUERY `-` reads it from stdin.

    Statements that would write or create files (ATTACH, VACUUM, setting PRAGMAs) are
    refused and nothing changes. Rows stream as they are read (csv, json and jsonl never
    hold the result in memory). Ctrl-C or the time limit stops the statement: one line on
    stderr, exit code 1 (output already written stays, so json may be cut short).

    --format ris, bibtex or csl-json writes the whole citation of every publication whose id
    the query's `id` column selects (once each, in the query's order), with the keys
    `show` and `export` give them.

    \b
    Example:
        catalog sql "SELECT content_type, count(*) FROM publications GROUP BY 1" --csv
        catalog sql "SELECT title FROM publications WHERE url LIKE :u" -p u '%/blog/%'
        echo "SELECT * FROM crawl_runs" | catalog sql - --format jsonl
        catalog sql "SELECT id FROM publications WHERE page_count > 100" --format bibtex
    """
    from catalog import sql as catalog_sql

    chosen = {f for f, on in (("csv", as_csv), ("json", as_json), (fmt, fmt is not None)) if on}
    if len(chosen) > 1:
        raise click.UsageError("choose one output format (--format, --csv or --json)")
    fmt = chosen.pop() if chosen else "table"
    if statement == "-":
        statement = _read_statement(sys.stdin)
    statement = _text_argument(statement, "QUERY")
    for name, value in params:
        _text_argument(value, f"the value of -p {name}")
    names = [name for name, _ in params]
    if len(set(names)) != len(names):
        raise click.UsageError("each -p NAME may be given once")
    engine = _engine(config)
    with catalog_sql.readonly_query(
        engine, statement, dict(params), timeout=timeout or None
    ) as result:
        columns = result.columns
        if fmt in output.CITATION_FORMATS:
            ids = _publication_ids(result, fmt)
        else:
            rows = (dict(zip(columns, row, strict=True)) for row in result)
            if fmt != "table":
                output.render(rows, columns, fmt)
                return
            # A table needs its rows to size the columns: print it a bounded page at a time.
            page = list(itertools.islice(rows, TABLE_PAGE))
            output.render(page, columns, "table")
            while page := list(itertools.islice(rows, TABLE_PAGE)):
                click.echo()
                output.render(page, columns, "table")
            return
    _write_citations(engine, ids, fmt)


def _read_statement(stdin: Any) -> str:
    """The statement piped in: UTF-8 (a byte order mark is fine), else a usage error."""
    raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.UsageError(
            f"the statement on stdin is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None


def _publication_ids(result: Any, fmt: str) -> list[int]:
    """The publication ids a query selected, each once, in its order (for citations).

    A citation is a whole record (authors, identifiers, abstract) that a row of a query
    rarely holds: the rows name publications by id, and the records are read afresh.
    """
    if "id" not in result.columns:
        raise click.UsageError(
            f"--format {fmt} cites publications by id: select an id column, e.g. "
            "SELECT id FROM publications WHERE ..."
        )
    position = result.columns.index("id")
    ids: dict[int, None] = {}
    for number, row in enumerate(result, start=1):
        value = row[position]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise CliError(f"row {number}: id {value!r} is not a publication id")
        ids.setdefault(value)
    return list(ids)


def _write_citations(engine: Engine, ids: list[int], fmt: str) -> None:
    """Every publication in ``ids`` as a citation, in that order; unknown ids are an error.

    The ids are checked before anything is written, so a wrong column (topic ids, say)
    leaves no half-written bibliography. Records are read a chunk at a time.
    """
    from catalog import queries

    missing = queries.missing_publication_ids(engine, ids)
    if missing:
        more = f" (nor {len(missing) - 1} other ids)" if len(missing) > 1 else ""
        raise CliError(
            f"no publication with id {missing[0]}{more}: the id column must hold publications.id"
        )

    def records() -> Any:
        for start in range(0, len(ids), TABLE_PAGE):
            chunk = ids[start : start + TABLE_PAGE]
            found = queries.publications_by_id(engine, chunk)
            yield from (found[pub_id] for pub_id in chunk)

    output.render(records(), (), fmt, keys=_citation_keys(engine, fmt))


# --- show ----------------------------------------------------------------------------------


@cli.command()
@click.argument("publication", type=PublicationKey())
@format_option(("text", "json", *output.CITATION_FORMATS), "text")
@json_option
@pass_config
def show(config: CatalogConfig, publication: str, fmt: str | None, as_json: bool) -> None:
    """Print one publication whole, by URL or id: listing, page details, topics, history.

    \b
    Example:
        catalog show https://www.rand.org/pubs/research_reports/RR3125.html
        catalog show 17 --json
        catalog show 17 --format bibtex
    """
    from catalog import queries

    fmt = _pick_format(fmt, as_json, "text")
    engine = _engine(config)
    record = queries.publication(engine, publication)
    if record is None:
        raise CliError(f"no publication {publication!r} in the catalog (try `catalog search`)")
    if fmt == "json":
        click.echo(output.to_json(record))
    elif fmt in output.CITATION_FORMATS:
        output.render([record], (), fmt, keys=_citation_keys(engine, fmt))
    else:
        text = output.render_publication(record, width=output.terminal_width())
        click.echo(text, nl=False)


# --- stats ---------------------------------------------------------------------------------


@cli.command()
@json_option
@pass_config
def stats(config: CatalogConfig, as_json: bool) -> None:
    """Counts by type, by year and by topic, and the last crawl run.

    \b
    Example:
        catalog stats --json
    """
    from catalog import queries

    engine = _engine(config)
    figures = queries.stats(engine)
    figures["search_index"] = queries.index_status(config.search_index(), engine)
    if as_json:
        click.echo(output.to_json(figures))
        return
    click.echo(f"publications: {figures['publications']}\n")
    by_type = [{**r, "content_type": r["content_type"] or "(none)"} for r in figures["by_type"]]
    output.render(by_type, ("content_type", "count"))
    click.echo()
    by_year = [{**r, "year": r["year"] or "(undated)"} for r in figures["by_year"]]
    output.render(by_year, ("year", "count"))
    click.echo()
    output.render(figures["by_topic"], ("topic", "count"))
    run = figures["last_run"]
    if run:
        line = (
            f"last run: #{run['id']} {run['status']} started {run['started_at']:%Y-%m-%d %H:%M} "
            f"UTC, pages {run['pages_fetched']}, new {run['items_new']}, "
            f"updated {run['items_updated']}"
        )
        click.echo("\n" + "\n".join(output.wrap(line, output.terminal_width())))
    click.echo(_index_line(figures["search_index"]))


def _index_line(status: dict) -> str:
    """`search index: tantivy, at revision 42 of 42 (up to date)`, or what is off."""
    line = f"search index: {status['engine']}"
    if status["built_by"] is None:
        return f"{line}, not built yet (the next search builds it)"
    if status["built_by"] != status["engine"]:
        built_by = status["built_by"]
        return f"{line} (the index there was built by {built_by}; the next search rebuilds it)"
    level = "up to date" if status["up_to_date"] else "behind: the next search catches up"
    return f"{line}, at revision {status['revision']} of {status['catalog_revision']} ({level})"


# --- export --------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f for f in output.FORMATS if f != "table"]),
    default="jsonl",
    show_default=True,
    help="csv/tsv/json/jsonl: every column; ris/bibtex/csl-json: citations.",
)
@click.option(
    "--output",
    "output_path",
    type=OutputFile(),
    help="Write to this file instead of stdout; it is replaced only once complete.",
)
@bom_option
@pass_config
def export(config: CatalogConfig, fmt: str, output_path: Path | None, bom: bool) -> None:
    """Export every publication with its topics, or the catalog as citations.

    An existing file is replaced only when the export is complete; a symlink, FIFO or
    device is never replaced (exit 1).

    \b
    Example:
        catalog export --format csv --bom --output publications.csv
        catalog export --format bibtex --output catalog.bib
    """
    from catalog import queries

    fmt = _pick_format(fmt, False, "jsonl", bom)
    if output_path is not None and not output_path.parent.is_dir():
        raise click.UsageError(f"no folder {output_path.parent} to write {output_path.name} in")
    engine = _engine(config)
    keys = _citation_keys(engine, fmt)
    rows = queries.export_rows(engine)
    columns = (*queries.ALL_COLUMNS, "topics", "authors")
    if output_path is None:
        count = output.render(rows, columns, fmt, keys=keys, bom=bom)
    else:
        with output.atomic_output(output_path) as handle:
            count = output.render(rows, columns, fmt, out=handle, keys=keys, bom=bom)
    click.echo(f"exported {count} publications", err=True)


# --- index ---------------------------------------------------------------------------------


@cli.group()
def index() -> None:
    """Search index commands.

    \b
    Example:
        catalog index rebuild
    """


@index.command("rebuild")
@pass_config
def index_rebuild(config: CatalogConfig) -> None:
    """Rebuild the search index from the database (the source of truth).

    Builds it with the home's search engine (catalog.toml's [search] engine, or
    CATALOG_SEARCH_ENGINE). Waits for no crawl: while one runs on this home it exits with
    code 3.

    \b
    Example:
        catalog index rebuild
        CATALOG_SEARCH_ENGINE=tantivy catalog index rebuild
    """
    from catalog import queries
    from catalog.lock import crawl_lock

    index = config.search_index()
    engine = _closing_abandoned_runs(config, _engine(config))
    with crawl_lock(config.home):  # a crawl of this home keeps its index up to date itself
        count = index.rebuild(queries.CatalogIndexSource(engine))
    click.echo(f"indexed {count} publications into {config.index_dir} ({index.engine_name})")


@index.command("check")
@pass_config
def index_check(config: CatalogConfig) -> None:
    """Compare the search index with the database, publication by publication.

    Prints each difference (missing: in the catalog, not the index; stale: indexed at another
    revision or URL; extra: in the index, not the catalog) and exits 1 when there is one.
    `catalog index sync` repairs them.

    \b
    Example:
        catalog index check && echo "the index matches the catalog"
    """
    from catalog import queries

    index = config.search_index()
    engine = _engine(config)
    diff = index.check(queries.CatalogIndexSource(engine))
    if diff.problem:
        raise CliError(f"{diff.problem} (run `catalog index rebuild`)")
    for entry in diff.missing:
        click.echo(f"missing\t{entry.id}\t{entry.url}\trevision {entry.revision}")
    for entry, indexed in diff.stale:
        click.echo(
            f"stale\t{entry.id}\t{entry.url}\trevision {entry.revision}, indexed at {indexed}"
        )
    for entry in diff.extra:
        click.echo(f"extra\t{entry.id}\t{entry.url}\trevision {entry.revision}")
    recorded = "none" if diff.recorded is None else str(diff.recorded.revision)
    if not diff.ok:
        raise CliError(
            f"the search index ({diff.engine}) differs from the catalog: {len(diff.missing)} "
            f"missing, {len(diff.stale)} stale, {len(diff.extra)} extra "
            "(run `catalog index sync`)"
        )
    click.echo(
        f"the search index ({diff.engine}) matches the catalog: {diff.indexed} publications, "
        f"catalog revision {diff.head.revision}, index recorded {recorded}",
        err=True,
    )


@index.command("sync")
@pass_config
def index_sync(config: CatalogConfig) -> None:
    """Bring the search index up to the database and repair any difference.

    Applies what changed since the index's recorded revision, then compares every document
    with the catalog and rewrites or deletes what differs; an index that cannot be read, or
    was built by the other engine, is rebuilt. Homes sharing one --db each keep their own
    index: a home that never crawled can search the shared catalog after a sync.

    \b
    Example:
        catalog --home ~/reader --db postgresql+psycopg://host/catalog index sync
    """
    from catalog import queries

    index = config.search_index()
    engine = _closing_abandoned_runs(config, _engine(config))
    report = index.sync(queries.CatalogIndexSource(engine), full=True)
    if report.rebuilt:
        why = f" ({report.why})" if report.why else ""
        click.echo(
            f"rebuilt the search index for {index.engine_name}{why}: {report.updated} publications",
            err=True,
        )
    else:
        click.echo(
            f"search index ({index.engine_name}) at revision {report.after}: "
            f"{report.updated} updated, {report.deleted} deleted",
            err=True,
        )


def _closing_abandoned_runs(config: CatalogConfig, engine: Engine) -> Engine:
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


def _index_up_to_date(config: CatalogConfig, engine: Engine):
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


# --- demo ----------------------------------------------------------------------------------


@cli.command()
@click.option("--query", default="alliances", show_default=True, help="The sample search.")
@pass_config
def demo(config: CatalogConfig, query: str) -> None:
    """Crawl a bundled RAND-shaped sample site served on 127.0.0.1; no network needed.

    \b
    Example:
        catalog --home ./demo-home demo
    """
    from catalog.demo import next_commands, run_demo, serve_command

    summary, hits = run_demo(config, query)
    commands = next_commands(config, query, hits)
    click.echo(f"catalog home: {config.home}")
    click.echo(_summary_line(summary))
    click.echo(f"\nsample search: {commands[0]}")
    output.render(
        hits,
        ("published_on", "content_type", "title", "snippet"),
        "table",
        widths={"title": 60, "snippet": 80},
    )
    if summary.status != "succeeded":
        raise CliError(f"demo crawl {summary.status}: {summary.error}")
    click.echo("\ntry next:")
    for command in commands[1:]:
        click.echo(f"  {command}")
    click.echo(f"\nbrowse it: {serve_command(config)}, then open http://127.0.0.1:8000/")


# --- serve ---------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option(
    "--root-path",
    default="",
    metavar="PATH",
    help="The path a reverse proxy serves the catalog under, e.g. /catalog.",
)
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@pass_config
def serve(
    config: CatalogConfig, host: str, port: int, workers: int, root_path: str, access_log: bool
) -> None:
    """Serve the catalog read-only on the web: search pages, feeds and a JSON API.

    Never writes the catalog (its own search index, when the home can be written). Binds
    127.0.0.1 unless --host says otherwise; SIGINT or SIGTERM stops it.

    \b
    Example:
        catalog serve --port 8000
        catalog serve --host 127.0.0.1 --root-path /catalog --workers 2   # behind a proxy
    """
    import ipaddress

    from catalog.web.server import serve as run_server

    if root_path and (not root_path.startswith("/") or root_path != root_path.strip()):
        raise click.UsageError(f"--root-path must start with / (e.g. /catalog), not {root_path!r}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        click.echo(
            f"warning: --host {host} makes the catalog public: anyone who can reach this "
            "machine can read it",
            err=True,
        )
    try:
        run_server(
            config,
            host=host,
            port=port,
            workers=workers,
            root_path=root_path.rstrip("/"),
            access_log=access_log,
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
