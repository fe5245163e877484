"""An index folder that follows the catalog, whatever engine writes it.

The database is the source of truth; the index holds what search needs and follows it:

- Every document stores its publication's ``id`` (the key updates and deletes go by) and the
  ``revision`` it was indexed at. The index folder holds ``revision.json``: the catalog it was
  built from, the highest revision it has absorbed and which engine (and schema version) built
  it, written (atomically, after an fsync of the index files) only after the commit that
  absorbed it. A process killed between the two leaves the recorded revision behind, never
  ahead; the next sync re-applies those changes, which is harmless, as applying a
  publication's current state is idempotent.
- :meth:`SearchIndex.sync` compares the recorded revision with the catalog's (one indexed
  query); when they are equal it does nothing, otherwise it applies what changed, or rebuilds
  when the index is missing, damaged, from another catalog, of an older schema or built by the
  other engine.
- Writers of one index (syncs, rebuilds) take ``<index>.lock``, an OS-level lock released even
  when the process is killed, and read the database only while holding it, so a slow writer
  can never put back an older state over a newer one.
- A rebuild is staged beside the index and swapped in; an interrupted swap is completed (or
  undone) by the next writer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from catalog.errors import CatalogError
from catalog.index.engines import DEFAULT_ENGINE, Engine, get_engine
from catalog.index.model import (
    PROGRAMMING_ERRORS,
    SCHEMA_VERSION,
    Entry,
    IndexDamaged,
    IndexDiff,
    IndexDocument,
    IndexSource,
    IndexState,
    IndexUnavailable,
    SyncReport,
)

WRITER_TIMEOUT = 60.0
STATE_FILE = "revision.json"
# Set to a crash point's name to have the process SIGKILL itself there (crash tests only).
CRASH_ENV = "CATALOG_CRASH_AT"


def index_name(engine: str) -> str:
    """What ``revision.json`` records as the index's kind: engine and schema version."""
    return f"{engine}-v{SCHEMA_VERSION}"


