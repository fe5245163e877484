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

import heapq
import itertools
import pickle
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from whoosh import columns
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import Analyzer, RegexTokenizer, Token
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.index import LockError
from whoosh.query.spans import Span, SpanNear2
from whoosh.scoring import BaseScorer, WeightingModel
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from catalog.index import analysis, query
from catalog.index.model import (
    SCHEMA_VERSION,
    Candidate,
    Entry,
    Filters,
    IndexDocument,
    IndexUnavailable,
    day_number,
    from_day_number,
)
from catalog.index.ordering import exact_top

INDEX_NAME = f"publications_v{SCHEMA_VERSION}"
WRITER_TIMEOUT = 60.0
# Postings a writer pools in memory (Whoosh's estimate, in MB) before it sorts them and spills
# a run to disk: bounds a rebuild's memory whatever the catalog's size (a 100k rebuild is one
# segment built from runs), and a crawl's sync of a few thousand documents never spills.
WRITER_LIMIT_MB = 96
RUN_BLOCK = 2_048  # postings per compressed block of a spilled run (see _CompactPool)
_BLOCK_HEADER = struct.Struct("<I")
# Day numbers are stored with this added, so that 0 (a column's default) means "no date".
DAY_BIAS = 1_000_000
K1, B = 1.2, 0.75


