"""The only module that touches Whoosh: schema, incremental updates, rebuilds and queries.

The database is the source of truth; the index holds what search needs and follows it:

- Every document stores its publication's ``id`` (the key updates and deletes go by) and the
  ``revision`` it was indexed at. The index folder holds ``revision.json``: the catalog it was
  built from and the highest revision it has absorbed, written (atomically, after an fsync of
  the index files) only after the Whoosh commit that absorbed it. A process killed between
  the two leaves the recorded revision behind, never ahead; the next sync re-applies those
  changes, which is harmless, as applying a publication's current state is idempotent.
- :func:`sync` compares the recorded revision with the catalog's (one indexed query); when
  they are equal it does nothing, otherwise it applies what changed, or rebuilds when the
  index is missing, from another catalog or of an older schema.
- Writers of one index (syncs, rebuilds) take ``<index>.lock``, an OS-level lock released even
  when the process is killed, and read the database only while holding it, so a slow writer
  can never put back an older state over a newer one.
- A rebuild is staged beside the index and swapped in; an interrupted swap is completed (or
  undone) by the next writer.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import struct
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import RegexTokenizer, StandardAnalyzer, StemmingAnalyzer
from whoosh.analysis.filters import LowercaseFilter
from whoosh.analysis.morph import StemFilter
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.index import LockError
from whoosh.qparser import MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.searching import Hit
from whoosh.writing import PostingPool, SegmentWriter

from catalog.errors import CatalogError, QueryError

# Bump when the schema changes: an index of another version is rebuilt, not misread.
SCHEMA_VERSION = "4"
INDEX_NAME = f"publications_v{SCHEMA_VERSION}"

NAME_ANALYZER = RegexTokenizer() | LowercaseFilter()

SCHEMA = Schema(
    id=ID(unique=True, stored=True),  # publications.id: updates and deletions go by it
    revision=NUMERIC(numtype=int, bits=64, stored=True),  # publications.revision when indexed
    url=ID(stored=True),
    title=TEXT(analyzer=StemmingAnalyzer(), field_boost=2.0, stored=True),
    summary=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    type=TEXT(analyzer=StandardAnalyzer(stoplist=None)),
    type_exact=ID(),  # lower-cased whole type, for --type filters
    date=DATETIME(sortable=True),
    topic=KEYWORD(lowercase=True, commas=True, scorable=True),  # slugs
    topics=TEXT(analyzer=StemmingAnalyzer()),  # display names
    # Names as written, lower-cased, never stemmed: author:"Derek Grossman", author:grossman.
    author=TEXT(analyzer=NAME_ANALYZER),
    # The publication page's text: abstract, research questions, key findings,
    # recommendations and (commentary) body text. Not stored: it is most of a publication's
    # words and the database has it; snippets of it are made from the database's copy.
    abstract=TEXT(analyzer=StemmingAnalyzer()),
)


def _unbounded_stem_caches(schema: Schema) -> None:
    """Give every stemming filter of the schema an unbounded cache (a plain dict).

    Whoosh's default is an LFU cache of 50,000 words whose bookkeeping costs more per call
    than the stemming it saves; a catalog's vocabulary is a few hundred thousand words at
    most, so a dict that keeps them all is both faster and small. Done here, not in each
    field's declaration, so fields added later get it too.
    """
    for name in schema.names():
        for item in getattr(getattr(schema[name], "analyzer", None), "items", ()):
            if isinstance(item, StemFilter):
                item.cachesize = -1
                item.clear()


_unbounded_stem_caches(SCHEMA)
# Topic names are left out of the default fields: every publication of a topic carries its
# name, so "security cooperation" would match the whole topic. Ask for them with topics:.
DEFAULT_FIELDS = ["title", "summary", "abstract"]
PAGE_TEXT_FIELDS = (
    "abstract",
    "research_questions",
    "key_findings",
    "recommendations",
    "body_text",
)
SORTS = ("relevance", "newest", "oldest")
WRITER_TIMEOUT = 60.0
# Postings a writer pools in memory (Whoosh's estimate, in MB) before it sorts them and spills
# a run to disk: bounds a rebuild's memory whatever the catalog's size (a 100k rebuild is one
# segment built from runs), and a crawl's sync of a few thousand documents never spills.
WRITER_LIMIT_MB = 96
RUN_BLOCK = 2_048  # postings per compressed block of a spilled run (see _CompactPool)
_BLOCK_HEADER = struct.Struct("<I")
# Bounds on a query's cost (see parse_query): generous for people, tight for accidents.
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 100
MAX_WILDCARDS = 5
MAX_QUERY_DEPTH = 10
MAX_LIMIT = 100_000  # results per search: more than a catalog holds, less than overflows
STATE_FILE = "revision.json"
# Fields the index keeps for its own bookkeeping or filters: not for people's queries.
INTERNAL_FIELDS = frozenset({"type_exact", "id", "revision"})
# Set to a crash point's name to have the process SIGKILL itself there (crash tests only).
CRASH_ENV = "CATALOG_CRASH_AT"
_FIELD_REF = re.compile(r"(?<![\w\"])([A-Za-z_]\w*):")


@dataclass(slots=True)
class SearchHit:
    url: str
    score: float | None  # None when sorted by date: Whoosh then ranks by the sort key
    snippet: str


def _open(index_dir: Path, *, create: bool) -> whoosh_index.Index:
    if whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME):
        return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    if not create:
        raise CatalogError(f"no search index at {index_dir}: run `catalog index rebuild`")
    index_dir.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(index_dir), SCHEMA, indexname=INDEX_NAME)


def exists(index_dir: Path) -> bool:
    return whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        # Documents without an id (tests indexing bare records) are keyed by their URL.
        "id": str(doc.get("id") or doc["url"]),
        "revision": int(doc.get("revision") or 0),
        "url": doc["url"],
        "title": doc["title"] or "",
        "summary": doc.get("summary") or "",
        "type": doc.get("content_type") or "",
        "type_exact": (doc.get("content_type") or "").lower(),
        "topic": ",".join(doc.get("topic_slugs") or []),
        "topics": " ".join(doc.get("topic_names") or []),
        "author": " , ".join(doc.get("authors") or []),
        "abstract": "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if doc.get(f)),
    }
    published = doc.get("published_on")
    if isinstance(published, date):
        fields["date"] = datetime.combine(published, time())
    return fields


def update_documents(index_dir: Path, docs: Iterable[dict[str, Any]]) -> int:
    """Add or replace bare records by id (or URL) in one commit, with no revision recorded.

    Not on the product path (crawls and commands go through :func:`sync`); kept for tests and
    scripts that index records without a catalog.
    """
    ix = _open(index_dir, create=True)
    try:
        writer = _writer(ix, index_dir)
        count = _write(writer, docs, replace=True)
    finally:
        ix.close()
    return count


class _CompactPool(PostingPool):
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
            while header := f.read(_BLOCK_HEADER.size):
                (size,) = _BLOCK_HEADER.unpack(header)
                yield from pickle.loads(zlib.decompress(f.read(size)))
        finally:
            f.close()
            self._remove_run(path)


def _write_block(f: Any, block: list[tuple[Any, ...]]) -> None:
    data = zlib.compress(pickle.dumps(block, pickle.HIGHEST_PROTOCOL), 1)
    f.write(_BLOCK_HEADER.pack(len(data)))
    f.write(data)


def _writer(ix: whoosh_index.Index, index_dir: Path) -> SegmentWriter:
    """A writer whose posting pool is bounded (:data:`WRITER_LIMIT_MB`) and spills compactly."""
    try:
        writer = ix.writer(timeout=WRITER_TIMEOUT, limitmb=WRITER_LIMIT_MB)
    except LockError as exc:
        raise IndexUnavailable(
            f"the search index at {index_dir} is locked by another writer"
        ) from exc
    # Whoosh ignores its writer's poolclass argument; its pool is still empty here.
    writer.pool = _CompactPool(writer._tempstorage, writer.newsegment, limitmb=WRITER_LIMIT_MB)
    return writer


def _write(
    writer: SegmentWriter,
    docs: Iterable[dict[str, Any]],
    *,
    replace: bool,
    delete: Iterable[int] = (),
    crash_at: str = "",
) -> int:
    """Feed documents to a writer and commit; returns how many went in.

    ``replace`` first deletes the committed document of each one's id (and ``delete`` the
    committed documents of those ids), all through one searcher: Whoosh's ``update_document``
    opens a searcher per document, reading the segments' files again each time, which made
    most of a sync's time. On any failure (or a kill requested at ``crash_at``) the writer is
    cancelled, so the index keeps its last commit.
    """
    count = 0
    try:
        with writer.searcher() if replace else nullcontext() as searcher:
            for pub_id in delete:
                writer.delete_by_term("id", str(pub_id), searcher=searcher)
            for doc in docs:
                fields = _document(doc)
                if searcher is not None:
                    writer.delete_by_term("id", fields["id"], searcher=searcher)
                writer.add_document(**fields)
                count += 1
        if crash_at:
            crash_point(crash_at)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


def rebuild(
    index_dir: Path, docs: Iterable[dict[str, Any]], state: IndexState | None = None
) -> int:
    """Build a fresh index beside the old one and swap it in, so searches never see half of it.

    ``state`` (the catalog revision the documents were read at) is recorded with it.
    """
    index_dir = Path(index_dir)
    with _writing(index_dir, WRITER_TIMEOUT):
        return _rebuild(index_dir, docs, state)


def _rebuild(index_dir: Path, docs: Iterable[dict[str, Any]], state: IndexState | None) -> int:
    staging = _staging(index_dir)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        ix = whoosh_index.create_in(str(staging), SCHEMA, indexname=INDEX_NAME)
        try:
            # One writer, one segment: a search reads every segment, and merging segments
            # afterwards costs Whoosh more than writing them (it pools every posting again).
            writer = _writer(ix, staging)
            count = _write(writer, docs, replace=False)
        finally:
            ix.close()
        _fsync_folder(staging)
        # The state file marks the staged index complete: a swap cut short is finished from it.
        _write_state(staging, state or IndexState(catalog_id=0, revision=0))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    crash_point("rebuild-staged")
    retired = _retired(index_dir)
    shutil.rmtree(retired, ignore_errors=True)
    if index_dir.exists():
        index_dir.rename(retired)
    crash_point("rebuild-mid-swap")
    staging.rename(index_dir)
    _fsync_folder(index_dir.parent, files=False)
    shutil.rmtree(retired, ignore_errors=True)
    return count


def doc_count(index_dir: Path) -> int:
    if not exists(index_dir):
        return 0
    ix = _open(index_dir, create=False)
    try:
        return ix.doc_count()
    finally:
        ix.close()


def parse_query(text: str) -> Q.Query:
    """Whoosh query syntax over title, summary and page text; a clear error when malformed.

    The cost of a query is bounded before Whoosh sees it (length, words, nesting) and after
    it has parsed it (terms, wildcards): a query typed or scripted by mistake must fail in
    milliseconds, not scan every term of the index for minutes.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    text = text.strip()
    if text in ("", "*"):
        return Q.Every()
    words = len(text.split())
    if words > MAX_QUERY_TERMS:
        raise QueryError(f"query has {words} words; at most {MAX_QUERY_TERMS} are allowed")
    _check_balanced(text)
    unknown = sorted(
        {
            f
            for f in _FIELD_REF.findall(_strip_quoted(text))
            if f not in SCHEMA or f in INTERNAL_FIELDS
        }
    )
    if unknown:
        known = ", ".join(n for n in SCHEMA.names() if n not in INTERNAL_FIELDS)
        raise QueryError(f"unknown field {unknown[0]!r} in query (fields: {known})")
    parser = MultifieldParser(DEFAULT_FIELDS, SCHEMA)
    parser.add_plugin(DateParserPlugin())
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # Whoosh raises assorted errors on odd input
        reason = " ".join(str(exc).split())[:200]  # one line, whatever Whoosh says
        raise QueryError(f"cannot parse query {_shown(text)}: {reason}") from exc
    if parsed is Q.NullQuery or isinstance(parsed, type(Q.NullQuery)):
        raise QueryError(f"query {_shown(text)} has no searchable words")
    _check_cost(parsed)
    return parsed


