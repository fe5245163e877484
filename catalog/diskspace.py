"""A full disk during a crawl: recognise it, name the disk, and keep room to close the run.

A crawl writes three things to disk: the database (SQLite's file and its write-ahead log),
the search index and the crawl log. When the disk fills, whichever write comes first fails,
and the run must still be closed as ``failed`` with a one-line cause; otherwise it stays
``running`` and the next command can only guess that it was killed. Closing a run is one
small write, so a crawl on SQLite keeps a small reserve file beside the database and deletes
it when the disk is full, which frees just enough room to record how the run ended.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

RESERVE_NAME = ".catalog-space-reserve"
RESERVE_BYTES = 64 * 1024  # room for the few WAL frames that close a run, and a log line
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: SQLAlchemy's ``orig``, a cause or context) says the
    disk or a quota is full."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if "database or disk is full" in str(current):  # sqlite3 before Python 3.11
            return True
        if getattr(current, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return True
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding ``path`` (what ``df`` calls the disk)."""
    current = path.resolve()
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def full_disk_message(path: Path | str) -> str:
    """One line naming the full disk and what on it the crawl was writing."""
    path = Path(path)
    return f"no space left on the disk mounted at {mount_point(path)} (writing {path})"


class SpaceReserve:
    """A file of ``RESERVE_BYTES`` kept in ``folder`` while a crawl runs, freed when needed.

    Best effort: on a disk already too full to hold it, the crawl goes on without it.
    """

    def __init__(self, folder: Path, size: int = RESERVE_BYTES) -> None:
        self.path = folder / RESERVE_NAME
        self.size = size
        self.held = False

    def hold(self) -> bool:
        """Write the reserve (real blocks, not a sparse file); False when there is no room."""
        try:
            with self.path.open("wb") as handle:
                handle.write(b"\0" * self.size)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            self.path.unlink(missing_ok=True)
            return False
        self.held = True
        return True

    def release(self) -> None:
        """Delete the reserve, freeing its blocks for the writes that close the run."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        self.held = False