class SharedAnalyzer(Analyzer):
    """Whoosh's side of :mod:`catalog.index.analysis`: the tokens tantivy's analyzer makes.

    Pickled into the index's schema by name only; the analyzer itself is looked up when used.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedAnalyzer) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        token.stopped = False
        if not tokenize:
            token.original = token.text = value
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        if not (positions or chars):
            for term in analysis.terms(value, self.name):
                token.text = term
                yield token
            return
        for found in analysis.tokens(value, self.name):
            token.text = found.term
            if positions:
                token.pos = start_pos + found.position
            if chars:
                token.startchar, token.endchar = start_char + found.start, start_char + found.end
            yield token


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


STEMMED = SharedAnalyzer(analysis.STEMMED)
PLAIN = SharedAnalyzer(analysis.PLAIN)
SCHEMA = Schema(
    id=ID(unique=True, stored=True),  # publications.id, as text: updates and deletes go by it
    # The same id, a column for tie-breaks (unsigned: the column holds the number as it is).
    pid=NUMERIC(numtype=int, bits=64, signed=False, sortable=True, default=0),
    revision=NUMERIC(numtype=int, bits=64, stored=True),
    url=ID(stored=True),
    title=TEXT(analyzer=STEMMED, field_boost=query.FIELD_BOOSTS["title"], stored=True),
    summary=TEXT(analyzer=STEMMED, stored=True),
    text=TEXT(analyzer=STEMMED),  # not stored: it is most of the words; the database has it
    topics=TEXT(analyzer=STEMMED),
    author=TEXT(analyzer=PLAIN),
    type=TEXT(analyzer=PLAIN),
    type_key=ID(),  # lower-cased whole type: --type
    type_name=ID(sortable=True),  # as written: the type facet
    year=ID(sortable=True),  # the year facet; whole years of date filters
    day=NUMERIC(numtype=int, bits=32, signed=False, sortable=True, default=0),  # + DAY_BIAS
    topic=ListKeyword(lowercase=True, commas=True, scorable=True),  # slugs
    # Whole names, one a line: the author facet counts names, not words of names.
    author_name=ListKeyword(analyzer=RegexTokenizer(r"[^\n]+")),
    # "Did you mean": the words of titles and summaries as written (lower case), counted.
    spell=TEXT(analyzer=PLAIN, phrase=False),
)
FACET_COLUMNS = {"type": "type_name", "year": "year", "topic": "topic", "author": "author_name"}


def _fields(doc: IndexDocument) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": str(doc.id),
        "pid": doc.id,
        "revision": doc.revision,
        "url": doc.url,
        "title": doc.title,
        "summary": doc.summary,
        "text": doc.text,
        "topics": doc.topics,
        "author": doc.author,
        "type": doc.type,
        "type_key": doc.type_key,
        "topic": ",".join(doc.topic),
        "author_name": "\n".join(doc.author_names),
        "spell": doc.spelling,
    }
    if doc.type:
        fields["type_name"] = doc.type
    if doc.day is not None:
        fields["day"] = doc.day + DAY_BIAS
        fields["year"] = doc.year
    return fields


# --- writing ------------------------------------------------------------------------------


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


def _writer(ix: whoosh_index.Index, folder: Path) -> SegmentWriter:
    """A writer whose posting pool is bounded (:data:`WRITER_LIMIT_MB`) and spills compactly."""
    try:
        # compound=False: a segment stays separate files. Whoosh reads a compound segment's
        # files through BytesIO over a memory map, which copies every file it opens on every
        # search; separate files are read in place.
        writer = ix.writer(timeout=WRITER_TIMEOUT, limitmb=WRITER_LIMIT_MB, compound=False)
    except LockError as exc:
        raise IndexUnavailable(f"the search index at {folder} is locked by another writer") from exc
    # Whoosh ignores its writer's poolclass argument; its pool is still empty here.
    writer.pool = _CompactPool(writer._tempstorage, writer.newsegment, limitmb=WRITER_LIMIT_MB)
    return writer


class WhooshEngine:
    name = "whoosh"

    def exists(self, folder: Path) -> bool:
        return whoosh_index.exists_in(str(folder), indexname=INDEX_NAME)

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
                        writer.add_document(**_fields(doc))
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


# --- reading ------------------------------------------------------------------------------


class SloppyPhrase(SpanNear2):
    """A phrase with slop, read as tantivy reads one, so both engines match the same documents.

    The words may each stand up to ``slop`` positions away from where the phrase puts them
    relative to the others, in any order: taking one position ``p`` for each word ``i``, the
    values ``p - i`` must all lie within ``slop`` of each other. (Whoosh's own slop is a
    distance between consecutive words, in order.)
    """

    def __init__(self, qs: list[Q.Query], slop: int) -> None:
        super().__init__(qs, slop=slop, ordered=False, mindist=0)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        matchers = [q.matcher(searcher, context) for q in self.qs]
        return _SloppyMatcher(matchers, slop=self.slop)


class _SloppyMatcher(SpanNear2.SpanNear2Matcher):
    def copy(self) -> _SloppyMatcher:
        return _SloppyMatcher([m.copy() for m in self.ms], slop=self.slop)

    def _get_spans(self) -> list[Span]:
        shifted = [[span.start - i for span in m.spans()] for i, m in enumerate(self.ms)]
        return [Span(0, 0)] if _within(shifted, self.slop) else []


def _within(lists: list[list[int]], slop: int) -> bool:
    """Whether one value from each sorted list can be picked with all within ``slop``."""
    if any(not values for values in lists):
        return False
    heap = [(values[0], n, 0) for n, values in enumerate(lists)]
    heapq.heapify(heap)
    high = max(values[0] for values in lists)
    while True:
        low, n, at = heap[0]
        if high - low <= slop:
            return True
        if at + 1 == len(lists[n]):
            return False
        following = lists[n][at + 1]
        heapq.heapreplace(heap, (following, n, at + 1))
        high = max(high, following)


class _BM25(WeightingModel):
    """Whoosh's BM25F, with field lengths read from the length column's bytes at once."""

    def supports_block_quality(self) -> bool:
        return False

    def scorer(self, searcher: Any, fieldname: str, text: bytes, qf: int = 1) -> BaseScorer:
        return _BM25Scorer(searcher, fieldname, text)


_LENGTHS = [byte_to_length(b) if b else 1 for b in range(256)]


class _BM25Scorer(BaseScorer):
    def __init__(self, searcher: Any, fieldname: str, text: bytes) -> None:
        parent = searcher.get_parent()
        self.idf = parent.idf(fieldname, text)
        avgfl = parent.avg_field_length(fieldname) or 1
        scorable = searcher.schema[fieldname].scorable
        # score = idf * w * (K1 + 1) / (w + K1 * (1 - B + B * length / avgfl)), by length byte
        self._numerator = self.idf * (K1 + 1)
        self._denominators = [K1 * (1 - B + B * n / avgfl) for n in _LENGTHS]
        self._bytes = _length_bytes(searcher, fieldname) if scorable else b""
        self._scorable = scorable

    def supports_block_quality(self) -> bool:
        return False

    def score(self, matcher: Any) -> float:
        weight = matcher.weight()
        if not self._scorable:
            return weight
        docnum = matcher.id()
        lengths = self._bytes
        byte = lengths[docnum] if docnum < len(lengths) else 0
        return self._numerator * weight / (weight + self._denominators[byte])


def _length_bytes(searcher: Any, fieldname: str) -> bytes:
    """One byte per document (Whoosh's encoded field length), read in one go."""
    perdoc = searcher.reader()._perdoc
    column = perdoc._cached_reader(f"_{fieldname}_L", columns.NumericColumn("B", default=0))
    if column is None:
        return b""
    return bytes(column._dbfile.get(column._basepos, column._count))


class WhooshSearcher:
    def __init__(self, ix: whoosh_index.Index) -> None:
        self._ix = ix
        self.searcher = ix.searcher(weighting=_BM25())
        self.reader = self.searcher.reader()
        self._columns: dict[str, Any] = {}
        self._arrays: dict[str, array] = {}
        self._years: list[int] | None = None

    def close(self) -> None:
        self.searcher.close()
        self._ix.close()

    def num_docs(self) -> int:
        return self.searcher.doc_count()

    # queries

    def compile(self, plan: query.Plan) -> Q.Query:
        if isinstance(plan, query.Term):
            return Q.Term(plan.field, plan.term)
        if isinstance(plan, query.Phrase):
            if plan.slop:
                return SloppyPhrase([Q.Term(plan.field, t) for t in plan.terms], slop=plan.slop)
            return Q.Phrase(plan.field, list(plan.terms))
        if isinstance(plan, query.Prefix):
            return Q.Prefix(plan.field, plan.prefix)
        if isinstance(plan, query.Wildcard):
            return Q.Wildcard(plan.field, plan.pattern)
        if isinstance(plan, query.DayRange):
            return self._day_query(plan.low, plan.high)
        if isinstance(plan, query.Every):
            return Q.Every()
        if isinstance(plan, query.HasField):
            return Q.Every("day" if plan.field in ("date", "year") else plan.field)
        if isinstance(plan, query.AnyOf):
            return Q.Or([self.compile(p) for p in plan.items])
        if isinstance(plan, query.AllOf):
            must = [self.compile(p) for p in plan.must]
            positive = must[0] if len(must) == 1 else Q.And(must)
            if not plan.must_not:
                return positive
            negative = [self.compile(p) for p in plan.must_not]
            return Q.AndNot(positive, negative[0] if len(negative) == 1 else Q.Or(negative))
        if isinstance(plan, query.Boosted):
            compiled = self.compile(plan.item)
            compiled.boost = compiled.boost * plan.boost
            return compiled
        return Q.NullQuery

    def _mask(self, filters: Filters) -> set[int] | None:
        """The documents the filters allow (None: all); scores are never touched."""
        narrowing: list[Q.Query] = []
        if filters.type_key is not None:
            narrowing.append(Q.Term("type_key", filters.type_key))
        if filters.topic:
            narrowing.append(Q.Term("topic", filters.topic.strip().lower()))
        if filters.author is not None:
            words = analysis.terms(filters.author, analysis.PLAIN)
            if not words:
                return set()
            narrowing.append(
                Q.Term("author", words[0]) if len(words) == 1 else Q.Phrase("author", words)
            )
        if filters.day_range:
            narrowing.append(self._day_query(*filters.day_range))
        if not narrowing:
            return None
        allowed: set[int] | None = None
        for part in sorted(narrowing, key=lambda q: self._cost(q)):
            docs = self.searcher.docs_for_query(part)
            allowed = set(docs) if allowed is None else allowed.intersection(docs)
            if not allowed:
                break
        return allowed

    def _cost(self, q: Q.Query) -> int:
        try:
            return q.estimate_size(self.reader)
        except Exception:
            return 1 << 30

    def _matches(self, q: Q.Query, allowed: set[int] | None, scored: bool):
        """Every (score, docnum) of the query's matches the mask allows: no pruning."""
        found: list[tuple[float, int]] = []
        context = self.searcher.context()
        for sub, offset in self.searcher.leaf_searchers():
            matcher = q.matcher(sub, context)
            if not scored:
                ids = (d + offset for d in matcher.all_ids())
                found.extend((0.0, d) for d in ids if allowed is None or d in allowed)
                continue
            append = found.append
            while matcher.is_active():
                docnum = matcher.id() + offset
                if allowed is None or docnum in allowed:
                    append((matcher.score(), docnum))
                matcher.next()
        return found

    def _column(self, name: str) -> Any:
        if name not in self._columns:
            self._columns[name] = self.reader.column_reader(name, translate=False)
        return self._columns[name]

    def _numbers(self, name: str) -> array:
        """A numeric column as an array, read in one go (one segment; else per document)."""
        if name not in self._arrays:
            self._arrays[name] = _column_array(self.reader, name)
        return self._arrays[name]

    def _day(self, docnum: int) -> int | None:
        days = self._numbers("day")
        value = days[docnum] if docnum < len(days) else 0
        return value - DAY_BIAS if value else None

    def _id(self, docnum: int) -> int:
        ids = self._numbers("pid")
        return ids[docnum] if docnum < len(ids) else 0

    def top(
        self, plan: query.Plan, filters: Filters, *, sort: str, limit: int
    ) -> tuple[list[Candidate], int]:
        allowed = self._mask(filters)
        if allowed is not None and not allowed:
            return [], 0
        if isinstance(plan, query.Term) and plan.field == "id":
            docnum = self.searcher.document_number(id=plan.term)
            matches = [] if docnum is None else [(1.0, docnum)]
        else:
            matches = self._matches(self.compile(plan), allowed, scored=sort == "relevance")
        chosen = exact_top(matches, limit, sort=sort, day=self._day, ident=self._id)
        return [self._candidate(score, docnum) for score, docnum in chosen], len(matches)

    def _candidate(self, score: float, docnum: int) -> Candidate:
        stored = self.searcher.stored_fields(docnum)
        return Candidate(
            id=int(stored["id"]),
            score=float(score),
            day=self._day(docnum),
            url=stored.get("url", ""),
            title=stored.get("title", ""),
            summary=stored.get("summary", ""),
        )

    def _day_query(self, low: int | None, high: int | None) -> Q.Query:
        """Days ``low`` to ``high`` (inclusive; None: open): the whole years in between as
        year terms, the partial years at the ends as numeric ranges of days."""
        if self._years is None:
            self._years = sorted(int(y) for y in self.reader.field_terms("year"))
        if not self._years:
            return Q.NullQuery
        first = from_day_number(low).year if low is not None else self._years[0]
        last = from_day_number(high).year if high is not None else self._years[-1]
        low = _year_start(first) if low is None else low
        high = _year_start(last + 1) - 1 if high is None else high
        parts: list[Q.Query] = []
        for year in self._years:
            if not first <= year <= last:
                continue
            start, end = max(low, _year_start(year)), min(high, _year_start(year + 1) - 1)
            if start == _year_start(year) and end == _year_start(year + 1) - 1:
                parts.append(Q.Term("year", f"{year:04d}"))
            else:
                parts.append(Q.NumericRange("day", start + DAY_BIAS, end + DAY_BIAS))
        if not parts:
            return Q.NullQuery
        return parts[0] if len(parts) == 1 else Q.Or(parts)

    # facets, frequencies, spelling

    def facet_counts(
        self, plan: query.Plan, filters: Filters, facets: Iterable[str]
    ) -> tuple[int, dict[str, Mapping[str, int]]]:
        allowed = self._mask(filters)
        if allowed is not None and not allowed:
            return 0, {name: {} for name in facets}
        matched = {d for _, d in self._matches(self.compile(plan), allowed, scored=False)}
        return len(matched), {name: self._facet(FACET_COLUMNS[name], matched) for name in facets}

    def _facet(self, fieldname: str, matched: set[int]) -> Mapping[str, int]:
        """How many ``matched`` documents hold each value of a field.

        Each match's values are read from the field's column (one value for type and year,
        several, one a line, for topics and authors): the cost follows the matches. When the
        query matched the whole index (and it holds no deleted documents) the counts are the
        terms' document frequencies, read from the term table without touching a document.
        """
        if not matched:
            return {}
        field = self.reader.schema[fieldname]
        if len(matched) == self.reader.doc_count_all():
            counts: Counter[Any] = Counter(
                {value: info.doc_frequency() for value, info in self.reader.iter_field(fieldname)}
            )
        else:
            column = self._column(fieldname)
            if isinstance(field, ListKeyword):
                values = (column[d].split(b"\n") for d in matched)
                counts = Counter(itertools.chain.from_iterable(values))
            else:
                counts = Counter(column[d] for d in matched)
        return {field.from_bytes(value): n for value, n in counts.items() if value and n}

    def doc_freq(self, field: str, term: str) -> int:
        return self.reader.doc_frequency(field, term)

    def near_words(self, word: str, maxdist: int) -> dict[str, int]:
        return {
            term: self.reader.doc_frequency("spell", term)
            for term in self.reader.terms_within("spell", word, maxdist)
        }


def _column_array(reader: Any, name: str) -> array:
    """The values of a numeric column for every document of the index, as an array (0 for a
    document without one)."""
    column = reader.column_reader(name, translate=False)
    if reader.is_atomic():
        if not hasattr(column, "_dbfile"):
            return array("Q")  # no document has a value: the column was never written
        raw = column._dbfile.get(column._basepos, column._count * column._fixedlen)
        values = array(column._typecode)
        values.frombytes(bytes(raw))
        if sys.byteorder == "little":
            values.byteswap()  # columns are big-endian ("!")
        return values
    return array("Q", (column[d] for d in range(reader.doc_count_all())))


def _year_start(year: int) -> int:
    return day_number(date(year, 1, 1))