def _check_cost(parsed: Q.Query) -> None:
    """Refuse what would make Whoosh walk the whole term list: leading and many wildcards.

    Checked on the parsed query, so quoting tricks ('*foo', field:*foo) cannot slip past.
    """
    leaves = list(parsed.leaves())
    if len(leaves) > MAX_QUERY_TERMS * len(DEFAULT_FIELDS):
        raise QueryError(f"query has too many terms; at most {MAX_QUERY_TERMS} are allowed")
    # A prefix (allian*) is one wildcard at its end; its text is what comes before it.
    patterns = {q.text for q in leaves if isinstance(q, Q.Wildcard)}
    patterns |= {f"{q.text}*" for q in leaves if isinstance(q, Q.Prefix)}
    for pattern in sorted(patterns):
        if pattern[:1] in ("*", "?"):
            raise QueryError(
                f"a wildcard cannot start a word ({pattern!r}); put at least one letter first"
            )
    wildcards = sum(p.count("*") + p.count("?") for p in patterns)
    if wildcards > MAX_WILDCARDS:
        raise QueryError(f"query has {wildcards} wildcards; at most {MAX_WILDCARDS} are allowed")


def _shown(text: str) -> str:
    """The query quoted for an error message, cut short so the message stays one short line."""
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


def _strip_quoted(text: str) -> str:
    return re.sub(r'"[^"]*"', '""', text)