class SearchIndex:
    """The index in ``folder``, written and read by the engine called ``engine``."""

    def __init__(self, folder: Path, engine: str = DEFAULT_ENGINE) -> None:
        self.folder = Path(folder)
        self.engine_name = engine
        self.engine: Engine = get_engine(engine)

    def __repr__(self) -> str:
        return f"SearchIndex({str(self.folder)!r}, {self.engine_name!r})"

    # --- what is there ----------------------------------------------------------------------

    def recorded(self) -> tuple[IndexState, str] | None:
        """The recorded state and the kind of index that recorded it (any engine, any
        version), or None when there is no state file."""
        try:
            data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
            return IndexState(int(data["catalog_id"]), int(data["revision"])), str(data["index"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def built_by(self) -> str | None:
        """The engine that built the index there (whatever its version), or None."""
        found = self.recorded()
        return found[1].rsplit("-v", 1)[0] if found else None

    def state(self) -> IndexState | None:
        """The recorded state, or None when there is no usable index of this engine and
        schema version."""
        found = self.recorded()
        if found is None or found[1] != index_name(self.engine_name):
            return None
        return found[0] if self.engine.exists(self.folder) else None

    def exists(self) -> bool:
        return self.engine.exists(self.folder)

    def doc_count(self) -> int:
        if not self.exists():
            return 0
        with self.open_reader() as reader:
            return reader.num_docs()

    def open_reader(self):  # -> reader.IndexReader (imported late: it needs the query module)
        """The index opened for searching; use as a context manager.

        An index built by the other engine (a home switched engines but could not rebuild,
        e.g. read-only) is read by the engine that built it.
        """
        from catalog.index.reader import IndexReader

        engine = self.engine
        if not engine.exists(self.folder):
            other = self.built_by()
            if other and other != self.engine_name and other in _known_engines():
                builder = get_engine(other)
                if builder.exists(self.folder):
                    engine = builder
        if not engine.exists(self.folder):
            raise CatalogError(f"no search index at {self.folder}: run `catalog index rebuild`")
        return IndexReader(_opened(engine, self.folder), engine.name)

    # --- following the catalog --------------------------------------------------------------

    def sync(
        self,
        source: IndexSource,
        *,
        wait: float = WRITER_TIMEOUT,
        full: bool = False,
        verify: bool = False,
    ) -> SyncReport:
        """Bring the index up to the catalog's revision; cheap when it already is.

        The check is one indexed query and one small file read. ``full`` also compares every
        document with the catalog and repairs what differs (``catalog index sync``);
        ``verify`` opens a level index to make sure it reads (a crawl's first sync), and
        rebuilds it if not. Raises :class:`IndexUnavailable` when the index cannot be written
        (read-only folder, disk full, another writer holding it longer than ``wait``).
        """
        recorded = self.state()
        level = not full and recorded is not None and recorded == source.head()
        if level and (not verify or self._readable()):
            return SyncReport(before=recorded.revision, after=recorded.revision)
        with self._writing(wait):
            _recover(self.folder)
            head = source.head()
            why = self._why_rebuild(head)
            if why is not None:
                count = self._rebuild(source.documents(), head)
                return SyncReport(None, head.revision, updated=count, rebuilt=True, why=why)
            recorded = self.state()
            assert recorded is not None
            try:
                if full:
                    diff = self._diff(source, head, recorded)
                    upsert = [e.id for e in diff.missing] + [e.id for e, _ in diff.stale]
                    delete = sorted({e.id for e in diff.extra})
                    upsert += sorted(diff.duplicated)  # deleted (every copy), then written once
                elif recorded.revision < head.revision:
                    upsert, delete = source.changes(recorded.revision, head.revision)
                else:
                    return SyncReport(before=recorded.revision, after=head.revision)
                updated, deleted = self._apply(source, upsert, delete)
            except IndexDamaged as exc:
                count = self._rebuild(source.documents(), head)
                why = f"it could not be read ({exc})"
                return SyncReport(None, head.revision, updated=count, rebuilt=True, why=why)
            self._write_state(self.folder, head)
            return SyncReport(recorded.revision, head.revision, updated=updated, deleted=deleted)

    def _readable(self) -> bool:
        try:
            _opened(self.engine, self.folder).close()
        except IndexDamaged:
            return False
        return True

    def _why_rebuild(self, head: IndexState) -> str | None:
        """Why the index must be rebuilt before it can follow ``head``, or None."""
        found = self.recorded()
        if found is None or not self.engine.exists(self.folder):
            built_by = found[1].rsplit("-v", 1)[0] if found else None
            if built_by and built_by != self.engine_name:
                return f"it was built by {built_by}"
            return "" if found is None else "its files were missing"
        state, kind = found
        if kind != index_name(self.engine_name):
            engine, _, version = kind.rpartition("-v")
            if engine != self.engine_name:
                return f"it was built by {engine}"
            return f"it was built by an older version (index schema {version})"
        if state.catalog_id != head.catalog_id:
            return "it followed another catalog"
        if state.revision > head.revision:
            return "it was ahead of the catalog"
        try:
            _opened(self.engine, self.folder).close()
        except IndexDamaged as exc:
            return f"it could not be read ({exc})"
        return None

    def rebuild(self, source: IndexSource) -> int:
        """Rebuild the whole index from the catalog, recording the revision it was read at."""
        with self._writing(WRITER_TIMEOUT):
            _recover(self.folder)
            return self._rebuild(source.documents(), source.head())

    def rebuild_documents(self, docs: Iterable[dict[str, Any]], state: IndexState) -> int:
        """Rebuild from catalog rows already at hand (benchmarks, tests), recording ``state``."""
        with self._writing(WRITER_TIMEOUT):
            _recover(self.folder)
            return self._rebuild(docs, state)

    def check(self, source: IndexSource) -> IndexDiff:
        """Compare the index with the catalog document by document: ids, URLs and revisions."""
        found = self.recorded()
        diff = IndexDiff(head=source.head(), recorded=self.state(), engine=self.engine_name)
        if found is not None and found[1] != index_name(self.engine_name):
            built_by = found[1].rsplit("-v", 1)[0]
            diff.problem = (
                f"the search index was built by {built_by}, not {self.engine_name}"
                if built_by != self.engine_name
                else "the search index is of an older version"
            )
            return diff
        try:
            return self._diff(source, diff.head, diff.recorded, diff)
        except IndexDamaged as exc:
            diff.problem = f"the search index cannot be read: {exc}"
            return diff

    def _diff(
        self,
        source: IndexSource,
        head: IndexState,
        recorded: IndexState | None,
        diff: IndexDiff | None = None,
    ) -> IndexDiff:
        diff = diff or IndexDiff(head=head, recorded=recorded, engine=self.engine_name)
        indexed: dict[int, Entry] = {}
        entries = self.engine.entries(self.folder) if self.exists() else iter(())
        for entry in _guarded(entries):
            diff.indexed += 1
            if entry.id in indexed:
                diff.extra.append(entry)  # the same publication twice
            else:
                indexed[entry.id] = entry
        twice = {e.id for e in diff.extra}
        for entry in source.entries():
            if entry.id in twice:
                diff.duplicated.add(entry.id)
            have = indexed.pop(entry.id, None)
            if have is None:
                diff.missing.append(entry)
            elif (have.revision, have.url) != (entry.revision, entry.url):
                diff.stale.append((entry, have.revision))
        diff.extra.extend(indexed.values())
        diff.extra.sort(key=lambda e: e.id)
        return diff

    # --- writing ----------------------------------------------------------------------------

    def _apply(self, source: IndexSource, upsert: list[int], delete: list[int]) -> tuple[int, int]:
        """One commit: delete, then (re)write documents; fsync before returning."""
        if not upsert and not delete:
            return 0, 0
        docs = _documents(source.documents(upsert)) if upsert else iter(())
        updated = _guarded_write(
            self.engine,
            self.folder,
            docs,
            delete=delete,
            before_commit=lambda: crash_point("sync-before-commit"),
        )
        _fsync_folder(self.folder)
        crash_point("sync-after-commit")
        return updated, len(delete)

    def _rebuild(self, docs: Iterable[dict[str, Any]], state: IndexState) -> int:
        """Build a fresh index beside the old one and swap it in: searches never see half."""
        staging = _staging(self.folder)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            count = self.engine.write(staging, _documents(docs), create=True)
            _fsync_folder(staging)
            # The state file marks the staged index complete: a cut-short swap is finished
            # from it.
            self._write_state(staging, state)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        crash_point("rebuild-staged")
        retired = _retired(self.folder)
        shutil.rmtree(retired, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(retired)
        crash_point("rebuild-mid-swap")
        staging.rename(self.folder)
        _fsync_folder(self.folder.parent, files=False)
        shutil.rmtree(retired, ignore_errors=True)
        return count

    def _write_state(self, folder: Path, state: IndexState) -> None:
        """Atomically replace the state file, durably: written, fsynced, renamed, folder
        fsynced."""
        data = {
            "catalog_id": state.catalog_id,
            "revision": state.revision,
            "index": index_name(self.engine_name),
        }
        temporary = folder / f".{STATE_FILE}.{os.getpid()}.tmp"
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, folder / STATE_FILE)
        except BaseException:
            temporary.unlink(missing_ok=True)  # disk full: leave no half-written file behind
            raise
        _fsync_folder(folder, files=False)

    @contextmanager
    def _writing(self, wait: float) -> Iterator[None]:
        """Hold ``<index>.lock``: one writer of this index at a time, across processes."""
        from filelock import FileLock, Timeout  # writers only: a level search never locks

        lock = FileLock(str(_lock_path(self.folder)), timeout=wait)
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            raise IndexUnavailable(
                f"the search index at {self.folder} is being written by another process"
            ) from None
        except OSError as exc:
            raise IndexUnavailable(
                f"the search index at {self.folder} cannot be written: {exc.strerror or exc}"
            ) from exc
        try:
            yield
        except OSError as exc:  # disk full, read-only folder: the engine cancelled its writer
            raise IndexUnavailable(
                f"the search index at {self.folder} cannot be written: {exc.strerror or exc}"
            ) from exc
        finally:
            lock.release()


def _known_engines() -> tuple[str, ...]:
    from catalog.index.engines import ENGINES

    return tuple(ENGINES)


def _documents(rows: Iterable[dict[str, Any]]) -> Iterator[IndexDocument]:
    return (IndexDocument.from_row(row) for row in rows)


def _opened(engine: Engine, folder: Path):
    try:
        return engine.open(folder)
    except (CatalogError, MemoryError, KeyboardInterrupt, *PROGRAMMING_ERRORS):
        raise
    except Exception as exc:
        raise IndexDamaged(_reason(exc)) from exc


def _guarded(entries: Iterator[Entry]) -> Iterator[Entry]:
    """``entries``, with an engine's failure to read its own files as :class:`IndexDamaged`."""
    try:
        yield from entries
    except (CatalogError, MemoryError, KeyboardInterrupt, *PROGRAMMING_ERRORS):
        raise
    except OSError as exc:
        if not _is_damage(exc):
            raise
        raise IndexDamaged(_reason(exc)) from exc
    except Exception as exc:
        raise IndexDamaged(_reason(exc)) from exc


def _guarded_write(engine: Engine, folder: Path, docs, **kwargs: Any) -> int:
    """An engine's write to an existing index; an unreadable index is :class:`IndexDamaged`
    (disk full and permissions stay OSError: the index is fine, the disk is not)."""
    try:
        return engine.write(folder, docs, **kwargs)
    except (CatalogError, MemoryError, KeyboardInterrupt, *PROGRAMMING_ERRORS):
        raise
    except OSError as exc:
        if not _is_damage(exc):
            raise
        raise IndexDamaged(_reason(exc)) from exc
    except Exception as exc:
        raise IndexDamaged(_reason(exc)) from exc


def _is_damage(exc: OSError) -> bool:
    """A missing or unreadable file of the index, not a full disk or a locked folder."""
    import errno

    return exc.errno in (None, errno.ENOENT, errno.EIO, errno.EINVAL)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _recover(index_dir: Path) -> None:
    """Finish or undo a rebuild a killed process left half-swapped; drop leftover folders."""
    staging, retired = _staging(index_dir), _retired(index_dir)
    if not index_dir.exists():
        if (staging / STATE_FILE).is_file():
            staging.rename(index_dir)
        elif retired.is_dir():
            retired.rename(index_dir)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)


def _fsync_folder(folder: Path, *, files: bool = True) -> None:
    """Make a folder's files (and its entries) durable before anything records them as done.

    Whoosh does not fsync; without this a power cut could leave the recorded revision ahead
    of an index whose last commit never reached the disk.
    """
    if files:
        for path in folder.iterdir():
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staging(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".rebuild")


def _retired(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".old")


def _lock_path(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".lock")


def crash_point(name: str) -> None:
    """Die here, as kill -9 would, when the crash tests ask for it (``CATALOG_CRASH_AT``)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
