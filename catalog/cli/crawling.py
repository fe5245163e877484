"""`catalog crawl`, `catalog topics` and `catalog demo`: filling the catalog."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from catalog import config as catalog_config
from catalog import output
from catalog.cli.base import (
    MAX_PAGES,
    CliError,
    Count,
    cli,
    pass_config,
)
from catalog.config import CatalogConfig

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
    help="A RAND listing page, or any publisher's RSS/Atom feed or HTML page linking one "
    "(repeatable; see docs/feeds.md).",
)
@click.option(
    "--pages",
    type=Count(MAX_PAGES),
    help="A short walk: this many listing pages per topic, then stop (the run succeeds; "
    "the next crawl carries on).",
)
@click.option(
    "--max-pages",
    type=Count(MAX_PAGES),
    hidden=True,
    help="Deprecated name of --pages.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Walk every listing page (default: stop at the first page with nothing new) "
    "and mark publications no longer listed as delisted (a feed's entries only once its "
    "pages were followed to the end).",
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
    pages: int | None,
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
    A start URL on any host but RAND's is read as a feed (RSS or Atom) or as an HTML page
    linking one (docs/feeds.md); a URL that is neither fails the run.
    Exit codes: 0 success, 1 the run failed or was interrupted (what it stored stays
    stored), 2 usage error, 3 another crawl is running on this home.

    \b
    Example:
        catalog crawl --topic security-cooperation --pages 2
        catalog --home ~/catalog crawl --quiet     # from cron
    """
    from crawler.run import run_crawl

    if quiet and verbose:
        raise click.UsageError("choose one of --quiet and --verbose")
    if max_pages is not None:
        if pages is not None:
            raise click.UsageError("choose one of --pages and --max-pages (its old name)")
        pages = max_pages
        if not quiet:  # like every warning: cron's --quiet mails only failures
            click.echo(catalog_config.deprecation("--max-pages", "--pages"), err=True)
    level = None if quiet else "INFO" if verbose else "WARNING"
    display = TerminalProgress() if not quiet and sys.stderr.isatty() else None
    try:
        summary = run_crawl(
            config,
            topics=list(topics),
            start_urls=list(start_urls),
            pages=pages,
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
        from crawler.run import progress_line

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
    """Add a RAND topic slug, a listing URL, or a feed URL (RSS or Atom, or an HTML page
    linking one: any think tank's tag or topic page). A URL that turns out to be none of
    these fails the next crawl with one line (exit 1).

    \b
    Example:
        catalog topics add national-security-and-terrorism
        catalog topics add https://www.atlanticcouncil.org/tag/security-cooperation/feed/
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


# --- demo ----------------------------------------------------------------------------------


@cli.command()
@click.option("--query", default="alliances", show_default=True, help="The sample search.")
@pass_config
def demo(config: CatalogConfig, query: str) -> None:
    """Crawl two bundled sample publishers served on 127.0.0.1 (a RAND-shaped site and a
    WordPress-like think tank's tag feed); no network needed.

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