def _check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError("unbalanced quote in query")
    depth = 0
    for char in _strip_quoted(text):
        if char in "([{":
            depth += 1
            if depth > MAX_QUERY_DEPTH:
                raise QueryError(f"parentheses nested more than {MAX_QUERY_DEPTH} deep in query")
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parenthesis or bracket in query")
    if depth:
        raise QueryError("unbalanced parenthesis or bracket in query")


def search(
    index_dir: Path,
    text: str,
    *,
    content_type: str | None = None,
    topic: str | None = None,
    author: str | None = None,
    since: date | None = None,
    until: date | None = None,
    sort: str = "relevance",
    limit: int = 20,
) -> list[SearchHit]:
    """Run a query with optional filters; hits carry a highlighted snippet of the summary."""
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT:,}")
    ix = _open(index_dir, create=False)  # a missing index is the first thing to report
    try:
        return _run(
            ix, _filtered(parse_query(text), content_type, topic, author, since, until), sort, limit
        )
    finally:
        ix.close()


def _filtered(
    query: Q.Query,
    content_type: str | None,
    topic: str | None,
    author: str | None,
    since: date | None,
    until: date | None,
) -> Q.Query:
    """The query narrowed by the command line's filters (exact type, topic slug, author, dates)."""
    filters: list[Q.Query] = []
    if content_type:
        filters.append(Q.Term("type_exact", content_type.strip().lower()))
    if topic:
        filters.append(Q.Term("topic", topic.strip().lower()))
    if author:
        words = [token.text for token in NAME_ANALYZER(author)]
        if not words:
            raise QueryError(f"no name in --author {author!r}")
        filters.append(Q.Term("author", words[0]) if len(words) == 1 else Q.Phrase("author", words))
    if since or until:
        start = datetime.combine(since, time()) if since else None
        end = datetime.combine(until, time.max) if until else None
        filters.append(Q.DateRange("date", start, end))
    return Q.And([query, *filters]) if filters else query


