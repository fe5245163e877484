"""`catalog serve`: the catalog read-only on the web (pages, feeds, a JSON API)."""

from __future__ import annotations

import click

from catalog.cli.base import CliError, cli, pass_config
from catalog.config import CatalogConfig


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
