"""A Whoosh index opened for search: exact top hits, masks for filters, facets, spellings."""

from __future__ import annotations

import itertools
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as Q

from catalog.index import analysis, query
from catalog.index.model import (
    Candidate,
    Filters,
    day_number,
    from_day_number,
)
from catalog.index.ordering import exact_top
from catalog.index.whoosh_schema import DAY_BIAS, FACET_COLUMNS, ListKeyword
from catalog.index.whoosh_scoring import SegmentScorer

K1, B = 1.2, 0.75


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