def _run(ix: whoosh_index.Index, query: Q.Query, sort: str, limit: int) -> list[SearchHit]:
    with ix.searcher() as searcher:
        kwargs: dict[str, Any] = {"limit": limit}
        if sort != "relevance":
            kwargs["sortedby"] = "date"
            kwargs["reverse"] = sort == "newest"
        results = searcher.search(query, **kwargs)
        results.fragmenter = ContextFragmenter(maxchars=160, surround=60)
        results.formatter = BracketFormatter()
        return [_hit(h, scored=sort == "relevance") for h in results]


class BracketFormatter(Formatter):
    """Marks matched words as [word]: readable in a terminal, a file and JSON alike."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"[{get_text(text, token, replace)}]"


def _hit(hit: Hit, scored: bool) -> SearchHit:
    snippet = (
        hit.highlights("summary") or hit.highlights("title") or ""
    )
    score = round(float(hit.score or 0.0), 4) if scored else None
    return SearchHit(url=hit["url"], score=score, snippet=snippet)


# --- following the catalog: recorded revision, sync, check ----------------------------------


class IndexUnavailable(CatalogError):
    """The index cannot be brought up to the catalog: its folder cannot be written, or
    another process holds it too long. Searches can still read what it holds."""


@dataclass(frozen=True, slots=True)
class IndexState:
    """Which catalog an index follows (``catalog_id``) and the highest revision it absorbed."""

    catalog_id: int
    revision: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One publication as the index and the catalog each know it."""

    id: int
    url: str
    revision: int


