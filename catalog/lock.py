"""One crawl per catalog home at a time: a lock file the operating system releases on exit.

The lock is an OS-level file lock (``filelock``), so a crawl that is killed never leaves a
stale lock behind; the pid file beside it only makes the error message useful.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
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


def process_alive(pid: int, started_at: datetime | None = None) -> bool:
    """Whether process ``pid`` of this host still runs (and, if known, began before ``started_at``).

    ``started_at`` (naive UTC) guards against a recycled pid: on Linux a process that started
    after the run did cannot be the run's. Where the start time cannot be read, a live pid counts.
    """
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    except OSError:
        return False
    if started_at is None:
        return True
    began = _process_start(pid)
    if began is None:
        return True
    return began <= started_at + PID_START_SLACK


PID_START_SLACK = timedelta(seconds=5)


def _process_start(pid: int) -> datetime | None:
    """The start time of a Linux process (naive UTC) from /proc, or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime, in clock ticks
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        seconds = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
