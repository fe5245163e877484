"""The `catalog` command line: thin commands over the library, one renderer for output.

Exit codes: 0 success; 1 the operation failed (crawl failed or was interrupted, statement
refused, database error); 2 usage error (bad option, malformed query, date or catalog.toml);
3 another crawl holds the home's lock.
"""

from __future__ import annotations

import collections
import itertools
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from catalog import config as catalog_config
from catalog import output, queries, search
from catalog.config import CatalogConfig
from catalog.db import make_engine, needs_upgrade, upgrade
from catalog.errors import CatalogError


class CliError(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CatalogGroup(click.Group):
    """Turns library errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CatalogError as exc:
            raise CliError(str(exc), exc.exit_code) from exc
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise CliError(f"database error: {first}") from exc
        except BrokenPipeError:
            # `catalog search x | head`: the reader left; say nothing more (as Python's docs do).
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            raise CliError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from exc


class DateBound(click.ParamType):
    """YYYY, YYYY-MM or YYYY-MM-DD; a start bound takes the first day, an end bound the last."""

    name = "date"

    def __init__(self, end: bool = False) -> None:
        self.end = end

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            parts = [int(p) for p in text.split("-")]
            if len(parts) == 1:
                return date(parts[0], 12, 31) if self.end else date(parts[0], 1, 1)
            if len(parts) == 2:
                if not self.end:
                    return date(parts[0], parts[1], 1)
                nxt = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
                return date.fromordinal(nxt.toordinal() - 1)
            if len(parts) == 3:
                return date(*parts)
        except ValueError:
            pass
        self.fail(f"{text!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", param, ctx)


def _engine(config: CatalogConfig, *, read_only: bool = False):
    if read_only:
        return make_engine(config.db_url, read_only=True)
    engine = make_engine(config.db_url)
    if needs_upgrade(engine):
        upgrade(engine)
    return engine


pass_config = click.make_pass_decorator(CatalogConfig)
# The one --json flag every command that prints data shares (documented JSON, stable keys).
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of text (keys are stable)."
)


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
    metavar="URL",
    envvar="CATALOG_DB",
    help="SQLAlchemy database URL instead of <home>/catalog.db. Env: CATALOG_DB.",
)
@click.version_option(package_name="thinktank-catalog")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, db_url: str | None) -> None:
    """A searchable catalog of think-tank publications.

    \b
    Example:
        catalog crawl --topic security-cooperation
        catalog search 'alliance AND japan' --since 2021
    """
    ctx.obj = catalog_config.resolve(home, db_url)


# --- db ------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_config
def db_upgrade(config: CatalogConfig) -> None:
    """Create or upgrade the catalog schema to the newest migration.

    \b
    Example:
        catalog --db postgresql+psycopg://localhost/catalog db upgrade
    """
    engine = make_engine(config.db_url)
    upgrade(engine)
    click.echo(f"catalog schema is up to date ({engine.url.render_as_string()})", err=True)


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
@click.option("--max-pages", type=click.IntRange(min=1), help="Listing pages per topic, at most.")
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
    summary = run_crawl(
        config,
        topics=list(topics),
        start_urls=list(start_urls),
        max_pages=max_pages,
        full=full,
        details=not no_details,
        stderr_level=level,
    )
    if summary.status != "succeeded":
        click.echo(_summary_line(summary), err=quiet)
        raise CliError(f"crawl {summary.status}: {summary.error or 'see ' + str(config.log_file)}")
    if not quiet:
        click.echo(_summary_line(summary))


# --- topics --------------------------------------------------------------------------------


@cli.group()
def topics() -> None:
    """The topics `catalog crawl` visits by default (kept in <home>/catalog.toml)."""


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
    names = catalog_config.edit_topics(config.home, add=topic)
    click.echo(f"topics in {catalog_config.config_path(config.home)}:", err=True)
    click.echo("\n".join(names))


@topics.command("remove")
@click.argument("topic")
@pass_config
def topics_remove(config: CatalogConfig, topic: str) -> None:
    """Remove a topic (its publications stay in the catalog).

    \b
    Example:
        catalog topics remove national-security-and-terrorism
    """
    click.echo("\n".join(catalog_config.edit_topics(config.home, remove=topic)))


# --- runs and changes ----------------------------------------------------------------------


@cli.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
@pass_config
def runs(config: CatalogConfig, limit: int, as_json: bool) -> None:
    """List recent crawl runs, newest first, with their counts and errors.

    \b
    Example:
        catalog runs --limit 5
    """
    rows = queries.recent_runs(_closing_abandoned_runs(_engine(config)), limit)
    if as_json:
        output.render(rows, queries.RUN_COLUMNS, "json")
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
    output.render(rows, columns, "table", widths={"error": 60, "started_at": 19})


@cli.command()
@click.option("--since", type=DateBound(), help="Changes recorded on or after this date (UTC).")
@click.option("--since-last-run", is_flag=True, help="Changes made by the latest run (default).")
@json_option
@pass_config
def changes(config: CatalogConfig, since: date | None, since_last_run: bool, as_json: bool) -> None:
    """What crawls added, changed or delisted, per topic.

    \b
    Example:
        catalog changes --since-last-run
        catalog changes --since 2026-11-01 --json
    """
    if since and since_last_run:
        raise click.UsageError("choose one of --since and --since-last-run")
    engine = _engine(config)
    if since is not None:
        rows = queries.changes(engine, since=datetime.combine(since, time()))
    else:
        last = queries.last_run(engine)
        rows = queries.changes(engine, run_id=last["id"]) if last else []
    if as_json:
        output.render(rows, queries.CHANGE_COLUMNS, "json")
        return
    if not rows:
        click.echo("no changes", err=True)
        return
    columns = ("kind", "title", "field", "old_value", "new_value", "url")
    widths = {"title": 50, "old_value": 30, "new_value": 30, "url": 70}
    for topic, group in itertools.groupby(rows, key=lambda r: r["topic"]):
        group = list(group)
        counts = collections.Counter(r["kind"] for r in group)
        tally = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        click.echo(f"\n{topic or '(no topic)'}: {tally}")
        output.render(group, columns, "table", widths=widths)


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
@click.argument("query")
@click.option("--type", "content_type", metavar="TYPE", help="Only this content type, e.g. Report.")
@click.option("--since", type=DateBound(), help="Published on or after (YYYY[-MM[-DD]]).")
@click.option("--until", type=DateBound(end=True), help="Published on or before (YYYY[-MM[-DD]]).")
@click.option("--topic", metavar="SLUG", help="Only publications listed under this topic.")
@click.option("--author", metavar="NAME", help="Only publications by this author (or surname).")
@click.option("--sort", type=click.Choice(search.SORTS), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
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
    as_json: bool,
) -> None:
    """Full-text search (Whoosh syntax: phrases, AND/OR/NOT, field:term).

    Bare words search title, summary and the publication page's text (abstract, research
    questions, key findings, recommendations, body). Fields: title, summary, abstract, author,
    type, topic (slug), topics (names), date, url.

    \b
    Example:
        catalog search '"security cooperation" AND japan' --type Report --sort newest
        catalog search 'author:"Derek Grossman"'
    """
    _index_up_to_date(config)
    rows = queries.search_publications(
        _engine(config),
        config.index_dir,
        query,
        content_type=content_type,
        topic=topic,
        author=author,
        since=since,
        until=until,
        sort=sort,
        limit=limit,
    )
    if as_json:
        output.render(rows, SEARCH_JSON_COLUMNS, "json")
    elif rows:
        output.render(
            rows,
            SEARCH_COLUMNS,
            "table",
            widths={"content_type": 16, "title": 60, "url": 80, "snippet": 90},
        )
    else:
        click.echo("no matches", err=True)


# --- sql -----------------------------------------------------------------------------------


@cli.command()
@click.argument("statement")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@json_option
@pass_config
def sql(config: CatalogConfig, statement: str, as_csv: bool, as_json: bool) -> None:
    """Run one read-only SQL statement against the catalog.

    Statements that would write are refused and the catalog is left unchanged.

    \b
    Example:
        catalog sql "SELECT content_type, count(*) FROM publications GROUP BY 1" --csv
    """
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    columns, rows = queries.run_readonly_sql(_engine(config, read_only=True), statement)
    output.render(rows, columns, "csv" if as_csv else "json" if as_json else "table")


# --- show ----------------------------------------------------------------------------------


@cli.command()
@click.argument("publication")
@json_option
@pass_config
def show(config: CatalogConfig, publication: str, as_json: bool) -> None:
    """Print one publication whole, by URL or id: listing, page details, topics, history.

    \b
    Example:
        catalog show https://www.rand.org/pubs/research_reports/RR3125.html
        catalog show 17 --json
    """
    record = queries.publication(_engine(config), publication)
    if record is None:
        raise CliError(f"no publication {publication!r} in the catalog (try `catalog search`)")
    if as_json:
        click.echo(output.to_json(record))
        return
    click.echo(output.render_publication(record), nl=False)


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
    figures = queries.stats(_engine(config))
    if as_json:
        click.echo(output.to_json(figures))
        return
    click.echo(f"publications: {figures['publications']}\n")
    output.render(figures["by_type"], ("content_type", "count"))
    click.echo()
    output.render(figures["by_year"], ("year", "count"))
    click.echo()
    output.render(figures["by_topic"], ("topic", "count"))
    run = figures["last_run"]
    if run:
        click.echo(
            f"\nlast run: #{run['id']} {run['status']} started {run['started_at']:%Y-%m-%d %H:%M} "
            f"UTC, pages {run['pages_fetched']}, new {run['items_new']}, "
            f"updated {run['items_updated']}"
        )


# --- export --------------------------------------------------------------------------------

EXPORT_COLUMNS = (*queries.ALL_COLUMNS, "topics", "authors")


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "jsonl"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@pass_config
def export(config: CatalogConfig, fmt: str, output_path: Path | None) -> None:
    """Export every publication with its topics.

    \b
    Example:
        catalog export --format csv --output publications.csv
    """
    if output_path is not None and not output_path.parent.is_dir():
        raise click.UsageError(f"no folder {output_path.parent} to write {output_path.name} in")
    rows = queries.export_rows(_engine(config))
    if output_path is None:
        count = output.render(rows, EXPORT_COLUMNS, fmt)
    else:
        partial = output_path.with_name(output_path.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="") as handle:
            count = output.render(rows, EXPORT_COLUMNS, fmt, out=handle)
        partial.replace(output_path)
    click.echo(f"exported {count} publications", err=True)


# --- index ---------------------------------------------------------------------------------


@cli.group()
def index() -> None:
    """Search index commands."""


@index.command("rebuild")
@pass_config
def index_rebuild(config: CatalogConfig) -> None:
    """Rebuild the search index from the database (the source of truth).

    Waits for no crawl: while one runs on this home it exits with code 3.

    \b
    Example:
        catalog index rebuild
    """
    from catalog.lock import crawl_lock

    engine = _closing_abandoned_runs(_engine(config))
    with crawl_lock(config.home):  # a crawl of this home keeps its index up to date itself
        count = search.rebuild_from(config.index_dir, queries.CatalogIndexSource(engine))
    click.echo(f"indexed {count} publications into {config.index_dir}")


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
    engine = _engine(config)
    diff = search.check(config.index_dir, queries.CatalogIndexSource(engine))
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
            f"the search index differs from the catalog: {len(diff.missing)} missing, "
            f"{len(diff.stale)} stale, {len(diff.extra)} extra (run `catalog index sync`)"
        )
    click.echo(
        f"the search index matches the catalog: {diff.indexed} publications, "
        f"catalog revision {diff.head.revision}, index recorded {recorded}",
        err=True,
    )


@index.command("sync")
@pass_config
def index_sync(config: CatalogConfig) -> None:
    """Bring the search index up to the database and repair any difference.

    Applies what changed since the index's recorded revision, then compares every document
    with the catalog and rewrites or deletes what differs. Homes sharing one --db each keep
    their own index: a home that never crawled can search the shared catalog after a sync.

    \b
    Example:
        catalog --home ~/reader --db postgresql+psycopg://host/catalog index sync
    """
    engine = _closing_abandoned_runs(_engine(config))
    report = search.sync(config.index_dir, queries.CatalogIndexSource(engine), full=True)
    if report.rebuilt:
        click.echo(f"rebuilt the search index: {report.updated} publications", err=True)
    else:
        click.echo(
            f"search index at revision {report.after}: {report.updated} updated, "
            f"{report.deleted} deleted",
            err=True,
        )


def _closing_abandoned_runs(engine):
    """The engine, after marking runs whose process died as interrupted (never left running)."""
    from catalog.store import CatalogStore

    CatalogStore(engine).close_abandoned_runs()
    return engine


# Seconds a search waits for another process writing the index before searching it as it is.
SEARCH_SYNC_WAIT = 10.0


def _index_up_to_date(config: CatalogConfig) -> None:
    """Before a search: catch the index up with the catalog (a no-op when it is level).

    When the index cannot be written (a read-only home, another process writing it for long)
    the search goes on over what it holds, with one warning on stderr.
    """
    try:
        engine = _engine(config)
    except (CatalogError, SQLAlchemyError):  # a catalog we may only read: read it so
        engine = make_engine(config.db_url, read_only=True)
    try:
        search.sync(config.index_dir, queries.CatalogIndexSource(engine), wait=SEARCH_SYNC_WAIT)
    except search.IndexUnavailable as exc:
        click.echo(f"warning: searching an index that may be behind the catalog: {exc}", err=True)
    finally:
        engine.dispose()


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
    from catalog.demo import run_demo

    summary, hits = run_demo(config, query)
    click.echo(f"catalog home: {config.home}")
    click.echo(_summary_line(summary))
    click.echo(f"\nsample search: catalog search {query!r}")
    output.render(
        hits,
        ("published_on", "content_type", "title", "snippet"),
        "table",
        widths={"title": 60, "snippet": 80},
    )
    if summary.status != "succeeded":
        raise CliError(f"demo crawl {summary.status}: {summary.error}")