class IndexSource(Protocol):
    """What the index reads from the catalog (``queries.CatalogIndexSource``)."""

    def head(self) -> IndexState:
        """The catalog's id and highest revision (publications and tombstones), one query."""
        ...

    def changes(self, after: int, upto: int) -> tuple[list[int], list[int]]:
        """Ids to (re)index and ids to delete, for revisions in ``(after, upto]``."""
        ...

    def documents(self, ids: Iterable[int] | None = None) -> Iterable[dict[str, Any]]:
        """Index documents of these publications (all when None), with id and revision."""
        ...

    def entries(self) -> Iterable[Entry]:
        """Every publication's id, URL and revision."""
        ...


@dataclass(slots=True)
class SyncReport:
    """What a sync did: the revisions before and after, and how many documents it touched."""

    before: int | None  # None: there was no usable index
    after: int
    updated: int = 0
    deleted: int = 0
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return self.rebuilt or self.updated > 0 or self.deleted > 0


@dataclass(slots=True)
class IndexDiff:
    """How an index differs from its catalog, document by document."""

    head: IndexState
    recorded: IndexState | None
    indexed: int = 0
    missing: list[Entry] = field(default_factory=list)  # in the catalog, not in the index
    stale: list[tuple[Entry, int]] = field(default_factory=list)  # catalog entry, index revision
    extra: list[Entry] = field(default_factory=list)  # in the index, not (or twice) in the catalog
    duplicated: set[int] = field(default_factory=set)  # catalog ids the index holds twice

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def read_state(index_dir: Path) -> IndexState | None:
    """The recorded state, or None when there is no usable index of this schema version."""
    index_dir = Path(index_dir)
    try:
        data = json.loads((index_dir / STATE_FILE).read_text(encoding="utf-8"))
        state = IndexState(int(data["catalog_id"]), int(data["revision"]))
        if data.get("index") != INDEX_NAME:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if exists(index_dir) else None


