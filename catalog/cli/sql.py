"""`catalog sql`: users' own statements, read-only, streamed in any format."""

from __future__ import annotations

import itertools
import sys
from typing import Any

import click
from sqlalchemy import Engine

from catalog import output
from catalog.cli.base import (
    MAX_SQL_TIMEOUT,
    SQL_TIMEOUT,
    CliError,
    Seconds,
    citation_keys_for,
    cli,
    pass_config,
    reading_engine,
    text_argument,
)
from catalog.config import CatalogConfig

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
    statement = text_argument(statement, "QUERY")
    for name, value in params:
        text_argument(value, f"the value of -p {name}")
    names = [name for name, _ in params]
    if len(set(names)) != len(names):
        raise click.UsageError("each -p NAME may be given once")
    engine = reading_engine(config)
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

    output.render(records(), (), fmt, keys=citation_keys_for(engine, fmt))
