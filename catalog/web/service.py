"""The catalog as a long-running server reads it: one read-only engine, one index kept open.

A command opens the index, searches and exits; a server answers thousands of searches, so it
keeps one reader open and checks, on each request, whether the catalog moved on: the catalog's
head revision (one indexed query) against the revision the open reader was opened at. When a
crawl has changed the catalog, the index is caught up (when this home's index folder can be
written, as ``catalog search`` does) and reopened; requests still using the old reader finish
on it, and it is closed when the last one is done. The server never writes the catalog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from catalog import queries
from catalog.config import CatalogConfig
from catalog.db import check_schema, make_engine
from catalog.index import IndexState, IndexUnavailable, SearchIndex

log = logging.getLogger("catalog.web")

# Seconds a request waits for another process writing the index (a crawl's sync) before it
# searches the index as it is; the same wait as `catalog search`.
SYNC_WAIT = 10.0
# Seconds before an index that could not be caught up is tried again at the same catalog head.
RETRY_SYNC = 60.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Version:
    """What every answer depends on: the catalog, its newest revision and crawl run, and the
    revision of the index that answered. Equal versions give equal pages."""

    catalog_id: int
    revision: int
    run_id: int
    run_status: str
    index_revision: int | None

    @property
    def head(self) -> IndexState:
        return IndexState(self.catalog_id, self.revision)

    def etag(self, salt: str = "") -> str:
        index = "x" if self.index_revision is None else str(self.index_revision)
        status = (self.run_status or "-")[:1]
        return f'W/"{self.catalog_id:x}-{self.revision}-{self.run_id}{status}-{index}{salt}"'


class HeldReader:
    """One open index reader, shared by the requests that use it (counted)."""

    def __init__(self, reader: Any, state: IndexState | None, serial: bool) -> None:
        self.reader = reader
        self.state = state
        self.users = 0
        self.retired = False
        # Whoosh reads its files through shared file objects: one search at a time. tantivy's
        # searcher is safe to share between threads.
        self.turn: Any = threading.Lock() if serial else nullcontext()

    def close(self) -> None:
        try:
            self.reader.close()
        except Exception:  # a reader that cannot even close is gone all the same
            log.exception("closing a search index reader failed")


class HeldIndex:
    """What ``queries.search_catalog`` and ``similar_publications`` take as their index.

    They ask it for a reader (``open_reader``) and, when that reader finds the index's files
    unreadable, to rebuild it. Here the reader is the one the server holds open, and a
    "rebuild" is a sync (which rebuilds only an index that needs it) followed by a fresh
    reader; the server reopens its own on the next request.
    """

    def __init__(self, service: CatalogService, held: HeldReader) -> None:
        self.service = service
        self.held = held
        self.folder = service.index.folder
        self.engine_name = service.index.engine_name
        self._fresh = False

    def open_reader(self) -> Any:
        if self._fresh:
            return self.service.index.open_reader()
        return nullcontext(self.held.reader)

    def rebuild(self, source: Any) -> int:
        self.service.drop(self.held)
        report = self.service.index.sync(source, wait=self.service.sync_wait)
        self._fresh = True
        return report.updated


class CatalogService:
    """One catalog opened read-only for a server process, and its search index kept open."""

    def __init__(
        self, config: CatalogConfig, *, engine: str | None = None, sync_wait: float = SYNC_WAIT
    ) -> None:
        self.config = config
        self.sync_wait = sync_wait
        self.engine: Engine = make_engine(config.db_url, read_only=True)
        check_schema(self.engine)
        self.index: SearchIndex = config.search_index(engine)  # default: the home's engine
        self.source = queries.CatalogIndexSource(self.engine)
        self.warning: str | None = None  # the index may be behind: said on search pages
        self._lock = threading.Lock()
        self._held: HeldReader | None = None
        self._failed: tuple[IndexState, float] | None = None
        self._cache_lock = threading.Lock()
        self._cache: dict[str, tuple[Any, Any]] = {}

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            held.retired = True
            if held.users == 0:
                held.close()
        self.engine.dispose()

    # --- what the catalog is at ---------------------------------------------------------------

    def version(self) -> Version:
        """The catalog's version now (one statement) and the open index's revision."""
        catalog_id, revision, run_id, status = queries.catalog_version(self.engine)
        held = self._held
        index_revision = held.state.revision if held is not None and held.state else None
        return Version(catalog_id, revision, run_id, status, index_revision)

    def cached(self, name: str, version: Version, compute: Callable[[], T]) -> T:
        """``compute()``, computed once per catalog version (citation keys, home page counts)."""
        key = (version.catalog_id, version.revision, version.run_id, version.run_status)
        with self._cache_lock:
            found = self._cache.get(name)
            if found is not None and found[0] == key:
                return found[1]
            value = compute()
            self._cache[name] = (key, value)
            return value

    # --- the index ----------------------------------------------------------------------------

    def warm(self) -> None:
        """Catch the index up and open it before the first request (which is then as fast as
        the rest); a failure is left for the requests that search to report."""
        try:
            with self.searching(self.version().head):
                pass
        except Exception as exc:  # no index yet, a database not reachable yet: said per request
            log.warning("the search index is not open yet: %s", exc)

    @contextmanager
    def searching(self, head: IndexState) -> Iterator[HeldIndex]:
        """The index, caught up with ``head`` when it can be, for one request's searches."""
        held = self._acquire(head)
        try:
            with held.turn:
                yield HeldIndex(self, held)
        finally:
            self._release(held)

    def drop(self, held: HeldReader) -> None:
        """Stop handing out ``held`` (its files could not be read): the next request reopens."""
        with self._lock:
            if self._held is held:
                self._held = None
                held.retired = True

    def _acquire(self, head: IndexState) -> HeldReader:
        with self._lock:
            held = self._held
            if held is None or (held.state != head and self._may_sync(head)):
                held = self._reopen(head)
            held.users += 1
            return held

    def _release(self, held: HeldReader) -> None:
        with self._lock:
            held.users -= 1
            done = held.retired and held.users == 0
        if done:
            held.close()

    def _may_sync(self, head: IndexState) -> bool:
        """Whether to try catching the index up: not again and again at one head when it
        cannot be written (a read-only home), only once a minute."""
        if self._failed is None:
            return True
        failed_head, when = self._failed
        return failed_head != head or time.monotonic() - when > RETRY_SYNC

    def _reopen(self, head: IndexState) -> HeldReader:
        """Catch the index up (if it can be written), open it, retire the reader before."""
        try:
            report = self.index.sync(self.source, wait=self.sync_wait)
        except IndexUnavailable as exc:
            self._failed = (head, time.monotonic())
            self.warning = f"the search index may be behind the catalog ({exc})"
            log.warning("searching an index that may be behind the catalog: %s", exc)
        else:
            self._failed = None
            self.warning = None
            if report.rebuilt:
                log.warning(
                    "rebuilt the search index for %s (%s): %d publications",
                    self.index.engine_name,
                    report.why or "there was none",
                    report.updated,
                )
        state = self.index.state()  # read before opening: the reader holds at least this
        reader = self.index.open_reader()
        held = HeldReader(reader, state, serial=reader.engine == "whoosh")
        old, self._held = self._held, held
        if old is not None:
            old.retired = True
            if old.users == 0:
                old.close()
        return held
