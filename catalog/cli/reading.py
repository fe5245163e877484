"""`catalog show`, `stats`, `runs`, `changes` and `export`: reading the catalog."""

from __future__ import annotations

import collections
import itertools
from datetime import date, datetime, time
from pathlib import Path

import click

from catalog import output
from catalog.cli.base import (
    MAX_ROWS,
    CliError,
    Count,
    DateBound,
    OutputFile,
    PublicationKey,
    bom_option,
    citation_keys_for,
    cli,
    closing_abandoned_runs,
    format_option,
    json_option,
    pass_config,
    pick_format,
    reading_engine,
)
from catalog.config import CatalogConfig

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

    fmt = pick_format(fmt, as_json, "table")
    rows = queries.recent_runs(closing_abandoned_runs(config, reading_engine(config)), limit)
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

    fmt = pick_format(fmt, as_json, "table")
    if since and since_last_run:
        raise click.UsageError("choose one of --since and --since-last-run")
    engine = reading_engine(config)
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

    fmt = pick_format(fmt, as_json, "text")
    engine = reading_engine(config)
    record = queries.publication(engine, publication)
    if record is None:
        raise CliError(f"no publication {publication!r} in the catalog (try `catalog search`)")
    if fmt == "json":
        click.echo(output.to_json(record))
    elif fmt in output.CITATION_FORMATS:
        output.render([record], (), fmt, keys=citation_keys_for(engine, fmt))
    else:
        text = output.render_publication(record, width=output.terminal_width())
        click.echo(text, nl=False)


# --- stats ---------------------------------------------------------------------------------


@cli.command()
@json_option
@pass_config
def stats(config: CatalogConfig, as_json: bool) -> None:
    """Counts by publisher, by type, by year and by topic, and the last crawl run.

    \b
    Example:
        catalog stats --json
    """
    from catalog import queries

    engine = reading_engine(config)
    figures = queries.stats(engine)
    figures["search_index"] = queries.index_status(config.search_index(), engine)
    if as_json:
        click.echo(output.to_json(figures))
        return
    click.echo(f"publications: {figures['publications']}\n")
    by_publisher = [
        {**r, "publisher": r["publisher"] or "(unknown)"} for r in figures["by_publisher"]
    ]
    output.render(by_publisher, ("publisher", "count"))
    click.echo()
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

    fmt = pick_format(fmt, False, "jsonl", bom)
    if output_path is not None and not output_path.parent.is_dir():
        raise click.UsageError(f"no folder {output_path.parent} to write {output_path.name} in")
    engine = reading_engine(config)
    keys = citation_keys_for(engine, fmt)
    rows = queries.export_rows(engine)
    columns = (*queries.ALL_COLUMNS, "topics", "authors")
    if output_path is None:
        count = output.render(rows, columns, fmt, keys=keys, bom=bom)
    else:
        with output.atomic_output(output_path) as handle:
            count = output.render(rows, columns, fmt, out=handle, keys=keys, bom=bom)
    click.echo(f"exported {count} publications", err=True)
