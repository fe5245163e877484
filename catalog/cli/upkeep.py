"""`catalog db` and `catalog index`: the schema and the search index, kept in order."""

from __future__ import annotations

import click

from catalog.cli.base import (
    CliError,
    cli,
    closing_abandoned_runs,
    pass_config,
    reading_engine,
)
from catalog.config import CatalogConfig
from catalog.db import make_engine, upgrade

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
    engine = closing_abandoned_runs(config, reading_engine(config))
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
    engine = reading_engine(config)
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
    engine = closing_abandoned_runs(config, reading_engine(config))
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
