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

import itertools
import json
import os
import pickle
import re
import shutil
import signal
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout
from whoosh import columns
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
from whoosh.searching import Hit, Results
from whoosh.support.levenshtein import levenshtein
from whoosh.writing import PostingPool, SegmentWriter

from catalog.errors import CatalogError, QueryError

# Bump when the schema changes: an index of another version is rebuilt, not misread.
SCHEMA_VERSION = "5"
INDEX_NAME = f"publications_v{SCHEMA_VERSION}"

NAME_ANALYZER = RegexTokenizer() | LowercaseFilter()


class ListKeyword(KEYWORD):
    """A keyword field whose values are also kept per document in a column, one a line.

    --facets counts topics and authors (several a publication) over the documents a query
    matched: reading each match's column value and splitting it is ~50 times faster than
    intersecting the postings of every topic and author with the matches, and ~2.5 times
    faster than Whoosh's own list column, which decodes each value in Python.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.column_type = columns.VarBytesColumn()

    def to_column_value(self, value: str) -> bytes:
        return b"\n".join(token.text.encode("utf-8") for token in self.analyzer(value))


SCHEMA = Schema(
    id=ID(unique=True, stored=True),  # publications.id: updates and deletions go by it
    revision=NUMERIC(numtype=int, bits=64, stored=True),  # publications.revision when indexed
    url=ID(stored=True),
    title=TEXT(analyzer=StemmingAnalyzer(), field_boost=2.0, stored=True),
    summary=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    type=TEXT(analyzer=StandardAnalyzer(stoplist=None)),
    type_exact=ID(),  # lower-cased whole type, for --type filters
    type_name=ID(sortable=True),  # the type as written, a column for --facets
    year=ID(sortable=True),  # "2021": a column for --facets; year:2021 in queries
    date=DATETIME(sortable=True),
    topic=ListKeyword(lowercase=True, commas=True, scorable=True),  # slugs
    topics=TEXT(analyzer=StemmingAnalyzer()),  # display names
    # Names as written, lower-cased, never stemmed: author:"Derek Grossman", author:grossman.
    author=TEXT(analyzer=NAME_ANALYZER),
    # Whole names as written, one a line, for --facets (counts by author, not by word of a
    # name); a line, not a comma, ends a name: "Smith, Jr., John" stays one.
    author_name=ListKeyword(analyzer=RegexTokenizer(r"[^\n]+")),
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
INTERNAL_FIELDS = frozenset({"type_exact", "type_name", "author_name", "id", "revision"})
# --facets: what each facet counts (index field), and how many values of each are shown.
FACET_FIELDS = {"type": "type_name", "year": "year", "topic": "topic", "author": "author_name"}
FACET_TOP = 10
# Fields whose stored text gives "did you mean" its words (the index itself holds stems).
SPELLING_FIELDS = ("title", "summary")
SPELLING_SAMPLES = 5  # stored titles and summaries read to find a stem's written forms
SHORT_WORD = 5  # letters: words this short are corrected by one edit at most
SIMILAR_TERMS = 20  # key terms of a publication's text that `similar` searches for
# Set to a crash point's name to have the process SIGKILL itself there (crash tests only).
CRASH_ENV = "CATALOG_CRASH_AT"
_FIELD_REF = re.compile(r"(?<![\w\"])([A-Za-z_]\w*):")


@dataclass(slots=True)
class SearchHit:
    url: str
    score: float | None  # None when sorted by date: Whoosh then ranks by the sort key
    snippet: str
    id: int | None = None  # publications.id (None for documents indexed without one)


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
        # Each name once: a facet counts publications, not bylines.
        "author_name": "\n".join(
            dict.fromkeys(" ".join(a.split()) for a in doc.get("authors") or [])
        ),
        "abstract": page_text(doc),
    }
    if doc.get("content_type"):
        fields["type_name"] = doc["content_type"]
    published = doc.get("published_on")
    if isinstance(published, date):
        fields["date"] = datetime.combine(published, time())
        fields["year"] = f"{published.year:04d}"
    return fields


def page_text(doc: Mapping[str, Any]) -> str:
    """The text indexed as ``abstract``: every page-text field a publication has, in order."""
    return "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if doc.get(f))


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
        # compound=False: a segment stays separate files. Whoosh reads a compound segment's
        # files through BytesIO over a memory map, which copies every file it opens (the
        # postings, the term table) on every search: ~10 ms of a 10k search's open, growing
        # with the index. Separate files are read in place.
        writer = ix.writer(timeout=WRITER_TIMEOUT, limitmb=WRITER_LIMIT_MB, compound=False)
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


@dataclass(frozen=True, slots=True)
class Filters:
    """What the command line narrows a search to: exact type, topic slug, author, dates.

    One value for the hits, their facets and a suggestion's check, so the three can never
    disagree about what was asked.
    """

    content_type: str | None = None
    topic: str | None = None
    author: str | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Q.Query) -> Q.Query:
        """``query`` narrowed by these filters (itself when there are none)."""
        narrowing: list[Q.Query] = []
        if self.content_type:
            narrowing.append(Q.Term("type_exact", self.content_type.strip().lower()))
        if self.topic:
            narrowing.append(Q.Term("topic", self.topic.strip().lower()))
        if self.author:
            words = [token.text for token in NAME_ANALYZER(self.author)]
            if not words:
                raise QueryError(f"no name in --author {self.author!r}")
            narrowing.append(
                Q.Term("author", words[0]) if len(words) == 1 else Q.Phrase("author", words)
            )
        if self.since or self.until:
            start = datetime.combine(self.since, time()) if self.since else None
            end = datetime.combine(self.until, time.max) if self.until else None
            narrowing.append(Q.DateRange("date", start, end))
        return Q.And([query, *narrowing]) if narrowing else query


NO_FILTERS = Filters()


# Reads the page text (abstract, findings, body) of publications by id from the database,
# for snippets of hits that matched only there: the index does not store it.
PageTexts = Callable[[list[int]], Mapping[int, str]]


def search(
    index_dir: Path,
    text: str,
    *,
    sort: str = "relevance",
    limit: int = 20,
    page_texts: PageTexts | None = None,
    **filters: Any,
) -> list[SearchHit]:
    """One query in its own reader; ``filters`` are :class:`Filters`' fields by name."""
    with open_reader(index_dir) as reader:
        return reader.search(
            text, filters=Filters(**filters), sort=sort, limit=limit, page_texts=page_texts
        )