def sync(
    index_dir: Path, source: IndexSource, *, wait: float = WRITER_TIMEOUT, full: bool = False
) -> SyncReport:
    """Bring the index up to the catalog's revision; cheap when it already is.

    The check is one indexed query and one small file read. ``full`` also compares every
    document with the catalog and repairs what differs (``catalog index sync``). Raises
    :class:`IndexUnavailable` when the index cannot be written (read-only folder, disk full,
    another writer holding it longer than ``wait`` seconds).
    """
    index_dir = Path(index_dir)
    recorded = read_state(index_dir)
    if not full and recorded is not None and recorded == source.head():
        return SyncReport(before=recorded.revision, after=recorded.revision)
    with _writing(index_dir, wait):
        _recover(index_dir)
        recorded = read_state(index_dir)  # again: another writer may have moved it meanwhile
        head = source.head()
        if (
            recorded is None
            or recorded.catalog_id != head.catalog_id
            or recorded.revision > head.revision
        ):
            count = _rebuild(index_dir, source.documents(), head)
            return SyncReport(before=None, after=head.revision, updated=count, rebuilt=True)
        if full:
            diff = _diff(index_dir, source, head, recorded)
            upsert = [e.id for e in diff.missing] + [e.id for e, _ in diff.stale]
            delete = sorted({e.id for e in diff.extra})
            upsert += sorted(diff.duplicated)  # deleted (every copy), then written once again
        elif recorded.revision < head.revision:
            upsert, delete = source.changes(recorded.revision, head.revision)
        else:
            return SyncReport(before=recorded.revision, after=head.revision)
        updated, deleted = _apply(index_dir, source, upsert, delete)
        _write_state(index_dir, head)
        return SyncReport(recorded.revision, head.revision, updated=updated, deleted=deleted)


def rebuild_from(index_dir: Path, source: IndexSource) -> int:
    """Rebuild the whole index from the catalog, recording the revision it was read at."""
    index_dir = Path(index_dir)
    with _writing(index_dir, WRITER_TIMEOUT):
        _recover(index_dir)
        return _rebuild(index_dir, source.documents(), source.head())


def check(index_dir: Path, source: IndexSource) -> IndexDiff:
    """Compare the index with the catalog document by document: ids, URLs and revisions."""
    index_dir = Path(index_dir)
    return _diff(index_dir, source, source.head(), read_state(index_dir))


def _diff(
    index_dir: Path, source: IndexSource, head: IndexState, recorded: IndexState | None
) -> IndexDiff:
    diff = IndexDiff(head=head, recorded=recorded)
    indexed: dict[int, Entry] = {}
    for entry in _indexed_entries(index_dir):
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


def _indexed_entries(index_dir: Path) -> Iterator[Entry]:
    if not exists(index_dir):
        return
    ix = _open(index_dir, create=False)
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


def _apply(
    index_dir: Path, source: IndexSource, upsert: list[int], delete: list[int]
) -> tuple[int, int]:
    """One writer, one commit: delete then (re)write documents; fsync before returning."""
    if not upsert and not delete:
        return 0, 0
    ix = _open(index_dir, create=False)
    try:
        writer = _writer(ix, index_dir)
        docs = source.documents(upsert) if upsert else ()
        updated = _write(writer, docs, replace=True, delete=delete, crash_at="sync-before-commit")
    finally:
        ix.close()
    _fsync_folder(index_dir)
    crash_point("sync-after-commit")
    return updated, len(delete)


@contextmanager
def _writing(index_dir: Path, wait: float) -> Iterator[None]:
    """Hold ``<index>.lock``: one writer of this index at a time, across processes."""
    lock = FileLock(str(_lock_path(index_dir)), timeout=wait)
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise IndexUnavailable(
            f"the search index at {index_dir} is being written by another process"
        ) from None
    except OSError as exc:
        raise IndexUnavailable(
            f"the search index at {index_dir} cannot be written: {exc.strerror or exc}"
        ) from exc
    try:
        yield
    except OSError as exc:  # disk full, read-only folder: Whoosh has cancelled its writer
        raise IndexUnavailable(
            f"the search index at {index_dir} cannot be written: {exc.strerror or exc}"
        ) from exc
    finally:
        lock.release()


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


def _write_state(folder: Path, state: IndexState) -> None:
    """Atomically replace the state file, durably: written, fsynced, renamed, folder fsynced."""
    data = {"catalog_id": state.catalog_id, "revision": state.revision, "index": INDEX_NAME}
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
