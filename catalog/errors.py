"""Errors the library raises and the command line turns into one-line messages.

Each carries the process exit code the CLI uses for it, so that cron wrappers can tell a bad
query (2) from a failed crawl (1) or a crawl that found another one running (3) without
parsing text.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base class: a problem the user can act on, reported without a traceback."""

    exit_code = 1


class UsageError(CatalogError):
    """The request itself is malformed (bad query, bad date, bad option value)."""

    exit_code = 2


class QueryError(UsageError):
    """A search query Whoosh cannot parse or run."""


class ReadOnlyError(CatalogError):
    """`catalog sql` was asked to run a statement that writes."""


class SQLError(CatalogError):
    """A read-only SQL statement failed (syntax error, unknown table...)."""


class OutputError(CatalogError):
    """An output file cannot be written safely (e.g. the target is a symlink or a FIFO)."""


class CrawlFailed(CatalogError):
    """A crawl ended without success; what it stored before failing stays stored."""


class CrawlLocked(CatalogError):
    """Another crawl holds this home's lock."""

    exit_code = 3


class ConfigError(UsageError):
    """The home's catalog.toml is malformed; the message names the file and line."""


class DatabaseError(CatalogError):
    """The catalog database cannot be opened or is not at the expected schema."""


class NoCatalog(DatabaseError):
    """A read command was pointed at a home or database that holds no catalog yet."""


class SchemaMismatch(DatabaseError):
    """The catalog's schema is not the revision this version reads; read commands never migrate."""


class SQLTimeout(CatalogError):
    """A `catalog sql` statement ran past its time limit and was stopped."""


class Interrupted(CatalogError):
    """The user pressed Ctrl-C (SIGINT) while a statement ran; it was cancelled."""
