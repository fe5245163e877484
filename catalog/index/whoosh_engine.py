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

from whoosh import columns, formats
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import Analyzer, RegexTokenizer, Token
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.index import LockError
from whoosh.system import pack_uint
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
from catalog.index.whoosh_scoring import POSITION_TYPE, SegmentScorer, positions

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


class ArrayPositions(formats.Positions):
    """Whoosh's position format, with positions as a C array instead of pickled deltas.

    A phrase query decodes every position list of its words in every document holding them
    all; ``array.frombytes`` does that in C, several times faster than unpickling deltas and
    adding them up. The count still leads, as Whoosh reads frequencies from it.
    """

    def encode(self, poslist: list[int]) -> bytes:
        return pack_uint(len(poslist)) + array(POSITION_TYPE, poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return positions(valuestring).tolist()


def _text_field(analyzer: SharedAnalyzer, **kwargs: Any) -> TEXT:
    field = TEXT(analyzer=analyzer, **kwargs)
    field.format = ArrayPositions(field_boost=field.format.field_boost)
    return field


STEMMED = SharedAnalyzer(analysis.STEMMED)
PLAIN = SharedAnalyzer(analysis.PLAIN)
SCHEMA = Schema(
    id=ID(unique=True, stored=True),  # publications.id, as text: updates and deletes go by it
    # The same id, a column for tie-breaks (unsigned: the column holds the number as it is).
    pid=NUMERIC(numtype=int, bits=64, signed=False, sortable=True, default=0),
    revision=NUMERIC(numtype=int, bits=64, stored=True),
    url=ID(stored=True),
    # No text is stored: snippets are made from the catalog's copy of the hits shown.
    title=_text_field(STEMMED, field_boost=query.FIELD_BOOSTS["title"]),
    summary=_text_field(STEMMED),
    text=_text_field(STEMMED),  # not stored: it is most of the words; the database has it
    topics=_text_field(STEMMED),
    author=_text_field(PLAIN),
    type=_text_field(PLAIN),
    type_key=ID(),  # lower-cased whole type: --type
    type_name=ID(sortable=True),  # as written: the type facet
    publisher=_text_field(PLAIN),  # the publisher's name, for publisher:word queries
    publisher_key=ID(),  # lower-cased whole name: --publisher
    publisher_name=ID(sortable=True),  # as written: the publisher facet
    year=ID(sortable=True),  # the year facet; whole years of date filters
    day=NUMERIC(numtype=int, bits=32, signed=False, sortable=True, default=0),  # + DAY_BIAS
    topic=ListKeyword(lowercase=True, commas=True, scorable=True),  # slugs
    # Whole names, one a line: the author facet counts names, not words of names.
    author_name=ListKeyword(analyzer=RegexTokenizer(r"[^\n]+")),
    # "Did you mean": the words of titles and summaries as written (lower case), counted.
    spell=TEXT(analyzer=PLAIN, phrase=False),
)
FACET_COLUMNS = {
    "type": "type_name",
    "year": "year",
    "topic": "topic",
    "author": "author_name",
    "publisher": "publisher_name",
}


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
        "publisher": doc.publisher,
        "topic": ",".join(doc.topic),
        "author_name": "\n".join(doc.author_names),
        "spell": doc.spelling,
    }
    if doc.type:
        fields["type_name"] = doc.type
    if doc.publisher:
        fields["publisher_key"] = doc.publisher_key
        fields["publisher_name"] = doc.publisher
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
        writer = ix.writer(
            timeout=WRITER_TIMEOUT,
            limitmb=WRITER_LIMIT_MB,
            compound=False,
        )
    except LockError as exc:
        raise IndexUnavailable(f"the search index at {folder} is locked by another writer") from exc
    # Whoosh ignores its writer's poolclass argument; its pool is still empty here.
    writer.pool = _CompactPool(writer._tempstorage, writer.newsegment, limitmb=WRITER_LIMIT_MB)
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


