"""The `catalog` command line: thin commands over the library, one renderer for output.

The group and what every command shares live in :mod:`catalog.cli.base`; each module here is
one family of commands, registered on the group when the package is imported.
"""

from catalog.cli import crawling, reading, searching, serving, sql, upkeep  # noqa: F401
from catalog.cli.base import MAX_ID, MAX_LIMIT, SORTS, SQL_TIMEOUT, CliError, DateBound, cli

__all__ = ["MAX_ID", "MAX_LIMIT", "SORTS", "SQL_TIMEOUT", "CliError", "DateBound", "cli"]
