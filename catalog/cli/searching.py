"""`catalog search` and `catalog similar`: the search index, read as the catalog."""

from __future__ import annotations

from datetime import date

import click

from catalog import output
from catalog.cli.base import (
    MAX_LIMIT,
    SORTS,
    CliError,
    Count,
    DateBound,
    PublicationKey,
    bom_option,
    citation_keys_for,
    cli,
    format_option,
    index_up_to_date,
    json_option,
    pass_config,
    pick_format,
    reading_engine,
)
from catalog.config import CatalogConfig

# --- search --------------------------------------------------------------------------------

SEARCH_COLUMNS = ("published_on", "content_type", "title", "url", "snippet")


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
@click.option(
    "--publisher",
    metavar="NAME",
    help="Only this publisher's publications: its name (any case) or words naming one.",
)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--limit", type=Count(MAX_LIMIT), default=20, show_default=True)
@click.option(
    "--facets",
    "with_facets",
    is_flag=True,
    help="Also count all matches by type, year, topic, author and publisher (table and json only).",
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
    publisher: str | None,
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
    (the page text; abstract: works too), author, type, publisher, topic (slug), topics
    (names), date, year, url. The same query language whichever search engine the home uses.
    Without a query, the filters alone choose (newest first); a capped list says so on stderr.

    --facets counts every match (not only the hits shown) by type, year, topic, author and
    publisher, the top 10 values of each: printed after the table, or with --json an object
    {"hits": [...], "total": N, "facets": {"type": [{"value": ..., "count": ...}], "year",
    "topic", "author", "publisher"}, "suggestion": ...} instead of the list of hits. When
    nothing matches, a corrected query that does match is suggested on stderr ("did you
    mean").

    \b
    Example:
        catalog search '"security cooperation" AND japan' --type Report --sort newest
        catalog search 'author:"Derek Grossman"'
        catalog search japan --type Report --format ris > japan.ris
        catalog search alliances --since 2020 --facets
        catalog search --author Grossman --type report
        catalog search deterrence --publisher "RAND Corporation" --facets
    """
    from catalog import queries
    from catalog.index import Filters
    from catalog.index.query import compile_query

    fmt = pick_format(fmt, as_json, "table", bom)
    if with_facets and fmt not in ("table", "json"):
        raise click.UsageError("--facets goes with the table or json output only")
    if query is None:
        if not (content_type or topic or author or publisher or since or until):
            raise click.UsageError(
                "give a query (words, or * for everything) or a filter such as --author"
            )
        query = "*"  # a search by filters alone lists what they let through
    compile_query(query)  # a malformed or costly query is a usage error before any work
    engine = reading_engine(config)  # no catalog, or an old schema: one line, before the index
    filters = queries.resolve_filters(
        engine,
        Filters(
            content_type=content_type,
            topic=topic,
            author=author,
            since=since,
            until=until,
            publisher=publisher,
        ),
    )
    index = index_up_to_date(config, engine)
    found = queries.search_catalog(
        engine, index, query, filters=filters, facets=with_facets, sort=sort, limit=limit
    )
    if found.notice:
        click.echo(f"notice: {found.notice}", err=True)
    rows = found.rows
    if with_facets and fmt == "json":
        output.render_search_json(
            rows,
            output.HIT_JSON_COLUMNS,
            found.facets.as_dict(),
            found.facets.total,
            found.suggestion,
        )
    elif fmt != "table":
        output.render(
            rows, output.HIT_JSON_COLUMNS, fmt, keys=citation_keys_for(engine, fmt), bom=bom
        )
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

    fmt = pick_format(fmt, as_json, "table", bom)
    engine = reading_engine(config)
    index = index_up_to_date(config, engine)
    rows = queries.similar_publications(engine, index, publication, limit)
    if rows is None:
        raise CliError(f"no publication {publication!r} in the catalog (try `catalog search`)")
    if fmt != "table":
        output.render(
            rows, output.SIMILAR_JSON_COLUMNS, fmt, keys=citation_keys_for(engine, fmt), bom=bom
        )
    elif rows:
        output.render_hits(rows, SIMILAR_COLUMNS)
    if not rows:
        click.echo("no similar publications", err=True)