def open_reader(index_dir: Path) -> IndexReader:
    """The index opened for reading; use as a context manager (``with open_reader(...)``)."""
    return IndexReader(_open(Path(index_dir), create=False))  # missing: the first thing said


class IndexReader:
    """One open index and searcher, shared by all of a command's queries.

    Opening a searcher reads the segment's term table; a command that searches, counts facets
    and suggests spellings pays for that once.
    """

    def __init__(self, ix: whoosh_index.Index) -> None:
        self._ix = ix
        self.searcher = ix.searcher()

    def __enter__(self) -> IndexReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.searcher.close()
        self._ix.close()

    def search(
        self,
        text: str,
        *,
        filters: Filters = NO_FILTERS,
        sort: str = "relevance",
        limit: int = 20,
        page_texts: PageTexts | None = None,
    ) -> list[SearchHit]:
        """The best ``limit`` hits, each with a snippet; only those hits are highlighted.

        Snippets come from the summary or the title (stored in the index, short), else from
        the page text that ``page_texts`` reads from the database for just those hits.
        """
        if sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}")
        _check_limit(limit)
        query = filters.apply(parse_query(text))
        results = self.run(query, sort, limit)
        return self.snippets(results, scored=sort == "relevance", page_texts=page_texts)

    def run(self, query: Q.Query, sort: str, limit: int) -> Results:
        """The engine's part of a search: match, score or sort, keep the best ``limit``."""
        kwargs: dict[str, Any] = {"limit": limit, "terms": False}
        if sort != "relevance":
            kwargs["sortedby"] = "date"
            kwargs["reverse"] = sort == "newest"
        results = self.searcher.search(query, **kwargs)
        results.fragmenter = ContextFragmenter(maxchars=160, surround=60)
        results.formatter = BracketFormatter()
        return results

    def snippets(
        self, results: Results, *, scored: bool, page_texts: PageTexts | None = None
    ) -> list[SearchHit]:
        """The hits of ``results`` with their snippets: only these few are highlighted.

        ``scored`` is False when the results were sorted by date (they have no score).
        """
        hits: list[SearchHit] = []
        unsnipped: dict[int, tuple[SearchHit, Hit]] = {}
        for hit in results:
            stored = hit.fields()
            found = SearchHit(
                url=stored["url"],
                score=round(float(hit.score or 0.0), 4) if scored else None,
                snippet=hit.highlights("summary") or hit.highlights("title") or "",
                id=_publication_id(stored),
            )
            hits.append(found)
            if not found.snippet and found.id is not None:
                unsnipped[found.id] = (found, hit)
        if unsnipped and page_texts is not None:
            for pub_id, body in page_texts(sorted(unsnipped)).items():
                if body and pub_id in unsnipped:
                    found, hit = unsnipped[pub_id]
                    found.snippet = hit.highlights("abstract", text=body)
        return hits

    def facets(self, text: str, *, filters: Filters = NO_FILTERS, top: int = FACET_TOP) -> Facets:
        """Counts by type, year, topic and author over every document the query matches.

        Not just the hits shown: the point of facets is to say where the rest of the matches
        are. See :func:`_facet_counts` for how the counting stays cheap on a large index.
        """
        query = filters.apply(parse_query(text))
        matched = set(self.searcher.docs_for_query(query))
        reader = self.searcher.reader()
        counts = {
            name: [FacetCount(v, n) for v, n in _facet_counts(reader, fieldname, matched, top)]
            for name, fieldname in FACET_FIELDS.items()
        }
        return Facets(total=len(matched), counts=counts)

    def suggest(self, text: str, *, filters: Filters = NO_FILTERS) -> str | None:
        """The query with its unknown words corrected, or None when no correction finds hits.

        Only bare words no title, summary or page text holds are corrected, each to the
        nearest word (at most two edits away, the commonest first) that titles or summaries
        hold. The corrected query is run, with the same filters, before it is offered:
        a suggestion that finds nothing would only send people round in circles.
        """
        parsed = parse_query(text)
        reader = self.searcher.reader()
        spans: dict[tuple[int, int], str] = {}
        for leaf in parsed.leaves():
            if not isinstance(leaf, Q.Term) or leaf.fieldname not in DEFAULT_FIELDS:
                continue
            start, end = getattr(leaf, "startchar", None), getattr(leaf, "endchar", None)
            if start is None or end is None or (start, end) in spans:
                continue
            word = text[start:end]
            if not word.isalpha() or _known(reader, leaf.text):
                spans[(start, end)] = word
                continue
            spans[(start, end)] = self._nearest(word.lower()) or word
        corrected = text
        for (start, end), word in sorted(spans.items(), reverse=True):
            corrected = corrected[:start] + word + corrected[end:]
        if corrected == text:
            return None
        query = filters.apply(parse_query(corrected))
        found = self.searcher.search(query, limit=1, terms=False)
        return None if found.is_empty() else corrected  # not len(): Whoosh would count all

    def _nearest(self, word: str) -> str | None:
        """The word of titles and summaries nearest ``word``: fewest edits, then commonest.

        The index holds stems ("allianc"), and a stemmed field's unstemmed spelling copy
        would make indexing half as slow again. So the nearest stems are found in the term
        table, and the written word for the best one is read from a few stored titles and
        summaries that hold it: the form closest to what was typed ("alliances").
        """
        stems = [token.text for token in SCHEMA["title"].analyzer(word)]
        if len(stems) != 1:
            return None  # a stop word, or a word the analyzer splits: nothing to correct
        # Two edits turn most short words into others ("deter" -> "water"): one for those.
        maxdist = 1 if len(word) <= SHORT_WORD else 2
        reader = self.searcher.reader()
        ranked = sorted(
            (levenshtein(stems[0], stem), -frequency, stem)
            for stem in {
                stem
                for fieldname in SPELLING_FIELDS
                for stem in reader.terms_within(fieldname, stems[0], maxdist)
            }
            if (frequency := _frequency(reader, stem))
        )
        best: tuple[int, int, str] | None = None
        for rank, (_, _, stem) in enumerate(ranked[:3]):
            for form in self._written_forms(stem):
                candidate = (levenshtein(word, form), rank, form)
                if candidate[0] <= maxdist and (best is None or candidate < best):
                    best = candidate
        return best[2] if best else None

    def _written_forms(self, stem: str) -> set[str]:
        """Words (lower-cased) of a few stored titles and summaries that stem to ``stem``."""
        query = Q.Or([Q.Term(fieldname, stem) for fieldname in SPELLING_FIELDS])
        words = {
            token.text
            for hit in self.searcher.search(query, limit=SPELLING_SAMPLES, terms=False)
            for fieldname in SPELLING_FIELDS
            for token in NAME_ANALYZER(hit.get(fieldname) or "")
            if token.text.isalpha()
        }
        analyzer = SCHEMA["title"].analyzer
        return {word for word in words if [t.text for t in analyzer(word)] == [stem]}

    def similar(self, pub_id: int, text: str, limit: int = 10) -> list[SearchHit]:
        """Publications most like ``pub_id``, by the key terms of its ``text``; never itself.

        The page text is not stored in the index, so the caller passes it (title, summary and
        page text from the database). Raises :class:`NotIndexed` when the index does not
        hold the publication.
        """
        _check_limit(limit)
        docnum = self.searcher.document_number(id=str(pub_id))
        if docnum is None:
            raise NotIndexed(f"publication {pub_id} is not in the search index")
        results = self.searcher.more_like(
            docnum, "abstract", text=text, top=limit, numterms=SIMILAR_TERMS
        )
        return [
            SearchHit(
                url=hit["url"],
                score=round(float(hit.score or 0.0), 4),
                snippet="",
                id=_publication_id(hit.fields()),
            )
            for hit in results
            if hit.docnum != docnum
        ]


