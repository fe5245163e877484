"""Crawl locks: one crawl per catalog home, and one crawl per topic across machines.

The home lock is an OS-level file lock (``filelock``), so a crawl that is killed never leaves a
stale lock behind; the pid file beside it only makes the error message useful.

The topic locks are for crawlers on several machines sharing one PostgreSQL catalog: their
homes differ, so the file lock cannot see them, but they all talk to the same server. Each
topic gets a session-level advisory lock on a connection of its own, which the server drops
the moment that connection ends, so a crawler that dies (or whose machine does) leaves no
stale lock either.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from catalog.errors import CrawlLocked

# application_name is how other crawlers learn who holds a topic; PostgreSQL keeps 63 bytes.
APPLICATION_PREFIX = "catalog-crawl "
APPLICATION_NAME_MAX = 63


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


def topic_lock_key(slug: str) -> int:
    """The advisory lock key of a topic: a signed 64-bit hash, the same on every machine.

    Computed here rather than with the server's ``hashtext()``, whose values are an internal
    detail PostgreSQL may change between major versions.
    """
    digest = hashlib.sha256(f"catalog-topic:{slug}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_holder_name(host: str | None = None, pid: int | None = None) -> str:
    """``catalog-crawl HOST/PID`` for ``application_name``, cutting the host, never the pid."""
    host = host or socket.gethostname()
    tail = f"/{pid if pid is not None else os.getpid()}"
    room = APPLICATION_NAME_MAX - len(APPLICATION_PREFIX) - len(tail)
    return f"{APPLICATION_PREFIX}{host[:room]}{tail}"


@contextmanager
def topic_locks(engine: Engine, slugs: Iterable[str]) -> Iterator[None]:
    """Hold every topic in ``slugs`` for the block, or raise :class:`CrawlLocked` at once.

    On PostgreSQL this opens a dedicated connection (never pooled, so its locks cannot leak
    into another checkout) named ``catalog-crawl HOST/PID`` and takes
    ``pg_try_advisory_lock`` per topic, in sorted order. If another session holds one, every
    lock taken so far is released and the error names that session's host, pid and since when
    it holds the lock. Other databases are single-machine catalogs: the home lock suffices, and
    this is a no-op.
    """
    wanted = sorted({slug for slug in slugs if slug})
    if engine.dialect.name != "postgresql" or not wanted:
        yield
        return
    lock_engine = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"application_name": lock_holder_name()},
    )
    try:
        with lock_engine.connect() as connection:
            connection.commit()  # advisory locks outlive transactions; no transaction held open
            for slug in wanted:
                key = topic_lock_key(slug)
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                ).scalar_one()
                connection.commit()
                if not got:
                    raise CrawlLocked(
                        f"topic {slug} is being crawled by {_holder(connection, key)}; "
                        "this crawl did not start"
                    )
            yield
            # Closing the connection below releases the locks; unlocking first says so in
            # the server's own terms and keeps a reused connection (a proxy) clean.
            with suppress(Exception):
                connection.execute(text("SELECT pg_advisory_unlock_all()"))
                connection.commit()
    finally:
        lock_engine.dispose()


def _holder(connection: Connection, key: int) -> str:
    """Who holds advisory lock ``key``: ``HOST/PID since TIME`` from ``pg_stat_activity``.

    A bigint advisory lock shows in ``pg_locks`` as classid (high 32 bits), objid (low 32
    bits) and objsubid 1. Another user's session may hide its details (without the
    ``pg_read_all_stats`` role): then the server's backend pid is all we can name.
    """
    row = connection.execute(
        text(
            "SELECT a.application_name, a.pid, a.backend_start "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :high AND l.objid::bigint = :low "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.pid <> pg_backend_pid() LIMIT 1"
        ),
        {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
    ).first()
    connection.commit()
    if row is None:  # released between our attempt and this look
        return "another crawler (which has just finished)"
    name, backend_pid, started = row
    since = f" since {started.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC" if started else ""
    if name and name.startswith(APPLICATION_PREFIX):
        return f"{name[len(APPLICATION_PREFIX) :]}{since}"
    return f"another PostgreSQL session (server pid {backend_pid}){since}"


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