class WhooshSearcher:
    def __init__(self, ix: whoosh_index.Index) -> None:
        self._ix = ix
        self.searcher = ix.searcher()
        self.reader = self.searcher.reader()
        self._columns: dict[str, Any] = {}
        self._arrays: dict[str, array] = {}
        self._years: list[int] | None = None
        self._segments: list[tuple[SegmentScorer, int]] | None = None

    def close(self) -> None:
        self.searcher.close()
        self._ix.close()

    def num_docs(self) -> int:
        return self.searcher.doc_count()

    def segments(self) -> list[tuple[SegmentScorer, int]]:
        """A scorer per segment, with the segment's first document number."""
        if self._segments is None:
            self._segments = [
                (SegmentScorer(sub, self.searcher, self._day_parts), offset)
                for sub, offset in self.searcher.leaf_searchers()
                if sub.reader().doc_count_all()  # an empty index has an empty reader
            ]
        return self._segments

    def _matches(
        self, plan: query.Plan, allowed: set[int] | None, scored: bool
    ) -> list[tuple[float, int]]:
        """Every (score, docnum) of the plan's matches the mask allows: no pruning."""
        found: list[tuple[float, int]] = []
        for segment, offset in self.segments():
            local = None if allowed is None else {d - offset for d in allowed}
            if scored:
                pairs = ((s, d + offset) for d, s in segment.scores(plan, local).items())
            else:
                pairs = ((0.0, d + offset) for d in segment.docs(plan, local))
            if allowed is None:
                found.extend(pairs)
            else:
                found.extend(pair for pair in pairs if pair[1] in allowed)
        return found

    def _mask(self, filters: Filters) -> set[int] | None:
        """The documents the filters allow (None: all); scores are never touched."""
        narrowing = filter_plans(filters)
        if narrowing is None:
            return None
        allowed: set[int] | None = None
        for plan in narrowing:
            docs = {d for _, d in self._matches(plan, allowed, scored=False)}
            allowed = docs
            if not allowed:
                break
        return allowed or set()

    def _column(self, name: str) -> Any:
        if name not in self._columns:
            self._columns[name] = self.reader.column_reader(name, translate=False)
        return self._columns[name]

    def _numbers(self, name: str) -> array:
        """A numeric column of the whole index as an array, each segment's read in one go."""
        if name not in self._arrays:
            values = array("Q")
            for sub, offset in self.searcher.leaf_searchers():
                values.extend([0] * (offset - len(values)))
                values.extend(_column_array(sub.reader(), name))
            self._arrays[name] = values
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
        matches = self._matches(plan, allowed, scored=sort == "relevance")
        chosen = exact_top(matches, limit, sort=sort, day=self._day, ident=self._id)
        return [self._candidate(score, docnum) for score, docnum in chosen], len(matches)

    def _candidate(self, score: float, docnum: int) -> Candidate:
        stored = self.searcher.stored_fields(docnum)
        return Candidate(
            id=int(stored["id"]), score=float(score), day=self._day(docnum), url=stored["url"]
        )

    def _day_parts(self, low: int | None, high: int | None) -> tuple[list[str], list[Q.Query]]:
        """Days ``low`` to ``high`` (inclusive; None: open): the whole years in between as
        year terms, the partial years at the ends as Whoosh ranges of days (Whoosh expands a
        range into numeric trie terms: cheap over a few months, slow over many years)."""
        if self._years is None:
            self._years = sorted(int(y) for y in self.reader.field_terms("year"))
        if not self._years:
            return [], []
        first = from_day_number(low).year if low is not None else self._years[0]
        last = from_day_number(high).year if high is not None else self._years[-1]
        low = _year_start(first) if low is None else low
        high = _year_start(last + 1) - 1 if high is None else high
        years: list[str] = []
        ranges: list[Q.Query] = []
        for year in self._years:
            if not first <= year <= last:
                continue
            start, end = max(low, _year_start(year)), min(high, _year_start(year + 1) - 1)
            if start == _year_start(year) and end == _year_start(year + 1) - 1:
                years.append(f"{year:04d}")
            else:
                ranges.append(Q.NumericRange("day", start + DAY_BIAS, end + DAY_BIAS))
        return years, ranges

    # facets, frequencies, spelling

    def facet_counts(
        self, plan: query.Plan, filters: Filters, facets: Iterable[str]
    ) -> tuple[int, dict[str, Mapping[str, int]]]:
        allowed = self._mask(filters)
        if allowed is not None and not allowed:
            return 0, {name: {} for name in facets}
        matched = {d for _, d in self._matches(plan, allowed, scored=False)}
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
    """A numeric column of one segment as an array (0 for a document without a value)."""
    column = reader.column_reader(name, translate=False)
    if not hasattr(column, "_dbfile"):
        return array("Q")  # no document has a value: the column was never written
    raw = column._dbfile.get(column._basepos, column._count * column._fixedlen)
    values = array(column._typecode)
    values.frombytes(bytes(raw))
    if sys.byteorder == "little":
        values.byteswap()  # columns are big-endian ("!")
    return array("Q", values) if values.typecode != "Q" else values


def filter_plans(filters: Filters) -> list[query.Plan] | None:
    """The filters as plans of their own (None when there are none), cheapest first."""
    plans: list[query.Plan] = []
    if filters.type_key is not None:
        plans.append(query.Term("type_key", filters.type_key))
    if filters.publisher_key is not None:
        plans.append(query.Term("publisher_key", filters.publisher_key))
    if filters.topic:
        plans.append(query.Term("topic", filters.topic.strip().lower()))
    if filters.author is not None:
        words = tuple(analysis.terms(filters.author, analysis.PLAIN))
        plans.append(
            query.Nothing()
            if not words
            else query.Term("author", words[0])
            if len(words) == 1
            else query.Phrase("author", words, 0)
        )
    if filters.day_range:
        plans.append(query.DayRange(*filters.day_range))
    return plans or None


def _year_start(year: int) -> int:
    return day_number(date(year, 1, 1))
