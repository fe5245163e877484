"""One crawl per catalog home at a time: a lock file the operating system releases on exit.

The lock is an OS-level file lock (``filelock``), so a crawl that is killed never leaves a
stale lock behind; the pid file beside it only makes the error message useful.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from catalog.errors import CrawlLocked


@contextmanager
def crawl_lock(home: Path) -> Iterator[None]:
    """Hold the home's crawl lock, or raise :class:`CrawlLocked` at once if another has it."""
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(home / "crawl.lock"), timeout=0)
    pid_file = home / "crawl.pid"
    try:
        lock.acquire()
    except Timeout:
        holder = ""
        with suppress(OSError, ValueError):
            holder = f" (pid {int(pid_file.read_text().strip())})"
        raise CrawlLocked(
            f"another crawl is running on {home}{holder}; this one did not start"
        ) from None
    try:
        pid_file.write_text(str(os.getpid()))
        yield
    finally:
        with suppress(OSError):
            pid_file.unlink()
        lock.release()
