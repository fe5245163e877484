"""The Whoosh engine: pure Python, the default, at its best for one publisher's topics.

Only what differs between engines is here: the Whoosh schema, writing a commit, compiling a
:class:`~catalog.index.query.Plan` to Whoosh queries, and collecting matches.

Exact, then fast:

- Every match is scored (no ``matcher.replace(minscore)`` pruning, which is not exact: it
  lost true top hits) and the top is chosen with the catalog's tie order.
- BM25F reads each field's lengths straight from the length column's bytes (one byte a
  document) instead of a column lookup per match; constants per term are computed once.
- Filters are masks (sets of document numbers), so they never add to scores; whole years of a
  date filter are year terms, and only the partial years at its ends a numeric range (Whoosh
  expands a range into numeric trie terms, which is slow over many years).
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.writing import PostingPool, SegmentWriter

from catalog.index.model import (
    Entry,
    IndexDocument,
    IndexUnavailable,
)
from catalog.index.whoosh_schema import (
    BLOCK_HEADER,
    INDEX_NAME,
    SCHEMA,
    WRITER_TIMEOUT,
    fields,
)
from catalog.index.whoosh_searcher import WhooshSearcher

# Postings a writer pools in memory (Whoosh's estimate, in MB) before it sorts them and spills
# a run to disk: bounds a rebuild's memory whatever the catalog's size (a 100k rebuild is one
# segment built from runs), and a crawl's sync of a few thousand documents never spills.
WRITER_LIMIT_MB = 96

RUN_BLOCK = 2_048  # postings per compressed block of a spilled run (see CompactPool)


class CompactPool(PostingPool):
    """Whoosh's posting pool, spilling its sorted runs as compressed blocks.

    Whoosh pickles each posting of a run separately (about 130 bytes a posting, several times
    the finished index, and a pickle call each); blocks of :data:`RUN_BLOCK` postings,
    pickled together and zlib-compressed, are a fraction of that on disk and cheaper to write
    and read back. Only the run format changes: sorting and merging are Whoosh's.
    """

    def _write_run(self, f: Any, items: Iterable[tuple[Any, ...]]) -> None:
        block: list[tuple[Any, ...]] = []
        for item in items:
            block.append(item)
            if len(block) >= RUN_BLOCK:
                _write_block(f, block)
                block = []
        if block:
            _write_block(f, block)
        f.close()

    def _read_run(self, path: str) -> Iterator[tuple[Any, ...]]:
        f = self._open_run(path)
        try:
            while header := f.read(BLOCK_HEADER.size):
                (size,) = BLOCK_HEADER.unpack(header)
                yield from pickle.loads(zlib.decompress(f.read(size)))
        finally:
            f.close()
            self._remove_run(path)


def _write_block(f: Any, block: list[tuple[Any, ...]]) -> None:
    data = zlib.compress(pickle.dumps(block, pickle.HIGHEST_PROTOCOL), 1)
    f.write(BLOCK_HEADER.pack(len(data)))
    f.write(data)


def _writer(ix: whoosh_index.Index, folder: Path) -> SegmentWriter:
    """A writer whose posting pool is bounded (:data:`WRITER_LIMIT_MB`) and spills compactly."""
    try:
        # compound=False: a segment stays separate files. Whoosh reads a compound segment's
        # files through BytesIO over a memory map, which copies every file it opens on every
        # search; separate files are read in place.
        writer = ix.writer(
            timeout=WRITER_TIMEOUT,
            limitmb=WRITER_LIMIT_MB,
            compound=False,
        )
    except LockError as exc:
        raise IndexUnavailable(f"the search index at {folder} is locked by another writer") from exc
    # Whoosh ignores its writer's poolclass argument; its pool is still empty here.
    writer.pool = CompactPool(writer._tempstorage, writer.newsegment, limitmb=WRITER_LIMIT_MB)
    return writer


class WhooshEngine:
    name = "whoosh"

    def exists(self, folder: Path) -> bool:
        """Whether a table of contents of this index is there (not whether it reads: a
        damaged index exists, and opening it says what is wrong)."""
        try:
            return any(folder.glob(f"_{INDEX_NAME}_*.toc"))
        except OSError:
            return False

    def write(
        self,
        folder: Path,
        docs: Iterable[IndexDocument],
        *,
        delete: Iterable[int] = (),
        create: bool = False,
        before_commit: Callable[[], None] = lambda: None,
    ) -> int:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            ix = whoosh_index.create_in(str(folder), SCHEMA, indexname=INDEX_NAME)
        else:
            ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
        try:
            writer = _writer(ix, folder)
            count = 0
            try:
                # Replaced documents are deleted through one searcher: Whoosh's
                # update_document opens a searcher per document.
                with writer.searcher() as searcher:
                    for pub_id in delete:
                        writer.delete_by_term("id", str(pub_id), searcher=searcher)
                    for doc in docs:
                        if not create:
                            writer.delete_by_term("id", str(doc.id), searcher=searcher)
                        writer.add_document(**fields(doc))
                        count += 1
                before_commit()
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            return count
        finally:
            ix.close()

    def entries(self, folder: Path) -> Iterator[Entry]:
        ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
        try:
            with ix.searcher() as searcher:
                for stored in searcher.reader().all_stored_fields():
                    key = str(stored.get("id", ""))
                    yield Entry(
                        id=int(key) if key.isdigit() else -1,
                        url=stored.get("url", ""),
                        revision=int(stored.get("revision") or 0),
                    )
        finally:
            ix.close()

    def open(self, folder: Path) -> WhooshSearcher:
        ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
        try:
            return WhooshSearcher(ix)
        except BaseException:
            ix.close()
            raise


ENGINE = WhooshEngine()