@dataclass(frozen=True, slots=True)
class FacetCount:
    """One value of a facet (a type, a year, a topic slug, an author) and its matches."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """How many documents a query matched (``total``), and the top values of each facet."""

    total: int
    counts: dict[str, list[FacetCount]]

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data for the renderers: ``{"type": [{"value": ..., "count": ...}], ...}``."""
        return {
            name: [{"value": c.value, "count": c.count} for c in counts]
            for name, counts in self.counts.items()
        }


class NotIndexed(CatalogError):
    """A publication the catalog has but the search index does not (yet)."""


def _facet_counts(
    reader: Any, fieldname: str, matched: set[int], top: int
) -> list[tuple[str, int]]:
    """The ``top`` values of a field by how many ``matched`` documents hold them.

    Each match's values are read from the field's column (one value for type and year,
    several, one a line, for topics and authors): the cost follows the matches, a few
    microseconds each.
    Whoosh's overlapping facets instead read every posting of the field for every query
    (~0.5 s for authors alone at 10,000 publications, even when nothing matched). When the
    query matched the whole index (and it holds no deleted documents) the counts are the
    terms' document frequencies, read from the term table without touching a document.
    """
    if not matched:
        return []
    field = reader.schema[fieldname]
    if len(matched) == reader.doc_count_all():
        counts = Counter(
            {value: info.doc_frequency() for value, info in reader.iter_field(fieldname)}
        )
    else:
        column = reader.column_reader(fieldname, translate=False)
        if isinstance(field, ListKeyword):
            values = (column[d].split(b"\n") for d in matched)
            counts = Counter(itertools.chain.from_iterable(values))
        else:
            counts = Counter(column[d] for d in matched)
    ranked = sorted(
        ((field.from_bytes(value), n) for value, n in counts.items() if value and n),
        key=lambda item: (-item[1], item[0]),
    )
    return ranked[:top]


def _frequency(reader: Any, stem: str) -> int:
    """How many documents hold this (analysed) word in any default field (an upper bound)."""
    return sum(reader.doc_frequency(fieldname, stem) for fieldname in DEFAULT_FIELDS)


def _known(reader: Any, stem: str) -> bool:
    """Whether any default field holds this (analysed) word."""
    return any((fieldname, stem) in reader for fieldname in DEFAULT_FIELDS)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT:,}")


def _publication_id(stored: Mapping[str, Any]) -> int | None:
    key = str(stored.get("id", ""))
    return int(key) if key.isdigit() else None


class BracketFormatter(Formatter):
    """Marks matched words as [word]: readable in a terminal, a file and JSON alike."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"[{get_text(text, token, replace)}]"


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
